import RelucBLAS
import RelucBase
import RelucIR

/// PPGA with its starts run in lockstep through `BatchKernel`: `lanes` starts at a time, one
/// matrix-matrix forward and backward pass per iteration for all of them, so each weight is read
/// once per iteration instead of once per start. A lane follows PPGA's rules on its own (normalized
/// step `eta g/|g|` projected on X, eta halved when the step does not improve, perturbation of the
/// start's best point at a stall, end after `stall_iterations` failed perturbations or
/// `max_iterations`), one trial point per iteration; a lane whose start ends takes the next start.
/// A step that is rejected halves eta for the next iteration instead of being retried at once, so
/// an iteration costs one forward pass per lane and one backward pass per lane whose trial is
/// taken (the one-start loop pays a second forward pass to evaluate its trial).
///
/// PPGA_LR runs here too, with its region skip and step trimming (`RegionSkip`): a lane then
/// keeps its point's ReLU pre-activations, and its next trial may be a skip or a trimmed step
/// instead of a gradient step.
extension GradientRun {
  /// What a lane's trial point is.
  enum TrialKind {
    /// A projected gradient step (or a fresh point).
    case step
    /// PPGA_LR: the boundary of the region the last step stayed in.
    case skip
    /// PPGA_LR: a failed step cut at its `trimNeurons`-th first-layer crossing.
    case trim
  }

  /// Single-precision lanes: rounds between the evaluations in double of the best lane point.
  static let recordEvery = 8

  /// Anytime: the share of a lane's perturbations that are a crossover of its start's best point
  /// with another lane's. On the grid's 1000-input networks a lane's start seldom ends within
  /// the limit (on 1000-500-500-500-1, 30 to 70 starts in 20 s over the 64 lanes of two
  /// workers): the lanes are long chains of perturbations, each in its own basin, and the
  /// anytime stream's recombinations of finished starts (`Starts`) hardly run there. The
  /// crossovers mix the chains' points, as the recombinations mix the local optima of finished
  /// starts (measured in `bench/README.md`, "Crossovers of the lanes").
  static let crossoverShare = 0.25

  struct Lane {
    var x: [Double]
    var f = -Double.infinity
    var g: [Double]
    var gn = 0.0
    var eta = 0.0
    var startBest: [Double]
    var startBestValue = -Double.infinity
    var failedPerturbations = 0
    var localIterations = 0
    var checkpoint = 0.0
    /// x is new (a start or a perturbation) and has not been evaluated yet.
    var fresh = true
    var active = true
    /// PPGA_LR: x's ReLU pre-activations (`BatchKernel.copyReLU`).
    var z: [Double] = []
    /// PPGA_LR: the next trial when it is a skip or a trimmed step, and which.
    var pending: [Double]? = nil
    var pendingKind = TrialKind.step
    /// The kind of the trial being evaluated.
    var kind = TrialKind.step
  }

