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
///
/// An entry read from a log may keep its data inside an ``EntryBuffer`` shared with the other
/// entries of the same read, instead of an array of its own. ``withData(_:)`` and ``dataCount``
/// read it where it lies; ``data`` gives it as an array, copied out of the buffer on each call
/// for such an entry. Equality and hashing look at the bytes, never at where they are kept.
public struct Entry: Hashable, Sendable, CustomStringConvertible {
    /// The term of the leader that created the entry.
    public var term: UInt64
    /// The entry's position in the log, from 1.
    public var index: UInt64
    // Declared before `type` so that the two share the last word: 40 bytes an entry.
    @usableFromInline var payload: Payload
    /// What the data holds.
    public var type: EntryType

    /// Where an entry keeps its data.
    ///
    /// A shared entry's bytes are reached through `start`, never through the buffer, which is
    /// there to keep them alive: reading a class reference out of the payload made the compiler
    /// copy the payload (a retain and a release) for every entry on the WAL's write path.
    /// Unchecked `Sendable`: `start` points into the buffer held beside it, which is never
    /// written again.
    @usableFromInline enum Payload: @unchecked Sendable {
        case absent
        case array([UInt8])
        /// `count` bytes at `start`, inside `buffer`.
        case shared(EntryBuffer, start: UnsafeRawPointer, count: UInt32)
    }

    /// An entry; a normal one without data unless told otherwise.
    public init(term: UInt64, index: UInt64, type: EntryType = .normal, data: [UInt8]? = nil) {
        self.term = term
        self.index = index
        self.payload = data.map { .array($0) } ?? .absent
        self.type = type
    }

    /// An entry whose data is `data`, which lies inside `buffer`'s bytes: the entry refers to
    /// it there instead of copying it. Data that does not lie inside `buffer` is copied.
    @inlinable
    public init(term: UInt64, index: UInt64, type: EntryType = .normal, data: UnsafeRawBufferPointer, in buffer: EntryBuffer) {
        self.term = term
        self.index = index
        self.type = type
        if buffer.contains(data), let start = data.baseAddress {
            self.payload = .shared(buffer, start: start, count: UInt32(truncatingIfNeeded: data.count))
        } else {
            self.payload = .array(Array(data))
        }
    }

    /// The payload; `nil` when absent, which is not the same as empty (see above).
    ///
    /// For an entry whose data lies in a shared ``EntryBuffer`` each read copies it; use
    /// ``withData(_:)`` or ``dataCount`` to read it without. Setting it gives the entry an
    /// array of its own.
    public var data: [UInt8]? {
        @inlinable get {
            switch payload {
            case .absent: nil
            case .array(let bytes): bytes
            case .shared(_, let start, let count): Array(UnsafeRawBufferPointer(start: start, count: Int(count)))
            }
        }
        set { payload = newValue.map { .array($0) } ?? .absent }
        _modify {
            var bytes = data
            // Leave no second reference to the array while the caller changes it in place.
            payload = .absent
            defer { payload = bytes.map { .array($0) } ?? .absent }
            yield &bytes
        }
    }

    /// The buffer the data lies in, `nil` when the entry has an array of its own or no data:
    /// for tests of the readers that share their chunks.
    package var sharedBuffer: EntryBuffer? {
        if case .shared(let buffer, _, _) = payload { return buffer }
        return nil
    }

    /// The size of the data in bytes, `nil` when it is absent; never copies it.
    @inlinable public var dataCount: Int? {
        switch payload {
        case .absent: nil
        case .array(let bytes): bytes.count
        case .shared(_, _, let count): Int(count)
        }
    }

    /// Calls `body` with the data where it lies (`nil` when absent), without copying it. The
    /// pointer is valid only during the call.
    @inlinable @inline(__always)
    public func withData<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer?) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        switch payload {
        case .absent:
            return try body(nil)
        case .array(let bytes):
            return try bytes.withRawBytes { (raw) throws(Failure) in try body(raw) }
        case .shared(_, let start, let count):
            // The entry, borrowed for the call, holds the buffer.
            return try body(UnsafeRawBufferPointer(start: start, count: Int(count)))
        }
    }

    public static func == (lhs: Entry, rhs: Entry) -> Bool {
        guard lhs.term == rhs.term, lhs.index == rhs.index, lhs.type == rhs.type else { return false }
        return lhs.withData { left in
            rhs.withData { right in
                switch (left, right) {
                case (nil, nil): true
                case (let left?, let right?): left.elementsEqual(right)
                default: false
                }
            }
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(term)
        hasher.combine(index)
        hasher.combine(type)
        withData { bytes in
            hasher.combine(bytes != nil)
            if let bytes { hasher.combine(bytes: bytes) }
        }
    }

    /// The size of the entry in raft's protobuf encoding (`raftpb.Entry.Size()`).
    ///
    /// Size limits (`maxBytes`) are measured in this unit, exactly as raft's `limitSize` does,
    /// whatever encoding a backend stores.
    public var encodedSize: Int {
        var size = 3 + varintLength(UInt64(bitPattern: Int64(type.rawValue)))
            + varintLength(term) + varintLength(index)
        if let count = dataCount {
            size += 1 + varintLength(UInt64(count)) + count
        }
        return size
    }

    public var description: String {
        "Entry(index: \(index), term: \(term), type: \(type), \(dataCount.map { "\($0) bytes" } ?? "no data"))"
    }
}
