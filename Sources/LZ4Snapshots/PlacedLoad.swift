import RaftStorage
import RaftFiles
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension LZ4SnapshotStore {
    /// Loads the whole snapshot data of `reader`'s frame straight into the result array: the
    /// blocks decompress into their place in it, so the data is neither copied nor zero-filled
    /// first (a copy through a growing array made a whole load run at a third of a streaming
    /// one). `nil` when the content does not start the usual way (the data's offset and size
    /// are read from its first bytes) or announces more data than ``reservedExpansion`` times
    /// the file size; the caller then loads by appending.
    ///
    /// Blocks are placed where they would be if every block before them were full; a block
    /// that comes out elsewhere is moved down into place (never over content still to come,
    /// since no block is larger than the maximum). Everything is decoded and verified as in a
    /// streaming load.
    static func loadPlaced(
        _ reader: LZ4FrameReader,
        decoder: inout any SnapshotStreamDecoder
    ) throws(StorageError) -> (data: [UInt8], snapshot: StreamedSnapshot)? {
        guard let (head, blockMaxSize) = reader.peek(256) else { return nil }
        // Where the data starts and how much there is, from a throwaway copy of the decoder.
        var probe = decoder
        var dataStart: Int?
        do throws(StorageError) {
            try head.withRawBytes { (raw) throws(StorageError) in
                try probe.decode(raw) { (bytes) throws(StorageError) in
                    if dataStart == nil { dataStart = bytes.baseAddress! - raw.baseAddress! }
                }
            }
        } catch {
            return nil
        }
        guard let dataStart, let dataCount = probe.announcedDataCount, dataCount > 0,
            dataCount <= reader.fileSize.clampedMultiple(reservedExpansion)
        else { return nil }
        // Room for the data and for the last block's content after it (the codec's suffix).
        let (capacity, overflow) = dataCount.addingReportingOverflow(blockMaxSize)
        guard !overflow else { return nil }

        var outcome: Result<StreamedSnapshot, StorageError> = .failure(StorageError(.corrupt, "not loaded"))
        let data = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initializedCount in
            let base = UnsafeMutableRawBufferPointer(buffer)
            HugePages.advise(base)
            var cursor = 0
            var contentOffset: Int64 = 0
            do throws(StorageError) {
                try reader.read(placing: { expectedOffset in
                    guard expectedOffset >= dataStart, expectedOffset - dataStart <= capacity - blockMaxSize else { return nil }
                    let start = expectedOffset - dataStart
                    let region = UnsafeMutableRawBufferPointer(rebasing: base[start..<(start + blockMaxSize)])
                    // The result is fresh memory: the first write to each page faults it in
                    // (zeroing it). Left to the decompression lane, that makes it the slower
                    // side of the pipeline; faulting it in here, on the caller's thread before
                    // the lane gets the block, measured faster than on the lane or half and half.
                    HugePages.touch(region)
                    return region
                }) { (content) throws(StorageError) in
                    try decode(content, with: &decoder, at: &contentOffset) { (bytes) throws(StorageError) in
                        guard bytes.count <= dataCount - cursor else {
                            throw StorageError(.corrupt, "snapshot data exceeds the \(dataCount) bytes announced")
                        }
                        let target = base.baseAddress! + cursor
                        if UnsafeRawPointer(target) != bytes.baseAddress, !bytes.isEmpty {
                            // Overlapping when a placed block moves down.
                            memmove(target, bytes.baseAddress!, bytes.count)
                        }
                        cursor += bytes.count
                    }
                }
                outcome = .success(try finish(&decoder, at: contentOffset))
                initializedCount = cursor
            } catch {
                outcome = .failure(error)
                initializedCount = 0
            }
        }
        switch outcome {
        case .success(let snapshot): return (data, snapshot)
        case .failure(let error): throw error
        }
    }
}
