import RelucBase
import RelucIR

/// PPGA with its starts run in lockstep through `BatchKernel`: `lanes` starts at a time, one
/// matrix-matrix forward and backward pass per iteration for all of them, so each weight is read
/// once per iteration instead of once per start. A lane follows PPGA's rules on its own (normalized
/// step `eta g/|g|` projected on X, eta halved when the step does not improve, perturbation of the
/// start's best point at a stall, end after `stall_iterations` failed perturbations or
/// `max_iterations`), one trial point per iteration; a lane whose start ends takes the next start.
/// A step that is rejected halves eta for the next iteration instead of being retried at once, so
/// an iteration costs one forward and one backward pass per lane (the one-start loop pays a second
/// forward pass to evaluate its trial).
extension GradientRun {
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
  }

  mutating func runBatched(lanes count: Int, total: Int, starts: Starts) {
    let B = count
    let kernel = BatchKernel(problem: problem, batch: B)
    if let rows { kernel.rows = PenaltyLanes(rows.penalty, lanes: B) }
    let D = domain.diameter
    let minStep = options.stepTolerance * D
    var next = 0
    var lanes = [Lane](repeating: Lane(x: [], g: [], startBest: [], active: false), count: B)
    var T = [Double](repeating: 0, count: n * B)  // trial points, feature-major
    var G = [Double](repeating: 0, count: n * B)  // their gradients
    var trial = [Double](repeating: 0, count: n)

    // Gives lane b the next start, or deactivates it when none is left.
    func begin(_ b: Int) {
      guard next < total else {
        lanes[b].active = false
        return
      }
      let s = starts.start(next, &rng)
      next += 1
      lanes[b] = Lane(x: s, g: s, eta: options.stepSize * D, startBest: s)
    }
    // Ends lane b's start.
    func finish(_ b: Int) {
      if let rows { restoreStart(rows, from: lanes[b].startBest) }
      startsDone += 1
      begin(b)
    }
    for b in 0..<B { begin(b) }
    // A stall: perturb the start's best point, or end the start.
    func stall(_ b: Int) {
      if lanes[b].failedPerturbations >= options.stallIterations
        || lanes[b].localIterations >= options.maxIterations
      {
        finish(b)
        return
      }
      lanes[b].failedPerturbations += 1
      perturbations += 1
      perturb(from: lanes[b].startBest)
      lanes[b].x = x
      lanes[b].fresh = true
      lanes[b].eta = options.stepSize * D
    }

    while lanes.contains(where: \.active) {
      if context.shouldStop { return }  // a round is a whole batch: cheap to check each time
      // 1. Each active lane's trial point; idle lanes repeat their last point (ignored).
      for b in 0..<B where lanes[b].active {
        while lanes[b].active {
          if lanes[b].fresh {
            trial = lanes[b].x
            break
          }
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
      // 2. One forward and one backward pass for all lanes.
      T.withUnsafeBufferPointer { kernel.forward($0.baseAddress!) }
      G.withUnsafeMutableBufferPointer { kernel.gradient(into: $0.baseAddress!) }
      // 3. Each lane accepts its trial if it improves (fresh points are always taken).
      for b in 0..<B where lanes[b].active {
        iterations += 1
        lanes[b].localIterations += 1
        let ft = T.withUnsafeBufferPointer { kernel.value(b, $0.baseAddress!) }
        let l = lanes[b]
        guard l.fresh || ft > l.f + 1e-13 * (1 + abs(l.f)) else {
          lanes[b].eta /= 2
          if l.localIterations >= options.maxIterations { finish(b) }
          continue
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
        record(v.x, ft, violation: kernel.rows?.violations[b])
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
