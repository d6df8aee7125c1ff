import RelucIR

/// The tunables of `IdealCutTree` (our branch and bound, `cuts = all`), declared once.
struct TreeTunables: Sendable {
  /// Rounds of the root cut loop (it also stops when the bound stalls; see `BigMModel.cutLoop`).
  var rootRounds = 20
  /// Rounds of cut separation at each node after its first LP.
  var nodeRounds = 1
  /// Relative violation above which an ideal cut is added (`BigMModel.idealCuts`).
  var cutTolerance = BigMModel.cutTolerance
  /// Reliability branching: observations in each direction before a binary's pseudo-costs are
  /// trusted instead of strong branching it.
  var reliable = 2
  /// The most candidates strong-branched at one node (option `strong_branching`).
  var strongCandidates = SolveOptions().strongBranching
  /// A binary whose LP value is within this of 0 or 1 counts as integral (no branching on it).
  var integrality = 1e-9
  /// A ReLU counts as violated by the LP when its activation exceeds `max(0, z)` by more than this.
  var violation = 1e-9
  /// Pseudo-costs: the smallest change of a binary a bound decrease is divided by.
  var minimumChange = 1e-6
  /// Branching score: each child's bound decrease counts as at least this (the product of the
  /// two decreases is the score, so a zero would hide the other child's).
  var minimumDecrease = 1e-6
  /// How long an idle worker sleeps before it looks at the shared queue again, in microseconds.
  var idleWait: UInt32 = 500
  /// Seconds between two progress lines of the search's log (`-v`).
  var logInterval = 1.0
}
