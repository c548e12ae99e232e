public import RaftStorage
import RaftFiles

extension WALLogStore {
    /// Opens (or creates) the WAL log in `directory`; the same as
    /// ``init(directory:codec:options:)``.
    public static func open(at directory: String, codec: Codec, options: Options = Options()) throws(StorageError) -> WALLogStore {
        try WALLogStore(directory: directory, codec: codec, options: options)
    }
}

extension WALLogStore where Codec == ProtobufRecordCodec {
    /// Opens (or creates) an etcd-compatible WAL log in `directory`, with etcd 3.4's record
    /// encoding.
    ///
    /// ```swift
    /// let log = try WALLogStore.open(at: "data/member/wal")
    /// ```
    public static func open(at directory: String, options: Options = Options()) throws(StorageError) -> WALLogStore {
        try WALLogStore(directory: directory, codec: ProtobufRecordCodec(), options: options)
    }
}

extension WALLogStore {
    /// What opening produced: the WAL's writer, what readers see, and the repairs made.
    struct Opened {
        var writer: WALWriter<Codec>
        /// The application's metadata, as recorded when the WAL was created.
        var metadata: [UInt8]?
        var view: LogView
        var repairs: [WALRepairOutcome] = []
        /// Whether the WAL was read each byte once (``openReadingEachByteOnce(directory:codec:options:at:)``).
        var inOnePass = false
    }

    /// Creates the WAL, or opens it at `marker` (default: the newest valid marker), repairing
    /// a torn tail at most once, and discarding damage at most once when
    /// ``Options/recoveryMode`` says so. Opened at `marker`, the log's marker is `marker`
    /// itself, whatever later markers it holds (``resume(from:)``'s contract).
    static func openWAL(
        directory: String, codec: Codec, options: Options, at marker: SnapshotMarker?, readingEachByteOnce: Bool = true
    ) throws(StorageError) -> Opened {
        let walOptions = options.wal
        guard WAL<Codec>.exists(at: directory, fileSystem: walOptions.fileSystem) else {
            let writer = try WAL.createWriter(at: directory, metadata: options.metadata, codec: codec, options: walOptions)
            let view = LogView(
                index: EntryIndex(), tail: EntrySlots(after: 0), hardState: .empty, marker: .zero, markers: [(.zero, 0)],
                tailSegment: writer.segments.last?.name)
            return Opened(writer: writer, metadata: options.metadata, view: view)
        }
        var repairs: [WALRepairOutcome] = []
        var tornTailCut = false, damageDiscarded = false
        while true {
            do throws(StorageError) {
                if readingEachByteOnce, var opened = try openReadingEachByteOnce(directory: directory, codec: codec, options: options, at: marker) {
                    opened.repairs = repairs
                    return opened
                }
                let scan = try WAL.scanMarkers(at: directory, codec: codec, options: walOptions)
                let valid = scan.markers.map(\.marker).filter { $0.index <= scan.hardState.commit }
                guard let start = marker ?? valid.last else {
                    throw StorageError(.notFound, "no snapshot marker in the WAL is covered by its commit index \(scan.hardState.commit)", path: directory)
                }
                // Sealed segments' entries are located, not loaded: a log larger than memory opens.
                let names = try WALDirectory.segments(in: directory, fileSystem: walOptions.fileSystem, logger: walOptions.logger)
                let selected = try WALDirectory.select(names, snapshotIndex: start.index, directory: directory)
                var sink = IndexingSink(boundary: start, segments: Array(selected))
                let (writer, replay) = try WAL.openWriter(
                    at: directory, from: start, codec: codec, options: walOptions,
                    replayOptions: WALReplayOptions(restartsAtUnmatchedSnapshots: true), entryBodies: .metadata, sink: &sink)
                let view = LogView(
                    index: sink.index, tail: sink.tail, hardState: replay.hardState,
                    marker: marker == nil ? newestHeldMarker(replay, sink.index) : replay.boundary,
                    markers: scan.markers, tailSegment: writer.segments.last?.name)
                return Opened(writer: writer, metadata: replay.metadata, view: view, repairs: repairs)
            } catch where error.code == .unexpectedEnd && options.repairsTornTail && !tornTailCut {
                tornTailCut = true
                repairs.append(try WAL.repair(at: directory, codec: codec, options: walOptions))
            } catch where error.isDamage && options.recoveryMode == .discardFromDamage && !damageDiscarded {
                damageDiscarded = true
                repairs.append(try WAL.repair(at: directory, codec: codec, options: walOptions, discardingDamage: true))
            }
        }
    }

