import CLZ4
import RaftStorage
import RaftFiles
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads and verifies one LZ4 frame from a file, handing the content out in order, in a
/// pipeline: a decompression lane works through the next few blocks while the caller's thread
/// hashes and consumes block *n* and then reads the block after those into the freed slot. With
/// four or more cores, two lanes decompress alternate blocks side by side (the frame's blocks
/// are independent; linked blocks take one lane, in order) and a third computes the content
/// hash.
///
/// Every length is checked before use: a block larger than the header's maximum, a file that ends
/// early, a block that does not decompress, a content size or checksum that does not match, or
/// bytes after the frame are errors naming the file offset. Memory is eight buffers of the
/// frame's maximum block size (1 MiB as this store writes frames, at most 4 MiB; less for small
/// files) whatever the header claims.
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
    ///
    /// - Parameter placing: where to decompress the block expected at a content offset (the
    ///   block's index times the maximum block size; never below its real offset, since no block
    ///   is larger), instead of the reader's own buffers; `nil` for those. Called on the caller's
    ///   thread before the block is decompressed; the region must stay valid and untouched by the
    ///   caller (except for content already handed out) until `read` returns. A whole load uses
    ///   it to decompress straight into its result.
    func read(
        placing: ((Int) -> UnsafeMutableRawBufferPointer?)? = nil,
        _ sink: (UnsafeRawBufferPointer) throws(StorageError) -> Void
    ) throws(StorageError) {
        let (header, firstSize) = try readHeader()
        let buffers = Buffers(header: header, fileSize: fileSize, pipelined: fileSize > Int64(header.blockMaxSize / 4))
        defer { for lane in buffers.lanes + [buffers.hashLane].compactMap({ $0 }) { lane.shutDown() } }
        try run(header: header, firstBlock: firstSize, at: Int64(header.size + 4), buffers: buffers, placing: placing, sink: sink)
    }

    /// The frame header and the size field of the first block.
    private func readHeader() throws(StorageError) -> (LZ4FrameHeader, UInt32) {
        guard fileSize > 0 else { throw StorageError(.corrupt, "empty snapshot file", offset: 0) }
        var head = [UInt8](repeating: 0, count: Int(min(fileSize, Int64(LZ4FrameHeader.maxSize + 4))))
        try readExactly(into: &head, at: 0)
        let header = try head.withRawBytes { (raw) throws(StorageError) in try LZ4FrameHeader.parse(raw) }
        guard fileSize >= Int64(header.size + 4) else {
            throw StorageError(.unexpectedEnd, "file ends before the first LZ4 block", offset: fileSize)
        }
        return (header, head.withUnsafeBytes { $0.loadLittleEndianUInt32(at: header.size) })
    }

    /// Up to the first `count` bytes of content (from the first block only; unverified) and the
    /// frame's maximum block size, or `nil` if they cannot be had; ``read(placing:_:)`` reports
    /// the reason. Lets a whole load size and place its result before reading.
    func peek(_ count: Int) -> (content: [UInt8], blockMaxSize: Int)? {
        guard let (header, sizeField) = try? readHeader(), sizeField != 0 else { return nil }
        let size = Int(sizeField & ~LZ4FrameHeader.uncompressedFlag)
        guard size <= header.blockMaxSize, Int64(header.size + 4 + size) <= fileSize else { return nil }
        var input = [UInt8](repeating: 0, count: size)
        guard (try? readExactly(into: &input, at: Int64(header.size + 4))) != nil else { return nil }
        if sizeField & LZ4FrameHeader.uncompressedFlag != 0 {
            return (Array(input.prefix(count)), header.blockMaxSize)
        }
        var output = [UInt8](repeating: 0, count: count)
        // Stops after `count` bytes; the source size is the block's exact size, as it must be.
        let decoded = input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { target in
                LZ4_decompress_safe_partial(source.cChars, target.mutableCChars, Int32(size), Int32(count), Int32(count))
            }
        }
        guard decoded >= 0 else { return nil }
        return (Array(output.prefix(Int(decoded))), header.blockMaxSize)
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
        /// How many blocks are read ahead and decompressed ahead of the consumer.
        static let slotCount = 4
        /// Per slot: the index of the block in it, or its complement once a thread has claimed
        /// it for decompression.
        let claims = (0..<LZ4FrameReader.Buffers.slotCount).map { _ in Claim() }
        final class Claim: Sendable {
            let value = Atomic<Int>(-1)
        }
        /// The memory of the slots.
        private let arena: UnsafeMutableRawBufferPointer
        /// The slots: the compressed block, and its content once decompressed.
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
            // busy; more lanes would only take turns. With four or more, alternate blocks
            // decompress side by side and the hash gets a lane of its own.
            let wide = Self.processorCount >= 4
            lanes = pipelined ? (wide ? [BackgroundLane(), BackgroundLane()] : [BackgroundLane()]) : []
            hashLane = pipelined && wide ? BackgroundLane() : nil
            // A block, its checksum, and the next block's size; no block is larger than the file.
            let inputSize = Int(min(Int64(header.blockMaxSize), fileSize)) + 8
            // LZ4 expands at most 255-fold, so small files need small output buffers.
            // (Compared before multiplying: a sparse file's size can make the product overflow.)
            let blockMax = Int64(header.blockMaxSize)
            let outputSize = Int(fileSize >= blockMax / 256 ? blockMax : min(blockMax, fileSize * 256 + 64))
            // One allocation for all slots, on as few 2 MiB pages as possible: the buffers are
            // fresh memory each load, and its page faults cost as much as a tenth of the load.
            let inputStride = (inputSize + 63) & ~63
            let outputStride = (outputSize + 63) & ~63
            arena = HugePages.allocate(byteCount: Self.slotCount * (inputStride + outputStride))
            let arena = arena
            inputs = (0..<Self.slotCount).map { slot in
                UnsafeMutableRawBufferPointer(rebasing: arena[(slot * inputStride)..<(slot * inputStride + inputSize)])
            }
            let outputsStart = Self.slotCount * inputStride
            outputs = (0..<Self.slotCount).map { slot in
                let start = outputsStart + slot * outputStride
                return UnsafeMutableRawBufferPointer(rebasing: arena[start..<(start + outputSize)])
            }
            results = .allocate(capacity: Self.slotCount)
            results.initialize(repeating: .success(0), count: Self.slotCount)
            window = header.independentBlocks ? nil : .allocate(byteCount: LZ4FrameHeader.linkedWindow, alignment: 64)
        }

        static let processorCount = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))

        deinit {
            arena.deallocate()
            results.deinitialize(count: Self.slotCount)
            results.deallocate()
            window?.deallocate()
        }

        /// Takes `block` for decompression: true for the first thread to ask (the lane, or the
        /// caller's thread stealing it), false for the other.
        func claim(_ block: Block) -> Bool {
            claims[block.slot].value.compareExchange(expected: block.index, desired: ~block.index, ordering: .acquiringAndReleasing).exchanged
        }

        /// Decompresses (or, when stored, just records) the block in its slot, unless the other
        /// thread has claimed it.
        func decode(_ block: Block) {
            guard claim(block) else { return }
            decodeClaimed(block)
        }

        private func decodeClaimed(_ block: Block) {
            let input = UnsafeRawBufferPointer(rebasing: inputs[block.slot][..<block.size])
            let content: UnsafeRawBufferPointer
            if block.stored {
                content = input
            } else {
                let output = block.output ?? outputs[block.slot]
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

        /// Starts decompressing `block`: on a lane (the next in turn for independent blocks, the
        /// first for linked ones), inline without lanes. Returns what ``wait(for:)`` takes.
        func start(_ block: Block) -> (lane: Int, ticket: Int) {
            claims[block.slot].value.store(block.index, ordering: .releasing)
            guard !lanes.isEmpty else {
                decode(block)
                return (0, 0)
            }
            let lane = window == nil ? block.index % lanes.count : 0
            let job = Handoff(block)
            return (lane, lanes[lane].submit { self.decode(job.value) })
        }

        func wait(for job: (lane: Int, ticket: Int)) {
            if !lanes.isEmpty { lanes[job.lane].wait(for: job.ticket) }
        }

        func hasFinished(_ job: (lane: Int, ticket: Int)) -> Bool {
            lanes.isEmpty || lanes[job.lane].hasFinished(job.ticket)
        }

        /// Decompresses `block` on the caller's thread if no lane has started it: when the
        /// caller would otherwise wait for a lane, it takes the block furthest ahead. On two
        /// cores decompression is the longer side of the pipeline (15 ms per 64 MiB against
        /// 12 ms of reading and checksums), so this keeps the caller's thread busy too. Linked
        /// blocks must go in order and are never stolen.
        func steal(_ block: Block) -> Bool {
            guard window == nil, !lanes.isEmpty, claim(block) else { return false }
            decodeClaimed(block)
            return true
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
        /// Its position in the frame.
        var index = 0
        /// Where it decompresses to, if not its slot's output buffer.
        var output: UnsafeMutableRawBufferPointer?
        /// The content offset `output` was chosen for.
        var placedAt: Int?
    }

    private func run(
        header: LZ4FrameHeader,
        firstBlock: UInt32,
        at firstOffset: Int64,
        buffers: Buffers,
        placing: ((Int) -> UnsafeMutableRawBufferPointer?)?,
        sink: (UnsafeRawBufferPointer) throws(StorageError) -> Void
    ) throws(StorageError) {
        var contentCount: UInt64 = 0
        var offset = firstOffset

        func deliver(_ block: Block) throws(StorageError) {
            let count = try buffers.results[block.slot].get()
            let content = block.stored
                ? UnsafeRawBufferPointer(rebasing: buffers.inputs[block.slot][..<count])
                : UnsafeRawBufferPointer(rebasing: (block.output ?? buffers.outputs[block.slot])[..<count])
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
                // A placed block that came out elsewhere is moved into place by the sink:
                // the hash must have read it first.
                if let placedAt = block.placedAt, UInt64(placedAt) != contentCount - UInt64(count) { hashLane.wait() }
            }
            var start = 0
            while start < content.count {
                let piece = UnsafeRawBufferPointer(rebasing: content[start..<min(content.count, start + cachePiece)])
                if hashHere { buffers.hash.update(piece) }
                try sink(piece)
                start += piece.count
            }
        }

        // A ring of slots: the lanes decompress up to `slotCount` blocks ahead while the caller's
        // thread consumes the oldest, then refills its slot with the next block from the file.
        // Going block by block (not pair by pair) keeps the pipeline's fill and drain (the
        // first block's decompression, the last one's consumption) to one block each.
        var sizeField = firstBlock
        var inFlight: [(block: Block, job: (lane: Int, ticket: Int))] = []
        var index = 0
        func fetchNext(slot: Int) throws(StorageError) {
            guard var block = try fetch(sizeField: sizeField, at: &offset, slot: slot, header: header, buffers: buffers) else { return }
            sizeField = block.next
            block.index = index
            let (expected, overflow) = index.multipliedReportingOverflow(by: header.blockMaxSize)
            if !block.stored, !overflow, let placing, let output = placing(expected) {
                block.output = output
                block.placedAt = expected
            } else if index < Buffers.slotCount, !buffers.lanes.isEmpty {
                // The slots are fresh memory: fault the output buffer in here, while the caller
                // would only wait for the first block, rather than on the lane.
                HugePages.touch(buffers.outputs[slot])
            }
            inFlight.append((block, buffers.start(block)))
            index += 1
        }
        for slot in 0..<Buffers.slotCount { try fetchNext(slot: slot) }
        while !inFlight.isEmpty {
            let (block, job) = inFlight.removeFirst()
            // Rather than wait for the lane, decompress blocks it has not started, furthest
            // ahead first, this one last.
            for candidate in inFlight.reversed() + [(block, job)] where !buffers.hasFinished(job) {
                _ = buffers.steal(candidate.block)
            }
            buffers.wait(for: job)
            try deliver(block)
            // The block's slot is refilled next: the hash must be done with it.
            buffers.hashLane?.wait()
            try fetchNext(slot: block.slot)
        }

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
