import RaftFiles

/// The name of a WAL segment, `%016x-%016x.wal`: sequence number and the raft index of the
/// first entry the segment was expected to hold (Docs/OnDiskFormat.md, Directory and segment files).
public struct SegmentName: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Position in the chain of segments; each new segment is the previous plus one.
    public var sequence: UInt64
    /// One past the last entry index written before this segment began.
    public var index: UInt64

    /// The name of segment `sequence` expected to start at raft index `index`.
    public init(sequence: UInt64, index: UInt64) {
        self.sequence = sequence
        self.index = index
    }

    /// Parses a file name written the way etcd writes them: 16 lower-case hex digits, `-`,
    /// 16 hex digits, `.wal`. Other names (`0.tmp`, `*.wal.broken`, strays) give `nil`.
    public init?(fileName: String) {
        let utf8 = Array(fileName.utf8)
        guard utf8.count == 37, utf8[16] == UInt8(ascii: "-"), fileName.hasSuffix(".wal"),
              let sequence = parseHex16(utf8[0..<16]), let index = parseHex16(utf8[17..<33])
        else { return nil }
        self.sequence = sequence
        self.index = index
    }

    /// The file name, e.g. `0000000000000001-0000000000000021.wal`.
    public var fileName: String { hex16(sequence) + "-" + hex16(index) + ".wal" }

    public var description: String { fileName }

    public static func < (lhs: SegmentName, rhs: SegmentName) -> Bool {
        (lhs.sequence, lhs.index) < (rhs.sequence, rhs.index)
    }
}
