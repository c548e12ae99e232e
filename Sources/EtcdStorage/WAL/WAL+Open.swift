public import RaftStorage
import RaftFiles

extension WAL {
    /// Opens the WAL in `directory` for appending, reading it from the snapshot marker `start`
    /// (etcd's `Open` followed by `ReadAll` in write mode, Docs/OnDiskFormat.md, Replay).
    ///
    /// Selects the newest segment that can hold `start` and every later one, locks them all
    /// (a second writer gets ``RaftStorage/StorageError/Code/locked``), and replays them. Appending then
    /// continues exactly after the last valid record, with the CRC chain and the replayed
    /// HardState carried on; everything after that offset in the tail is zeroed first (etcd
    /// #6515). Unlike etcd, a missing `start` snapshot record is reported, not lost. When the
    /// previous writer's write or fsync failed (in this boot), the replayed tail is first written
    /// again and fsynced, so nothing appended now builds on data that only the page cache holds;
    /// the directory and its parent are fsynced on every open for the same reason.
    ///
    /// - Returns: the WAL, ready to append, and what the replay found.
    /// - Throws: any replay error: ``RaftStorage/StorageError/Code/unexpectedEnd`` for a torn or truncated
    ///   tail (``repair(at:codec:options:discardingDamage:)`` can cut it off), ``RaftStorage/StorageError/Code/crcMismatch``,
    ///   ``RaftStorage/StorageError/Code/corrupt``, ``RaftStorage/StorageError/Code/snapshotMismatch``,
    ///   ``RaftStorage/StorageError/Code/snapshotNotFound``, ``RaftStorage/StorageError/Code/metadataConflict``,
    ///   ``RaftStorage/StorageError/Code/codecMismatch``; ``RaftStorage/StorageError/Code/notFound`` when no segment
    ///   can hold `start` or the sequence has a gap.
    public static func open(
        at directory: String, from start: SnapshotMarker, codec: Codec,
        options: WALOptions = WALOptions(), replayOptions: WALReplayOptions = WALReplayOptions()
    ) throws(StorageError) -> (wal: WAL, replay: WALReplay) {
        let fileSystem = options.fileSystem
        let names = try WALDirectory.segments(in: directory, fileSystem: fileSystem, logger: options.logger)
        let selected = try WALDirectory.select(names, snapshotIndex: start.index, directory: directory)
        let sizes = fileSizes(selected.map { fileSystem.join(directory, $0.fileName) }, fileSystem: fileSystem)
        var sink = CollectingSink(boundary: start.index, fileSizes: sizes)
        let (writer, replayed) = try openWriter(
            at: directory, from: start, codec: codec, options: options, replayOptions: replayOptions, entryBodies: .shared, sink: &sink)
        var replay = replayed
        replay.entries = sink.finished()
        return (WAL(directory: directory, metadata: replay.metadata, writer: writer), replay)
    }

    /// The sizes of `paths` (0 for any that cannot be read: they only guide a reservation).
    static func fileSizes(_ paths: [String], fileSystem: any FileSystem) -> [Int] {
        paths.map { path in (try? fileSystem.info(path)).flatMap { $0 }.map { Int($0.size) } ?? 0 }
    }

    /// The work of ``open(at:from:codec:options:replayOptions:)``: the writer, ready to append,
    /// with the replay's entries handed to `sink` (read without their data where `entryBodies`
    /// says so).
    static func openWriter<Sink: ReplaySink>(
        at directory: String, from start: SnapshotMarker, codec: Codec,
        options: WALOptions, replayOptions: WALReplayOptions,
        entryBodies: RecordReader<Codec>.EntryBodies, sink: inout Sink
    ) throws(StorageError) -> (writer: WALWriter<Codec>, replay: WALReplay) {
        let fileSystem = options.fileSystem
        let names = try WALDirectory.segments(in: directory, fileSystem: fileSystem, logger: options.logger)
        let selected = try WALDirectory.select(names, snapshotIndex: start.index, directory: directory)
        let held = try lockSegments(selected, in: directory, fileSystem: fileSystem)
        let replay = WALReplay.run(
            codec: codec, fileSystem: fileSystem, paths: held.map(\.file.path), start: start,
            options: replayOptions, entryBodies: entryBodies, sink: &sink)
        return (try finishOpening(at: directory, codec: codec, options: options, held: held, replay: replay), replay)
    }

    /// Opens and locks the segments `names` for writing (a second writer gets
    /// ``RaftStorage/StorageError/Code/locked``); on failure none stays open.
    static func lockSegments(_ names: some Collection<SegmentName>, in directory: String, fileSystem: any FileSystem) throws(StorageError) -> [HeldSegment] {
        var held: [HeldSegment] = []
        do throws(StorageError) {
            for name in names {
                let file = try fileSystem.open(fileSystem.join(directory, name.fileName), .readWrite, permissions: 0o600)
                held.append(HeldSegment(name: name, file: file))
                try file.lock(wait: false)
            }
            return held
        } catch {
            for segment in held { try? segment.file.close() }
            throw error
        }
    }

