/// Solves the small symmetric positive definite system `m y = rhs` (`m` row-major `k x k`) by a
/// Cholesky factorization; nil when `m` is not positive definite. Used by both projections.
func solveSPD(_ m: [Double], _ rhs: [Double], _ k: Int) -> [Double]? {
  var l = [Double](repeating: 0, count: k * k)
  for i in 0..<k {
    for j in 0...i {
      var s = m[i * k + j]
      for p in 0..<j { s -= l[i * k + p] * l[j * k + p] }
      if i == j {
        guard s > 0 else { return nil }
        l[i * k + i] = s.squareRoot()
      } else {
        l[i * k + j] = s / l[j * k + j]
      }
    }
  }
  var y = rhs
  for i in 0..<k {
    for p in 0..<i { y[i] -= l[i * k + p] * y[p] }
    y[i] /= l[i * k + i]
  }
  for i in stride(from: k - 1, through: 0, by: -1) {
    for p in (i + 1)..<max(i + 1, k) { y[i] -= l[p * k + i] * y[p] }
    y[i] /= l[i * k + i]
  }
  return y
}
