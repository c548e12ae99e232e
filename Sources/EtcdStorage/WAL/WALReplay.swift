public import RaftStorage
import RaftFiles

/// What reading a WAL from a snapshot marker found (etcd's `ReadAll`).
///
/// When ``error`` is set, reading stopped there and the other fields hold what was read before
/// it (etcd would return nothing; a dump tool wants both).
public struct WALReplay: Sendable {
    /// The application's metadata (without any codec tag).
    public var metadata: [UInt8]?
    /// The last HardState recorded (``RaftStorage/HardState/empty`` when none).
    public var hardState: HardState
    /// The entries after ``boundary``, with later records for an index replacing it and every
    /// entry after it (raft's rule, paper Fig. 7). Empty for a streamed replay
    /// (``WAL/replay(at:from:codec:options:replayOptions:batchBytes:_:)``), which hands
    /// the entries out in batches instead.
    public var entries: [Entry]
    /// The snapshot marker reading started at.
    public var start: SnapshotMarker
    /// Where the log starts: ``start``, or the last snapshot marker the log restarted at (see
    /// ``WALReplayOptions/restartsAtUnmatchedSnapshots``). For a restart this is the marker as
    /// recorded, with its membership when the record holds one.
    public var boundary: SnapshotMarker
    /// Whether a snapshot record matching ``start`` was found.
    public var snapshotFound: Bool
    /// Every snapshot record read, in order.
    public var snapshots: [SnapshotMarker]
    /// Every record read, in order, when ``WALReplayOptions/collectsRecords`` is set.
    public var records: [WALRecordInfo]
    /// The segment files read.
    public var segments: [String]
    /// Why reading stopped early, or `nil` when it reached the end cleanly.
    public var error: StorageError?
    /// The index of the last entry, or the boundary's index when there is none.
    public internal(set) var lastIndex: UInt64

    /// The highest index named by an entry or snapshot record (for naming the next segment).
    var highestIndex: UInt64 = 0
    /// The running CRC at the end.
    var finalCRC: UInt32 = 0
    /// Where reading ended in the last segment.
    var endOffset: Int?

    init(start: SnapshotMarker) {
        self.metadata = nil
        self.hardState = .empty
        self.entries = []
        self.start = start
        self.boundary = start
        self.snapshotFound = false
        self.snapshots = []
        self.records = []
        self.segments = []
        self.error = nil
        self.lastIndex = start.index
    }
}

/// Choices for reading a WAL.
public struct WALReplayOptions: Sendable, Hashable {
    /// Keep every record in ``WALReplay/records`` (for dump tools; costs memory).
    public var collectsRecords: Bool
    /// When a snapshot record (s, t) is met and the log read so far does not hold an entry at
    /// s with term t, start the log again at that marker (drop the entries, boundary (s, t)).
    ///
    /// This keeps a snapshot received from the leader (``WALLogStore``'s `applySnapshot`)
    /// durable when the log is read from an older marker. etcd's `ReadAll` does not do this
    /// and would report a gap instead. Off by default.
    public var restartsAtUnmatchedSnapshots: Bool

    /// Options for etcd's `ReadAll` behaviour, optionally keeping the records read.
    public init(collectsRecords: Bool = false, restartsAtUnmatchedSnapshots: Bool = false) {
        self.collectsRecords = collectsRecords
        self.restartsAtUnmatchedSnapshots = restartsAtUnmatchedSnapshots
    }
}

/// Where a replay's entries go: collected (``WAL/read(at:from:codec:options:replayOptions:)``),
/// streamed in batches, or indexed by position (``WALLogStore``).
///
/// The replay enforces raft's rules and tells the sink what they mean: an entry replaces any
/// entry at its index and after, and a restart drops every entry.
protocol ReplaySink {
    /// `entry` follows the entries so far, replacing any at its index and after.
    mutating func append(_ entry: consuming Entry, at position: RecordPosition) throws(StorageError)
    /// Like ``append(_:at:)`` for an entry read without its data.
    mutating func append(_ entry: EntryMetadata, at position: RecordPosition) throws(StorageError)
    /// The log starts again after `marker`: every entry so far is dropped.
    mutating func restart(at marker: SnapshotMarker) throws(StorageError)
    /// The reader finished the segment at `path` (the `fileIndex`th).
    mutating func endOfSegment(_ path: String, fileIndex: Int) throws(StorageError)
}

extension ReplaySink {
    mutating func append(_ entry: EntryMetadata, at position: RecordPosition) throws(StorageError) {
        throw StorageError(.corrupt, "internal: entry \(entry.index) was read without its data")
    }