  mutating func runBatched<Scalar: BLASScalar>(
    _: Scalar.Type, lanes count: Int, total: Int, starts: Starts
  ) {
    let B = count
    let kernel = BatchKernel<Scalar>(problem: problem, batch: B)
    // In single precision a lane's value carries the kernel's rounding: a point that beats the
    // best lane value so far is evaluated again in double (`value`) before it is kept. While a
    // lane climbs, nearly every round beats it, and a one-point pass in double cost 7% of the
    // time on 1000-500-500-500-500-1: so the latest such point waits (`candidate`) and is
    // evaluated every `recordEvery` rounds and when the loop ends.
    let single = Scalar.self != Double.self
    var bestLane = -Double.infinity
    var candidate: [Double]? = nil
    var round = 0
    func recordCandidate() {
      guard let c = candidate else { return }
      candidate = nil
      record(c, value(c))
    }
    defer { recordCandidate() }
    if let rows { kernel.rows = PenaltyLanes(rows.penalty, lanes: B) }
    let D = domain.diameter
    let minStep = options.stepTolerance * D
    var next = 0
    var lanes = [Lane](repeating: Lane(x: [], g: [], startBest: [], active: false), count: B)
    var T = [Double](repeating: 0, count: n * B)  // trial points, feature-major
    var G = [Double](repeating: 0, count: n * B)  // their gradients
    var trial = [Double](repeating: 0, count: n)
    let lr = variant == .ppga_lr
    let skipping = lr && options.ppgaLRSkip
    let trimming = lr && options.ppgaLRTrim && kernel.firstReLUWidth > 0
    let width1 = kernel.firstReLUWidth
    var zt: [Double] = []
    var values = [Double](repeating: 0, count: B)  // the trials' values
    var accepted = [Bool](repeating: false, count: B)
    var taken: [Int] = []  // the lanes that took their trial

    // Gives lane b the next start, or deactivates it when none is left.
    func begin(_ b: Int) {
      guard next < total else {
        lanes[b].active = false
        return
      }
      let s = starts.start(next, &rng, incumbent: starts.anytime ? incumbent : nil)
      next += 1
      lanes[b] = Lane(x: s, g: s, eta: options.stepSize * D, startBest: s)
    }
    // Ends lane b's start.
    func finish(_ b: Int) {
      if let rows { restoreStart(rows, from: lanes[b].startBest) }
      starts.remember(lanes[b].startBest, value: lanes[b].startBestValue)
      startsDone += 1
      begin(b)
    }
    for b in 0..<B { begin(b) }
    // Anytime: a crossover of lane b's start best with another lane's, drawn at random; nil when
    // no other lane has a different one.
    func crossover(_ b: Int) -> [Double]? {
      let partners = lanes.filter { $0.active && $0.startBestValue > -.infinity }.map(\.startBest)
      return ElitePool.crossover(lanes[b].startBest, withOneOf: partners, &rng, domain: domain)
    }
    // A stall: perturb the start's best point (anytime, one time in `crossoverShare`: cross it
    // with another lane's), or end the start.
    func stall(_ b: Int) {
      if lanes[b].failedPerturbations >= options.stallIterations
        || lanes[b].localIterations >= options.maxIterations
      {
        finish(b)
        return
      }
      lanes[b].failedPerturbations += 1
      perturbations += 1
      if starts.anytime, rng.unit() < Self.crossoverShare, let c = crossover(b) {
        x = c
        crossovers += 1
      } else {
        perturb(from: lanes[b].startBest)
      }
      lanes[b].x = x
      lanes[b].fresh = true
      lanes[b].pending = nil
      lanes[b].eta = options.stepSize * D
    }

    while lanes.contains(where: \.active) {
      if let interlude = context.interlude, interlude.due {
        recordCandidate()  // the best lane point joins the incumbent first
        interlude.run()
      }
      if context.shouldStop { return }  // a round is a whole batch: cheap to check each time
      round += 1
      if round % Self.recordEvery == 0 { recordCandidate() }
      // 1. Each active lane's trial point; idle lanes repeat their last point (ignored).
      for b in 0..<B where lanes[b].active {
        while lanes[b].active {
          if lanes[b].fresh {
            trial = lanes[b].x
            lanes[b].kind = .step
            break
          }
          if let p = lanes[b].pending {
            trial = p
            lanes[b].kind = lanes[b].pendingKind
            lanes[b].pending = nil
            break
          }
          lanes[b].kind = .step
          let l = lanes[b]
          if l.gn <= 0 || !l.gn.isFinite || l.eta < minStep {
            stall(b)
            continue
          }
          for j in 0..<n { trial[j] = l.x[j] + l.eta * l.g[j] / l.gn }
          guard trial.withUnsafeMutableBufferPointer({ domain.project($0.baseAddress!) }) else {
            stall(b)  // no admissible projection: treat as a stall
            continue
          }
          var moved = 0.0
          for j in 0..<n { moved += (trial[j] - l.x[j]) * (trial[j] - l.x[j]) }
          if moved.squareRoot() < minStep {
            stall(b)
            continue
          }
          break
        }
        if lanes[b].active {
          for j in 0..<n { T[j * B + b] = trial[j] }
        }
      }
      guard lanes.contains(where: \.active) else { break }
      // 2. One forward pass for all lanes; each lane takes its trial if it improves (fresh
      // points always do).
      T.withUnsafeBufferPointer { kernel.forward($0.baseAddress!) }
      taken.removeAll(keepingCapacity: true)
      for b in 0..<B where lanes[b].active {
        // (An overflowed value, infinite or NaN, is worth nothing, as in `value`.)
        let raw = T.withUnsafeBufferPointer { kernel.value(b, $0.baseAddress!) }
        values[b] = raw.isFinite ? raw : -.infinity
        let l = lanes[b]
        accepted[b] = l.fresh || values[b] > l.f + 1e-13 * (1 + abs(l.f))
        if accepted[b] { taken.append(b) }
      }
      // 3. One backward pass for the lanes that took their trial: a rejected trial's gradient
      // is never used (a quarter to a third of the trials on the grid's networks).
      G.withUnsafeMutableBufferPointer { kernel.gradient(into: $0.baseAddress!, lanes: taken) }
      // 4. Each lane moves on from its trial.
      for b in 0..<B where lanes[b].active {
        iterations += 1
        lanes[b].localIterations += 1
        let ft = values[b]
        let l = lanes[b]
        guard accepted[b] else {
          var trimmed: Double? = nil
          if l.kind == .step && trimming {
            kernel.copyReLU(b, into: &zt)
            trimmed = RegionSkip.trim(zx1: l.z[0..<width1], zt1: zt[0..<width1])
          }
          if let t = trimmed {
            // A failed step across many first-layer boundaries: its trimmed version next.
            stepTrims += 1
            lanes[b].pending = (0..<n).map { l.x[$0] + t * (T[$0 * B + b] - l.x[$0]) }
            lanes[b].pendingKind = .trim
            lanes[b].eta *= t
          } else if l.kind != .skip {
            lanes[b].eta /= 2  // a failed skip (rounding at the boundary) keeps the step size
          }
          if l.localIterations >= options.maxIterations { finish(b) }
          continue
        }
        if lr {
          kernel.copyReLU(b, into: &zt)
          if skipping, !l.fresh, l.kind == .step, kernel.samePattern(b, as: l.z) {
            let t = (0..<n).map { T[$0 * B + b] }
            if let p = RegionSkip.skip(
              x: l.x, trial: t, zx: l.z, zt: zt, overshoot: options.overshoot * D,
              polytope: problem.polytope)
            {
              regionSkips += 1
              lanes[b].pending = p
              lanes[b].pendingKind = .skip
            }
          }
          swap(&lanes[b].z, &zt)
        }
        var v = lanes[b]
        for j in 0..<n {
          v.x[j] = T[j * B + b]
          v.g[j] = G[j * B + b]
        }
        var norm = 0.0
        for j in 0..<n { norm += v.g[j] * v.g[j] }
        v.gn = norm.squareRoot()
        v.f = ft
        if regions.count < 1_000_000 { regions.insert(kernel.patternHash(b)) }
        if !single {
          record(v.x, ft, violation: kernel.rows?.violations[b])
        } else if ft > bestLane {
          bestLane = ft
          candidate = v.x
        }
        // A new best of the start (a start's first point always is; failedPerturbations is then
        // already 0).
        if v.startBestValue == -.infinity
          || ft > v.startBestValue + 1e-12 * (1 + abs(v.startBestValue))
        {
          v.startBestValue = ft
          v.startBest = v.x
          v.failedPerturbations = 0
        }
        var stalled = false
        if v.fresh {
          v.fresh = false
          v.checkpoint = ft
        } else if v.localIterations % 20 == 0 {
          // Progress stalls when 20 iterations gain less than 1e-9 (1 + |F|).
          stalled = ft - v.checkpoint <= 1e-9 * (1 + abs(ft))
          v.checkpoint = ft
        }
        lanes[b] = v
        if v.localIterations >= options.maxIterations {
          finish(b)
        } else if stalled {
          stall(b)
        }
      }
    }
  }

}
