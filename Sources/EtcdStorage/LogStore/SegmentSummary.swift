import Dispatch
import RaftStorage
import RaftFiles
import Synchronization

/// One segment read on its own, reduced to what opening a ``WALLogStore`` needs from it: the
/// entries as runs of consecutive indexes with their terms and positions (no data), the
/// snapshot markers between them in the order they were recorded, the last HardState, the
/// metadata and both ends of the CRC chain.
///
/// Segments are read this way each once and side by side (each starts with a crc record
/// carrying the chain on, so each can be verified on its own), and ``SummaryReplay`` then
/// applies the replay's rules to the runs instead of to each record. Anything a summary does
/// not cover - a record error, a torn tail, an index at the ends of the range, conflicting
/// metadata - is left in ``unusual``, and the open reads the WAL record by record instead, so
/// every error is reported exactly as that reader reports it.
struct SegmentSummary: Sendable {
    enum Event: Sendable {
        /// Entries with consecutive indexes, met in this order (other records may lie between).
        case entries(Run)
        case marker(SnapshotMarker)
    }

    /// Entries with consecutive indexes: their terms and positions, and, when the segment was
    /// read with entry data, the entries themselves.
    struct Run: Sendable {
        var located: LocatedEntries
        /// The entries, data included, when read with data.
        var held: HeldEntries?

        var first: UInt64 { located.first }
        var last: UInt64 { located.last }
    }

    let name: SegmentName
    private(set) var events: [Event] = []
    /// The last HardState recorded in the segment.
    private(set) var hardState: HardState?
    /// The metadata record's payload as stored (codec tag included); `nil` without one.
    private(set) var metadata: [UInt8]??
    /// The value of the crc record the segment opens with: the running CRC of the segment
    /// before it.
    private(set) var openingCRC: UInt32?
    /// The running CRC after the segment's last record.
    private(set) var finalCRC: UInt32 = 0
    /// Where the records end, for the WAL's last segment.
    private(set) var endOffset: Int?
    /// The highest index an entry or marker in the segment names.
    private(set) var highestIndex: UInt64 = 0
    /// Why the segment cannot be summarised (see above); `nil` when it was.
    private(set) var unusual: StorageError?

    private var run: Run?
    /// The entries of ``run`` while it is read with data: a stored array of its own, not a
    /// field of the optional run, so that appending costs no unwrapping.
    private var runEntries: [Entry] = []
    private var records = 0
    /// Whether entries are kept with their data (in ``Run/held``).
    private let keepsData: Bool
    /// The bytes whose entries the first run's array is reserved for.
    private var reservationBytes = 0
    /// Whether an array was reserved (for the first run with 1,024 entries).
    private var reserved = false

    private init(name: SegmentName, keepsData: Bool) {
        self.name = name
        self.keepsData = keepsData
    }

    /// Reads the segment `name` at `path`; `isLast` when it is the WAL's last segment (whose
    /// end the tail rule checks); with `keepsData`, the entries are kept whole, in an array
    /// reserved for the entries `reservationBytes` of segments probably hold.
    @_specialize(where Codec == ProtobufRecordCodec)
    static func read<Codec: RecordCodec>(
        _ name: SegmentName, at path: String, isLast: Bool, keepsData: Bool, reservationBytes: Int, codec: Codec,
        fileSystem: any FileSystem
    ) -> SegmentSummary {
        var summary = SegmentSummary(name: name, keepsData: keepsData)
        summary.reservationBytes = reservationBytes
        var reader = RecordReader(codec: codec, fileSystem: fileSystem, paths: [path])
        reader.entryBodies = keepsData ? .shared : .metadata
        reader.endsTheLog = isLast
        let formatName = codec.formatName
        do throws(StorageError) {
            while let record = try reader.next() {
                let placement = EntryPlacement(segment: name, offset: Int64(record.offset), crcBefore: record.crcBefore)
                summary.records += 1
                switch (consume record).body {
                case .entry(let entry):
                    try summary.addEntry(index: entry.index, term: entry.term, at: placement)
                    if keepsData { summary.keep(consume entry) }
                case .entryIndexAndTerm(let index, let term):
                    guard !keepsData else { throw StorageError(.corrupt, "an entry read without its data") }
                    try summary.addEntry(index: index, term: term, at: placement)
                case .other(.snapshot(let marker)):
                    guard marker.index < .max else { throw StorageError(.corrupt, "a snapshot marker at the largest index") }
                    summary.closeRun()
                    summary.events.append(.marker(marker))
                    summary.highestIndex = max(summary.highestIndex, marker.index)
                case .other(.hardState(let state)):
                    summary.hardState = state
                case .other(.metadata(let stored)):
                    if let first = summary.metadata {
                        guard first == stored else { throw StorageError(.metadataConflict, "conflicting metadata") }
                    } else {
                        _ = try CodecTag.unwrap(stored, formatName: formatName)
                        summary.metadata = .some(stored)
                    }
                case .other(.crc(let value)):
                    if summary.records == 1 { summary.openingCRC = value }
                case .other(.entry):
                    throw StorageError(.corrupt, "an entry the reader did not hand on as one")
                }
            }
            summary.closeRun()
            summary.finalCRC = reader.crc
            summary.endOffset = reader.endOfLastFile
        } catch {
            summary.unusual = error
        }
        return summary
    }

