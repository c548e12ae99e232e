import CLZ4
import Dispatch
import RaftStorage
import Synchronization

/// Writes one LZ4 frame (independent 4 MB blocks, content checksum) to a file, in a pipeline of
/// three threads: the caller's thread compresses block *n*; a checksum lane hashes block *n*
/// (XXH32, and the codec's checksum through `onData`) at the same time; an I/O lane writes the
/// compressed blocks in order and fdatasyncs every few megabytes, so the disk works while the
/// rest compresses and the final fsync finds little left to do.
///
/// Content arrives through ``write(_:isData:)`` in chunks of any size. Chunks of at least a
/// block are compressed straight from the caller's memory; smaller ones are gathered in a staging
/// block. Bytes marked as data are also shown, in order and on the checksum lane, to `onData`.
/// Memory: one staging block and two output blocks, about 12 MiB, whatever the content size.
///
/// Not thread-safe; `write` and ``finish()`` are called from one thread.
final class LZ4FrameWriter {
    /// What the checksum lane touches; the caller's thread uses it only after waiting for the lane.
    private final class Checksums: @unchecked Sendable {
        var hash = XXH32()
        var onData: ((UnsafeRawBufferPointer) -> Void)?
        init(onData: ((UnsafeRawBufferPointer) -> Void)?) { self.onData = onData }
    }

    /// The file end of the pipeline: writes run one at a time, in order, on the I/O lane.
    private final class Output: @unchecked Sendable {
        let file: any StorageFile
        private var offset: Int64 = 0
        private var unsyncedBytes = 0
        private let syncInterval: Int
        let failure = Mutex<StorageError?>(nil)

        init(file: any StorageFile, syncInterval: Int) {
            self.file = file
            self.syncInterval = syncInterval
        }

        func append(_ bytes: UnsafeRawBufferPointer) {
            guard failure.withLock({ $0 == nil }) else { return }
            do {
                try file.write(bytes, at: offset)
                offset += Int64(bytes.count)
                unsyncedBytes += bytes.count
                if unsyncedBytes >= syncInterval {
                    try file.syncData()
                    unsyncedBytes = 0
                }
            } catch {
                failure.withLock { $0 = $0 ?? error }
            }
        }

        func check() throws(StorageError) {
            if let error = failure.withLock({ $0 }) { throw error }
        }
    }

    /// 4 MiB, or less for content known to be smaller (blocks may be any size up to the
    /// header's maximum), so small snapshots do not allocate 12 MiB.
    private let blockSize: Int
    private let checksumLane: BackgroundLane?
    private let ioLane: BackgroundLane?
    private let checksums: Checksums
    private let output: Output
    private let staging: UnsafeMutableRawBufferPointer
    private var stagingCount = 0
    /// Where the data not yet shown to `onData` starts in the staging block.
    private var stagingDataStart: Int?
    private let outputs: [UnsafeMutableRawBufferPointer]
    /// Signalled when the I/O lane is done with the output buffer of the same position.
    private let outputFree: [DispatchSemaphore]
    private var currentOutput = 0
    private let compressionState: UnsafeMutableRawPointer

    /// Starts a frame at the beginning of `file`.
    ///
    /// - Parameters:
    ///   - expectedContent: the content size if known; small contents skip the extra threads.
    ///   - syncInterval: output bytes after which the I/O lane fdatasyncs.
    init(
        file: any StorageFile,
        expectedContent: Int?,
        syncInterval: Int = 4 << 20,
        onData: ((UnsafeRawBufferPointer) -> Void)? = nil
    ) throws(StorageError) {
        let fullBlock = LZ4FrameHeader.defaultBlockSize
        self.blockSize = min(fullBlock, (expectedContent ?? fullBlock) + (64 << 10))
        let pipelined = (expectedContent ?? .max) > fullBlock
        self.checksumLane = pipelined ? BackgroundLane() : nil
        self.ioLane = pipelined ? BackgroundLane() : nil
        self.checksums = Checksums(onData: onData)
        self.output = Output(file: file, syncInterval: syncInterval)
        self.staging = .allocate(byteCount: blockSize, alignment: 64)
        let outputSize = 4 + Int(LZ4_compressBound(Int32(blockSize)))
        self.outputs = [.allocate(byteCount: outputSize, alignment: 64), .allocate(byteCount: outputSize, alignment: 64)]
        self.outputFree = [DispatchSemaphore(value: 1), DispatchSemaphore(value: 1)]
        self.compressionState = .allocate(byteCount: Int(LZ4_sizeofState()), alignment: 64)
        LZ4FrameHeader.written.withUnsafeBytes { output.append($0) }
        try output.check()
    }

