import CLZ4
import RaftStorage
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads and verifies one LZ4 frame from a file, handing the content out in order, in a
/// pipeline: blocks go in pairs; a decompression lane decompresses pair *n* while the caller's
/// thread hashes and consumes pair *n - 1* and reads pair *n + 1* from the file. With four or
/// more cores, two lanes decompress the pair side by side (the frame's blocks are independent;
/// linked blocks take one lane, in order) and a third computes the content hash.
///
/// Every length is checked before use: a block larger than the header's maximum, a file that ends
/// early, a block that does not decompress, a content size or checksum that does not match, or
/// bytes after the frame are errors naming the file offset. Memory is eight buffers of the
/// frame's maximum block size (at most 4 MiB each, less for small files) whatever the header
/// claims.
final class LZ4FrameReader {
    /// The piece size content is handed out in (fits a core's L2 cache).
    private let cachePiece = 256 << 10
    private let file: any StorageFile
    /// The size of the file when the reader was made.
    let fileSize: Int64

    init(file: any StorageFile) throws(StorageError) {
        self.file = file
        self.fileSize = try file.size()
    }

    /// Hands the content to `sink` in order and returns once the frame, with its checksums, has
    /// been verified. Content handed out before an error is not to be trusted.
    func read(_ sink: (UnsafeRawBufferPointer) throws(StorageError) -> Void) throws(StorageError) {
        guard fileSize > 0 else { throw StorageError(.corrupt, "empty snapshot file", offset: 0) }
        var head = [UInt8](repeating: 0, count: Int(min(fileSize, Int64(LZ4FrameHeader.maxSize + 4))))
        try readExactly(into: &head, at: 0)
        let header = try head.withRawBytes { (raw) throws(StorageError) in try LZ4FrameHeader.parse(raw) }
        guard fileSize >= Int64(header.size + 4) else {
            throw StorageError(.unexpectedEnd, "file ends before the first LZ4 block", offset: fileSize)
        }
        let firstSize = head.withUnsafeBytes { $0.loadLittleEndianUInt32(at: header.size) }
        let buffers = Buffers(header: header, fileSize: fileSize, pipelined: fileSize > Int64(header.blockMaxSize / 4))
        defer { for lane in buffers.lanes + [buffers.hashLane].compactMap({ $0 }) { lane.shutDown() } }
        try run(header: header, firstBlock: firstSize, at: Int64(header.size + 4), buffers: buffers, sink: sink)
    }

    // MARK: - Pipeline

    /// The buffers, and what the lanes touch: the decompression of one block per slot.
    private final class Buffers: @unchecked Sendable {
        /// One or two decompression lanes, or none for small files (decompression then runs
        /// inline).
        let lanes: [BackgroundLane]
        /// Hashes the content (XXH32) in order beside the consumer, on four or more cores.
        let hashLane: BackgroundLane?
        /// The content hash so far: touched by the hash lane only (when there is one), read after
        /// it is waited for.
        var hash = XXH32()
        /// Four slots: two pairs, one being decompressed while the other is consumed.
        let inputs: [UnsafeMutableRawBufferPointer]
        let outputs: [UnsafeMutableRawBufferPointer]
        /// Each slot's result: decompressed size, or the failure. Raw memory, not an array: the
        /// two lanes write different slots at the same time.
        let results: UnsafeMutablePointer<Result<Int, StorageError>>
        /// The last 64 KiB of content, for linked blocks (only ever touched by the first lane).
        let window: UnsafeMutableRawBufferPointer?
        var windowCount = 0

        init(header: LZ4FrameHeader, fileSize: Int64, pipelined: Bool) {
            // On two cores, one decompression lane beside the caller (which hashes) keeps both
            // busy; more lanes would only take turns. With four or more, blocks decompress in
            // pairs and the hash gets a lane of its own.
            let wide = Self.processorCount >= 4
            lanes = pipelined ? (wide ? [BackgroundLane(), BackgroundLane()] : [BackgroundLane()]) : []
            hashLane = pipelined && wide ? BackgroundLane() : nil
            // A block, its checksum, and the next block's size; no block is larger than the file.
            let inputSize = Int(min(Int64(header.blockMaxSize), fileSize)) + 8
            // LZ4 expands at most 255-fold, so small files need small output buffers.
            let outputSize = Int(min(Int64(header.blockMaxSize), fileSize.multipliedReportingOverflow(by: 256).partialValue + 64))
            inputs = (0..<4).map { _ in .allocate(byteCount: inputSize, alignment: 64) }
            outputs = (0..<4).map { _ in .allocate(byteCount: outputSize, alignment: 64) }
            results = .allocate(capacity: 4)
            results.initialize(repeating: .success(0), count: 4)
            window = header.independentBlocks ? nil : .allocate(byteCount: LZ4FrameHeader.linkedWindow, alignment: 64)
        }

