import RelucBase
import RelucIR

#if canImport(Glibc)
  import Glibc
#endif

/// One thread's part of the starts: how many sampled starts (ignored when `anytime`), its random
/// seed and the user's starting points it runs first.
struct StartShare {
  var starts: Int
  var seed: Int
  var user: [[Double]]
  /// Starts are drawn until the deadline (`starts = 0`).
  var anytime = false
}

/// The starting points of a solve. Start k is the user's k-th start (projected); then, with a
/// count of starts, the Latin hypercube points (`sampling = lhs`) and uniform samples; or,
/// anytime (`starts = 0`), a diversified endless stream in turns: a point of a Latin hypercube (of
/// `anytimeBlock` points, a new one when it is used up), a uniform sample, a perturbation of
/// the incumbent (the solve's best point, whichever thread or method found it) in a ball of
/// radius `perturbation_radius D 2^(2u - 1)`, u uniform (half to twice PPGA's radius), and a
/// recombination of the incumbent with the best point of an earlier start (`ElitePool`; a uniform
/// sample while there is none).
final class Starts {
  /// Points per Latin hypercube of the anytime stream.
  static let anytimeBlock = 64

  let user: [[Double]]
  private(set) var lhs: [[Double]]
  let domain: Domain
  let anytime: Bool
  let radius: Double
  private var block: [[Double]] = []
  /// The best points of finished starts, the incumbent's partners in recombinations.
  private var elites = ElitePool()
  /// Recombination starts drawn (statistic `recombinations`).
  private(set) var recombinations = 0

  /// Keeps a finished start's best point (anytime).
  func remember(_ point: [Double], value: Double) {
    if anytime { elites.remember(point, value: value) }
  }

  init(user: [[Double]], lhs: [[Double]], domain: Domain, anytime: Bool, radius: Double) {
    self.user = user
    self.lhs = lhs
    self.domain = domain
    self.anytime = anytime
    self.radius = radius
  }

  /// Start `k`; `incumbent`: the point the anytime stream perturbs (nil: a uniform sample).
  func start(_ k: Int, _ rng: inout Xoshiro256, incumbent: [Double]? = nil) -> [Double] {
    var s = [Double](repeating: 0, count: domain.n)
    if k < user.count {
      s = user[k]
      s.withUnsafeMutableBufferPointer { _ = domain.project($0.baseAddress!) }
      return s
    }
    guard anytime else {
      if k - user.count < lhs.count {
        s = lhs[k - user.count]
      } else {
        s.withUnsafeMutableBufferPointer { domain.sample(&rng, into: $0.baseAddress!) }
      }
      return s
    }
    switch (k - user.count) % 4 {
    case 3:
      if let center = incumbent, let p = elites.recombine(center, &rng, domain: domain) {
        recombinations += 1
        return p
      }
      s.withUnsafeMutableBufferPointer { domain.sample(&rng, into: $0.baseAddress!) }
      return s
    case 0:
      if block.isEmpty { block = domain.latinHypercube(Self.anytimeBlock, &rng) }
      return block.removeLast()
    case 2 where incumbent != nil:
      let center = incumbent!
      var norm = 0.0
      var u = [Double](repeating: 0, count: domain.n)
      for j in 0..<domain.n {
        u[j] = rng.normal()
        norm += u[j] * u[j]
      }
      norm = max(norm.squareRoot(), 1e-300)
      let r =
        radius * domain.diameter * pow(2, 2 * rng.unit() - 1)
        * pow(rng.unit(), 1 / Double(max(1, domain.n)))
      for j in 0..<domain.n { s[j] = center[j] + r * u[j] / norm }
      if s.withUnsafeMutableBufferPointer({ domain.project($0.baseAddress!) }) { return s }
      fallthrough
    default:
      s.withUnsafeMutableBufferPointer { domain.sample(&rng, into: $0.baseAddress!) }
      return s
    }
  }
}
