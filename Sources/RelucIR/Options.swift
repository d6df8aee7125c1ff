import RelucBase

/// The algorithm a solve runs.
public enum Method: String, Sendable, Equatable, CaseIterable {
  /// Portfolio: the exact MILP on small networks, otherwise PPGA_LR.
  case auto
  /// Perturbed projected gradient ascent (Tong, Zhu, Serra, Burer 2025).
  case ppga
  /// PPGA with region-boundary steps (the same paper's linear-region variant).
  case ppga_lr
  /// Projected gradient ascent from each start, no perturbation.
  case gradient_walk
  /// LP Walk (Tong, Cai, Serra 2024).
  case lp_walk
  /// MILP Walk (Perakis and Tsiourvas 2022).
  case milp_walk
  /// The exact big-M MILP solved by HiGHS.
  case milp
}

/// How pre-activation bounds are computed for the MILP.
public enum BoundsMethod: String, Sendable, Equatable, CaseIterable {
  /// Interval arithmetic, layer by layer.
  case interval
  /// Interval arithmetic, then LP-based tightening (OBBT) layer by layer.
  case lp
}

/// How the starting points of the gradient methods are drawn.
public enum Sampling: String, Sendable, Equatable, CaseIterable {
  /// Uniform in the domain (rejection from the bounding box on a polytope).
  case uniform
  /// Latin hypercube over the bounding box, projected onto the domain.
  case lhs
}

/// Cutting planes added to the MILP.
public enum CutsMethod: String, Sendable, Equatable, CaseIterable {
  /// None: the plain big-M formulation.
  case none
  /// Root cuts from the ideal formulation of each ReLU (Anderson et al. 2020).
  case root
  /// The same cuts at every node: our own branch and bound, HiGHS solving the node LPs.
  case all
}

/// A value written for an option, in a model file or on the command line.
public enum OptionValue: Sendable, Equatable {
  case number(Double)
  case identifier(String)
  case string(String)

  /// Parses a command-line value: a number, else an identifier or string.
  public static func parse(_ text: String) -> OptionValue {
    if let d = Double(text) { return .number(d) }
    return .identifier(text)
  }

  /// How the value is shown in messages.
  public var description: String {
    switch self {
    case .number(let d): return formatNumber(d)
    case .identifier(let s): return s
    case .string(let s): return "\"\(s)\""
    }
  }
}

/// The type and range of an option.
public enum OptionKind: Sendable, Equatable {
  /// One of a list of identifiers.
  case choice([String])
  /// An integer in a closed range.
  case integer(ClosedRange<Int>)
  /// A real number in a range; `openLower` excludes the lower end.
  case real(lower: Double, upper: Double, openLower: Bool)
  /// `true` or `false`.
  case boolean

  /// A human description of the accepted values.
  public var expectation: String {
    switch self {
    case .choice(let c): return "one of " + c.joined(separator: ", ")
    case .integer(let r):
      return r.upperBound == Int.max
        ? "an integer >= \(r.lowerBound)" : "an integer in \(r.lowerBound)...\(r.upperBound)"
    case .real(let lo, let hi, let open):
      let l = open ? "> \(formatNumber(lo))" : ">= \(formatNumber(lo))"
      return hi.isInfinite ? "a number \(l)" : "a number \(l) and <= \(formatNumber(hi))"
    case .boolean: return "true or false"
    }
  }
}

/// One option: name, kind, default and a line of documentation (the man page lists the same).
public struct OptionSpec: Sendable, Equatable {
  /// The option's name as written in `option NAME = VALUE`.
  public var name: String
  /// Accepted values.
  public var kind: OptionKind
  /// The default, as text.
  public var defaultText: String
  /// One line of documentation.
  public var summary: String
}

/// Why an option assignment was rejected.
public enum OptionError: Error, Equatable, Sendable {
  /// No option of that name; carries the closest name, if any.
  case unknown(suggestion: String?)
  /// The value is not acceptable; carries what is expected.
  case badValue(expected: String)
}

