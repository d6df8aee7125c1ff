#if canImport(Glibc)
  import Glibc
#endif

/// Why a file could not be read.
public enum FileReadError: Error, Equatable, Sendable {
  /// It does not exist or cannot be opened.
  case notFound
  /// It is a directory, FIFO, device or socket: never opened, so it cannot block or stream.
  case notRegular
  /// It is larger than the limit (its size in bytes).
  case tooLarge(Int)
}

/// Reads a whole regular file of at most `limit` bytes, checking its type and size before
/// opening it.
public func readRegularFile(_ path: String, limit: Int) -> Result<[UInt8], FileReadError> {
  var st = stat()
  guard stat(path, &st) == 0 else { return .failure(.notFound) }
  guard (st.st_mode & S_IFMT) == S_IFREG else { return .failure(.notRegular) }
  guard Int(st.st_size) <= limit else { return .failure(.tooLarge(Int(st.st_size))) }
  guard let f = fopen(path, "rb") else { return .failure(.notFound) }
  defer { fclose(f) }
  var out = [UInt8](repeating: 0, count: Int(st.st_size))
  let n = out.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
  guard n == out.count, ferror(f) == 0 else { return .failure(.notFound) }
  return .success(out)
}

/// Reads a whole regular file; nil when it cannot be read, is not a regular file or is larger
/// than `limit` (64 MiB by default).
public func readFile(_ path: String, limit: Int = 64 << 20) -> [UInt8]? {
  try? readRegularFile(path, limit: limit).get()
}

/// Writes `bytes` to a file (created or truncated), or to standard output for nil, checking
/// every write and the close (a full disk or a closed pipe is reported, never ignored).
/// Returns the reason of a failure, nil on success.
public func writeChecked(_ bytes: [UInt8], to path: String?) -> String? {
  let fd: Int32
  if let path {
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { return String(cString: strerror(errno)) }
  } else {
    fd = 1
  }
  var failure: String? = nil
  bytes.withUnsafeBytes { buffer in
    var offset = 0
    while offset < buffer.count {
      let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
      if n < 0 {
        if errno == EINTR { continue }
        failure = String(cString: strerror(errno))
        return
      }
      offset += n
    }
  }
  if path != nil, close(fd) != 0, failure == nil { failure = String(cString: strerror(errno)) }
  return failure
}

/// Whether two paths name the same existing file (same device and inode).
public func sameFile(_ a: String, _ b: String) -> Bool {
  var sa = stat()
  var sb = stat()
  guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
}
