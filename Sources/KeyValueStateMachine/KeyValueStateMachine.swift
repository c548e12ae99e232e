public import RaftStorage

/// The key/value state that raft entries build: a dictionary plus the index of the last entry
/// applied.
///
/// A value type: applying entries and restoring snapshots are pure, so the same state machine
/// runs over any storage backend and in tests that compare it with a model.
public struct KeyValueStateMachine: Hashable, Sendable {
    /// The current values.
    public private(set) var values: [String: String]
    /// The index of the last entry applied (or of the snapshot restored).
    public private(set) var appliedIndex: UInt64

    /// An empty state at index 0.
    public init() {
        values = [:]
        appliedIndex = 0
    }

    /// Restores the state a snapshot holds (``snapshotData()``'s format).
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/corrupt`` when the data is not a key/value snapshot.
    public init(snapshot: Snapshot) throws(StorageError) {
        values = try SnapshotCoding.decode(snapshot.data ?? [])
        appliedIndex = snapshot.metadata.index
    }

    /// Applies one committed entry. Entries without data (raft's empty entry at the start of a
    /// term) and configuration changes change nothing but the applied index.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/invalidArgument`` when `entry` is not the next index;
    ///   ``RaftStorage/StorageError/Code/corrupt`` when its data is not a command.
    public mutating func apply(_ entry: Entry) throws(StorageError) {
        guard entry.index == appliedIndex + 1 else {
            throw StorageError(.invalidArgument, "entry \(entry.index) applied after \(appliedIndex)")
        }
        if entry.type == .normal, let data = entry.data {
            switch try KeyValueCommand(decoding: data) {
            case .put(let key, let value): values[key] = value
            case .delete(let key): values[key] = nil
            }
        }
        appliedIndex = entry.index
    }

    /// The state as snapshot data: the pairs sorted by key, each as two length-prefixed byte
    /// strings (LEB128 lengths), after a count.
    public func snapshotData() -> [UInt8] {
        SnapshotCoding.encode(values)
    }
}

/// The snapshot data format. Decoding checks every length against the bytes left, so a
/// damaged snapshot gives an error, never a trap or a huge allocation.
enum SnapshotCoding {
    static func encode(_ values: [String: String]) -> [UInt8] {
        var out: [UInt8] = []
        out.appendVarint(UInt64(values.count))
        for key in values.keys.sorted() {
            for text in [key, values[key]!] {
                out.appendVarint(UInt64(text.utf8.count))
                out.append(contentsOf: text.utf8)
            }
        }
        return out
    }

    static func decode(_ bytes: [UInt8]) throws(StorageError) -> [String: String] {
        var offset = 0
        let count = try readVarint(bytes, &offset)
        // Each pair takes at least two bytes, which bounds the count before any allocation.
        guard count <= UInt64(bytes.count - offset) / 2 else { throw corrupt("claims \(count) pairs", offset) }
        var values: [String: String] = [:]
        values.reserveCapacity(Int(count))
        for _ in 0..<count {
            let key = try readString(bytes, &offset)
            values[key] = try readString(bytes, &offset)
        }
        guard offset == bytes.count else { throw corrupt("\(bytes.count - offset) bytes after the last pair", offset) }
        return values
    }

    private static func readVarint(_ bytes: [UInt8], _ offset: inout Int) throws(StorageError) -> UInt64 {
        guard let value = bytes.readVarint(at: &offset) else { throw corrupt("truncated or overlong length", offset) }
        return value
    }

    private static func readString(_ bytes: [UInt8], _ offset: inout Int) throws(StorageError) -> String {
        let length = try readVarint(bytes, &offset)
        guard length <= UInt64(bytes.count - offset) else { throw corrupt("a length of \(length) runs past the end", offset) }
        let end = offset + Int(length)
        defer { offset = end }
        return String(decoding: bytes[offset..<end], as: UTF8.self)
    }

    private static func corrupt(_ detail: String, _ offset: Int) -> StorageError {
        StorageError(.corrupt, "key/value snapshot: \(detail)", offset: Int64(offset))
    }
}
