import RelucBase

/// The best points of the gradient methods' finished starts (local optima), the partners of the
/// incumbent in the anytime stream's recombination starts (`Starts`).
///
/// A recombination start takes each coordinate from the incumbent or from an elite chosen at
/// random, with probability one half each (uniform crossover), and is projected onto X. Where the
/// two agree (on a box, mostly at the same bound) the start keeps their common choice; where
/// they differ it mixes them, a jump no ball around either point reaches. On 1000-input networks
/// the local optima of different starts share most coordinates, and a search from such a mix
/// climbs past both parents (measured in `bench/README.md`, "Recombination starts").
struct ElitePool {
  /// At most this many elites: the best values are kept.
  static let capacity = 16

  private(set) var elites: [(point: [Double], value: Double)] = []

  /// Keeps `point` (value `value`, to be maximized) when it is among the best and no elite has the
  /// same value (the same local optimum, found again).
  mutating func remember(_ point: [Double], value: Double) {
    guard value.isFinite, !elites.contains(where: { $0.value == value }) else { return }
    if elites.count < Self.capacity {
      elites.append((point, value))
    } else if let worst = elites.indices.min(by: { elites[$0].value < elites[$1].value }),
      elites[worst].value < value
    {
      elites[worst] = (point, value)
    }
  }

  /// A recombination of `center` with an elite other than `center` drawn at random, projected onto
  /// X; nil when there is no such elite or when the projection fails.
  func recombine(_ center: [Double], _ rng: inout Xoshiro256, domain: Domain) -> [Double]? {
    let points = elites.map(\.point).filter { $0.count == center.count }
    return Self.crossover(center, withOneOf: points, &rng, domain: domain)
  }

  /// A crossover of `a` with one of the `partners` other than `a` itself, drawn at random; nil
  /// when there is none or when the projection fails.
  static func crossover(
    _ a: [Double], withOneOf partners: [[Double]], _ rng: inout Xoshiro256, domain: Domain
  ) -> [Double]? {
    let others = partners.filter { $0 != a }
    guard !others.isEmpty else { return nil }
    let b = others[Int(rng.next() % UInt64(others.count))]
    return crossover(a, b, &rng, domain: domain)
  }

  /// Each coordinate of `a`, or of `b` with probability one half (uniform crossover), projected
  /// onto X; nil when the projection fails.
  static func crossover(_ a: [Double], _ b: [Double], _ rng: inout Xoshiro256, domain: Domain)
    -> [Double]?
  {
    var s = a
    for j in s.indices where rng.unit() < 0.5 { s[j] = b[j] }
    return s.withUnsafeMutableBufferPointer { domain.project($0.baseAddress!) } ? s : nil
  }
}
