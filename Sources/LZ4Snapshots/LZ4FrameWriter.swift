import CLZ4
import Dispatch
import RaftStorage
import RaftFiles
import Synchronization

/// Writes one LZ4 frame (independent 1 MiB blocks, content checksum) to a file, in a pipeline.
///
/// Blocks go in batches of two: the caller's thread compresses the first while a compression
/// lane compresses the second (the frame's blocks are independent, so they can); a checksum lane
/// hashes both in order meanwhile (XXH32 of the content, and the codec's checksum through
/// `onData`); an I/O lane then writes the compressed blocks in order, and a sync lane fdatasyncs
/// every few megabytes beside the writes, so the disk works while the rest compresses and the
/// final fsync finds little left to do.
///
/// Content arrives through ``write(_:isData:)`` in chunks of any size. Blocks of a chunk are
/// compressed straight from the caller's memory (before `write` returns); smaller pieces are
/// gathered in two staging blocks. Memory: two staging and four output blocks, about 6 MiB,
/// whatever the content size (less for content known to be small).
///
/// Not thread-safe; `write`, ``flushData()`` and ``finish()`` are called from one thread.
final class LZ4FrameWriter {
    /// What the checksum lane touches; the caller's thread uses it only after waiting for the lane.
    private final class Checksums: @unchecked Sendable {
        var hash = XXH32()
        var onData: ((UnsafeRawBufferPointer) -> Void)?
        init(onData: ((UnsafeRawBufferPointer) -> Void)?) { self.onData = onData }

        /// Both checksums per cache-sized piece, so the second one reads from cache.
        func update(_ block: UnsafeRawBufferPointer, dataStart: Int?) {
            var start = 0
            while start < block.count {
                let end = min(block.count, start + (256 << 10))
                hash.update(UnsafeRawBufferPointer(rebasing: block[start..<end]))
                if let dataStart, end > dataStart {
                    onData?(UnsafeRawBufferPointer(rebasing: block[max(start, dataStart)..<end]))
                }
                start = end
            }
        }
    }

    /// The file end of the pipeline: writes run one at a time, in order, on the I/O lane. Every
    /// few megabytes it asks the sync lane for an fdatasync, which runs beside the next writes
    /// instead of holding them up (a slow disk then delays only the final fsync).
    private final class Output: @unchecked Sendable {
        let file: any StorageFile
        private var offset: Int64 = 0
        private var unsyncedBytes = 0
        private let syncInterval: Int
        private let syncLane: BackgroundLane?
        /// Whether a background fdatasync is queued or running; another is not queued meanwhile.
        private let syncing = Atomic<Bool>(false)
        private let failure = Mutex<StorageError?>(nil)

        init(file: any StorageFile, syncInterval: Int, syncLane: BackgroundLane?) {
            self.file = file
            self.syncInterval = syncInterval
            self.syncLane = syncLane
        }

        func append(_ bytes: UnsafeRawBufferPointer) {
            guard failure.withLock({ $0 == nil }) else { return }
            do {
                try file.write(bytes, at: offset)
            } catch {
                fail(error)
                return
            }
            offset += Int64(bytes.count)
            unsyncedBytes += bytes.count
            guard let syncLane, unsyncedBytes >= syncInterval,
                syncing.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
            else { return }
            unsyncedBytes = 0
            syncLane.submit { [self] in
                do throws(StorageError) { try file.syncData() } catch { fail(error) }
                syncing.store(false, ordering: .releasing)
            }
        }

        private func fail(_ error: StorageError) {
            failure.withLock { $0 = $0 ?? error }
        }

        func check() throws(StorageError) {
            if let error = failure.withLock({ $0 }) { throw error }
        }
    }

    /// A block waiting to be compressed: in the caller's memory or in a staging buffer.
    private struct Pending {
        var bytes: UnsafeRawBufferPointer
        /// Where data (for `onData`) starts in the block, if it holds any.
        var dataStart: Int?
    }

    /// The compressed size of a block, handed back from the compression lane.
    private final class Compressed: @unchecked Sendable {
        var size = 0
    }