    /// The usual open, reading each byte of the WAL once and its segments side by side: every
    /// segment is locked, then read on its own (``SegmentSummary``); the start marker is chosen
    /// from what they hold, and the replay from it worked out from the summaries
    /// (``SummaryReplay``). Returns `nil`, with nothing held, when a segment or the replay met
    /// anything but a clean log (a torn tail, damage, a gap, a missing marker, ...): the
    /// record-by-record open then reports it, or repairs it, as it always has.
    static func openReadingEachByteOnce(directory: String, codec: Codec, options: Options, at marker: SnapshotMarker?) throws(StorageError) -> Opened? {
        let walOptions = options.wal
        let fileSystem = walOptions.fileSystem
        let names = try WALDirectory.segments(in: directory, fileSystem: fileSystem, logger: walOptions.logger)
        guard (try? WALDirectory.checkSequence(names[...], directory: directory)) != nil else { return nil }
        // Locked before they are read, so no other writer changes them in between.
        let held = try WAL<Codec>.lockSegments(names, in: directory, fileSystem: fileSystem)
        var handedOn = false
        defer { if !handedOn { for segment in held { try? segment.file.close() } } }
        let summaries = SegmentSummary.readAll(names, in: directory, codec: codec, fileSystem: fileSystem)
        guard summaries.allSatisfy({ $0.unusual == nil }), SummaryReplay.chainsLink(summaries[...]) else { return nil }
        var markers: [(marker: SnapshotMarker, segment: UInt64)] = []
        for summary in summaries {
            for case .marker(let recorded) in summary.events { markers.append((recorded, summary.name.sequence)) }
        }
        let hardState = summaries.last(where: { $0.hardState != nil })?.hardState ?? .empty
        guard let start = marker ?? markers.last(where: { $0.marker.index <= hardState.commit })?.marker,
              let selected = try? WALDirectory.select(names, snapshotIndex: start.index, directory: directory) else { return nil }
        let paths = held[selected.startIndex...].map(\.file.path)
        var index = EntryIndex(boundaryIndex: start.index, boundaryTerm: start.term)
        guard let replay = SummaryReplay.replay(
            summaries[selected.startIndex...], paths: paths, start: start, formatName: codec.formatName,
            restartsAtUnmatchedSnapshots: true, into: &index) else { return nil }
        // The segments before the selected ones are not part of the log: they are not held.
        for segment in held[..<selected.startIndex] { try? segment.file.close() }
        handedOn = true
        let writer = try WAL<Codec>.finishOpening(
            at: directory, codec: codec, options: walOptions, held: Array(held[selected.startIndex...]), replay: replay)
        let view = LogView(
            index: index, tail: EntrySlots(after: index.lastIndex), hardState: replay.hardState,
            marker: marker == nil ? newestHeldMarker(replay, index) : replay.boundary,
            markers: markers, tailSegment: writer.segments.last?.name)
        return Opened(writer: writer, metadata: replay.metadata, view: view, inOnePass: true)
    }

    /// The report of `repairs`, with the bytes each cut removed (read from the copy kept).
    static func actions(for repairs: [WALRepairOutcome], fileSystem: any FileSystem) -> [RecoveryAction] {
        repairs.compactMap { repair in
            switch repair {
            case .nothingToRepair:
                return nil
            case .truncated(let path, let offset, let backup):
                let removed = (try? SegmentWindow(path: backup, fileSystem: fileSystem)).flatMap { window in
                    defer { window.close() }
                    return (try? window.endOfData(in: Int(offset)..<window.size)).map { Int64($0) - offset }
                }
                return RecoveryAction(
                    .tornTailCut, path: path, offset: offset, bytesRemoved: removed, backup: backup,
                    detail: "a torn write (its bytes end in zeros or at the end of the file, nothing intact after it) was cut off; it held nothing acknowledged")
            case .discardedDamage(let report, let backup, _):
                return RecoveryAction(
                    .damageDiscarded, path: report.path, offset: report.offset, bytesRemoved: report.bytesAfterDamage,
                    backup: backup,
                    detail: "damage discarded as the recovery mode allows: entries after \(report.lastIntactIndex), "
                        + "HardStates after \(report.lastIntactHardState), snapshot markers after \(report.intactMarkers.last.map(\.description) ?? "none") "
                        + "and \(report.laterSegments.count) later segment(s) are gone (\(report.error.message))")
            }
        }
    }

    /// The newest snapshot marker from the replay that the log holds: the boundary, or a later
    /// marker whose entry is in the log with the same term.
    private static func newestHeldMarker(_ replay: WALReplay, _ index: EntryIndex) -> SnapshotMarker {
        var newest = replay.boundary
        for marker in replay.snapshots where marker.index > newest.index && index.termIfPresent(at: marker.index) == marker.term {
            newest = marker
        }
        return newest
    }
}

/// ``WALLogStore``'s replay sink: every entry's term and own frame position go to the index;
/// the entries of the last segment, the tail, are also kept with their data.
struct IndexingSink: ReplaySink {
    private(set) var index: EntryIndex
    private(set) var tail: EntrySlots
    /// The segment of each file the replay reads.
    let segments: [SegmentName]

    init(boundary: SnapshotMarker, segments: [SegmentName]) {
        self.index = EntryIndex(boundaryIndex: boundary.index, boundaryTerm: boundary.term)
        self.tail = EntrySlots(after: boundary.index)
        self.segments = segments
    }

    /// An entry of the tail, read with its data.
    mutating func append(_ entry: consuming Entry, at position: RecordPosition) {
        let (entryIndex, term, frame) = (entry.index, entry.term, placement(position))
        index.replace(from: entryIndex) { $0.append(index: entryIndex, term: term, at: frame) }
        tail.truncate(after: entryIndex - 1)
        tail.append(entry)
    }

    /// An entry of a sealed segment, read without its data.
    mutating func append(_ entry: EntryMetadata, at position: RecordPosition) {
        let frame = placement(position)
        index.replace(from: entry.index) { $0.append(index: entry.index, term: entry.term, at: frame) }
        tail = EntrySlots(after: entry.index)
    }

    mutating func restart(at marker: SnapshotMarker) {
        index.reset(boundaryIndex: marker.index, term: marker.term)
        tail = EntrySlots(after: marker.index)
    }

    private func placement(_ position: RecordPosition) -> EntryPlacement {
        EntryPlacement(segment: segments[position.fileIndex], offset: Int64(position.offset), crcBefore: position.crcBefore)
    }
}
