// Reproduces ThreadSanitizer's false positive on Synchronization.Mutex (Swift 6.3, Linux): a
// contended lock is taken inside the uninstrumented runtime (a PI futex), so TSan sees two
// critical sections of the same Mutex as unordered and reports "Swift access race" / "data race".
// The same program with pthread_mutex_lock reports nothing.
//
//   swiftc -sanitize=thread -O Tools/tsan-mutex-false-positive.swift -o /tmp/m && /tmp/m
import Synchronization
import Dispatch
final class Box: Sendable { let m = Mutex<[Int]>([0]) }
let box = Box()
DispatchQueue.concurrentPerform(iterations: 8) { i in
    for _ in 0..<2000 {
        box.m.withLock { $0.append(i) }
        _ = box.m.withLock { $0.count }
    }
}
print(box.m.withLock { $0.count })