    mutating func endOfSegment(_ path: String, fileIndex: Int) throws(StorageError) {}
}

/// ``WAL/read(at:from:codec:options:replayOptions:)``'s sink: every entry in memory.
struct CollectingSink: ReplaySink {
    private(set) var entries: [Entry] = []
    private var boundary: UInt64
    /// Where each file starts in the files' total, and that total: to estimate the final count.
    private let fileStarts: [Int]
    private let totalBytes: Int
    private var estimated = false

    /// A sink for a replay of files of `fileSizes` bytes, starting after `boundary`.
    init(boundary: UInt64, fileSizes: [Int] = []) {
        self.boundary = boundary
        var starts: [Int] = []
        var total = 0
        for size in fileSizes {
            starts.append(total)
            // Saturating: sparse files' sizes can sum past what `Int` holds.
            let (sum, overflow) = total.addingReportingOverflow(size)
            total = overflow ? .max : sum
        }
        fileStarts = starts
        totalBytes = total
    }

    mutating func append(_ entry: consuming Entry, at position: RecordPosition) {
        let slot = Int(entry.index - boundary - 1)
        if slot < entries.count { entries.removeSubrange(slot...) }
        if entries.count == entries.capacity && entries.count >= 1024 && !estimated { reserveEstimate(position) }
        entries.append(entry)
    }

    /// `new`, the entries from `first` on, replace any at `first` and after.
    mutating func replace(from first: UInt64, with new: ArraySlice<Entry>) {
        let slot = Int(first - boundary - 1)
        if slot < entries.count { entries.removeSubrange(slot...) }
        entries.append(contentsOf: new)
    }

    /// `run[offset...]`, the entries from `first` on, replace any at `first` and after. A run
    /// that replaces everything becomes the array the others are appended to (the first
    /// segment's, reserved for all of them): its entries are not copied.
    mutating func replace(from first: UInt64, taking run: consuming [Entry], from offset: Int) {
        let slot = Int(first - boundary - 1)
        if slot == 0 && offset == 0 {
            let wanted = entries.capacity
            entries = consume run
            // Moves the entries when it allocates: the array is not shared.
            if entries.capacity < wanted { entries.reserveCapacity(wanted) }
            return
        }
        if slot < entries.count { entries.removeSubrange(slot...) }
        entries.reserveCapacity(entries.count + run.count - offset)
        // Moved, not copied: `append(contentsOf:)` would retain every entry's chunk and the
        // run's release it again, 8-13 ms for the second segment of a million entries. Taken
        // from the end in reverse order, each entry moves without either.
        var moving = consume run
        // Through the buffer: a slice of the array would hold a second reference and copy.
        moving.withUnsafeMutableBufferPointer { $0[offset...].reverse() }
        while moving.count > offset { entries.append(moving.removeLast()) }
    }

    /// Room for `count` entries, known in advance (no estimate is made then).
    mutating func reserve(_ count: Int) {
        estimated = true
        entries.reserveCapacity(count)
    }

    /// Reserves room for the entries the rest of the files probably hold, extrapolated from
    /// how many the bytes read so far held: one allocation instead of doubling (each doubling
    /// copies the array and faults in fresh pages; a million entries spent 15% of a replay so).
    /// Zeroed file tails make it an overestimate, which costs address space, not memory:
    /// ``finished()`` gives back what stayed unused.
    private mutating func reserveEstimate(_ position: RecordPosition) {
        estimated = true
        guard position.fileIndex < fileStarts.count else { return }
        let consumed = fileStarts[position.fileIndex] + position.offset
        guard consumed > 0 else { return }
        let estimate = min(Double(entries.count) * Double(totalBytes) / Double(consumed) * 1.05, Double(Self.largestReservation))
        if estimate > Double(entries.count) { entries.reserveCapacity(Int(estimate)) }
    }

    /// The most entries reserved from an estimate: the files' sizes are extrapolated from, and
    /// a sparse or zero-filled file must not make a read reserve what its size claims. Beyond
    /// it the array grows by doubling.
    static let largestReservation = 1 << 22

    /// The entries, without a much larger capacity than they need.
    func finished() -> [Entry] {
        entries.capacity > 2 * entries.count + 4096 ? Array(entries[...]) : entries
    }

    mutating func restart(at marker: SnapshotMarker) {
        entries.removeAll(keepingCapacity: true)
        boundary = marker.index
    }
}