    /// 1 MiB, or less for content known to be smaller (blocks may be any size up to the
    /// header's maximum), so small snapshots do not allocate 6 MiB.
    private let blockSize: Int
    private let checksumLane: BackgroundLane?
    private let compressionLane: BackgroundLane?
    private let ioLane: BackgroundLane?
    private let syncLane: BackgroundLane?
    private let checksums: Checksums
    private let output: Output

    private let stagings: [UnsafeMutableRawBufferPointer]
    /// The staging buffer being filled.
    private var staging = 0
    private var stagingCount = 0
    /// Where the data not yet shown to `onData` starts in the staging buffer being filled.
    private var stagingDataStart: Int?
    /// At most two blocks, compressed together.
    private var batch: [Pending] = []

    private let outputs: [UnsafeMutableRawBufferPointer]
    /// Signalled when the I/O lane is done with the output buffer of the same position.
    private let outputFree: [DispatchSemaphore]
    private var nextOutput = 0
    /// liblz4 state: one for the caller's thread, one for the compression lane.
    private let compressionStates: [UnsafeMutableRawPointer]

    /// Starts a frame at the beginning of `file`.
    ///
    /// - Parameters:
    ///   - expectedContent: the content size if known; small contents use no extra threads.
    ///   - syncInterval: output bytes after which the sync lane fdatasyncs.
    init(
        file: any StorageFile,
        expectedContent: Int?,
        syncInterval: Int = 4 << 20,
        onData: ((UnsafeRawBufferPointer) -> Void)? = nil
    ) throws(StorageError) {
        let fullBlock = LZ4FrameHeader.defaultBlockSize
        let blockSize = min(fullBlock, (expectedContent ?? fullBlock) + (64 << 10))
        self.blockSize = blockSize
        let pipelined = (expectedContent ?? .max) > fullBlock
        self.checksumLane = pipelined ? BackgroundLane() : nil
        self.compressionLane = pipelined ? BackgroundLane() : nil
        self.ioLane = pipelined ? BackgroundLane() : nil
        self.syncLane = pipelined ? BackgroundLane() : nil
        self.checksums = Checksums(onData: onData)
        self.output = Output(file: file, syncInterval: syncInterval, syncLane: syncLane)
        self.stagings = (0..<2).map { _ in .allocate(byteCount: blockSize, alignment: 64) }
        let outputSize = 4 + Int(LZ4_compressBound(Int32(blockSize)))
        self.outputs = (0..<4).map { _ in .allocate(byteCount: outputSize, alignment: 64) }
        self.outputFree = (0..<4).map { _ in DispatchSemaphore(value: 1) }
        self.compressionStates = (0..<2).map { _ in .allocate(byteCount: Int(LZ4_sizeofState()), alignment: 64) }
        LZ4FrameHeader.written.withUnsafeBytes { output.append($0) }
        try output.check()
    }

    deinit {
        for lane in [checksumLane, compressionLane, ioLane, syncLane] { lane?.shutDown() }
        for buffer in stagings + outputs { buffer.deallocate() }
        for state in compressionStates { state.deallocate() }
    }

    /// Appends content. `isData` bytes are shown to `onData` as well. `bytes` is no longer
    /// read once this returns.
    func write(_ bytes: UnsafeRawBufferPointer, isData: Bool) throws(StorageError) {
        var rest = bytes
        var direct = false
        while !rest.isEmpty {
            if stagingCount == 0 && rest.count >= blockSize {
                let block = UnsafeRawBufferPointer(rebasing: rest[..<(rest.startIndex + blockSize)])
                direct = true
                try enqueue(Pending(bytes: block, dataStart: isData ? 0 : nil))
                rest = UnsafeRawBufferPointer(rebasing: rest[(rest.startIndex + blockSize)...])
                continue
            }
            let buffer = stagings[staging]
            let count = min(blockSize - stagingCount, rest.count)
            if isData && stagingDataStart == nil { stagingDataStart = stagingCount }
            (buffer.baseAddress! + stagingCount).copyMemory(from: rest.baseAddress!, byteCount: count)
            stagingCount += count
            rest = UnsafeRawBufferPointer(rebasing: rest[(rest.startIndex + count)...])
            if stagingCount == blockSize { try sealStaging() }
        }
        // Blocks still in the caller's memory are compressed before it goes away.
        if direct { try compressBatch() }
    }

