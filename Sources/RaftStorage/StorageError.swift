/// The one error type every part of this package throws.
///
/// A struct with an extensible ``Code`` (in the style of swift-nio's `FileSystemError`), so new
/// failure kinds can be added without breaking clients, and third-party backends can define
/// their own codes with ``Code/init(_:)``. It carries the file and byte offset where a failure
/// was found and the `errno` of a failed system call, so an operator can locate the damage.
///
/// ```swift
/// do {
///     _ = try log.entries(in: 1..<10)
/// } catch where error.code == .compacted {
///     // fall back to sending a snapshot
/// }
/// ```
public struct StorageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is; compare against the static members.
    public var code: Code
    /// A human-readable explanation, without file, offset or errno (see ``description``).
    public var message: String
    /// The file the failure concerns, when there is one.
    public var path: String?
    /// The byte offset in ``path`` where the problem was found, when it applies.
    public var offset: Int64?
    /// The `errno` of the failed system call, when there was one.
    public var errno: Int32?

    /// An error of `code`; `message` without file, offset or errno, which go in their own fields.
    public init(_ code: Code, _ message: String, path: String? = nil, offset: Int64? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
        self.errno = errno
    }

    /// One line naming the code, the message, and where it happened.
    public var description: String {
        var text = "\(code): \(message)"
        if let path {
            text += offset.map { " (\(path) at offset \($0))" } ?? " (\(path))"
        } else if let offset {
            text += " (at offset \(offset))"
        }
        if let errno {
            text += " [errno \(errno): \(errnoDescription(errno))]"
        }
        return text
    }

    /// A copy that names `path` (and `offset`, when given), for errors raised below the layer
    /// that knows the file.
    public func at(path: String, offset: Int64? = nil) -> StorageError {
        var copy = self
        copy.path = path
        if let offset { copy.offset = offset }
        return copy
    }

    /// An extensible error code.
    ///
    /// The codes mirror raft's and etcd's errors where those exist, so code written against
    /// etcd's behaviour maps one to one.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's name, as printed.
        public let name: String

        /// A code of your own, for third-party backends. Pick a name that cannot clash with
        /// this package's, such as one prefixed with your module name.
        public init(_ name: String) { self.name = name }

        public var description: String { name }

        // raft's Storage errors
        /// The index was compacted away (`ErrCompacted`).
        public static let compacted = Code("compacted")
        /// The index is beyond what the log holds (`ErrUnavailable`).
        public static let unavailable = Code("unavailable")
        /// A newer snapshot already exists (`ErrSnapOutOfDate`).
        public static let snapshotOutOfDate = Code("snapshotOutOfDate")
        /// The snapshot is being produced; ask again later (`ErrSnapshotTemporarilyUnavailable`).
        public static let snapshotTemporarilyUnavailable = Code("snapshotTemporarilyUnavailable")

        // Damaged or foreign data
        /// Bytes that cannot be decoded, or a structure that breaks the format's rules.
        public static let corrupt = Code("corrupt")
        /// A checksum did not match the bytes it covers.
        public static let crcMismatch = Code("crcMismatch")
        /// The data ends in the middle of a record: a torn or truncated tail, which a repair
        /// can cut off (etcd's `io.ErrUnexpectedEOF`).
        public static let unexpectedEnd = Code("unexpectedEnd")
        /// A log's snapshot record disagrees with the snapshot it was opened at.
        public static let snapshotMismatch = Code("snapshotMismatch")
        /// The snapshot the log was opened at is not recorded in it.
        public static let snapshotNotFound = Code("snapshotNotFound")
        /// Two metadata records in one log differ.
        public static let metadataConflict = Code("metadataConflict")
        /// The log was written with a different record codec than the one reading it.
        public static let codecMismatch = Code("codecMismatch")
        /// A file or directory that should exist does not.
        public static let notFound = Code("notFound")
        /// Something that must not exist yet already does (creating over an existing log).
        public static let alreadyExists = Code("alreadyExists")

        // Operational
        /// Another writer holds the lock on a file this call needs.
        public static let locked = Code("locked")
        /// A system call failed; ``StorageError/errno`` says why.
        public static let io = Code("io")
        /// The store was closed, or refuses writes after an earlier failure (for example a
        /// failed fsync, after which nothing written can be trusted until it is reopened).
        public static let closed = Code("closed")
        /// The call breaks a precondition (an entry gap, an index out of bounds, a bad option).
        public static let invalidArgument = Code("invalidArgument")
        /// A raft invariant would be broken (for example committing past the last index),
        /// which usually means the log was truncated or lost.
        public static let invariantViolation = Code("invariantViolation")
        /// The backend does not support this operation.
        public static let unsupported = Code("unsupported")
    }
}

extension StorageError {
    /// Shorthand for the frequent raft errors, with etcd's messages.
    public static func compacted(_ detail: String = "requested index is unavailable due to compaction") -> StorageError {
        StorageError(.compacted, detail)
    }

    /// ``Code/unavailable``, with etcd's message by default.
    public static func unavailable(_ detail: String = "requested entry at index is unavailable") -> StorageError {
        StorageError(.unavailable, detail)
    }

    /// ``Code/snapshotOutOfDate``, with etcd's message by default.
    public static func snapshotOutOfDate(_ detail: String = "requested index is older than the existing snapshot") -> StorageError {
        StorageError(.snapshotOutOfDate, detail)
    }
}

extension StorageError {
    /// Whether this reports damage to stored data (``Code/corrupt`` or ``Code/crcMismatch``):
    /// data that was written and no longer reads back as written. A torn tail
    /// (``Code/unexpectedEnd``) is not damage.
    public var isDamage: Bool { code == .corrupt || code == .crcMismatch }
}