        static let processorCount = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))

        deinit {
            for buffer in inputs + outputs { buffer.deallocate() }
            results.deinitialize(count: 4)
            results.deallocate()
            window?.deallocate()
        }

        /// Decompresses (or, when stored, just records) the block in its slot; runs on a lane.
        func decode(_ block: Block) {
            let input = UnsafeRawBufferPointer(rebasing: inputs[block.slot][..<block.size])
            let content: UnsafeRawBufferPointer
            if block.stored {
                content = input
            } else {
                let output = outputs[block.slot]
                let count: Int32
                if let window {
                    count = LZ4_decompress_safe_usingDict(
                        input.cChars, output.mutableCChars, Int32(input.count), Int32(output.count),
                        UnsafeRawBufferPointer(window).cChars, Int32(windowCount))
                } else {
                    count = LZ4_decompress_safe(input.cChars, output.mutableCChars, Int32(input.count), Int32(output.count))
                }
                guard count >= 0 else {
                    results[block.slot] = .failure(StorageError(.corrupt, "LZ4 block does not decompress", offset: block.offset))
                    return
                }
                content = UnsafeRawBufferPointer(rebasing: output[..<Int(count)])
            }
            if let window { slide(window, adding: content) }
            results[block.slot] = .success(content.count)
        }

        /// Keeps the last 64 KiB of content in `window`.
        private func slide(_ window: UnsafeMutableRawBufferPointer, adding content: UnsafeRawBufferPointer) {
            if content.count >= window.count {
                window.baseAddress!.copyMemory(from: content.baseAddress! + content.count - window.count, byteCount: window.count)
                windowCount = window.count
                return
            }
            let kept = min(windowCount, window.count - content.count)
            if kept > 0 {
                window.baseAddress!.copyMemory(from: window.baseAddress! + windowCount - kept, byteCount: kept)
            }
            if !content.isEmpty {
                (window.baseAddress! + kept).copyMemory(from: content.baseAddress!, byteCount: content.count)
            }
            windowCount = kept + content.count
        }

        /// Starts decompressing `pair`: side by side for independent blocks, in order on the first
        /// lane for linked ones, inline without lanes.
        func start(_ pair: [Block]) {
            guard !lanes.isEmpty else {
                for block in pair { decode(block) }
                return
            }
            for (index, block) in pair.enumerated() {
                let job = Handoff(block)
                lanes[window == nil ? index % lanes.count : 0].submit { self.decode(job.value) }
            }
        }

        func waitForPair() {
            for lane in lanes { lane.wait() }
        }
    }

    /// A block read into an input buffer.
    private struct Block {
        var slot: Int
        var size: Int
        var stored: Bool
        /// The file offset of the block's data.
        var offset: Int64
        /// The size field of the block after it (0: the end mark).
        var next: UInt32
    }

    private func run(
        header: LZ4FrameHeader,
        firstBlock: UInt32,
        at firstOffset: Int64,
        buffers: Buffers,
        sink: (UnsafeRawBufferPointer) throws(StorageError) -> Void
    ) throws(StorageError) {
        var contentCount: UInt64 = 0
        var offset = firstOffset

        func deliver(_ block: Block) throws(StorageError) {
            let count = try buffers.results[block.slot].get()
            let content = block.stored
                ? UnsafeRawBufferPointer(rebasing: buffers.inputs[block.slot][..<count])
                : UnsafeRawBufferPointer(rebasing: buffers.outputs[block.slot][..<count])
            contentCount += UInt64(count)
            if let expected = header.contentSize, contentCount > expected {
                throw StorageError(.corrupt, "LZ4 frame content exceeds the \(expected) bytes its header gives", offset: block.offset)
            }
            // A hash lane hashes the block while the consumer (which checksums too) takes it;
            // without one, both go piece by piece so the second pass reads from cache.
            let hashHere = header.contentChecksum && buffers.hashLane == nil
            if header.contentChecksum, let hashLane = buffers.hashLane {
                let bytes = Handoff(content)
                hashLane.submit { buffers.hash.update(bytes.value) }
            }
            var start = 0
            while start < content.count {
                let piece = UnsafeRawBufferPointer(rebasing: content[start..<min(content.count, start + cachePiece)])
                if hashHere { buffers.hash.update(piece) }
                try sink(piece)
                start += piece.count
            }
        }

        var set = 0
        var current = try fetchPair(sizeField: firstBlock, at: &offset, set: set, header: header, buffers: buffers)
        var decoded: [Block] = []
        while !current.isEmpty {
            buffers.start(current)
            // While the lanes decompress: consume the previous pair, then read the next one into
            // the slots the previous pair no longer needs.
            for block in decoded { try deliver(block) }
            // The previous pair's buffers are refilled next: the hash must be done with them.
            buffers.hashLane?.wait()
            set ^= 1
            let next = try fetchPair(sizeField: current.last!.next, at: &offset, set: set, header: header, buffers: buffers)
            buffers.waitForPair()
            decoded = current
            current = next
        }
        for block in decoded { try deliver(block) }
        buffers.hashLane?.wait()

        if let expected = header.contentSize, contentCount != expected {
            throw StorageError(.corrupt, "LZ4 frame content is \(contentCount) bytes, its header gives \(expected)", offset: offset)
        }
        if header.contentChecksum {
            var stored = [UInt8](repeating: 0, count: 4)
            try readExactly(into: &stored, at: offset)
            let value = stored.withUnsafeBytes { $0.loadLittleEndianUInt32(at: 0) }
            guard value == buffers.hash.digest() else {
                throw StorageError(.crcMismatch, "LZ4 content checksum mismatch", offset: offset)
            }
            offset += 4
        }
        guard offset == fileSize else {
            throw StorageError(.corrupt, "\(fileSize - offset) bytes follow the LZ4 frame", offset: offset)
        }
    }

    /// Reads up to two blocks, starting with the one whose size field is `sizeField`, into the
    /// slots of `set`; none at the end mark.
    private func fetchPair(
        sizeField: UInt32,
        at offset: inout Int64,
        set: Int,
        header: LZ4FrameHeader,
        buffers: Buffers
    ) throws(StorageError) -> [Block] {
        guard let first = try fetch(sizeField: sizeField, at: &offset, slot: 2 * set, header: header, buffers: buffers) else { return [] }
        guard let second = try fetch(sizeField: first.next, at: &offset, slot: 2 * set + 1, header: header, buffers: buffers) else {
            return [first]
        }
        return [first, second]
    }

    /// Reads the block whose size field is `sizeField` (and the size field after it) into input
    /// buffer `slot`, verifying its block checksum; `nil` at the end mark.
    private func fetch(
        sizeField: UInt32,
        at offset: inout Int64,
        slot: Int,
        header: LZ4FrameHeader,
        buffers: Buffers
    ) throws(StorageError) -> Block? {
        guard sizeField != 0 else { return nil }
        let stored = sizeField & LZ4FrameHeader.uncompressedFlag != 0
        let size = Int(sizeField & ~LZ4FrameHeader.uncompressedFlag)
        guard size <= header.blockMaxSize else {
            throw StorageError(
                .corrupt, "LZ4 block of \(size) bytes exceeds the frame's \(header.blockMaxSize)-byte maximum",
                offset: offset - 4)
        }
        let checksumSize = header.blockChecksums ? 4 : 0
        guard size + checksumSize + 4 <= buffers.inputs[slot].count else {
            throw StorageError(.unexpectedEnd, "LZ4 block of \(size) bytes runs past the end of the file", offset: offset)
        }
        let input = UnsafeMutableRawBufferPointer(rebasing: buffers.inputs[slot][..<(size + checksumSize + 4)])
        try readExactly(into: input, at: offset)
        let data = UnsafeRawBufferPointer(rebasing: input[..<size])
        if header.blockChecksums {
            let expected = UnsafeRawBufferPointer(input).loadLittleEndianUInt32(at: size)
            guard XXH32.hash(data) == expected else {
                throw StorageError(.crcMismatch, "LZ4 block checksum mismatch", offset: offset)
            }
        }
        let next = UnsafeRawBufferPointer(input).loadLittleEndianUInt32(at: size + checksumSize)
        let block = Block(slot: slot, size: size, stored: stored, offset: offset, next: next)
        offset += Int64(input.count)
        return block
    }

    private func readExactly(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StorageError) {
        let count = try file.read(into: buffer, at: offset)
        guard count == buffer.count else {
            throw StorageError(.unexpectedEnd, "file ends inside the LZ4 frame", offset: offset + Int64(count))
        }
    }

    private func readExactly(into bytes: inout [UInt8], at offset: Int64) throws(StorageError) {
        try bytes.withMutableRawBytes { (raw) throws(StorageError) in try readExactly(into: raw, at: offset) }
    }
}
