import RaftStorage
import RaftFiles

/// Where an entry's frame lies in the WAL: the segment, the frame's offset, and the running CRC
/// before it (so a read starting there can verify every record it reads).
struct EntryPlacement: Hashable, Sendable {
    var segment: SegmentName
    var offset: Int64
    var crcBefore: UInt32
}

/// Entries of sealed segments known by position only, so a large log need not fit in memory:
/// their terms (as runs) and, every few hundred entries, where to start reading them.
///
/// A checkpoint at index `i` covers the entries from `i` up to the next checkpoint's index:
/// reading its segment from its offset meets exactly those entries, in order, between other
/// records. A write that replaced entries (raft's truncation) always starts a checkpoint, and
/// the older frames it superseded lie before it or past the end of the checkpoint before, so
/// they are never read. Memory: about 30 bytes per 256 entries or per 64 KiB of segment,
/// plus one term run per term change.
struct LocatedEntries {
    struct Checkpoint {
        var index: UInt64
        var placement: EntryPlacement
    }

    /// The first index held (the boundary's index plus one).
    private(set) var first: UInt64
    private(set) var count: UInt64 = 0
    /// (first index, term) of each run of equal terms.
    private var terms: [(first: UInt64, term: UInt64)] = []
    private var checkpoints: [Checkpoint] = []
    /// Entries since the last checkpoint, and where the last entry's frame was.
    private var sinceCheckpoint = 0
    private var lastPlacement: EntryPlacement?

    static let checkpointEntries = 256
    static let checkpointBytes: Int64 = 64 * 1024

    init(first: UInt64) {
        self.first = first
    }

    var last: UInt64 { first + count - 1 }
    var isEmpty: Bool { count == 0 }

    /// The term of `index` (which the entries hold).
    func term(at index: UInt64) -> UInt64 { terms.term(at: index) }

    /// Adds the entry at `index` (at most one past the last; an earlier index replaces the
    /// entries from it on) found at `placement`: its own frame, or the first frame of the
    /// write it came in, whose entries follow one another.
    ///
    /// `startsCheckpoint` says the frame may not follow the previous entry's (a write that
    /// replaced entries, whose superseded frames may lie in between).
    mutating func append(index: UInt64, term: UInt64, at placement: EntryPlacement, startsCheckpoint: Bool = false) {
        let contiguous = !isEmpty && index == last + 1 && !startsCheckpoint
        if !isEmpty && index <= last { truncate(after: index - 1) }
        if terms.last?.term != term || isEmpty { terms.append((index, term)) }
        let previous = lastPlacement
        // Entries of one write share its first entry's placement: only the first can start a
        // checkpoint, the others are read on from there.
        let needsCheckpoint = !contiguous || previous?.segment != placement.segment
            || (placement != previous
                && (sinceCheckpoint >= Self.checkpointEntries
                    || placement.offset - (checkpoints.last?.placement.offset ?? 0) >= Self.checkpointBytes))
        if needsCheckpoint {
            checkpoints.append(Checkpoint(index: index, placement: placement))
            sinceCheckpoint = 0
        }
        sinceCheckpoint += 1
        lastPlacement = placement
        if isEmpty { first = index }
        count = index - first + 1
    }

    /// Drops every entry after `index`.
    mutating func truncate(after index: UInt64) {
        guard !isEmpty, index < last else { return }
        if index < first {
            self = LocatedEntries(first: first)
            return
        }
        count = index - first + 1
        while let run = terms.last, run.first > index { terms.removeLast() }
        while let checkpoint = checkpoints.last, checkpoint.index > index { checkpoints.removeLast() }
        // The next entry cannot continue the last checkpoint: force a new one.
        lastPlacement = nil
    }

    /// Drops every entry up to `index`, keeping those after it.
    mutating func drop(through index: UInt64) {
        guard !isEmpty, index >= first else { return }
        guard index < last else {
            self = LocatedEntries(first: index + 1)
            return
        }
        count = last - index
        first = index + 1
        // Keep the last run and checkpoint that start at or before the new first index.
        if let keep = terms.lastIndex(where: { $0.first <= first }), keep > 0 { terms.removeFirst(keep) }
        if let keep = checkpoints.lastIndex(where: { $0.index <= first }), keep > 0 { checkpoints.removeFirst(keep) }
    }

    /// The entries in `range` (within the held ones), cut to `maxBytes` after `used` bytes
    /// (raft's `limitSize`: at least one entry overall), read from their segments in
    /// `directory` and checked against their CRCs.
    ///
    /// - Returns: the entries, and whether the size limit stopped the read.
    func read<Codec: RecordCodec>(
        _ range: Range<UInt64>, maxBytes: UInt64, used: inout UInt64, taken: Int,
        codec: Codec, fileSystem: any FileSystem, directory: String
    ) throws(StorageError) -> (entries: [Entry], limited: Bool) {
        var result: [Entry] = []
        var next = range.lowerBound
        var position = checkpointPosition(for: next)
        while next < range.upperBound {
            let checkpoint = checkpoints[position]
            let end = min(range.upperBound, position + 1 < checkpoints.count ? checkpoints[position + 1].index : last + 1)
            let path = fileSystem.join(directory, checkpoint.placement.segment.fileName)
            var reader = RecordReader(
                codec: codec, fileSystem: fileSystem, path: path, offset: Int(checkpoint.placement.offset), crc: checkpoint.placement.crcBefore)
            // The placement may be the start of the write the checkpoint's entry came in: the
            // entries met before it are that write's earlier ones, one after another.
            var expected = checkpoint.index
            var earlier: UInt64?
            do throws(StorageError) {
                while expected < end, let record = try reader.next() {
                    guard case .entry(let entry) = record.body else { continue }
                    if entry.index < checkpoint.index, earlier.map({ entry.index == $0 + 1 }) ?? true {
                        earlier = entry.index
                        continue
                    }
                    guard entry.index == expected else {
                        throw StorageError(.corrupt, "expected entry \(expected) at this position of the log, found \(entry.index)", path: path, offset: Int64(record.offset))
                    }
                    expected += 1
                    guard entry.index >= next else { continue }
                    used += UInt64(entry.encodedSize)
                    if taken + result.count > 0 && used > maxBytes { return (result, true) }
                    result.append(entry)
                    next = entry.index + 1
                }
            } catch {
                throw StorageError(.corrupt, "cannot read entry \(expected) back from the WAL: \(error.message)", path: error.path ?? path, offset: error.offset)
            }
            guard expected >= end else {
                throw StorageError(.corrupt, "the segment ended before entry \(expected)", path: path)
            }
            position += 1
        }
        return (result, false)
    }

    /// The checkpoint covering `index`.
    private func checkpointPosition(for index: UInt64) -> Int {
        var low = 0
        var high = checkpoints.count
        while high - low > 1 {
            let middle = (low + high) / 2
            if checkpoints[middle].index <= index { low = middle } else { high = middle }
        }
        return low
    }
}
