import CLZ4
import RaftStorage

/// Writes one LZ4 frame (independent 4 MB blocks, content checksum) to a file, in a pipeline:
/// the caller's thread compresses block *n* while a ``BackgroundLane`` checksums block *n* and
/// writes block *n - 1*.
///
/// Content arrives through ``write(_:isData:)`` in chunks of any size. Chunks of at least a
/// block are compressed straight from the caller's memory; smaller ones are gathered in a staging
/// block. Bytes marked as data are also shown, in order and on the lane, to `onData` (the codec's
/// streaming encoder, which checksums them). Memory: one staging block and two output blocks,
/// about 12 MiB, whatever the content size.
///
/// Not thread-safe; `write` and ``finish()`` are called from one thread.
final class LZ4FrameWriter {
    /// What the lane touches; the caller's thread reads or changes it only after `lane.wait()`.
    private final class LaneState: @unchecked Sendable {
        let file: any StorageFile
        var offset: Int64 = 0
        var hash = XXH32()
        var onData: ((UnsafeRawBufferPointer) -> Void)?
        var error: StorageError?
        var unsyncedBytes = 0
        let syncInterval: Int

        init(file: any StorageFile, onData: ((UnsafeRawBufferPointer) -> Void)?, syncInterval: Int) {
            self.file = file
            self.onData = onData
            self.syncInterval = syncInterval
        }

        func append(_ bytes: UnsafeRawBufferPointer) {
            guard error == nil else { return }
            do {
                try file.write(bytes, at: offset)
                offset += Int64(bytes.count)
                unsyncedBytes += bytes.count
                // Starting the disk writes early keeps the final fsync short.
                if unsyncedBytes >= syncInterval {
                    try file.syncData()
                    unsyncedBytes = 0
                }
            } catch {
                self.error = error
            }
        }
    }

    private let blockSize = LZ4FrameHeader.defaultBlockSize
    private let lane: BackgroundLane?
    private let state: LaneState
    private let staging: UnsafeMutableRawBufferPointer
    private var stagingCount = 0
    /// Where the data not yet shown to `onData` starts in the staging block.
    private var stagingDataStart: Int?
    private let outputs: [UnsafeMutableRawBufferPointer]
    private var currentOutput = 0
    private let compressionState: UnsafeMutableRawPointer

    /// Starts a frame at the beginning of `file`.
    ///
    /// - Parameters:
    ///   - expectedContent: the content size if known; small contents skip the second thread.
    ///   - syncInterval: output bytes after which the lane fdatasyncs, so the disk works while
    ///     the rest compresses.
    init(
        file: any StorageFile,
        expectedContent: Int?,
        syncInterval: Int = 16 << 20,
        onData: ((UnsafeRawBufferPointer) -> Void)? = nil
    ) throws(StorageError) {
        self.state = LaneState(file: file, onData: onData, syncInterval: syncInterval)
        self.lane = (expectedContent ?? .max) > blockSize ? BackgroundLane() : nil
        self.staging = .allocate(byteCount: blockSize, alignment: 64)
        let outputSize = 4 + Int(LZ4_compressBound(Int32(blockSize)))
        self.outputs = [.allocate(byteCount: outputSize, alignment: 64), .allocate(byteCount: outputSize, alignment: 64)]
        self.compressionState = .allocate(byteCount: Int(LZ4_sizeofState()), alignment: 64)
        LZ4FrameHeader.written.withUnsafeBytes { state.append($0) }
        if let error = state.error { throw error }
    }

    deinit {
        lane?.wait()
        staging.deallocate()
        for output in outputs { output.deallocate() }
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
        try waitForLane()
        if let start = stagingDataStart {
            state.onData?(UnsafeRawBufferPointer(rebasing: staging[start..<stagingCount]))
            stagingDataStart = nil
        }
    }

    /// Writes the last block, the end mark and the content checksum. The caller syncs the file.
    func finish() throws(StorageError) {
        try flushStaging()
        try waitForLane()
        var trailer = [UInt8](repeating: 0, count: 8)
        trailer.withUnsafeMutableBytes { $0.storeLittleEndian(state.hash.digest(), at: 4) }
        trailer.withUnsafeBytes { state.append($0) }
        if let error = state.error { throw error }
    }

    private func flushStaging() throws(StorageError) {
        guard stagingCount > 0 else { return }
        let start = stagingDataStart
        stagingDataStart = nil
        try process(UnsafeRawBufferPointer(rebasing: staging[..<stagingCount]), dataStart: start)
        stagingCount = 0
    }

    private func waitForLane() throws(StorageError) {
        lane?.wait()
        if let error = state.error { throw error }
    }

    /// Checksums `block` on the lane while compressing it here, then queues the compressed block
    /// for writing. `block` stays untouched by the lane once this returns.
    private func process(_ block: UnsafeRawBufferPointer, dataStart: Int?) throws(StorageError) {
        let state = self.state
        let input = Handoff(block)
        let checksum: @Sendable () -> Void = {
            if let dataStart {
                state.onData?(UnsafeRawBufferPointer(rebasing: input.value[dataStart...]))
            }
            state.hash.update(input.value)
        }
        if let lane { lane.submit(checksum) } else { checksum() }

        let output = outputs[currentOutput]
        currentOutput ^= 1
        let compressed = LZ4_compress_fast_extState(
            compressionState, block.cChars, (output.baseAddress! + 4).assumingMemoryBound(to: CChar.self),
            Int32(block.count), Int32(output.count - 4), 1)
        let size: Int
        if compressed > 0 && Int(compressed) < block.count {
            size = Int(compressed)
            output.storeLittleEndian(UInt32(size), at: 0)
        } else {
            size = block.count
            (output.baseAddress! + 4).copyMemory(from: block.baseAddress!, byteCount: size)
            output.storeLittleEndian(UInt32(size) | LZ4FrameHeader.uncompressedFlag, at: 0)
        }
        try waitForLane()

        let framed = Handoff(UnsafeRawBufferPointer(rebasing: output[..<(4 + size)]))
        let append: @Sendable () -> Void = { state.append(framed.value) }
        if let lane { lane.submit(append) } else { append() }
    }
}
