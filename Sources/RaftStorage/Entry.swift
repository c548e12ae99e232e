/// The kind of a raft log entry, as raft's `EntryType` enum.
///
/// A struct rather than a closed enum: a log written by a newer raft may carry a value this
/// version does not know, and reading it must not fail or lose the value.
public struct EntryType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// An ordinary entry whose data the application applies (`EntryNormal`, 0).
    public static let normal = EntryType(rawValue: 0)
    /// A configuration change (`EntryConfChange`, 1); data is a `ConfChange`.
    public static let confChange = EntryType(rawValue: 1)
    /// A joint-consensus configuration change (`EntryConfChangeV2`, 2); data is a `ConfChangeV2`.
    public static let confChangeV2 = EntryType(rawValue: 2)

    public var description: String {
        switch self {
        case .normal: "normal"
        case .confChange: "confChange"
        case .confChangeV2: "confChangeV2"
        default: "type(\(rawValue))"
        }
    }
}

/// One raft log entry.
///
/// `data` is optional on purpose: etcd's encoding tells an absent payload from an empty one
/// (`nil` encodes no field, `[]` encodes `22 00`), and the entries raft creates on election
/// carry none. Keeping the difference makes re-encoded entries byte-identical to etcd's.
public struct Entry: Hashable, Sendable, CustomStringConvertible {
    /// The term of the leader that created the entry.
    public var term: UInt64
    /// The entry's position in the log, from 1.
    public var index: UInt64
    /// What the data holds.
    public var type: EntryType
    /// The payload; `nil` when absent, which is not the same as empty (see above).
    public var data: [UInt8]?

    /// An entry; a normal one without data unless told otherwise.
    public init(term: UInt64, index: UInt64, type: EntryType = .normal, data: [UInt8]? = nil) {
        self.term = term
        self.index = index
        self.type = type
        self.data = data
    }

    /// The size of the entry in raft's protobuf encoding (`raftpb.Entry.Size()`).
    ///
    /// Size limits (`maxBytes`) are measured in this unit, exactly as raft's `limitSize` does,
    /// whatever encoding a backend stores.
    public var encodedSize: Int {
        var size = 3 + varintLength(UInt64(bitPattern: Int64(type.rawValue)))
            + varintLength(term) + varintLength(index)
        if let data {
            size += 1 + varintLength(UInt64(data.count)) + data.count
        }
        return size
    }

    public var description: String {
        "Entry(index: \(index), term: \(term), type: \(type), \(data.map { "\($0.count) bytes" } ?? "no data"))"
    }
}