    /// The writer over the locked segments `held` (the last is the tail) after `replay` read
    /// them: a replay error is thrown; the tail is zeroed after the last valid record, the
    /// directory synced, a tail a failed writer left is written again. On failure every
    /// segment is closed.
    static func finishOpening(
        at directory: String, codec: Codec, options: WALOptions, held: [HeldSegment], replay: WALReplay
    ) throws(StorageError) -> WALWriter<Codec> {
        let fileSystem = options.fileSystem
        do throws(StorageError) {
            if let error = replay.error { throw error }
            let tail = held[held.count - 1].file
            let end = Int64(replay.endOffset ?? 0)
            try zeroToEnd(tail, from: end)
            var writer = WALWriter(
                directory: directory, codec: codec, options: options,
                instruments: WALInstruments(factory: options.metricsFactory),
                segments: held, tail: PageWriter(file: tail, offset: end), crc: replay.finalCRC,
                highestIndex: replay.highestIndex,
                storedMetadata: try CodecTag.wrap(replay.metadata, formatName: codec.formatName),
                lastState: replay.hardState, syncedState: replay.hardState)
            // The names this WAL builds on must be durable even if the create (or cut) that made
            // them failed to fsync its directory and a retry found them in the page cache.
            try fileSystem.syncDirectory(directory)
            try fileSystem.syncDirectory(fileSystem.parentDirectory(of: directory))
            let marker = fileSystem.join(directory, WALDirectory.tailNotDurableMarker)
            if try fileSystem.info(marker) != nil {
                try writer.rewriteTail(through: end)
                try fileSystem.removeFile(marker)
            } else {
                // The replay may have read records that are only in the page cache (a process
                // killed before its sync): durable before they are reported durable or built on.
                try writer.sync()
            }
            if end == 0 {
                // The tail holds no record at all (a crash tore its first one): start it
                // properly so it can be read on its own.
                try WALWriter.writeHeader(
                    into: &writer.tail, codec: codec, crc: &writer.crc, metadata: writer.storedMetadata, state: writer.lastState)
                try writer.sync()
            }
            try writer.prepareSpareUnlessOutOfSpace()
            return writer
        } catch {
            for segment in held { try? segment.file.close() }
            throw error
        }
    }

    /// etcd's `ZeroToEnd`: everything after `offset` reads as zeros, with the blocks kept.
    /// On a full disk the blocks are not kept: the file ends at `offset` and grows as written.
    private static func zeroToEnd(_ file: any StorageFile, from offset: Int64) throws(StorageError) {
        let size = try file.size()
        try file.truncate(to: offset)
        do {
            if size > offset { try file.preallocate(to: size) }
        } catch where error.isOutOfSpace {
            // Unlike etcd, a full disk must not stop the WAL from opening (and being read).
        }
    }

    /// Reads the WAL in `directory` from the snapshot marker `start` without locking or
    /// changing anything (etcd's `OpenForRead` and `ReadAll`).
    ///
    /// Record-level problems do not throw: they end the replay and are returned in
    /// ``WALReplay/error`` together with everything read before them, which is what a dump
    /// tool shows. A torn tail gives ``RaftStorage/StorageError/Code/unexpectedEnd`` there, with every
    /// complete record before it.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/notFound`` when no segment can hold `start` or the
    ///   sequence has a gap; I/O errors.
    public static func read(
        at directory: String, from start: SnapshotMarker, codec: Codec,
        options: WALOptions = WALOptions(), replayOptions: WALReplayOptions = WALReplayOptions()
    ) throws(StorageError) -> WALReplay {
        let fileSystem = options.fileSystem
        let names = try WALDirectory.segments(in: directory, fileSystem: fileSystem, logger: options.logger)
        let selected = try WALDirectory.select(names, snapshotIndex: start.index, directory: directory)
        let paths = selected.map { fileSystem.join(directory, $0.fileName) }
        if !replayOptions.collectsRecords,
           let replay = readInOnePass(selected, in: directory, paths: paths, from: start, codec: codec, fileSystem: fileSystem, replayOptions: replayOptions) {
            return replay
        }
        var sink = CollectingSink(boundary: start.index, fileSizes: fileSizes(paths, fileSystem: fileSystem))
        var replay = WALReplay.run(codec: codec, fileSystem: fileSystem, paths: paths, start: start, options: replayOptions, sink: &sink)
        replay.entries = sink.finished()
        return replay
    }

