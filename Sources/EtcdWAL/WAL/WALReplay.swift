public import RaftStorage

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
    /// entry after it (raft's rule, paper Fig. 7).
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
    public var lastIndex: UInt64 { entries.last?.index ?? boundary.index }

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

extension WALReplay {
    /// Reads every record from `reader`, applying etcd's ReadAll rules (etcd-storage-spec
    /// 1.11). Errors end the replay and are stored in ``error``; a missing start snapshot is
    /// reported as ``RaftStorage/StorageError/Code/snapshotNotFound`` in every mode (etcd loses it when
    /// opening for writing, PR #21369).
    static func run<Codec: RecordCodec>(
        _ reader: inout RecordReader<Codec>,
        start: SnapshotMarker,
        formatName: String?,
        options: WALReplayOptions
    ) -> WALReplay {
        var replay = WALReplay(start: start)
        replay.segments = reader.paths
        var storedMetadata: [UInt8]??
        do throws(StorageError) {
            while let info = try reader.next() {
                if options.collectsRecords { replay.records.append(info) }
                switch info.record {
                case .entry(let entry):
                    try replay.apply(entry, info: info)
                case .hardState(let state):
                    replay.hardState = state
                case .metadata(let stored):
                    if let first = storedMetadata {
                        guard first == stored else {
                            throw StorageError(.metadataConflict, "wal: conflicting metadata found", path: info.path, offset: info.offset)
                        }
                    } else {
                        storedMetadata = .some(stored)
                        do {
                            replay.metadata = try CodecTag.unwrap(stored, formatName: formatName)
                        } catch {
                            throw error.at(path: info.path, offset: info.offset)
                        }
                    }
                case .crc:
                    break
                case .snapshot(let marker):
                    try replay.apply(marker, info: info, restarting: options.restartsAtUnmatchedSnapshots)
                }
            }
        } catch {
            replay.error = error
        }
        if replay.error == nil && !replay.snapshotFound {
            replay.error = StorageError(
                .snapshotNotFound, "wal: snapshot not found: no record of snapshot \(start) after its segment",
                path: reader.paths.first)
        }
        replay.finalCRC = reader.crc
        replay.endOffset = reader.endOfLastFile
        return replay
    }

    private mutating func apply(_ entry: Entry, info: WALRecordInfo) throws(StorageError) {
        highestIndex = max(highestIndex, entry.index)
        guard entry.index > boundary.index else { return }
        let position = entry.index - boundary.index - 1
        guard position <= UInt64(entries.count) else {
            throw StorageError(
                .corrupt, "wal: slice bounds out of range: entry \(entry.index) follows \(lastIndex), leaving a gap",
                path: info.path, offset: info.offset)
        }
        if position < UInt64(entries.count) { entries.removeSubrange(Int(position)...) }
        entries.append(entry)
    }

    private mutating func apply(_ marker: SnapshotMarker, info: WALRecordInfo, restarting: Bool) throws(StorageError) {
        highestIndex = max(highestIndex, marker.index)
        snapshots.append(marker)
        if marker.index == start.index {
            guard marker.term == start.term else {
                throw StorageError(
                    .snapshotMismatch, "wal: snapshot mismatch: opened at \(start), the record says term \(marker.term)",
                    path: info.path, offset: info.offset)
            }
            snapshotFound = true
        }
        guard restarting, marker.index > boundary.index else { return }
        let position = marker.index - boundary.index - 1
        let holdsEntry = position < UInt64(entries.count) && entries[Int(position)].term == marker.term
        if !holdsEntry {
            entries.removeAll()
            boundary = marker
        }
    }
}
