import RaftStorage
import RaftFiles

/// Reads entries back from the WAL's segment files at the positions a ``LocatedEntries``
/// keeps: the one place a ``WALLogStore`` opens a segment to read it.
///
/// Each run of entries is read from its checkpoint's frame on, continuing the CRC chain from
/// the running CRC recorded there, so every record read is verified; each entry met must be
/// the next index the run holds, or the read reports the segment as corrupt.
struct SegmentReader<Codec: RecordCodec>: Sendable {
    let codec: Codec
    let fileSystem: any FileSystem
    /// The WAL's directory.
    let directory: String

    /// Adds the entries in `range`, which `positions` hold, to `page` in order until it is full.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/corrupt`` when a record does not read back as
    ///   written (a CRC mismatch, an entry out of place, a segment ending too soon).
    func read(_ range: Range<UInt64>, at positions: LocatedEntries, into page: inout EntryPage) throws(StorageError) {
        var next = range.lowerBound
        while next < range.upperBound {
            let run = positions.run(containing: next)
            let end = min(range.upperBound, run.end)
            guard try read(run, from: next, to: end, into: &page) else { return }
            next = end
        }
    }

    /// Reads the entries `next..<end` of `run` from its segment onto `page`; `false` once the
    /// page is full.
    private func read(_ run: LocatedEntries.Run, from next: UInt64, to end: UInt64, into page: inout EntryPage) throws(StorageError) -> Bool {
        let path = fileSystem.join(directory, run.placement.segment.fileName)
        var reader = RecordReader(
            codec: codec, fileSystem: fileSystem, path: path, offset: Int(run.placement.offset), crc: run.placement.crcBefore)
        // The placement may be the start of the write the run's first entry came in: the
        // entries met before it are that write's earlier ones, one after another.
        var expected = run.first
        var earlier: UInt64?
        do throws(StorageError) {
            while expected < end, let record = try reader.next() {
                guard case .entry(let entry) = record.body else { continue }
                if entry.index < run.first, earlier.map({ entry.index == $0 + 1 }) ?? true {
                    earlier = entry.index
                    continue
                }
                guard entry.index == expected else {
                    throw StorageError(
                        .corrupt, "expected entry \(expected) at this position of the log, found \(entry.index)", path: path,
                        offset: Int64(record.offset))
                }
                expected += 1
                guard entry.index >= next else { continue }
                guard page.add(entry) else { return false }
            }
        } catch {
            throw StorageError(.corrupt, "cannot read entry \(expected) back from the WAL: \(error.message)", path: error.path ?? path, offset: error.offset)
        }
        guard expected >= end else {
            throw StorageError(.corrupt, "the segment ended before entry \(expected)", path: path)
        }
        return true
    }
}
