public import RaftStorage

/// One change to the key/value state, as it travels through the raft log.
///
/// The encoding is readable text, so `raftstore wal dump` shows what each entry does:
/// `put <key> <value>` or `del <key>`. Keys cannot contain spaces or newlines; values are any
/// bytes up to the end of the entry.
public enum KeyValueCommand: Hashable, Sendable {
    /// Sets `key` to `value`.
    case put(key: String, value: String)
    /// Removes `key`.
    case delete(key: String)

    /// The entry data that carries this command.
    public var bytes: [UInt8] {
        switch self {
        case .put(let key, let value): Array("put \(key) \(value)".utf8)
        case .delete(let key): Array("del \(key)".utf8)
        }
    }

    /// Whether `key` can be carried by the text encoding.
    public static func isValidKey(_ key: String) -> Bool {
        !key.isEmpty && !key.utf8.contains { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\n") }
    }

    /// Decodes the data of a log entry.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/corrupt`` when the bytes are not a command.
    public init(decoding bytes: [UInt8]) throws(StorageError) {
        let space = UInt8(ascii: " ")
        guard bytes.count > 4, bytes[3] == space else { throw Self.corrupt(bytes) }
        let verb = String(decoding: bytes[0..<3], as: UTF8.self)
        let rest = bytes[4...]
        switch verb {
        case "put":
            guard let split = rest.firstIndex(of: space), split > rest.startIndex else { throw Self.corrupt(bytes) }
            self = .put(key: String(decoding: rest[..<split], as: UTF8.self),
                        value: String(decoding: rest[(split + 1)...], as: UTF8.self))
        case "del":
            guard !rest.contains(space) else { throw Self.corrupt(bytes) }
            self = .delete(key: String(decoding: rest, as: UTF8.self))
        default:
            throw Self.corrupt(bytes)
        }
    }

    private static func corrupt(_ bytes: [UInt8]) -> StorageError {
        let preview = String(decoding: bytes.prefix(24), as: UTF8.self)
        return StorageError(.corrupt, "not a key/value command: \"\(preview)\"")
    }
}
