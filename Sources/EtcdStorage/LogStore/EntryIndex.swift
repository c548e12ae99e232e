import RaftStorage
import RaftFiles

/// The in-memory view of the log a ``WALLogStore`` answers raft's reads from: the boundary
/// (index and term of the last entry compacted or covered by a snapshot) and the entries after
/// it, with `MemoryStorage`'s rules.
///
/// Entries of sealed segments are *located*: only their terms and positions are kept
/// (``LocatedEntries``), and reads load them back from their segment, so a log far larger than
/// memory can be opened. Entries of the tail segment are *held* with their data, as written or
/// replayed; when the tail is cut, they become located (``seal(before:)``).
struct EntryIndex {
    private(set) var boundaryIndex: UInt64
    private(set) var boundaryTerm: UInt64
    /// boundaryIndex + 1 ... boundaryIndex + located.count
    private var located: LocatedEntries
    /// The entries after the located ones.
    private var held: [Entry] = []
    /// Where held entries were written, for writes starting at the given index: what sealing
    /// needs to locate them. `follows` when the write's first frame directly follows the
    /// previous entry's (it replaced nothing), so no checkpoint is needed there.
    private var heldPlacements: [(index: UInt64, placement: EntryPlacement, follows: Bool)] = []

    init(boundaryIndex: UInt64, boundaryTerm: UInt64, entries: [Entry] = []) {
        self.boundaryIndex = boundaryIndex
        self.boundaryTerm = boundaryTerm
        self.located = LocatedEntries(first: boundaryIndex + 1)
        self.held = entries
    }

    var firstIndex: UInt64 { boundaryIndex + 1 }
    var lastIndex: UInt64 { boundaryIndex + located.count + UInt64(held.count) }
    var isEmpty: Bool { located.isEmpty && held.isEmpty }
    /// The first index held in memory.
    private var heldFirst: UInt64 { boundaryIndex + located.count + 1 }

    /// `MemoryStorage.Term`.
    func term(at index: UInt64) throws(StorageError) -> UInt64 {
        guard index >= boundaryIndex else { throw .compacted() }
        guard let term = termIfPresent(at: index) else { throw .unavailable() }
        return term
    }

    /// The term at `index` when the index holds it (the boundary or an entry), else `nil`.
    func termIfPresent(at index: UInt64) -> UInt64? {
        guard index >= boundaryIndex, index <= lastIndex else { return nil }
        if index == boundaryIndex { return boundaryTerm }
        if index < heldFirst { return located.term(at: index) }
        return held[Int(index - heldFirst)].term
    }

    /// `MemoryStorage.Entries`; located entries are read back from the segments in
    /// `directory` with `codec`.
    func entries<Codec: RecordCodec>(
        in range: Range<UInt64>, maxBytes: UInt64, codec: Codec, fileSystem: any FileSystem, directory: String
    ) throws(StorageError) -> [Entry] {
        guard range.lowerBound > boundaryIndex else { throw .compacted() }
        guard range.upperBound <= lastIndex + 1 else {
            throw .unavailable("entries' hi(\(range.upperBound)) is out of bound lastindex(\(lastIndex))")
        }
        guard !isEmpty else { throw .unavailable() }
        var result: [Entry] = []
        var used: UInt64 = 0
        if range.lowerBound < heldFirst {
            let located = try self.located.read(
                range.lowerBound..<min(range.upperBound, heldFirst), maxBytes: maxBytes, used: &used, taken: 0,
                codec: codec, fileSystem: fileSystem, directory: directory)
            result = located.entries
            if located.limited { return result }
        }
        guard range.upperBound > heldFirst else { return result }
        let heldRange = max(range.lowerBound, heldFirst)..<range.upperBound
        let slice = held[Int(heldRange.lowerBound - heldFirst)..<Int(heldRange.upperBound - heldFirst)]
        if result.isEmpty { return Array(slice.prefix(limitedCount(slice, maxBytes: maxBytes))) }
        for entry in slice {
            used += UInt64(entry.encodedSize)
            if used > maxBytes { break }
            result.append(entry)
        }
        return result
    }

    /// Checks a batch as `MemoryStorage.Append` would take it, and returns the part to keep:
    /// entries at or below the boundary are dropped.
    ///
    /// - Throws: ``StorageError/Code/invalidArgument`` for a batch that is not contiguous or
    ///   would leave a gap after the last index.
    func acceptedPart(of batch: [Entry]) throws(StorageError) -> ArraySlice<Entry> {
        guard let (firstNew, lastNew) = try batch.contiguousIndexRange(), lastNew > boundaryIndex else { return [] }
        let keptFirst = max(firstNew, boundaryIndex + 1)
        guard keptFirst <= lastIndex + 1 else {
            throw StorageError(.invalidArgument, "missing log entry [last: \(lastIndex), append at: \(keptFirst)]")
        }
        return batch[Int(keptFirst - firstNew)...]
    }

    /// Appends an accepted batch, replacing any overlapping tail (raft paper Fig. 7), held in
    /// memory; `placement` is where its first entry was written (its entries follow it).
    mutating func append(_ kept: ArraySlice<Entry>, at placement: EntryPlacement? = nil) {
        guard let first = kept.first?.index else { return }
        let follows = first == lastIndex + 1
        truncate(after: first - 1)
        if let placement { heldPlacements.append((first, placement, follows)) }
        held.append(contentsOf: kept)
    }

