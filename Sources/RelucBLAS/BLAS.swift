internal import COpenBLAS

/// The one user of OpenBLAS: the matrix-matrix products of batched multistart, in double or
/// single precision (`BLASScalar`), and of a linear region's rows (`LinearRegion`).
public enum BLAS {
  /// OpenBLAS runs on the calling thread only: reluc's gradient workers are its parallelism, and
  /// OpenBLAS's own threads would compete with them for the two cores.
  fileprivate static let singleThreaded: Void = { openblas_set_num_threads(1) }()

  /// OpenBLAS's version and build configuration, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... Haswell".
  public static var configuration: String { String(cString: openblas_get_config()) }
}

/// A floating-point type OpenBLAS multiplies matrices of: `Double` (dgemm) or `Float` (sgemm).
public protocol BLASScalar: BinaryFloatingPoint, Sendable {
  /// `C = A B + beta C` for row-major `A` (`m x k`, or `k x m` read transposed when
  /// `transposeA`), `B` (`k x n`) and `C` (`m x n`), with leading dimensions equal to the row
  /// lengths, on the calling thread.
  static func gemm(
    transposeA: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Self>, b: UnsafePointer<Self>,
    beta: Self, c: UnsafeMutablePointer<Self>)
}

/// The CBLAS signature dgemm and sgemm share, for `T` = `Double` and `Float`.
private typealias CBLASGemm<T> = (
  CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, blasint, blasint, blasint, T,
  UnsafePointer<T>?, blasint, UnsafePointer<T>?, blasint, T, UnsafeMutablePointer<T>?, blasint
) -> Void

/// `BLASScalar.gemm` through `routine` (cblas_dgemm or cblas_sgemm): the one place that maps the
/// row-major product to CBLAS's arguments.
@inline(__always)
private func gemm<T: BLASScalar>(
  _ routine: CBLASGemm<T>, transposeA: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<T>,
  b: UnsafePointer<T>, beta: T, c: UnsafeMutablePointer<T>
) {
  _ = BLAS.singleThreaded
  routine(
    CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, CblasNoTrans, blasint(m), blasint(n),
    blasint(k), 1, a, blasint(transposeA ? m : k), b, blasint(n), beta, c, blasint(n))
}

extension Double: BLASScalar {
  @inline(__always)
  public static func gemm(
    transposeA: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Double>, b: UnsafePointer<Double>,
    beta: Double, c: UnsafeMutablePointer<Double>
  ) {
    RelucBLAS.gemm(
      cblas_dgemm, transposeA: transposeA, m: m, n: n, k: k, a: a, b: b, beta: beta, c: c)
  }
}

extension Float: BLASScalar {
  @inline(__always)
  public static func gemm(
    transposeA: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    beta: Float, c: UnsafeMutablePointer<Float>
  ) {
    RelucBLAS.gemm(
      cblas_sgemm, transposeA: transposeA, m: m, n: n, k: k, a: a, b: b, beta: beta, c: c)
  }
}