/// Algorithm options after parsing, with documented defaults.
public struct SolveOptions: Sendable, Equatable {
  /// The back end.
  public var method: Method = .auto
  /// Wall-clock limit for the solve, seconds.
  public var timeLimit: Double = 60
  /// Seed of every random choice (starts, perturbations).
  public var seed: Int = 0
  /// Number of starting points (gradient and walk methods).
  public var starts: Int = 16
  /// Feasibility tolerance used to check solutions and by the solvers.
  public var feasibilityTolerance: Double = 1e-7
  /// Gradient step as a fraction of the domain's diameter.
  public var stepSize: Double = 0.05
  /// PPGA perturbation radius as a fraction of the domain's diameter.
  public var perturbationRadius: Double = 0.1
  /// PPGA_LR: how far past the region boundary a step goes, as a fraction of the diameter.
  public var overshoot: Double = 1e-6
  /// Cap on the iterations of one start.
  public var maxIterations: Int = 10_000
  /// PPGA: perturbations in a row that do not improve the start's best before it ends.
  public var stallIterations: Int = 10
  /// Gradient steps stop when the projected step is shorter than this (fraction of diameter).
  public var stepTolerance: Double = 1e-9
  /// Threads of the gradient methods (the starts are split between them), of the MILP's bound
  /// tightening and of its branch and bound (`cuts = all`).
  public var workers: Int = 2
  /// PPGA: starts run in lockstep per worker through the batched kernel (1: one at a time).
  public var batch: Int = 32
  /// How starting points are drawn.
  public var sampling: Sampling = .uniform
  /// Bound computation for the MILP.
  public var bounds: BoundsMethod = .lp
  /// Cutting planes for the MILP.
  public var cuts: CutsMethod = .all
  /// OBBT: binaries of the previous layer fixed both ways when bounding a neuron (2^k LPs).
  public var obbtSplits: Int = 3
  /// Relative MIP gap at which HiGHS stops.
  public var mipGap: Double = 1e-6
  /// Whether the MILP starts from a short PPGA_LR run's best point.
  public var warmStart: Bool = true
  /// HiGHS threads (0: HiGHS decides).
  public var threads: Int = 0
  /// LP Walk: step past the LP optimum, relative.
  public var lpWalkEpsilon: Double = 0.01
  /// MILP Walk: relative gap within which a sample is refined by MILPs.
  public var milpWalkGap: Double = 2.0 / 3.0
  /// `auto` uses the exact MILP when the network has at most this many unstable ReLUs.
  public var autoMilpNeurons: Int = 200

  /// Creates the defaults.
  public init() {}

  /// The table of options, in the order the man page lists them.
  public static let specs: [OptionSpec] = [
    OptionSpec(
      name: "method", kind: .choice(Method.allCases.map(\.rawValue)), defaultText: "auto",
      summary: "the back end"),
    OptionSpec(
      name: "time_limit", kind: .real(lower: 0, upper: 1e7, openLower: true), defaultText: "60",
      summary: "wall-clock limit of the solve, in seconds"),
    OptionSpec(
      name: "seed", kind: .integer(0...Int(Int32.max)), defaultText: "0",
      summary: "seed of every random choice"),
    OptionSpec(
      name: "starts", kind: .integer(1...1_000_000), defaultText: "16",
      summary: "number of starting points of the gradient and walk methods"),
    OptionSpec(
      name: "feasibility_tolerance", kind: .real(lower: 0, upper: 1e-3, openLower: true),
      defaultText: "1e-7", summary: "tolerance of the final feasibility check and the solvers"),
    OptionSpec(
      name: "step_size", kind: .real(lower: 0, upper: 1, openLower: true), defaultText: "0.05",
      summary: "gradient step, as a fraction of the domain's diameter"),
    OptionSpec(
      name: "perturbation_radius", kind: .real(lower: 0, upper: 1, openLower: true),
      defaultText: "0.1", summary: "PPGA perturbation radius, as a fraction of the diameter"),
    OptionSpec(
      name: "overshoot", kind: .real(lower: 0, upper: 0.1, openLower: true), defaultText: "1e-6",
      summary: "PPGA_LR step past the region boundary, as a fraction of the diameter"),
    OptionSpec(
      name: "max_iterations", kind: .integer(1...Int.max), defaultText: "10000",
      summary: "iterations of one start at most"),
    OptionSpec(
      name: "stall_iterations", kind: .integer(1...Int.max), defaultText: "10",
      summary: "PPGA: perturbations in a row that do not improve before a start ends"),
    OptionSpec(
      name: "step_tolerance", kind: .real(lower: 0, upper: 1, openLower: true),
      defaultText: "1e-9", summary: "a projected step shorter than this (fraction of diameter) stops"),
    OptionSpec(
      name: "workers", kind: .integer(1...64), defaultText: "2",
      summary: "threads of the gradient methods (the starts split between them), of OBBT and of the MILP tree"),
    OptionSpec(
      name: "batch", kind: .integer(1...4096), defaultText: "32",
      summary: "PPGA: starts run in lockstep per worker through matrix-matrix products"),
    OptionSpec(
      name: "sampling", kind: .choice(Sampling.allCases.map(\.rawValue)), defaultText: "uniform",
      summary: "how starting points are drawn"),
    OptionSpec(
      name: "bounds", kind: .choice(BoundsMethod.allCases.map(\.rawValue)),
      defaultText: "lp", summary: "pre-activation bounds for the MILP"),
    OptionSpec(
      name: "cuts", kind: .choice(CutsMethod.allCases.map(\.rawValue)), defaultText: "all",
      summary: "ideal ReLU cuts for the MILP: none, at the root (HiGHS's tree), at every node (ours)"),
    OptionSpec(
      name: "obbt_splits", kind: .integer(0...8), defaultText: "3",
      summary: "MILP bounds: previous-layer binaries fixed both ways per bound LP (2^k LPs)"),
    OptionSpec(
      name: "mip_gap", kind: .real(lower: 0, upper: 1, openLower: false), defaultText: "1e-6",
      summary: "relative MIP gap at which the MILP stops"),
    OptionSpec(
      name: "warm_start", kind: .boolean, defaultText: "true",
      summary: "start the MILP from a short PPGA_LR run's best point"),
    OptionSpec(
      name: "threads", kind: .integer(0...256), defaultText: "0",
      summary: "HiGHS threads (0: HiGHS decides)"),
    OptionSpec(
      name: "lp_walk_epsilon", kind: .real(lower: 0, upper: 1, openLower: true),
      defaultText: "0.01", summary: "LP Walk: relative step past each LP optimum"),
    OptionSpec(
      name: "milp_walk_gap", kind: .real(lower: 0, upper: 1, openLower: false),
      defaultText: "0.6667", summary: "MILP Walk: relative gap within which a sample is refined"),
    OptionSpec(
      name: "auto_milp_neurons", kind: .integer(0...Int.max), defaultText: "200",
      summary: "auto: run the exact MILP when the network has at most this many ReLUs"),
  ]