    /// ``read(at:from:codec:options:replayOptions:)`` of a clean WAL: each of the `selected`
    /// segments (the last is the WAL's last) read on its own, side by side, and the replay's
    /// rules applied to the runs of entries they hold (``SummaryReplay``). `nil` when anything
    /// but a clean log was met: the caller then reads record by record, which reports it.
    static func readInOnePass(
        _ selected: ArraySlice<SegmentName>, in directory: String, paths: [String], from start: SnapshotMarker, codec: Codec,
        fileSystem: any FileSystem, replayOptions: WALReplayOptions
    ) -> WALReplay? {
        let summaries = SegmentSummary.readAll(Array(selected), in: directory, keepsData: true, codec: codec, fileSystem: fileSystem)
        guard summaries.allSatisfy({ $0.unusual == nil }) else { return nil }
        var held = 0
        for summary in summaries {
            for case .entries(let run) in summary.events { held += run.held?.entries.count ?? 0 }
        }
        var sink = CollectingSink(boundary: start.index)
        sink.reserve(held)
        guard var replay = SummaryReplay.replay(
            summaries[...], paths: paths, start: start, formatName: codec.formatName,
            restartsAtUnmatchedSnapshots: replayOptions.restartsAtUnmatchedSnapshots, into: &sink) else { return nil }
        replay.entries = sink.finished()
        return replay
    }

    /// Checks that the WAL can be read from `start`: metadata, CRC chain and the snapshot
    /// record (etcd's `Verify`); a torn tail is accepted.
    ///
    /// - Returns: the last HardState recorded.
    /// - Throws: the first problem found, as ``read(at:from:codec:options:replayOptions:)``
    ///   reports it.
    public static func verify(
        at directory: String, from start: SnapshotMarker, codec: Codec, options: WALOptions = WALOptions()
    ) throws(StorageError) -> HardState {
        let replay = try read(at: directory, from: start, codec: codec, options: options)
        if let error = replay.error, error.code != .unexpectedEnd { throw error }
        if !replay.snapshotFound {
            throw StorageError(.snapshotNotFound, "wal: snapshot not found: no record of snapshot \(start)", path: directory)
        }
        return replay.hardState
    }

    /// Every snapshot marker recorded in the WAL whose index the last recorded HardState's
    /// commit covers, oldest first (etcd's `ValidSnapshotEntries`, Docs/OnDiskFormat.md, Replay).
    ///
    /// Reads every segment from the oldest, without locks, resetting the CRC at each crc
    /// record. A torn tail is accepted; other errors are thrown. The marker at (0, 0) is
    /// always valid (while its segment exists).
    public static func validSnapshotMarkers(
        at directory: String, codec: Codec, options: WALOptions = WALOptions()
    ) throws(StorageError) -> [SnapshotMarker] {
        let scan = try scanMarkers(at: directory, codec: codec, options: options)
        return scan.markers.map(\.marker).filter { $0.index <= scan.hardState.commit }
    }

    /// One pass over every segment: every snapshot marker (with the sequence number of the
    /// segment holding it) and the last HardState.
    @_specialize(where Codec == ProtobufRecordCodec)
    static func scanMarkers(
        at directory: String, codec: Codec, options: WALOptions
    ) throws(StorageError) -> (markers: [(marker: SnapshotMarker, segment: UInt64)], hardState: HardState) {
        let fileSystem = options.fileSystem
        let names = try WALDirectory.segments(in: directory, fileSystem: fileSystem, logger: options.logger)
        try WALDirectory.checkSequence(names[...], directory: directory)
        var reader = RecordReader(codec: codec, fileSystem: fileSystem, paths: names.map { fileSystem.join(directory, $0.fileName) })
        reader.entryBodies = .metadata
        var markers: [(marker: SnapshotMarker, segment: UInt64)] = []
        var state = HardState.empty
        do throws(StorageError) {
            while let read = try reader.next() {
                switch read.body {
                case .other(.snapshot(let marker)):
                    // As the replay does: no index is left for the log after such a marker.
                    guard marker.index < .max else {
                        throw StorageError(.corrupt, "a snapshot marker at the largest index", path: reader.currentPath, offset: Int64(read.offset))
                    }
                    markers.append((marker, names[reader.fileIndex].sequence))
                case .other(.hardState(let recorded)): state = recorded
                case .other(.metadata(let stored)):
                    do throws(StorageError) {
                        _ = try CodecTag.unwrap(stored, formatName: codec.formatName)
                    } catch {
                        throw error.at(path: reader.currentPath, offset: Int64(read.offset))
                    }
                case .entry, .entryIndexAndTerm, .other: break
                }
            }
        } catch where error.code == .unexpectedEnd {
            // A torn tail ends the scan, as in etcd.
        }
        return (markers, state)
    }
}
