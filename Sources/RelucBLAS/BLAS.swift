internal import COpenBLAS

/// The one user of OpenBLAS: the matrix-matrix product of batched multistart.
public enum BLAS {
  /// OpenBLAS runs on the calling thread only: reluc's gradient workers are its parallelism, and
  /// OpenBLAS's own threads would compete with them for the two cores.
  private static let singleThreaded: Void = { openblas_set_num_threads(1) }()

  /// `C = A B + beta C` for row-major `A` (`m x k`, or `k x m` read transposed when `transposeA`),
  /// `B` (`k x n`) and `C` (`m x n`), with leading dimensions equal to the row lengths.
  @inline(__always)
  public static func gemm(
    transposeA: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Double>, b: UnsafePointer<Double>,
    beta: Double, c: UnsafeMutablePointer<Double>
  ) {
    _ = singleThreaded
    cblas_dgemm(
      CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, CblasNoTrans, Int32(m), Int32(n),
      Int32(k), 1, a, Int32(transposeA ? m : k), b, Int32(n), beta, c, Int32(n))
  }

  /// OpenBLAS's version and build configuration, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... Haswell".
  public static var configuration: String { String(cString: openblas_get_config()) }
}