    deinit {
        checksumLane?.wait()
        ioLane?.wait()
        staging.deallocate()
        for buffer in outputs { buffer.deallocate() }
        compressionState.deallocate()
    }

    /// Appends content. `isData` bytes are shown to `onData` as well.
    func write(_ bytes: UnsafeRawBufferPointer, isData: Bool) throws(StorageError) {
        var rest = bytes
        while !rest.isEmpty {
            if stagingCount == 0 && rest.count >= blockSize {
                let block = UnsafeRawBufferPointer(rebasing: rest[..<(rest.startIndex + blockSize)])
                try process(block, dataStart: isData ? 0 : nil)
                rest = UnsafeRawBufferPointer(rebasing: rest[(rest.startIndex + blockSize)...])
                continue
            }
            let count = min(blockSize - stagingCount, rest.count)
            if isData && stagingDataStart == nil { stagingDataStart = stagingCount }
            (staging.baseAddress! + stagingCount).copyMemory(from: rest.baseAddress!, byteCount: count)
            stagingCount += count
            rest = UnsafeRawBufferPointer(rebasing: rest[(rest.startIndex + count)...])
            if stagingCount == blockSize { try flushStaging() }
        }
    }

    /// Shows every data byte written so far to `onData`, so that, for example, the codec's
    /// suffix (which holds the checksum of the data) can be computed.
    func flushData() throws(StorageError) {
        checksumLane?.wait()
        if let start = stagingDataStart {
            checksums.onData?(UnsafeRawBufferPointer(rebasing: staging[start..<stagingCount]))
            stagingDataStart = nil
        }
        try output.check()
    }

    /// Writes the last block, the end mark and the content checksum. The caller syncs the file.
    func finish() throws(StorageError) {
        try flushStaging()
        checksumLane?.wait()
        ioLane?.wait()
        var trailer = [UInt8](repeating: 0, count: 8)
        trailer.withUnsafeMutableBytes { $0.storeLittleEndian(checksums.hash.digest(), at: 4) }
        trailer.withUnsafeBytes { output.append($0) }
        try output.check()
    }

    private func flushStaging() throws(StorageError) {
        guard stagingCount > 0 else { return }
        let start = stagingDataStart
        stagingDataStart = nil
        try process(UnsafeRawBufferPointer(rebasing: staging[..<stagingCount]), dataStart: start)
        stagingCount = 0
    }

    /// Checksums `block` on the checksum lane while compressing it here, then queues the
    /// compressed block for the I/O lane. `block` is no longer read by any lane on return.
    private func process(_ block: UnsafeRawBufferPointer, dataStart: Int?) throws(StorageError) {
        let checksums = self.checksums
        let input = Handoff(block)
        let checksum: @Sendable () -> Void = {
            if let dataStart {
                checksums.onData?(UnsafeRawBufferPointer(rebasing: input.value[dataStart...]))
            }
            checksums.hash.update(input.value)
        }
        if let checksumLane { checksumLane.submit(checksum) } else { checksum() }

        let slot = currentOutput
        currentOutput ^= 1
        outputFree[slot].wait()
        let buffer = outputs[slot]
        let compressed = LZ4_compress_fast_extState(
            compressionState, block.cChars, (buffer.baseAddress! + 4).assumingMemoryBound(to: CChar.self),
            Int32(block.count), Int32(buffer.count - 4), 1)
        let size: Int
        if compressed > 0 && Int(compressed) < block.count {
            size = Int(compressed)
            buffer.storeLittleEndian(UInt32(size), at: 0)
        } else {
            size = block.count
            (buffer.baseAddress! + 4).copyMemory(from: block.baseAddress!, byteCount: size)
            buffer.storeLittleEndian(UInt32(size) | LZ4FrameHeader.uncompressedFlag, at: 0)
        }
        checksumLane?.wait()
        try output.check()

        let output = self.output
        let free = outputFree[slot]
        let framed = Handoff(UnsafeRawBufferPointer(rebasing: buffer[..<(4 + size)]))
        let append: @Sendable () -> Void = {
            output.append(framed.value)
            free.signal()
        }
        if let ioLane { ioLane.submit(append) } else { append() }
    }
}
