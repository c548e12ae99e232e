#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RaftStorage
import Synchronization

/// A thread of its own that writes the tail's full page-buffer chunks to the file while the
/// caller frames the next records into a second buffer (``PageWriter``'s write-behind).
///
/// Why: a 128 KiB `pwrite` into fresh page-cache pages costs about as much kernel time as
/// framing those 128 KiB takes in user space (`Docs/Performance.md`, W1); on one thread they add
/// up, on two they overlap.
///
/// At most one write is in flight, and the owner waits for it (``wait()``) before submitting
/// the next one and before any other operation on the WAL's files, so the file system sees
/// exactly the sequence of calls it would see without the thread, in the same order (the
/// crash-point enumeration of the fault-injecting file system depends on that); only the
/// calling thread differs. A failed write is kept and thrown by every later ``wait()``, so the
/// next call that waits (a save crossing the watermark, a sync, a cut, a close) reports it and
/// poisons the WAL as a failed write on the caller's thread would.
///
/// The thread starts with the first write and inherits the creating thread's scheduling
/// priority (a pthread, as `BackgroundLane` in LZ4Snapshots and ``SyncThread``, for the same
/// reasons: no Foundation, no Dispatch QoS demotion). It keeps the object alive until
/// ``stop()``, which the WAL's close and deinit call.
///
/// Not thread-safe on the owner's side: the WAL calls it under its writer lock.
final class WriteBehind: @unchecked Sendable {
    // @unchecked: `job`, `returned`, `failure` and `stopping` are guarded by `mutex`; `thread`
    // and `stopped` are touched by the owner only (under the WAL's writer lock).

    /// One write: the first `count` bytes of `buffer` at `offset` of `file`.
    struct Job: Sendable {
        var file: any StorageFile
        var buffer: [UInt8]
        var count: Int
        var offset: Int64
    }

    /// A job was submitted and has not finished; read without the lock by the spinning paths.
    private let busy = Atomic<Bool>(false)
    /// Spins before sleeping: a chunk is handed over every 50 us or so while a batch is being
    /// written, and a futex wake-up on a virtual machine costs tens of microseconds.
    private static let spins = 4000

    private var job: Job?
    /// The buffer of the finished job, for the owner to reuse.
    private var returned: [UInt8]?
    private var failure: StorageError?
    private var stopping = false

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Signalled when a job arrives or the thread is to stop.
    private let workAvailable = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Signalled when a job finishes.
    private let finished = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var thread: pthread_t?
    /// After ``stop()`` (or a failed `pthread_create`) writes run on the caller's thread.
    private var stopped = false

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(workAvailable, nil)
        pthread_cond_init(finished, nil)
    }

    deinit {
        pthread_cond_destroy(finished)
        pthread_cond_destroy(workAvailable)
        pthread_mutex_destroy(mutex)
        finished.deallocate()
        workAvailable.deallocate()
        mutex.deallocate()
    }

    /// Starts writing `job`. The previous job must have been waited for.
    func submit(_ job: Job) {
        if thread == nil && !stopped { start() }
        guard thread != nil else {
            // No thread: write now and keep the outcome for ``wait()``.
            let error = Self.perform(job)
            pthread_mutex_lock(mutex)
            record(error, buffer: job.buffer)
            pthread_mutex_unlock(mutex)
            return
        }
        busy.store(true, ordering: .releasing)
        pthread_mutex_lock(mutex)
        self.job = job
        pthread_cond_signal(workAvailable)
        pthread_mutex_unlock(mutex)
    }

    /// Returns when the submitted write (if any) has finished; hands back its buffer for reuse.
    ///
    /// - Throws: the error of this write or of any earlier one (it stays).
    func wait() throws(StorageError) -> [UInt8]? {
        for _ in 0..<Self.spins where !busy.load(ordering: .acquiring) { break }
        pthread_mutex_lock(mutex)
        while busy.load(ordering: .acquiring) { pthread_cond_wait(finished, mutex) }
        let buffer = returned
        returned = nil
        let failure = self.failure
        pthread_mutex_unlock(mutex)
        if let failure { throw failure }
        return buffer
    }

    /// Lets the thread finish the submitted write and waits for it to exit. Later writes run on
    /// the caller's thread.
    func stop() {
        stopped = true
        guard let running = thread else { return }
        thread = nil
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_signal(workAvailable)
        pthread_mutex_unlock(mutex)
        pthread_join(running, nil)
    }

    private static func perform(_ job: Job) -> StorageError? {
        do throws(StorageError) {
            try job.buffer.withRawBytes { (raw) throws(StorageError) in
                try job.file.write(UnsafeRawBufferPointer(rebasing: raw[0..<job.count]), at: job.offset)
            }
            return nil
        } catch {
            return error
        }
    }

    /// Keeps a finished job's outcome (under `mutex`).
    private func record(_ error: StorageError?, buffer: [UInt8]) {
        if let error, failure == nil { failure = error }
        returned = buffer
    }

    private func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        #if canImport(Darwin)
        var handle: pthread_t?
        let result = pthread_create(&handle, nil, { context in
            Unmanaged<WriteBehind>.fromOpaque(context).takeRetainedValue().loop()
            return nil
        }, context)
        #else
        var handle = pthread_t()
        let result = pthread_create(&handle, nil, { context in
            Unmanaged<WriteBehind>.fromOpaque(context!).takeRetainedValue().loop()
            return nil
        }, context)
        #endif
        if result == 0 {
            thread = handle
        } else {
            Unmanaged<WriteBehind>.fromOpaque(context).release()
            stopped = true
        }
    }

    private func loop() {
        pthread_mutex_lock(mutex)
        while true {
            if job == nil && !stopping {
                pthread_mutex_unlock(mutex)
                for _ in 0..<Self.spins where busy.load(ordering: .relaxed) { break }
                pthread_mutex_lock(mutex)
            }
            while job == nil && !stopping { pthread_cond_wait(workAvailable, mutex) }
            guard var current = job else { break }
            job = nil
            pthread_mutex_unlock(mutex)
            let error = Self.perform(current)
            pthread_mutex_lock(mutex)
            // Move the buffer out, so the owner gets the only reference (no copy on reuse).
            var buffer: [UInt8] = []
            swap(&buffer, &current.buffer)
            record(error, buffer: consume buffer)
            busy.store(false, ordering: .releasing)
            pthread_cond_signal(finished)
        }
        pthread_mutex_unlock(mutex)
    }
}
