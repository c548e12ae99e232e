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
        /// The entries, data included; empty when read without data.
        var entries: [Entry] = []

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
    private var records = 0
    /// Whether entries are kept with their data (in ``Run/entries``).
    private let keepsData: Bool
    /// The segment's size, to reserve room for its entries.
    private var fileSize = 0

    private init(name: SegmentName, keepsData: Bool) {
        self.name = name
        self.keepsData = keepsData
    }

    /// Reads the segment `name` at `path`; `isLast` when it is the WAL's last segment (whose
    /// end the tail rule checks); with `keepsData`, the entries are kept whole.
    @_specialize(where Codec == ProtobufRecordCodec)
    static func read<Codec: RecordCodec>(
        _ name: SegmentName, at path: String, isLast: Bool, keepsData: Bool, codec: Codec, fileSystem: any FileSystem
    ) -> SegmentSummary {
        var summary = SegmentSummary(name: name, keepsData: keepsData)
        summary.fileSize = (try? fileSystem.info(path)).flatMap { $0 }.map { Int($0.size) } ?? 0
        var reader = RecordReader(codec: codec, fileSystem: fileSystem, paths: [path])
        reader.entryBodies = keepsData ? .full : .metadata
        reader.endsTheLog = isLast
        let formatName = codec.formatName
        do throws(StorageError) {
            while let record = try reader.next() {
                let placement = EntryPlacement(segment: name, offset: Int64(record.offset), crcBefore: record.crcBefore)
                summary.records += 1
                switch (consume record).body {
                case .entry(let entry):
                    try summary.addEntry(index: entry.index, term: entry.term, at: placement)
                    if keepsData { summary.keep(entry) }
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
    static func readAll<Codec: RecordCodec>(
        _ names: [SegmentName], in directory: String, keepsData: Bool = false, codec: Codec, fileSystem: any FileSystem
    ) -> [SegmentSummary] {
        let results = Mutex([SegmentSummary?](repeating: nil, count: names.count))
        DispatchQueue.concurrentPerform(iterations: names.count) { position in
            let summary = read(
                names[position], at: fileSystem.join(directory, names[position].fileName), isLast: position == names.count - 1,
                keepsData: keepsData, codec: codec, fileSystem: fileSystem)
            results.withLock { $0[position] = summary }
        }
        return results.withLock { $0.map { $0! } }
    }

    private mutating func addEntry(index: UInt64, term: UInt64, at placement: EntryPlacement) throws(StorageError) {
        // Index 0 and the largest index are the record reader's to report (or ignore).
        guard index > 0, index < .max else { throw StorageError(.corrupt, "an entry at index \(index)") }
        highestIndex = max(highestIndex, index)
        if let last = run?.last, index == last + 1 {
            run!.located.append(index: index, term: term, at: placement)
            return
        }
        closeRun()
        var started = LocatedEntries(after: index - 1)
        started.append(index: index, term: term, at: placement)
        run = Run(located: started)
    }

    /// Keeps `entry` (just added) with its data. The first run's array is reserved for the
    /// entries the whole segment probably holds, from how many its first bytes held (at most
    /// ``CollectingSink/largestReservation``): one allocation instead of doubling, each
    /// doubling faulting in fresh pages.
    private mutating func keep(_ entry: consuming Entry) {
        if run!.entries.count == 1024 && events.isEmpty, let offset = run!.located.lastOffset, offset > 0 {
            let estimate = min(Double(fileSize) / Double(offset) * 1024 * 1.05, Double(CollectingSink.largestReservation))
            run!.entries.reserveCapacity(Int(estimate))
        }
        run!.entries.append(entry)
    }

    private mutating func closeRun() {
        if let run { events.append(.entries(run)) }
        run = nil
    }
}