extension WALReplay {
    /// Reads every record of `paths`, applying etcd's ReadAll rules (Docs/OnDiskFormat.md, Replay),
    /// handing entries to `sink`. Record errors end the replay and are stored in ``error``
    /// (errors the sink throws too); a missing start snapshot is reported as
    /// ``RaftStorage/StorageError/Code/snapshotNotFound`` in every mode (etcd loses it when opening for
    /// writing, PR #21369).
    ///
    /// With etcd's codec the whole loop runs specialised for it and the sink, whatever the
    /// caller's type parameters (`@_specialize` makes the generic entry check the types and
    /// jump to the specialised code): the per-record work is the replay's hot path, and generic
    /// code there costs a metadata lookup and a retain per value witness call (measured: 2x).
    @_specialize(where Codec == ProtobufRecordCodec, Sink == CollectingSink)
    @_specialize(where Codec == ProtobufRecordCodec, Sink == StreamingSink)
    @_specialize(where Codec == ProtobufRecordCodec, Sink == IndexingSink)
    static func run<Codec: RecordCodec, Sink: ReplaySink>(
        codec: Codec, fileSystem: any FileSystem, paths: [String], start: SnapshotMarker,
        options: WALReplayOptions, entryBodies: RecordReader<Codec>.EntryBodies = .shared, sink: inout Sink
    ) -> WALReplay {
        var reader = RecordReader(codec: codec, fileSystem: fileSystem, paths: paths)
        reader.entryBodies = entryBodies
        var replay = WALReplay(start: start)
        replay.segments = paths
        var log = ReplayLog(boundary: start)
        var storedMetadata: [UInt8]??
        let formatName = codec.formatName
        var fileIndex = 0
        do throws(StorageError) {
            while let record = try reader.next() {
                while fileIndex < reader.fileIndex {
                    try sink.endOfSegment(paths[fileIndex], fileIndex: fileIndex)
                    fileIndex += 1
                }
                if options.collectsRecords, let logRecord = record.record {
                    replay.records.append(WALRecordInfo(
                        path: reader.currentPath, offset: Int64(record.offset), frameSize: record.frameSize,
                        record: logRecord, checksum: record.checksum))
                }
                let position = record.position
                switch (consume record).body {
                case .entry(let entry):
                    replay.highestIndex = max(replay.highestIndex, entry.index)
                    if try log.accept(index: entry.index, term: entry.term, at: position, in: reader) {
                        try sink.append(entry, at: position)
                    } else if log.truncatesAtBoundary(index: entry.index) {
                        try sink.restart(at: log.boundary)
                    }
                case .entryIndexAndTerm(let index, let term):
                    let entry = EntryMetadata(index: index, term: term)
                    replay.highestIndex = max(replay.highestIndex, entry.index)
                    if try log.accept(index: entry.index, term: entry.term, at: position, in: reader) {
                        try sink.append(entry, at: position)
                    } else if log.truncatesAtBoundary(index: entry.index) {
                        try sink.restart(at: log.boundary)
                    }
                case .other(.hardState(let state)):
                    replay.hardState = state
                case .other(.metadata(let stored)):
                    if let first = storedMetadata {
                        guard first == stored else {
                            throw StorageError(.metadataConflict, "wal: conflicting metadata found", path: reader.currentPath, offset: Int64(position.offset))
                        }
                    } else {
                        storedMetadata = .some(stored)
                        do {
                            replay.metadata = try CodecTag.unwrap(stored, formatName: formatName)
                        } catch {
                            throw error.at(path: reader.currentPath, offset: Int64(position.offset))
                        }
                    }
                case .other(.snapshot(let marker)):
                    guard marker.index < .max else { throw WALLogIndex.noRoom(after: marker.index, in: reader, at: position) }
                    replay.highestIndex = max(replay.highestIndex, marker.index)
                    replay.snapshots.append(marker)
                    if marker.index == start.index {
                        guard marker.term == start.term else {
                            throw StorageError(
                                .snapshotMismatch, "wal: snapshot mismatch: opened at \(start), the record says term \(marker.term)",
                                path: reader.currentPath, offset: Int64(position.offset))
                        }
                        replay.snapshotFound = true
                    }
                    if options.restartsAtUnmatchedSnapshots && log.restarts(at: marker) {
                        try sink.restart(at: marker)
                    }
                case .other(.crc), .other(.entry):
                    break
                }
            }
            while fileIndex < paths.count {
                try sink.endOfSegment(paths[fileIndex], fileIndex: fileIndex)
                fileIndex += 1
            }
        } catch {
            replay.error = error
            if error.isDamage {
                // What an operator needs to weigh a repair: how far the log is known good.
                replay.error?.message += "; the log reads intact through entry \(log.lastIndex) (HardState \(replay.hardState)), and what was recorded after the damage is at risk"
            }
        }
        if replay.error == nil && !replay.snapshotFound {
            replay.error = StorageError(
                .snapshotNotFound, "wal: snapshot not found: no record of snapshot \(start) after its segment",
                path: paths.first)
        }
        replay.boundary = log.boundary
        replay.lastIndex = log.lastIndex
        replay.finalCRC = reader.crc
        replay.endOffset = reader.endOfLastFile
        return replay
    }
}