    /// Adds an entry known by position only (replaying a sealed segment).
    mutating func appendLocated(index: UInt64, term: UInt64, at placement: EntryPlacement) {
        truncate(after: index - 1)
        located.append(index: index, term: term, at: placement)
    }

    /// Drops every entry after `index`.
    private mutating func truncate(after index: UInt64) {
        guard index < lastIndex else { return }
        if index < heldFirst {
            located.truncate(after: index)
            held.removeAll()
            heldPlacements.removeAll()
        } else {
            held.removeSubrange(Int(index + 1 - heldFirst)...)
            while let last = heldPlacements.last, last.index > index { heldPlacements.removeLast() }
        }
    }

    /// Every segment before `tail` is sealed: held entries written there become located, their
    /// data dropped. Entries without a recorded placement stay held.
    mutating func seal(before tail: SegmentName) {
        var sealed = 0
        var cursor = 0
        for position in held.indices {
            let index = held[position].index
            while cursor + 1 < heldPlacements.count && heldPlacements[cursor + 1].index <= index { cursor += 1 }
            guard cursor < heldPlacements.count, heldPlacements[cursor].index <= index,
                  heldPlacements[cursor].placement.segment < tail else { break }
            sealed = position + 1
        }
        guard sealed > 0 else { return }
        // Every entry of a write follows the previous one: locate each at its write's start.
        var cursorIndex = 0
        for entry in held[..<sealed] {
            while cursorIndex + 1 < heldPlacements.count && heldPlacements[cursorIndex + 1].index <= entry.index { cursorIndex += 1 }
            let write = heldPlacements[cursorIndex]
            located.append(index: entry.index, term: entry.term, at: write.placement, startsCheckpoint: write.index == entry.index && !write.follows)
        }
        held.removeFirst(sealed)
        trimPlacements()
    }

    /// Forgets the placements of writes no held entry belongs to (keeping the one the first
    /// held entry's write started at).
    private mutating func trimPlacements() {
        guard let first = held.first?.index else {
            heldPlacements.removeAll()
            return
        }
        if let keep = heldPlacements.lastIndex(where: { $0.index <= first }), keep > 0 { heldPlacements.removeFirst(keep) }
    }

    /// Drops every entry and starts after (`index`, `term`).
    mutating func reset(boundaryIndex index: UInt64, term: UInt64) {
        boundaryIndex = index
        boundaryTerm = term
        located = LocatedEntries(first: index + 1)
        held = []
        heldPlacements = []
    }

    /// `MemoryStorage.Compact`: moves the boundary to `index`, dropping the entries up to it.
    ///
    /// - Throws: ``StorageError/Code/compacted`` at or below the boundary,
    ///   ``StorageError/Code/unavailable`` past the last index.
    mutating func compact(through index: UInt64) throws(StorageError) {
        guard index > boundaryIndex else { throw .compacted() }
        guard index <= lastIndex, let term = termIfPresent(at: index) else {
            throw .unavailable("compact \(index) is out of bound lastindex(\(lastIndex))")
        }
        boundaryTerm = term
        if index < heldFirst {
            located.drop(through: index)
        } else {
            let count = Int(index + 1 - heldFirst)
            held.removeFirst(count)
            located = LocatedEntries(first: index + 1)
            trimPlacements()
        }
        boundaryIndex = index
    }
}

extension EntryIndex {
    /// Appends one held entry (replaying the tail segment); `placement` when it does not simply
    /// follow the previous held entry's frame.
    mutating func appendHeld(_ entry: consuming Entry, at placement: EntryPlacement?) {
        let index = entry.index
        truncate(after: index - 1)
        if let placement { heldPlacements.append((index, placement, false)) }
        held.append(entry)
    }
}

/// ``WALLogStore``'s replay sink: entries of sealed segments located, those of the tail held.
struct IndexingSink: ReplaySink {
    private(set) var index: EntryIndex
    /// The segment of each file the replay reads.
    let segments: [SegmentName]
    /// The last held entry appended, and its file: whether the next one follows its frame.
    private var lastHeld: (index: UInt64, fileIndex: Int)?

    init(boundary: SnapshotMarker, segments: [SegmentName]) {
        self.index = EntryIndex(boundaryIndex: boundary.index, boundaryTerm: boundary.term)
        self.segments = segments
    }

    mutating func append(_ entry: consuming Entry, at position: RecordPosition) {
        let follows = lastHeld.map { $0.index + 1 == entry.index && $0.fileIndex == position.fileIndex } ?? false
        lastHeld = (entry.index, position.fileIndex)
        index.appendHeld(entry, at: follows ? nil : placement(position))
    }

    mutating func append(_ entry: EntryMetadata, at position: RecordPosition) {
        lastHeld = nil
        index.appendLocated(index: entry.index, term: entry.term, at: placement(position))
    }

    mutating func restart(at marker: SnapshotMarker) {
        lastHeld = nil
        index.reset(boundaryIndex: marker.index, term: marker.term)
    }

    private func placement(_ position: RecordPosition) -> EntryPlacement {
        EntryPlacement(segment: segments[position.fileIndex], offset: Int64(position.offset), crcBefore: position.crcBefore)
    }
}
