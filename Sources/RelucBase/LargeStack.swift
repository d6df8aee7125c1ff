#if canImport(Glibc)
  import Glibc
#endif

/// The stack of the thread that runs the front end (parsing, lowering, formatting): 64 MiB, so
/// the nesting limit does not depend on which thread the caller runs on (a secondary thread
/// has 512 KiB, a debug build uses about 5-8 KiB per nesting level).
public let frontEndStackBytes = 64 << 20

/// Runs `body` on a new thread whose stack has `bytes`, waits for it and returns its result.
/// Runs `body` on the calling thread if no thread can be created.
public func onLargeStack<T>(_ bytes: Int = frontEndStackBytes, _ body: () -> T) -> T {
  var result: T? = nil
  withoutActuallyEscaping({ result = body() }) { run in
    let job = StackJob(run)
    if !job.start(stackBytes: bytes) { run() }
  }
  return result!
}

/// A closure run on a thread of its own; `start` returns after the thread ended.
private final class StackJob: @unchecked Sendable {
  let body: () -> Void

  init(_ body: @escaping () -> Void) { self.body = body }

  /// Runs `body` on a new thread with a stack of `stackBytes` and joins it; false when the
  /// thread could not be created (`body` did not run).
  func start(stackBytes: Int) -> Bool {
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setstacksize(&attributes, stackBytes)
    var thread = pthread_t()
    let context = Unmanaged.passRetained(self).toOpaque()
    let created = pthread_create(
      &thread, &attributes,
      { raw in
        guard let raw else { return nil }
        Unmanaged<StackJob>.fromOpaque(raw).takeRetainedValue().body()
        return nil
      }, context)
    guard created == 0 else {
      Unmanaged<StackJob>.fromOpaque(context).release()
      return false
    }
    pthread_join(thread, nil)
    return true
  }
}
