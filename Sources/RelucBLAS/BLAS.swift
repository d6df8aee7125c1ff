internal import COpenBLAS

/// The one user of OpenBLAS: the matrix-matrix products of batched multistart, in double or
/// single precision (`BLASScalar`).
public enum BLAS {
  /// OpenBLAS runs on the calling thread only: reluc's gradient workers are its parallelism, and
  /// OpenBLAS's own threads would compete with them for the two cores.
  fileprivate static let singleThreaded: Void = { openblas_set_num_threads(1) }()

  /// `C = A B + beta C` in double precision (`Double.gemm`).
  @inline(__always)
  public static func gemm(
    transposeA: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Double>, b: UnsafePointer<Double>,
    beta: Double, c: UnsafeMutablePointer<Double>
  ) {
    Double.gemm(transposeA: transposeA, m: m, n: n, k: k, a: a, b: b, beta: beta, c: c)
  }

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

extension Double: BLASScalar {
  @inline(__always)
  public static func gemm(
    transposeA: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Double>, b: UnsafePointer<Double>,
    beta: Double, c: UnsafeMutablePointer<Double>
  ) {
    _ = BLAS.singleThreaded
    cblas_dgemm(
      CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, CblasNoTrans, Int32(m), Int32(n),
      Int32(k), 1, a, Int32(transposeA ? m : k), b, Int32(n), beta, c, Int32(n))
  }
}

extension Float: BLASScalar {
  @inline(__always)
  public static func gemm(
    transposeA: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    beta: Float, c: UnsafeMutablePointer<Float>
  ) {
    _ = BLAS.singleThreaded
    cblas_sgemm(
      CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, CblasNoTrans, Int32(m), Int32(n),
      Int32(k), 1, a, Int32(transposeA ? m : k), b, Int32(n), beta, c, Int32(n))
  }
}
