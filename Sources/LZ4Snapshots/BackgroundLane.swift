#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A thread of its own for one stage of the frame writer's and reader's pipelines: it runs the
/// jobs submitted to it one at a time, in order, while the caller's thread does the other stage.
///
/// Why a thread: liblz4 compresses and decompresses on one core, and the checksums (XXH32 over
/// the content, the codec's CRC32C) and the file I/O around it would add 30-50% to a
/// single-threaded load or save. Overlapping them with the (de)compression of the next block
/// keeps a save or load near raw LZ4 speed (see Docs/Performance.md).
///
/// Why a pthread rather than a Dispatch queue: Dispatch's pooled workers run at their QoS's
/// priority (nice 0 on Linux), not the caller's, so a raft node running at a raised priority
/// would have half its snapshot pipeline demoted. A thread created here inherits the creating
/// thread's scheduling priority. Creating one costs tens of microseconds, nothing next to a
/// snapshot.
///
/// Jobs hand raw buffers between the threads, so callers must not touch what a pending job uses
/// until ``wait()`` returns; ``wait()`` also makes the jobs' writes visible. The owner calls
/// ``shutDown()`` when done (the thread keeps the lane alive until then).
///
/// Both sides spin briefly before sleeping: the pipeline hands over a block every millisecond
/// or so, and a futex wake-up on a virtual machine costs tens of microseconds each time.
final class BackgroundLane: @unchecked Sendable {
    /// Jobs submitted and not yet finished; read without the lock by the spinning fast paths.
    private let pending = Atomic<Int>(0)
    /// Jobs finished since the lane started; ``wait(for:)`` compares its ticket against it.
    private let completed = Atomic<Int>(0)
    /// Jobs submitted so far (touched by the submitting thread only).
    private var submitted = 0
    private static let spins = 4000

    // Guarded by `mutex`.
    private var jobs: [@Sendable () -> Void] = []
    private var running = false
    private var stopping = false

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Signalled when a job arrives or the lane stops.
    private let workAvailable = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Broadcast when a job finishes.
    private let idle = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var thread: pthread_t?

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(workAvailable, nil)
        pthread_cond_init(idle, nil)
        let context = Unmanaged.passRetained(self).toOpaque()
        #if canImport(Darwin)
        var handle: pthread_t?
        #else
        var handle = pthread_t()
        #endif
        let result = pthread_create(&handle, nil, { context in
            #if canImport(Darwin)
            let lane = Unmanaged<BackgroundLane>.fromOpaque(context).takeRetainedValue()
            #else
            let lane = Unmanaged<BackgroundLane>.fromOpaque(context!).takeRetainedValue()
            #endif
            lane.loop()
            return nil
        }, context)
        if result == 0 {
            thread = handle
        } else {
            // No thread: run jobs inline instead (``submit(_:)`` sees `thread == nil`).
            Unmanaged<BackgroundLane>.fromOpaque(context).release()
        }
    }

    deinit {
        pthread_cond_destroy(idle)
        pthread_cond_destroy(workAvailable)
        pthread_mutex_destroy(mutex)
        idle.deallocate()
        workAvailable.deallocate()
        mutex.deallocate()
    }

    /// Runs `job` after the jobs submitted before it; returns its ticket for ``wait(for:)``.
    @discardableResult
    func submit(_ job: @escaping @Sendable () -> Void) -> Int {
        submitted += 1
        guard thread != nil else {
            job()
            completed.add(1, ordering: .releasing)
            return submitted
        }
        pending.add(1, ordering: .relaxed)
        pthread_mutex_lock(mutex)
        jobs.append(job)
        pthread_cond_signal(workAvailable)
        pthread_mutex_unlock(mutex)
        return submitted
    }

    /// Whether the job with `ticket` has finished (its writes are then visible).
    func hasFinished(_ ticket: Int) -> Bool {
        completed.load(ordering: .acquiring) >= ticket
    }

    /// Returns when the job with `ticket` (and every job before it) has finished, leaving later
    /// ones running; its writes are then visible.
    func wait(for ticket: Int) {
        for _ in 0..<Self.spins where completed.load(ordering: .acquiring) >= ticket { return }
        pthread_mutex_lock(mutex)
        while completed.load(ordering: .acquiring) < ticket {
            pthread_cond_wait(idle, mutex)
        }
        pthread_mutex_unlock(mutex)
    }

    /// Returns when every submitted job has finished.
    func wait() {
        for _ in 0..<Self.spins where pending.load(ordering: .acquiring) == 0 { return }
        pthread_mutex_lock(mutex)
        while running || !jobs.isEmpty {
            pthread_cond_wait(idle, mutex)
        }
        pthread_mutex_unlock(mutex)
    }

    /// Finishes the submitted jobs and ends the thread.
    func shutDown() {
        guard let thread else { return }
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_signal(workAvailable)
        pthread_mutex_unlock(mutex)
        pthread_join(thread, nil)
        self.thread = nil
    }

    private func loop() {
        pthread_mutex_lock(mutex)
        while true {
            if jobs.isEmpty && !stopping {
                pthread_mutex_unlock(mutex)
                for _ in 0..<Self.spins where pending.load(ordering: .relaxed) != 0 { break }
                pthread_mutex_lock(mutex)
            }
            while jobs.isEmpty && !stopping {
                pthread_cond_wait(workAvailable, mutex)
            }
            if jobs.isEmpty { break }
            let job = jobs.removeFirst()
            running = true
            pthread_mutex_unlock(mutex)
            job()
            pthread_mutex_lock(mutex)
            running = false
            pending.subtract(1, ordering: .releasing)
            completed.add(1, ordering: .releasing)
            // Waiters wait for the queue to empty or for one job: tell them after every job.
            pthread_cond_broadcast(idle)
        }
        pthread_cond_broadcast(idle)
        pthread_mutex_unlock(mutex)
    }
}

/// Moves a value the pipeline hands between threads under its own discipline (a job owns it
/// until ``BackgroundLane/wait()``) past the compiler's Sendable check.
struct Handoff<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
