#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A thread of its own that runs blocking jobs (fdatasyncs, a store's synchronous calls) in
/// order, so async callers never block a thread of Swift concurrency's cooperative pool: on a
/// machine with few cores a handful of slow fdatasyncs would otherwise stall every task in the
/// process. The WAL's group commit and the async defaults of ``LogStore`` run on one.
///
/// Started on the first ``submit(_:)``; ``stop()`` (or deinit) lets it finish the queued jobs
/// and exit. Hand-written over pthreads because the library avoids Foundation.
package final class BlockingThread: @unchecked Sendable {
    // @unchecked: every field is guarded by `mutex` (a pthread mutex at a stable address).
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var jobs: [@Sendable () -> Void] = []
    private var started = false
    private var stopping = false
    private var thread: pthread_t?

    package init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        stop()
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `job` on the thread, after the jobs submitted before it.
    package func submit(_ job: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(mutex)
        jobs.append(job)
        if !started && !stopping {
            started = true
            start()
        }
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
        if stopping { runRemaining() }
    }

    /// Lets the thread finish its queued jobs and waits for it to exit.
    package func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        let running = thread
        thread = nil
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
        if let running, !pthread_equal(running, pthread_self()).isTrue { pthread_join(running, nil) }
    }

    /// After ``stop()`` jobs run on the submitting thread: nothing may be left waiting.
    private func runRemaining() {
        while let job = take() { job() }
    }

    private func take() -> (@Sendable () -> Void)? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return jobs.isEmpty ? nil : jobs.removeFirst()
    }

    private func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        #if canImport(Glibc)
        var handle = pthread_t()
        let result = pthread_create(&handle, nil, { context in
            Unmanaged<BlockingThread>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        #else
        var handle: pthread_t?
        let result = pthread_create(&handle, nil, { context in
            Unmanaged<BlockingThread>.fromOpaque(context).takeRetainedValue().run()
            return nil
        }, context)
        #endif
        if result == 0 {
            thread = handle
        } else {
            // No thread: run jobs where they are submitted.
            Unmanaged<BlockingThread>.fromOpaque(context).release()
            stopping = true
        }
    }

    private func run() {
        while true {
            pthread_mutex_lock(mutex)
            while jobs.isEmpty && !stopping { pthread_cond_wait(condition, mutex) }
            if jobs.isEmpty {
                pthread_mutex_unlock(mutex)
                return
            }
            let job = jobs.removeFirst()
            pthread_mutex_unlock(mutex)
            job()
        }
    }
}

extension Int32 {
    fileprivate var isTrue: Bool { self != 0 }
}

extension BlockingThread {
    /// Runs `body` on this thread and returns its result to the awaiting task, which waits
    /// without holding a thread of the cooperative pool.
    package nonisolated(nonsending) func run<Result: Sendable>(
        _ body: @escaping @Sendable () throws(StorageError) -> Result
    ) async throws(StorageError) -> Result {
        let outcome: Swift.Result<Result, StorageError> = await withCheckedContinuation { continuation in
            submit {
                do throws(StorageError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try outcome.get()
    }

    /// The thread the async defaults of ``LogStore`` run a store's synchronous calls on.
    package static let shared = BlockingThread()
}
