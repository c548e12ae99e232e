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
    // @unchecked: `job` is written by the owner before it publishes `posted` and read by the
    // thread after it sees it; `returned` and `failure` are written by the thread before it
    // publishes `completed` and read by the owner after it sees it (release/acquire). `thread`
    // and `stopped` are touched by the owner only (under the WAL's writer lock).

    /// One write: the first `count` bytes of `buffer` at `offset` of `file`.
    struct Job: Sendable {
        var file: any StorageFile
        var buffer: [UInt8]
        var count: Int
        var offset: Int64
    }

    /// Jobs submitted, and jobs finished: a job is in flight while they differ.
    private let posted = Atomic<Int>(0)
    private let completed = Atomic<Int>(0)
    /// Set by a side about to sleep on its condition; the other side signals only then, so the
    /// hand-over of a job and of its result costs no system call while both threads spin.
    private let threadSleeps = Atomic<Bool>(false)
    private let ownerSleeps = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    /// How long each side polls before sleeping. Chunks are handed over every few tens of
    /// microseconds while a batch is written; a futex wake-up on a virtual machine costs as
    /// much, and a contended mutex on the hand-over path put both threads to sleep every time.
    private static let spin: Duration = .microseconds(30)

    private var job: Job?
    /// The buffer of the finished job, for the owner to reuse.
    private var returned: [UInt8]?
    private var failure: StorageError?

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Signalled when a job arrives or the thread is to stop (while the thread sleeps).
    private let workAvailable = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Signalled when a job finishes (while the owner sleeps).
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
            if let error, failure == nil { failure = error }
            returned = job.buffer
            return
        }
        self.job = job
        posted.add(1, ordering: .sequentiallyConsistent)
        if threadSleeps.load(ordering: .sequentiallyConsistent) {
            pthread_mutex_lock(mutex)
            pthread_cond_signal(workAvailable)
            pthread_mutex_unlock(mutex)
        }
    }

    /// Returns when the submitted write (if any) has finished; hands back its buffer for reuse.
    ///
    /// - Throws: the error of this write or of any earlier one (it stays).
    func wait() throws(StorageError) -> [UInt8]? {
        let target = posted.load(ordering: .relaxed)
        if !Self.poll({ completed.load(ordering: .acquiring) == target }) {
            pthread_mutex_lock(mutex)
            ownerSleeps.store(true, ordering: .sequentiallyConsistent)
            while completed.load(ordering: .sequentiallyConsistent) != target { pthread_cond_wait(finished, mutex) }
            ownerSleeps.store(false, ordering: .relaxed)
            pthread_mutex_unlock(mutex)
        }
        let buffer = returned
        returned = nil
        if let failure { throw failure }
        return buffer
    }

    /// Lets the thread finish the submitted write and waits for it to exit. Later writes run on
    /// the caller's thread.
    func stop() {
        stopped = true
        guard let running = thread else { return }
        thread = nil
        stopping.store(true, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
        pthread_cond_signal(workAvailable)
        pthread_mutex_unlock(mutex)
        pthread_join(running, nil)
    }

    /// Polls `condition` for up to ``spin``; returns whether it became true.
    private static func poll(_ condition: () -> Bool) -> Bool {
        if condition() { return true }
        let clock = ContinuousClock()
        let deadline = clock.now + spin
        repeat {
            for _ in 0..<64 where condition() { return true }
        } while clock.now < deadline
        return condition()
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
        var taken = 0
        while true {
            let ready = Self.poll { posted.load(ordering: .acquiring) != taken || stopping.load(ordering: .relaxed) }
            if !ready {
                pthread_mutex_lock(mutex)
                threadSleeps.store(true, ordering: .sequentiallyConsistent)
                while posted.load(ordering: .sequentiallyConsistent) == taken && !stopping.load(ordering: .sequentiallyConsistent) {
                    pthread_cond_wait(workAvailable, mutex)
                }
                threadSleeps.store(false, ordering: .relaxed)
                pthread_mutex_unlock(mutex)
            }
            // Jobs come one at a time: the owner waits for each before submitting the next.
            guard posted.load(ordering: .acquiring) != taken, var current = job.take() else { return }
            taken += 1
            let error = Self.perform(current)
            if let error, failure == nil { failure = error }
            // Move the buffer out, so the owner gets the only reference (no copy on reuse).
            var buffer: [UInt8] = []
            swap(&buffer, &current.buffer)
            returned = consume buffer
            completed.store(taken, ordering: .sequentiallyConsistent)
            if ownerSleeps.load(ordering: .sequentiallyConsistent) {
                pthread_mutex_lock(mutex)
                pthread_cond_signal(finished)
                pthread_mutex_unlock(mutex)
            }
        }
    }
}
