import RaftStorage

/// A record body: the kind byte, then the groups' parts (`Docs/OnDiskFormat.md`, "The
/// multi-group log"). Encoding reports where each entry's bytes landed, decoding where each
/// entry is in the file, so the index never holds data.
enum BatchCodec {
    /// The flags byte of a group's part: which steps follow, in this order.
    enum Flag {
        static let remove: UInt8 = 0x01
        static let applySnapshot: UInt8 = 0x02
        static let entries: UInt8 = 0x04
        static let hardState: UInt8 = 0x08
        static let recordSnapshot: UInt8 = 0x10
        static let compact: UInt8 = 0x20
        static let resume: UInt8 = 0x40
        /// A whole group state (a purge's rewrite); no other flag with it.
        static let base: UInt8 = 0x80
    }

    /// One group's part read back.
    enum DecodedPart {
        /// Changes, with entries carrying no data (their terms and indexes; the change's range
        /// is all of them) and where each is.
        case change(GroupChange, entries: [Entry], locations: [EntryLocation])
        case base(GroupBase)
    }

    // MARK: - Encoding

    /// A record for change parts (what writes produce): room for the record's header, which
    /// ``EngineWriter/append(record:)`` fills in, then the body; and where each entry's bytes
    /// are in the body, all parts' entries in order.
    ///
    /// The record is sized first and written through a pointer: appending field by field to a
    /// growing array (a capacity and uniqueness check per byte written) took a fifth of a
    /// write's time for batches of many one-entry groups.
    static func encode(changes parts: [GroupPart], entries: [Entry]) -> (record: [UInt8], entrySpans: [Range<Int>]) {
        // Through the buffers: a part or entry read out of its array is a copy.
        parts.withUnsafeBufferPointer { parts in
            entries.withUnsafeBufferPointer { entries in encode(changes: parts, entries: entries) }
        }
    }