/// The shape of the log a replay has read so far: its boundary, last index and terms (as runs,
/// so a streamed replay of any length needs almost no memory for it).
struct ReplayLog {
    private(set) var boundary: SnapshotMarker
    private(set) var lastIndex: UInt64
    /// (first index, term) for every run of equal terms after the boundary, in order.
    private var terms: [(first: UInt64, term: UInt64)] = []

    init(boundary: SnapshotMarker) {
        self.boundary = boundary
        self.lastIndex = boundary.index
    }

    /// Checks an entry against raft's rules and records it; returns false for an entry at or
    /// below the boundary (ignored).
    @inline(__always)
    mutating func accept<Codec>(index: UInt64, term: UInt64, at position: RecordPosition, in reader: RecordReader<Codec>) throws(StorageError) -> Bool {
        guard index > boundary.index else { return false }
        guard index < .max else { throw WALLogIndex.noRoom(after: index, in: reader, at: position) }
        guard index <= lastIndex + 1 else {
            throw StorageError(
                .corrupt, "wal: slice bounds out of range: entry \(index) follows \(lastIndex), leaving a gap",
                path: reader.paths[position.fileIndex], offset: Int64(position.offset))
        }
        if index <= lastIndex {
            while let last = terms.last, last.first >= index { terms.removeLast() }
        }
        if terms.last?.term != term { terms.append((index, term)) }
        lastIndex = index
        return true
    }

    /// Records the entries `runs` describe, from `index` to `last`: consecutive, after the
    /// boundary and at most one past ``lastIndex`` (the caller checked), each as ``accept(index:term:at:in:)``
    /// would, all at once.
    mutating func accept(from index: UInt64, through last: UInt64, runs: ArraySlice<(first: UInt64, term: UInt64)>) {
        if index <= lastIndex {
            while let run = terms.last, run.first >= index { terms.removeLast() }
        }
        for run in runs where terms.last?.term != run.term {
            terms.append((max(run.first, index), run.term))
        }
        lastIndex = last
    }

    /// An entry at or below the boundary read after entries above it: raft rewrote the log
    /// from there (a new leader replaced uncommitted entries), so the entries after the
    /// boundary that came before it are gone. Returns true (and empties the log after the
    /// boundary) when there were any. etcd's `ReadAll` skips such an entry and keeps them,
    /// bringing back entries raft had discarded (Docs/Compatibility.md).
    mutating func truncatesAtBoundary(index: UInt64) -> Bool {
        guard index <= boundary.index, lastIndex > boundary.index else { return false }
        lastIndex = boundary.index
        terms.removeAll()
        return true
    }

    /// The term of the entry at `index`, when the log holds it.
    func term(at index: UInt64) -> UInt64? {
        guard index > boundary.index, index <= lastIndex else { return nil }
        return terms.term(at: index)
    }

    /// A snapshot marker met during a replay that restarts at unmatched markers: returns true
    /// (and starts the log again after it) when the log does not hold its entry.
    mutating func restarts(at marker: SnapshotMarker) -> Bool {
        guard marker.index > boundary.index, term(at: marker.index) != marker.term else { return false }
        boundary = marker
        lastIndex = marker.index
        terms.removeAll()
        return true
    }
}

/// Log indexes a replay refuses.
enum WALLogIndex {
    /// An entry or snapshot marker at the largest index: nothing could follow it. raft's
    /// indexes never get there; a damaged or forged record can, and must not trap the replay.
    static func noRoom<Codec>(after index: UInt64, in reader: RecordReader<Codec>, at position: RecordPosition) -> StorageError {
        StorageError(
            .corrupt, "wal: record at index \(index), the largest possible, leaves no room for the log",
            path: reader.paths[position.fileIndex], offset: Int64(position.offset))
    }
}