    /// Shows every data byte written so far to `onData`, so that, for example, the codec's
    /// suffix (which holds the checksum of the data) can be computed.
    func flushData() throws(StorageError) {
        try compressBatch()
        checksumLane?.wait()
        if let start = stagingDataStart {
            checksums.onData?(UnsafeRawBufferPointer(rebasing: stagings[staging][start..<stagingCount]))
            stagingDataStart = nil
        }
        try output.check()
    }

    /// Writes the last blocks, the end mark and the content checksum. The caller syncs the file.
    func finish() throws(StorageError) {
        if stagingCount > 0 { try sealStaging() }
        try compressBatch()
        checksumLane?.wait()
        ioLane?.wait()
        syncLane?.wait()
        var trailer = [UInt8](repeating: 0, count: 8)
        trailer.withUnsafeMutableBytes { $0.storeLittleEndian(checksums.hash.digest(), at: 4) }
        trailer.withUnsafeBytes { output.append($0) }
        try output.check()
    }

    private func sealStaging() throws(StorageError) {
        let block = Pending(bytes: UnsafeRawBufferPointer(rebasing: stagings[staging][..<stagingCount]), dataStart: stagingDataStart)
        staging ^= 1
        stagingCount = 0
        stagingDataStart = nil
        try enqueue(block)
    }

    private func enqueue(_ block: Pending) throws(StorageError) {
        batch.append(block)
        if batch.count == 2 { try compressBatch() }
    }

    /// Compresses the batch (two blocks side by side when there are two) while the checksum lane
    /// hashes it, then queues the compressed blocks for the I/O lane. On return no lane reads
    /// the batch's input any more.
    private func compressBatch() throws(StorageError) {
        guard !batch.isEmpty else { return }
        let blocks = batch
        batch.removeAll(keepingCapacity: true)
        let checksums = self.checksums
        for block in blocks {
            let job = Handoff(block)
            let checksum: @Sendable () -> Void = { checksums.update(job.value.bytes, dataStart: job.value.dataStart) }
            if let checksumLane { checksumLane.submit(checksum) } else { checksum() }
        }

        var slots: [Int] = []
        for _ in blocks {
            slots.append(nextOutput)
            outputFree[nextOutput].wait()
            nextOutput = (nextOutput + 1) % outputs.count
        }
        var sizes = [Int](repeating: 0, count: blocks.count)
        if blocks.count == 2, let compressionLane {
            let second = Compressed()
            let job = Handoff((blocks[1].bytes, outputs[slots[1]], compressionStates[1]))
            compressionLane.submit { second.size = Self.compress(job.value.0, into: job.value.1, state: job.value.2) }
            sizes[0] = Self.compress(blocks[0].bytes, into: outputs[slots[0]], state: compressionStates[0])
            compressionLane.wait()
            sizes[1] = second.size
        } else {
            for (index, block) in blocks.enumerated() {
                sizes[index] = Self.compress(block.bytes, into: outputs[slots[index]], state: compressionStates[0])
            }
        }
        checksumLane?.wait()
        try output.check()

        let output = self.output
        for (slot, size) in zip(slots, sizes) {
            let free = outputFree[slot]
            let framed = Handoff(UnsafeRawBufferPointer(rebasing: outputs[slot][..<(4 + size)]))
            let append: @Sendable () -> Void = {
                output.append(framed.value)
                free.signal()
            }
            if let ioLane { ioLane.submit(append) } else { append() }
        }
    }

    /// Compresses `block` into `buffer` as a framed block (size field, then data; stored as is
    /// when compression does not shrink it) and returns the data's size.
    private static func compress(_ block: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawBufferPointer, state: UnsafeMutableRawPointer) -> Int {
        let compressed = LZ4_compress_fast_extState(
            state, block.cChars, (buffer.baseAddress! + 4).assumingMemoryBound(to: CChar.self),
            Int32(block.count), Int32(buffer.count - 4), 1)
        if compressed > 0 && Int(compressed) < block.count {
            buffer.storeLittleEndian(UInt32(compressed), at: 0)
            return Int(compressed)
        }
        (buffer.baseAddress! + 4).copyMemory(from: block.baseAddress!, byteCount: block.count)
        buffer.storeLittleEndian(UInt32(block.count) | LZ4FrameHeader.uncompressedFlag, at: 0)
        return block.count
    }
}