    /// Reads every segment of `names` in `directory` (the last is the WAL's last), on as many
    /// threads as the machine has cores.
    ///
    /// With `keepsData`, the first segment's array is reserved for the entries of all of them:
    /// a replay then keeps that array and appends the others' entries to it, instead of
    /// copying every entry into a new one.
    static func readAll<Codec: RecordCodec>(
        _ names: [SegmentName], in directory: String, keepsData: Bool = false, codec: Codec, fileSystem: any FileSystem
    ) -> [SegmentSummary] {
        let paths = names.map { fileSystem.join(directory, $0.fileName) }
        // Only an array of entries is reserved: without data, no file sizes are needed.
        let sizes = keepsData ? paths.map { size(of: $0, fileSystem: fileSystem) } : paths.map { _ in 0 }
        // Saturating: sparse files' sizes can sum past what `Int` holds.
        let allBytes = sizes.reduce(0) { total, size in
            let (sum, overflow) = total.addingReportingOverflow(size)
            return overflow ? .max : sum
        }
        let results = Mutex([SegmentSummary?](repeating: nil, count: names.count))
        DispatchQueue.concurrentPerform(iterations: names.count) { position in
            let summary = read(
                names[position], at: paths[position], isLast: position == names.count - 1,
                keepsData: keepsData, reservationBytes: position == 0 ? allBytes : sizes[position], codec: codec, fileSystem: fileSystem)
            results.withLock { $0[position] = summary }
        }
        return results.withLock { $0.map { $0! } }
    }

    private mutating func addEntry(index: UInt64, term: UInt64, at placement: EntryPlacement) throws(StorageError) {
        // Index 0 and the largest index are the record reader's to report (or ignore).
        guard index > 0, index < .max else { throw StorageError(.corrupt, "an entry at index \(index)") }
        highestIndex = max(highestIndex, index)
        if let last = run?.last, index == last + 1 {
            // A run kept with its entries is never read back from the files: no checkpoints.
            if keepsData {
                run!.located.appendWithoutCheckpoint(index: index, term: term, at: placement)
            } else {
                run!.located.append(index: index, term: term, at: placement)
            }
            return
        }
        closeRun()
        var started = LocatedEntries(after: index - 1)
        started.append(index: index, term: term, at: placement)
        run = Run(located: started)
    }

    /// Keeps `entry` (just added) with its data. The first run that reaches 1,024 entries has
    /// its array reserved for the entries ``reservationBytes`` probably hold, from how many the
    /// segment's bytes so far held (at most ``CollectingSink/largestReservation``): one
    /// allocation instead of doubling, each doubling faulting in fresh pages.
    private mutating func keep(_ entry: consuming Entry) {
        if runEntries.count == 1024 && !reserved, let offset = run?.located.lastOffset, offset > 0 {
            reserved = true
            let estimate = min(Double(reservationBytes) / Double(offset) * 1024 * 1.05, Double(CollectingSink.largestReservation))
            runEntries.reserveCapacity(Int(estimate))
            HugePages.advise(capacityOf: &runEntries)
        }
        runEntries.append(entry)
    }

    private static func size(of path: String, fileSystem: any FileSystem) -> Int {
        (try? fileSystem.info(path)).flatMap { $0 }.map { Int($0.size) } ?? 0
    }

    private mutating func closeRun() {
        guard var run else { return }
        self.run = nil
        if keepsData { run.held = HeldEntries(taking: &runEntries) }
        events.append(.entries(run))
    }
}

/// A run's entries, in a box: a replay takes the array out whole (``take()``) instead of
/// copying it, which would copy every entry (and retain the buffer its data lies in).
///
/// Filled by the one thread that reads the segment, handed over with the summary (through
/// ``SegmentSummary/readAll(_:in:keepsData:codec:fileSystem:)``'s lock), then taken by the
/// one thread that replays.
final class HeldEntries: @unchecked Sendable {
    private(set) var entries: [Entry] = []

    /// Holds `entries`, leaving none there.
    init(taking entries: inout [Entry]) {
        swap(&self.entries, &entries)
    }

    /// The entries, leaving none.
    func take() -> [Entry] {
        var taken: [Entry] = []
        swap(&taken, &entries)
        return taken
    }
}
