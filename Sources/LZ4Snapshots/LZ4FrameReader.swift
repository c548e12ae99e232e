import CLZ4
import RaftStorage

/// Reads and verifies one LZ4 frame from a file, handing the content out in blocks, in a
/// pipeline: a ``BackgroundLane`` decompresses block *n* while the caller's thread reads block
/// *n + 1* from the file and checksums and consumes block *n - 1*.
///
/// Every length is checked before use: a block larger than the header's maximum, a file that ends
/// early, a block that does not decompress, a content size or checksum that does not match, or
/// bytes after the frame are errors naming the file offset. Memory is four buffers of the frame's
/// maximum block size (at most 4 MiB each) whatever the header claims.
final class LZ4FrameReader {
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
        let buffers = Buffers(header: header, fileSize: fileSize, useLane: fileSize > Int64(header.blockMaxSize / 4))
        defer { buffers.lane?.wait() }
        try run(header: header, firstBlock: firstSize, at: Int64(header.size + 4), buffers: buffers, sink: sink)
    }

    // MARK: - Pipeline

    /// The buffers, and what the lane touches: the decompression of one block at a time.
    private final class Buffers: @unchecked Sendable {
        let lane: BackgroundLane?
        let inputs: [UnsafeMutableRawBufferPointer]
        let outputs: [UnsafeMutableRawBufferPointer]
        /// The last 64 KiB of content, for linked blocks.
        let window: UnsafeMutableRawBufferPointer?
        var windowCount = 0
        /// The lane's result: decompressed size, or the failure.
        var result: Result<Int, StorageError> = .success(0)

        init(header: LZ4FrameHeader, fileSize: Int64, useLane: Bool) {
            lane = useLane ? BackgroundLane() : nil
            // A block, its checksum, and the next block's size; no block is larger than the file.
            let inputSize = Int(min(Int64(header.blockMaxSize), fileSize)) + 8
            inputs = [.allocate(byteCount: inputSize, alignment: 64), .allocate(byteCount: inputSize, alignment: 64)]
            // LZ4 expands at most 255-fold, so small files need small output buffers.
            let outputSize = Int(min(Int64(header.blockMaxSize), fileSize.multipliedReportingOverflow(by: 256).partialValue + 64))
            outputs = [.allocate(byteCount: outputSize, alignment: 64), .allocate(byteCount: outputSize, alignment: 64)]
            window = header.independentBlocks ? nil : .allocate(byteCount: LZ4FrameHeader.linkedWindow, alignment: 64)
        }

        deinit {
            for buffer in inputs + outputs { buffer.deallocate() }
            window?.deallocate()
        }

        /// Decompresses (or, when stored, just records) block `slot`; runs on the lane.
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
                    result = .failure(StorageError(.corrupt, "LZ4 block does not decompress", offset: block.offset))
                    return
                }
                content = UnsafeRawBufferPointer(rebasing: output[..<Int(count)])
            }
            if let window { slide(window, adding: content) }
            result = .success(content.count)
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
        var hash = XXH32()
        var contentCount: UInt64 = 0
        var offset = firstOffset
        var current = try fetch(sizeField: firstBlock, at: &offset, slot: 0, header: header, buffers: buffers)
        var decoded: (block: Block, count: Int)?

        func deliver(_ block: Block, _ count: Int) throws(StorageError) {
            let content = block.stored
                ? UnsafeRawBufferPointer(rebasing: buffers.inputs[block.slot][..<count])
                : UnsafeRawBufferPointer(rebasing: buffers.outputs[block.slot][..<count])
            contentCount += UInt64(count)
            if let expected = header.contentSize, contentCount > expected {
                throw StorageError(.corrupt, "LZ4 frame content exceeds the \(expected) bytes its header gives", offset: block.offset)
            }
            if header.contentChecksum { hash.update(content) }
            try sink(content)
        }

        while let block = current {
            let job = Handoff(block)
            if let lane = buffers.lane {
                lane.submit { buffers.decode(job.value) }
            } else {
                buffers.decode(block)
            }
            // While the lane decompresses: consume the previous block, then read the next one
            // into the input buffer the previous block no longer needs.
            if let (previous, count) = decoded { try deliver(previous, count) }
            current = try fetch(sizeField: block.next, at: &offset, slot: block.slot ^ 1, header: header, buffers: buffers)
            buffers.lane?.wait()
            decoded = (block, try buffers.result.get())
        }
        if let (previous, count) = decoded { try deliver(previous, count) }

        if let expected = header.contentSize, contentCount != expected {
            throw StorageError(.corrupt, "LZ4 frame content is \(contentCount) bytes, its header gives \(expected)", offset: offset)
        }
        if header.contentChecksum {
            var stored = [UInt8](repeating: 0, count: 4)
            try readExactly(into: &stored, at: offset)
            let value = stored.withUnsafeBytes { $0.loadLittleEndianUInt32(at: 0) }
            guard value == hash.digest() else {
                throw StorageError(.crcMismatch, "LZ4 content checksum mismatch", offset: offset)
            }
            offset += 4
        }
        guard offset == fileSize else {
            throw StorageError(.corrupt, "\(fileSize - offset) bytes follow the LZ4 frame", offset: offset)
        }
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
