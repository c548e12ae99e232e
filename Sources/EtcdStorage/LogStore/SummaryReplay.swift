import RaftStorage

/// The replay of a ``WALLogStore`` open (``WALReplay/run(codec:fileSystem:paths:start:options:entryBodies:sink:)``
/// from `start` with ``WALReplayOptions/restartsAtUnmatchedSnapshots`` and an ``IndexingSink``)
/// worked out from segment summaries instead of records: the same rules, applied to runs of
/// consecutive entries at once.
///
/// It covers a replay that ends cleanly. Where the record-by-record replay would stop with an
/// error (a gap, conflicting metadata, a broken CRC chain between segments, a snapshot marker
/// that contradicts `start` or is missing), it returns `nil`, and the open reads the records
/// to report it exactly.
enum SummaryReplay {
    /// What the record-by-record replay with an ``IndexingSink`` would have produced.
    struct Result {
        var replay: WALReplay
        var index: EntryIndex
    }

    /// Replays `summaries` (the selected segments, in order, at `paths`) from `start`, for a
    /// codec of `formatName`.
    static func replay(_ summaries: ArraySlice<SegmentSummary>, paths: [String], start: SnapshotMarker, formatName: String?) -> Result? {
        guard chainsLink(summaries) else { return nil }
        var replay = WALReplay(start: start)
        replay.segments = paths
        var log = ReplayLog(boundary: start)
        var index = EntryIndex(boundaryIndex: start.index, boundaryTerm: start.term)
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
                    if log.restarts(at: marker) { index.reset(boundaryIndex: marker.index, term: marker.term) }
                case .entries(let run):
                    guard apply(run, to: &log, index: &index) else { return nil }
                }
            }
        }
        guard replay.snapshotFound, let last = summaries.last else { return nil }
        replay.boundary = log.boundary
        replay.lastIndex = log.lastIndex
        replay.finalCRC = last.finalCRC
        replay.endOffset = last.endOffset
        return Result(replay: replay, index: index)
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
    private static func apply(_ run: LocatedEntries, to log: inout ReplayLog, index: inout EntryIndex) -> Bool {
        if run.first <= log.boundary.index && log.truncatesAtBoundary(index: run.first) {
            index.reset(boundaryIndex: log.boundary.index, term: log.boundary.term)
        }
        let from = max(run.first, log.boundary.index + 1)
        guard from <= run.last else { return true }
        guard from <= log.lastIndex + 1 else { return false }
        log.accept(from: from, through: run.last, runs: run.termRuns(from: from))
        index.replace(from: from) { $0.append(contentsOf: run, from: from) }
        return true
    }
}
