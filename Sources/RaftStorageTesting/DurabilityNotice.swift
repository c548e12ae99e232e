import Synchronization

/// The line a conformance suite prints when it runs without a crash closure: test runners have
/// no warnings, and a failing issue would be wrong (a memory store has nothing to make durable),
/// but a durable backend that only passed the reopen checks should not look fully checked.
enum DurabilityNotice {
    /// Call sites already told, so each prints once per process rather than once per case.
    private static let printed = Mutex<Set<String>>([])

    /// Prints, once per suite, store type and call site, that durability was not checked.
    static func unchecked(suite: String, store: String, caller: CheckLocation) {
        let site = caller.description
        let key = "\(suite) \(store) \(site)"
        guard printed.withLock({ $0.insert(key).inserted }) else { return }
        print("[\(suite)] durability not checked: no crash hook (\(store), run from \(site))")
    }
}
