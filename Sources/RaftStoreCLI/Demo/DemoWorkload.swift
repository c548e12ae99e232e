import KeyValueStateMachine

/// The demo's writes: put number `n` (from 0) sets `key-(n mod keyCount)` to a value that
/// starts with `value-n-`, so the state after any prefix of the writes is known exactly.
enum DemoWorkload {
    static let keyCount = 1000
    /// Puts per proposal (one WAL save, one fsync).
    static let batchSize = 16
    /// A snapshot every this many entries.
    static let snapshotInterval: UInt64 = 3000
    /// Entries kept behind a snapshot for slow followers.
    static let retainedEntries: UInt64 = 1000
    /// WAL segment size: small, so the demo cuts segments and purges old ones.
    static let segmentSize: Int64 = 256 << 10

    static func key(_ sequence: Int) -> String {
        let number = String(sequence % keyCount)
        return "key-" + String(repeating: "0", count: 4 - number.count) + number
    }

    static func value(_ sequence: Int) -> String {
        let head = "value-\(sequence)-"
        return head + String(repeating: "x", count: max(0, 100 - head.count))
    }

    static func command(_ sequence: Int) -> KeyValueCommand {
        .put(key: key(sequence), value: value(sequence))
    }

    /// The sequence number a value was written by, or `nil` for a value the demo did not write.
    static func sequence(of value: String) -> Int? {
        guard value.hasPrefix("value-") else { return nil }
        return Int(value.dropFirst(6).prefix { $0 != "-" })
    }

    /// The state after puts 0 through `last`.
    static func model(through last: Int) -> [String: String] {
        var values: [String: String] = [:]
        for sequence in max(0, last - keyCount + 1)...max(0, last) where last >= 0 {
            values[key(sequence)] = value(sequence)
        }
        return last >= 0 ? values : [:]
    }

    /// Payload bytes per put (what MB/s counts).
    static var bytesPerPut: Int { command(0).bytes.count }
}