  /// The names of all options.
  public static var names: [String] { specs.map(\.name) }

  /// Sets option `name` to `value`, checking its kind and range.
  public mutating func set(_ name: String, _ value: OptionValue) throws(OptionError) {
    guard let spec = Self.specs.first(where: { $0.name == name }) else {
      throw .unknown(suggestion: closestMatch(to: name, among: Self.names))
    }
    let bad = OptionError.badValue(expected: spec.kind.expectation)
    func real() throws(OptionError) -> Double {
      guard case .number(let d) = value, case .real(let lo, let hi, let open) = spec.kind,
        d.isFinite, open ? d > lo : d >= lo, d <= hi
      else { throw bad }
      return d
    }
    func integer() throws(OptionError) -> Int {
      guard case .number(let d) = value, case .integer(let r) = spec.kind, d.isFinite,
        d == d.rounded(), d >= Double(r.lowerBound), d <= Double(r.upperBound), d < 9e18
      else { throw bad }
      return Int(d)
    }
    func choice() throws(OptionError) -> String {
      guard case .choice(let c) = spec.kind else { throw bad }
      switch value {
      case .identifier(let s) where c.contains(s): return s
      case .string(let s) where c.contains(s): return s
      default: throw bad
      }
    }
    func boolean() throws(OptionError) -> Bool {
      switch value {
      case .identifier("true"): return true
      case .identifier("false"): return false
      default: throw bad
      }
    }
    switch name {
    case "method": method = Method(rawValue: try choice())!
    case "time_limit": timeLimit = try real()
    case "seed": seed = try integer()
    case "starts": starts = try integer()
    case "feasibility_tolerance": feasibilityTolerance = try real()
    case "step_size": stepSize = try real()
    case "perturbation_radius": perturbationRadius = try real()
    case "overshoot": overshoot = try real()
    case "max_iterations": maxIterations = try integer()
    case "stall_iterations": stallIterations = try integer()
    case "step_tolerance": stepTolerance = try real()
    case "workers": workers = try integer()
    case "batch": batch = try integer()
    case "sampling": sampling = Sampling(rawValue: try choice())!
    case "bounds": bounds = BoundsMethod(rawValue: try choice())!
    case "cuts": cuts = CutsMethod(rawValue: try choice())!
    case "obbt_splits": obbtSplits = try integer()
    case "mip_gap": mipGap = try real()
    case "warm_start": warmStart = try boolean()
    case "threads": threads = try integer()
    case "lp_walk_epsilon": lpWalkEpsilon = try real()
    case "milp_walk_gap": milpWalkGap = try real()
    case "auto_milp_neurons": autoMilpNeurons = try integer()
    default: throw .unknown(suggestion: nil)
    }
  }
}