    private static func encode(
        changes parts: UnsafeBufferPointer<GroupPart>, entries: UnsafeBufferPointer<Entry>
    ) -> (record: [UInt8], entrySpans: [Range<Int>]) {
        var capacity = LogFileFormat.recordHeaderSize + 1 + maxVarint + LogFileFormat.alignment
        var entryCount = 0
        for position in parts.indices {
            capacity += maxSize(of: parts[position].change, entries: entries)
            entryCount += parts[position].change.entryRange.count
        }
        var spans: [Range<Int>] = []
        spans.reserveCapacity(entryCount)
        let record = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            let start = UnsafeMutableRawPointer(buffer.baseAddress!)
            start.initializeMemory(as: UInt8.self, repeating: 0, count: LogFileFormat.recordHeaderSize)
            let body = start + LogFileFormat.recordHeaderSize
            var position = body
            position.storeByte(LogFileFormat.batchKind)
            position.storeVarint(UInt64(parts.count))
            for part in parts.indices {
                let group = parts[part].group
                position.storeVarint(group)
                if parts[part].change.hasRareSteps {
                    store(parts[part].change, entries: entries, group: group, at: &position, body: body, spans: &spans)
                } else {
                    // What almost every part is, read field by field: a part passed whole is
                    // copied first (through its value witnesses), as the spans' growth could
                    // change memory it lives in as far as the compiler can tell.
                    let range = parts[part].change.entryRange
                    let hardState = parts[part].change.hardState
                    position.storeByte(flags(remove: parts[part].change.remove, entries: range, hardState: hardState))
                    store(range, of: entries, group: group, at: &position, body: body, spans: &spans)
                    if !hardState.isEmpty { store(hardState, at: &position) }
                }
            }
            count = position - start
        }
        return (record, spans)
    }

    /// The most bytes a varint takes.
    private static let maxVarint = 10

    /// The most bytes a part for `change` (its entries in `entries`) takes, its group's ID
    /// included.
    @inline(__always)
    private static func maxSize(of change: borrowing GroupChange, entries: UnsafeBufferPointer<Entry>) -> Int {
        var size = maxVarint + 1 + 2 * maxVarint + 3 * maxVarint
        for position in change.entryRange { size += EntryCodec.maxSize(of: entries[position]) }
        if change.hasRareSteps {
            size += maxVarint + [change.applySnapshot, change.recordSnapshot, change.resume].reduce(0) { $0 + ($1.map(maxSize(of:)) ?? 0) }
        }
        return size
    }

    /// Writes `change`'s part (its entries in `entries`) after its group's ID, within the room
    /// ``maxSize(of:entries:)`` gives; each entry's place in the body (which starts at `body`)
    /// is added to `spans`.
    @inline(__always)
    private static func store(
        _ change: borrowing GroupChange, entries: UnsafeBufferPointer<Entry>, group: UInt64, at position: inout UnsafeMutableRawPointer, body: UnsafeMutableRawPointer,
        spans: inout [Range<Int>]
    ) {
        var flags = flags(remove: change.remove, entries: change.entryRange, hardState: change.hardState)
        // The rare steps' getters copy markers out: asked only when there are any.
        if change.hasRareSteps {
            if change.applySnapshot != nil { flags |= Flag.applySnapshot }
            if change.recordSnapshot != nil { flags |= Flag.recordSnapshot }
            if change.compact != nil { flags |= Flag.compact }
            if change.resume != nil { flags |= Flag.resume }
        }
        position.storeByte(flags)
        if change.hasRareSteps, let marker = change.applySnapshot { store(marker, at: &position) }
        store(change.entryRange, of: entries, group: group, at: &position, body: body, spans: &spans)
        if !change.hardState.isEmpty { store(change.hardState, at: &position) }
        guard change.hasRareSteps else { return }
        if let marker = change.recordSnapshot { store(marker, at: &position) }
        if let index = change.compact { position.storeVarint(index) }
        if let marker = change.resume { store(marker, at: &position) }
    }

    /// The flags of a part's steps besides the rare ones.
    @inline(__always)
    private static func flags(remove: Bool, entries: Range<Int>, hardState: HardState) -> UInt8 {
        (remove ? Flag.remove : 0) | (entries.isEmpty ? 0 : Flag.entries) | (hardState.isEmpty ? 0 : Flag.hardState)
    }

    /// Writes a part's run of entries, `entries[range]` (nothing for an empty range), adding
    /// each entry's place in the body (which starts at `body`) to `spans`.
    @inline(__always)
    private static func store(
        _ range: Range<Int>, of entries: UnsafeBufferPointer<Entry>, group: UInt64, at position: inout UnsafeMutableRawPointer,
        body: UnsafeMutableRawPointer, spans: inout [Range<Int>]
    ) {
        guard !range.isEmpty else { return }
        position.storeVarint(entries[range.lowerBound].index)
        position.storeVarint(UInt64(range.count))
        for index in range {
            let start = position - body
            EntryCodec.store(entries[index], group: group, at: &position)
            spans.append(start..<(position - body))
        }
    }

    /// A record of one base part (a purge's rewrite of `group`), as
    /// ``encode(changes:entries:)`` lays it out; and where the copied entries' bytes are in its body,
    /// by index.
    static func encode(base: GroupBase, group: UInt64, copied: [UInt64: [UInt8]]) -> (record: [UInt8], spans: [UInt64: Range<Int>]) {
        var record = startRecord(parts: 1, capacity: 64 + base.entries.count * 4 + copied.values.reduce(0) { $0 + $1.count })
        record.appendVarint(group)
        let spans = encode(base, copied: copied, into: &record)
        return (record, spans)
    }

    /// A purge record: `oldestKept` is the number of the oldest log file left once the purge
    /// that writes it has removed the file before it.
    static func encodePurge(oldestKept: UInt64) -> [UInt8] {
        var record = [UInt8](repeating: 0, count: LogFileFormat.recordHeaderSize)
        record.append(LogFileFormat.purgeKind)
        record.appendVarint(oldestKept)
        return record
    }

    /// The record header's room (zeros), the kind byte and the part count.
    private static func startRecord(parts: Int, capacity: Int) -> [UInt8] {
        var record = [UInt8](repeating: 0, count: LogFileFormat.recordHeaderSize)
        record.reserveCapacity(capacity + LogFileFormat.recordHeaderSize + LogFileFormat.alignment)
        record.append(LogFileFormat.batchKind)
        record.appendVarint(UInt64(parts))
        return record
    }

    /// Where the bytes from `start` of a record under construction to its end are in its body.
    private static func bodyRange(from start: Int, _ record: [UInt8]) -> Range<Int> {
        (start - LogFileFormat.recordHeaderSize)..<(record.count - LogFileFormat.recordHeaderSize)
    }

    private static func encode(_ base: GroupBase, copied: [UInt64: [UInt8]], into body: inout [UInt8]) -> [UInt64: Range<Int>] {
        body.append(Flag.base)
        body.appendVarint(base.boundaryIndex)
        body.appendVarint(base.boundaryTerm)
        appendHardState(base.hardState, to: &body)
        appendMarker(base.marker, to: &body)
        body.appendVarint(UInt64(base.markers.count))
        for marker in base.markers { appendMarker(marker, to: &body) }
        body.appendVarint(UInt64(base.entries.count))
        // Terms as runs.
        var runs = IndexRuns()
        for (offset, entry) in base.entries.enumerated() { runs.append(entry.term, at: base.boundaryIndex + 1 + UInt64(offset)) }
        body.appendVarint(UInt64(runs.runs.count))
        for run in runs.runs {
            body.appendVarint(run.first)
            body.appendVarint(run.value)
        }
        // Pieces: copied runs of entries, and references to runs lying back to back in a file.
        var pieces: [(copied: Bool, first: Int, count: Int)] = []
        for (offset, entry) in base.entries.enumerated() {
            let index = base.boundaryIndex + 1 + UInt64(offset)
            let isCopied = copied[index] != nil
            if var last = pieces.last, last.copied == isCopied, last.first + last.count == offset {
                let previous = base.entries[offset - 1].location
                if isCopied || (previous.file == entry.location.file && previous.offset + previous.length == entry.location.offset) {
                    last.count += 1
                    pieces[pieces.count - 1] = last
                    continue
                }
            }
            pieces.append((isCopied, offset, 1))
        }
        body.appendVarint(UInt64(pieces.count))
        var spans: [UInt64: Range<Int>] = [:]
        for piece in pieces {
            let range = piece.first..<(piece.first + piece.count)
            if piece.copied {
                body.append(0)
                body.appendVarint(UInt64(piece.count))
                for offset in range {
                    let index = base.boundaryIndex + 1 + UInt64(offset)
                    let start = body.count
                    body.append(contentsOf: copied[index] ?? [])
                    spans[index] = bodyRange(from: start, body)
                }
            } else {
                body.append(1)
                let first = base.entries[piece.first].location
                body.appendVarint(first.file)
                body.appendVarint(first.offset)
                body.appendVarint(UInt64(piece.count))
                for offset in range { body.appendVarint(base.entries[offset].location.length) }
            }
        }
        return spans
    }

    private static func appendHardState(_ hardState: HardState, to body: inout [UInt8]) {
        body.appendStoring(atMost: 3 * maxVarint) { store(hardState, at: &$0) }
    }

    private static func appendMarker(_ marker: SnapshotMarker, to body: inout [UInt8]) {
        body.appendStoring(atMost: maxSize(of: marker)) { store(marker, at: &$0) }
    }

    private static func store(_ hardState: HardState, at position: inout UnsafeMutableRawPointer) {
        position.storeVarint(hardState.term)
        position.storeVarint(hardState.vote)
        position.storeVarint(hardState.commit)
    }

    /// The most bytes a marker takes.
    private static func maxSize(of marker: SnapshotMarker) -> Int {
        let ids = marker.confState.map { $0.voters.count + $0.learners.count + $0.votersOutgoing.count + $0.learnersNext.count } ?? 0
        return 2 * maxVarint + 1 + (4 + ids) * maxVarint
    }

    private static func store(_ marker: SnapshotMarker, at position: inout UnsafeMutableRawPointer) {
        position.storeVarint(marker.index)
        position.storeVarint(marker.term)
        guard let confState = marker.confState else {
            position.storeByte(0)
            return
        }
        position.storeByte(confState.autoLeave ? 3 : 1)
        for list in [confState.voters, confState.learners, confState.votersOutgoing, confState.learnersNext] {
            position.storeVarint(UInt64(list.count))
            for id in list { position.storeVarint(id) }
        }
    }

    // MARK: - Decoding

    /// A part's steps when they are only entries and a HardState, what almost every record
    /// holds: recovery replays these as it reads them (``RecordBodyReader``), nothing decoded
    /// into values first.
    static func isRun(_ flags: UInt8) -> Bool {
        flags != 0 && flags & ~(Flag.entries | Flag.hardState) == 0
    }

    /// Whether a part with these flags holds entries, and a HardState.
    static func hasEntries(_ flags: UInt8) -> Bool { flags & Flag.entries != 0 }
    static func hasHardState(_ flags: UInt8) -> Bool { flags & Flag.hardState != 0 }

    /// Decodes the rest of a part of `group` whose `flags` were just read, whole.
    static func decodePart(_ flags: UInt8, group: UInt64, _ reader: inout BodyReader, file: UInt64, bodyOffset: Int64) throws(StorageError) -> DecodedPart {
        if flags == Flag.base { return .base(try decodeBase(&reader, file: file, bodyOffset: bodyOffset)) }
        guard flags & Flag.base == 0 else { throw reader.corrupt("group \(group): a base part with other flags (\(flags))") }
        let (change, entries, locations) = try decodeChange(flags, &reader, file: file, bodyOffset: bodyOffset)
        return .change(change, entries: entries, locations: locations)
    }

    private static func decodeChange(
        _ flags: UInt8, _ reader: inout BodyReader, file: UInt64, bodyOffset: Int64
    ) throws(StorageError) -> (GroupChange, [Entry], [EntryLocation]) {
        var change = GroupChange()
        var entries: [Entry] = []
        var locations: [EntryLocation] = []
        change.remove = flags & Flag.remove != 0
        if flags & Flag.applySnapshot != 0 { change.applySnapshot = try decodeMarker(&reader) }
        if flags & Flag.entries != 0 {
            let (first, count) = try decodeRunHeader(&reader)
            entries.reserveCapacity(count)
            locations.reserveCapacity(count)
            for offset in 0..<count {
                let index = first + UInt64(offset)
                let (term, location) = try decodeEntry(&reader, index: index, file: file, bodyOffset: bodyOffset)
                entries.append(Entry(term: term, index: index))
                locations.append(location)
            }
            change.entryRange = 0..<count
        }
        if flags & Flag.hardState != 0 { change.hardState = try decodeHardState(&reader) }
        if flags & Flag.recordSnapshot != 0 { change.recordSnapshot = try decodeMarker(&reader) }
        if flags & Flag.compact != 0 { change.compact = try reader.varint() }
        if flags & Flag.resume != 0 { change.resume = try decodeMarker(&reader) }
        return (change, entries, locations)
    }

    /// The first index and the count of a part's run of entries (never empty, never reaching
    /// the largest index).
    static func decodeRunHeader(_ reader: inout BodyReader) throws(StorageError) -> (first: UInt64, count: Int) {
        let first = try reader.varint()
        // An entry takes at least 7 bytes (three varints and its checksum).
        let count = try reader.count(each: 7)
        guard count > 0, first > 0, UInt64(count) <= UInt64.max - first else { throw reader.corrupt("bad entry run \(first)+\(count)") }
        return (first, count)
    }

    /// The next entry of a run, at `index`: its term and where its bytes are (nothing of the
    /// data is read).
    static func decodeEntry(_ reader: inout BodyReader, index: UInt64, file: UInt64, bodyOffset: Int64) throws(StorageError) -> (term: UInt64, location: EntryLocation) {
        let start = reader.position
        guard let (term, end) = EntryCodec.end(of: reader.bytes, at: start, limit: reader.bytes.count) else {
            throw reader.corrupt("entry \(index) does not decode")
        }
        try reader.skip(end - start)
        return (term, EntryLocation(file: file, offset: UInt64(bodyOffset) + UInt64(start), length: UInt64(end - start)))
    }

    static func decodeHardState(_ reader: inout BodyReader) throws(StorageError) -> HardState {
        let hardState = HardState(term: try reader.varint(), vote: try reader.varint(), commit: try reader.varint())
        if hardState.isEmpty { throw reader.corrupt("an empty HardState written") }
        return hardState
    }

    private static func decodeBase(_ reader: inout BodyReader, file: UInt64, bodyOffset: Int64) throws(StorageError) -> GroupBase {
        let boundaryIndex = try reader.varint()
        let boundaryTerm = try reader.varint()
        let hardState = HardState(term: try reader.varint(), vote: try reader.varint(), commit: try reader.varint())
        let marker = try decodeMarker(&reader)
        let markerCount = try reader.count(each: 3)
        var markers: [SnapshotMarker] = []
        markers.reserveCapacity(markerCount)
        for _ in 0..<markerCount { markers.append(try decodeMarker(&reader)) }
        // Entries are described by the pieces below, at least one byte each.
        let entryCount = try reader.varint()
        guard boundaryIndex < UInt64.max - 1, entryCount <= UInt64.max - boundaryIndex - 1 else {
            throw reader.corrupt("base of \(entryCount) entries after index \(boundaryIndex) overflows")
        }
        let runCount = try reader.count(each: 2)
        guard (runCount == 0) == (entryCount == 0) else { throw reader.corrupt("base term runs do not match its entries") }
        var runs: [IndexRuns.Run] = []
        runs.reserveCapacity(runCount)
        for _ in 0..<runCount {
            let run = IndexRuns.Run(first: try reader.varint(), value: try reader.varint())
            let start = runs.last.map { $0.first + 1 } ?? boundaryIndex + 1
            guard run.first >= start, run.first - boundaryIndex <= entryCount else { throw reader.corrupt("base term run out of order") }
            if runs.isEmpty && run.first != boundaryIndex + 1 { throw reader.corrupt("base term runs do not start at the first entry") }
            runs.append(run)
        }
        let pieceCount = try reader.count(each: 2)
        var entries: [GroupBase.Entry] = []
        // Each entry takes at least a byte of the body: reserved from what is left, never from
        // the count the record claims (growing by doubling would overshoot the bound instead).
        entries.reserveCapacity(Int(min(entryCount, UInt64(reader.remaining))))
        var runPosition = 0
        func term(of index: UInt64) -> UInt64 {
            while runPosition + 1 < runs.count && runs[runPosition + 1].first <= index { runPosition += 1 }
            return runs[runPosition].value
        }
        for _ in 0..<pieceCount {
            let tag = try reader.byte()
            switch tag {
            case 0:
                let count = try reader.count(each: 7)
                for _ in 0..<count {
                    guard UInt64(entries.count) < entryCount else { throw reader.corrupt("base holds more entries than it says") }
                    let start = reader.position
                    guard let (stored, end) = EntryCodec.end(of: reader.bytes, at: start, limit: reader.bytes.count) else {
                        throw reader.corrupt("copied entry does not decode")
                    }
                    let index = boundaryIndex + 1 + UInt64(entries.count)
                    guard stored == term(of: index) else { throw reader.corrupt("copied entry \(index) has term \(stored), the runs say \(term(of: index))") }
                    try reader.skip(end - start)
                    entries.append(GroupBase.Entry(
                        term: stored, location: EntryLocation(file: file, offset: UInt64(bodyOffset) + UInt64(start), length: UInt64(end - start))))
                }
            case 1:
                let referenced = try reader.varint()
                var offset = try reader.varint()
                let count = try reader.count(each: 1)
                for _ in 0..<count {
                    guard UInt64(entries.count) < entryCount else { throw reader.corrupt("base holds more entries than it says") }
                    let length = try reader.varint()
                    guard length >= 7, offset < EntryPositions.offsetLimit, length <= EntryPositions.offsetLimit - offset else {
                        throw reader.corrupt("referenced entry at \(offset) of \(length) bytes is out of range")
                    }
                    let index = boundaryIndex + 1 + UInt64(entries.count)
                    entries.append(GroupBase.Entry(term: term(of: index), location: EntryLocation(file: referenced, offset: offset, length: length)))
                    offset += length
                }
            default:
                throw reader.corrupt("unknown base piece kind \(tag)")
            }
        }
        guard UInt64(entries.count) == entryCount else { throw reader.corrupt("base says \(entryCount) entries, holds \(entries.count)") }
        return GroupBase(
            boundaryIndex: boundaryIndex, boundaryTerm: boundaryTerm, hardState: hardState, marker: marker, markers: markers, entries: entries)
    }

    private static func decodeMarker(_ reader: inout BodyReader) throws(StorageError) -> SnapshotMarker {
        let index = try reader.varint()
        let term = try reader.varint()
        let kind = try reader.byte()
        switch kind {
        case 0:
            return SnapshotMarker(index: index, term: term)
        case 1, 3:
            var lists: [[UInt64]] = []
            for _ in 0..<4 {
                let count = try reader.count(each: 1)
                var list: [UInt64] = []
                list.reserveCapacity(count)
                for _ in 0..<count { list.append(try reader.varint()) }
                lists.append(list)
            }
            let confState = ConfState(voters: lists[0], learners: lists[1], votersOutgoing: lists[2], learnersNext: lists[3], autoLeave: kind == 3)
            return SnapshotMarker(index: index, term: term, confState: confState)
        default:
            throw reader.corrupt("unknown snapshot marker kind \(kind)")
        }
    }
}
