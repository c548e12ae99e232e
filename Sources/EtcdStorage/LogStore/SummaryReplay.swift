import RaftStorage

/// Where a replay worked out from segment summaries puts its entries, a run at a time.
protocol RunSink {
    /// The log starts again after `marker`: every entry so far is dropped.
    mutating func restart(at marker: SnapshotMarker)
    /// The entries of `run` from `index` on follow the entries so far, replacing any at
    /// `index` and after.
    mutating func append(_ run: SegmentSummary.Run, from index: UInt64)
}

/// ``WALLogStore``'s index: terms and positions.
extension EntryIndex: RunSink {
    mutating func restart(at marker: SnapshotMarker) {
        reset(boundaryIndex: marker.index, term: marker.term)
    }

    mutating func append(_ run: SegmentSummary.Run, from index: UInt64) {
        replace(from: index) { $0.append(contentsOf: run.located, from: index) }
    }
}

/// ``WAL/read(at:from:codec:options:replayOptions:)``'s entries, data included, a run at a time.
extension CollectingSink: RunSink {
    mutating func append(_ run: SegmentSummary.Run, from index: UInt64) {
        guard let held = run.held else { return replace(from: index, with: []) }
        replace(from: index, taking: held.take(), from: Int(index - run.first))
    }
}

/// A replay from a snapshot marker (``WALReplay/run(codec:fileSystem:paths:start:options:entryBodies:sink:)``)
/// worked out from segment summaries instead of records: the same rules, applied to runs of
/// consecutive entries at once.
///
/// It covers a replay that ends cleanly. Where the record-by-record replay would stop with an
/// error (a gap, conflicting metadata, a broken CRC chain between segments, a snapshot marker
/// that contradicts `start` or is missing), it returns `nil`, and the caller reads the records
/// to report it exactly.
enum SummaryReplay {
    /// Replays `summaries` (the selected segments, in order, at `paths`) from `start`, for a
    /// codec of `formatName`, into `sink`.
    static func replay<Sink: RunSink>(
        _ summaries: ArraySlice<SegmentSummary>, paths: [String], start: SnapshotMarker, formatName: String?,
        restartsAtUnmatchedSnapshots: Bool, into sink: inout Sink
    ) -> WALReplay? {
        guard chainsLink(summaries) else { return nil }
        var replay = WALReplay(start: start)
        replay.segments = paths
        var log = ReplayLog(boundary: start)
        var storedMetadata: [UInt8]??
        for summary in summaries {
            guard summary.unusual == nil else { return nil }
            if let stored = summary.metadata {
                if let first = storedMetadata {
                    guard first == stored else { return nil }
                } else {
                    storedMetadata = .some(stored)
                    do {
                        replay.metadata = try CodecTag.unwrap(stored, formatName: formatName)
                    } catch {
                        return nil
                    }
                }
            }
            if let state = summary.hardState { replay.hardState = state }
            replay.highestIndex = max(replay.highestIndex, summary.highestIndex)
            for event in summary.events {
                switch event {
                case .marker(let marker):
                    replay.snapshots.append(marker)
                    if marker.index == start.index {
                        guard marker.term == start.term else { return nil }
                        replay.snapshotFound = true
                    }
                    if restartsAtUnmatchedSnapshots && log.restarts(at: marker) { sink.restart(at: marker) }
                case .entries(let run):
                    guard apply(run, to: &log, sink: &sink) else { return nil }
                }
            }
        }
        guard replay.snapshotFound, let last = summaries.last else { return nil }
        replay.boundary = log.boundary
        replay.lastIndex = log.lastIndex
        replay.finalCRC = last.finalCRC
        replay.endOffset = last.endOffset
        return replay
    }

    /// Whether each segment opens with a crc record carrying the running CRC the one before
    /// it ended with (a running CRC of 0 is not checked, as the record reader does not).
    static func chainsLink(_ summaries: ArraySlice<SegmentSummary>) -> Bool {
        for (previous, next) in zip(summaries, summaries.dropFirst()) {
            guard let opening = next.openingCRC, previous.finalCRC == 0 || opening == previous.finalCRC else { return false }
        }
        return true
    }

    /// The replay's rule for each entry of `run`, for all of them at once: entries at or below
    /// the boundary are skipped, and when entries above it were read before, they are dropped
    /// (raft rewrote the log from there); the others replace any entry at their index and after.
    /// Returns false where the replay would stop: a gap after the last entry.
    private static func apply<Sink: RunSink>(_ run: SegmentSummary.Run, to log: inout ReplayLog, sink: inout Sink) -> Bool {
        if run.first <= log.boundary.index && log.truncatesAtBoundary(index: run.first) {
            sink.restart(at: log.boundary)
        }
        // A boundary at the largest index (a read "from beyond everything") takes no entry.
        guard log.boundary.index < .max else { return true }
        let from = max(run.first, log.boundary.index + 1)
        guard from <= run.last else { return true }
        guard from <= log.lastIndex + 1 else { return false }
        log.accept(from: from, through: run.last, runs: run.located.termRuns(from: from))
        sink.append(run, from: from)
        return true
    }
}
