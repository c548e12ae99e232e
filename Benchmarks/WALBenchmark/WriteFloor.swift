import EtcdStorage
import Foundation
import RaftFiles
import RaftStorage
import RaftStorageTesting
import Synchronization

/// W1 against its floor (`make bench`, `WALBenchmark write-floor`): the write phase of W1
/// (1,000,000 x 100 B, batches of 1,000, no fsync) through the WAL, against a loop of plain
/// `pwrite(2)` calls writing the same bytes in the same pieces at the same offsets into files
/// preallocated the same way - everything the WAL writes, with none of its work in user space.
///
/// The pieces are recorded once from a WAL run (``RecordingFileSystem``); then the two sides
/// alternate, round by round, each into fresh files. The loop is plain Swift over the C
/// library's `pwrite`, the same system call a C loop makes.
enum WriteFloor {
    struct Round {
        var walSeconds: Double
        var floorSeconds: Double
        /// The WAL's speed as a fraction of the floor's.
        var ratio: Double { floorSeconds / walSeconds }
    }

    static func run(directory: String, rounds: Int, entries: Int = 1_000_000, size: Int = 100, batch: Int = 1000) throws -> [Round] {
        let recording = RecordingFileSystem()
        _ = try writeWAL(fileSystem: recording, directory: directory, entries: entries, size: size, batch: batch)
        let files = recording.files
        var results: [Round] = []
        for _ in 0..<rounds {
            let wal = try writeWAL(fileSystem: PosixFileSystem(), directory: directory, entries: entries, size: size, batch: batch)
            let floor = try pwriteLoop(files, directory: directory)
            results.append(Round(walSeconds: wal, floorSeconds: floor))
        }
        return results
    }

    /// The timed part of `raftstore bench`'s write phase in this process (W1 by default): the
    /// saves and the final sync, into a new WAL in a scratch directory; returns the seconds.
    static func writeWAL(fileSystem: any FileSystem, directory: String, entries: Int, size: Int, batch: Int, fsync: Bool = false) throws -> Double {
        let base = try Scratch.directory(in: directory)
        defer { Scratch.remove(base) }
        let wal = try WAL.create(
            at: base + "/wal", metadata: Array("raftstore-bench".utf8), codec: ProtobufRecordCodec(),
            options: WALOptions(fileSystem: fileSystem, unsafeNoSync: !fsync))
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        // One batch renumbered in place, as `raftstore bench` does.
        var batchEntries = [Entry](repeating: Entry(term: 1, index: 0, data: payload), count: batch)
        let start = ContinuousClock.now
        var next: UInt64 = 1
        while next <= UInt64(entries) {
            let count = Int(min(UInt64(batch), UInt64(entries) - next + 1))
            if count < batchEntries.count { batchEntries.removeLast(batchEntries.count - count) }
            for slot in 0..<count { batchEntries[slot].index = next + UInt64(slot) }
            next += UInt64(count)
            try wal.save(hardState: HardState(term: 1, vote: 1, commit: next - 1), entries: batchEntries)
        }
        try wal.sync()
        let seconds = (ContinuousClock.now - start).seconds
        try wal.close()
        return seconds
    }

    /// Writes `files` again with `pwrite` alone, each into a fresh file preallocated as the
    /// WAL preallocated it; returns the seconds the writes took.
    static func pwriteLoop(_ files: [RecordingFileSystem.FilePattern], directory: String) throws -> Double {
        let base = try Scratch.directory(in: directory)
        defer { Scratch.remove(base) }
        var seconds = 0.0
        for (number, file) in files.enumerated() where !file.writes.isEmpty {
            let descriptor = Glibc.open(base + "/floor-\(number)", O_CREAT | O_RDWR | O_TRUNC, 0o600)
            guard descriptor >= 0 else { throw BenchmarkError("open failed: errno \(errno)") }
            defer { Glibc.close(descriptor) }
            if file.preallocated > 0, posix_fallocate(descriptor, 0, off_t(file.preallocated)) != 0 {
                throw BenchmarkError("posix_fallocate failed")
            }
            let start = ContinuousClock.now
            try file.content.withUnsafeBytes { bytes in
                for write in file.writes {
                    let written = pwrite(descriptor, bytes.baseAddress! + write.offset, write.count, off_t(write.offset))
                    guard written == write.count else { throw BenchmarkError("pwrite wrote \(written) of \(write.count) bytes") }
                }
            }
            seconds += (ContinuousClock.now - start).seconds
        }
        return seconds
    }
}

/// The real file system, recording for every file opened its writes (offset and size, in
/// order), the bytes they leave, and its largest preallocation.
final class RecordingFileSystem: ForwardingFileSystem, Sendable {
    struct FilePattern: Sendable {
        var writes: [(offset: Int, count: Int)] = []
        var content: [UInt8] = []
        var preallocated: Int64 = 0
    }

    let base: any FileSystem = PosixFileSystem()
    private let patterns = Mutex<[FilePattern]>([])

    /// Every file opened, in order.
    var files: [FilePattern] { patterns.withLock { $0 } }

    func open(_ path: String, _ options: OpenOptions, permissions: UInt32) throws(StorageError) -> any StorageFile {
        let file = try base.open(path, options, permissions: permissions)
        let number = patterns.withLock { patterns in
            patterns.append(FilePattern())
            return patterns.count - 1
        }
        return RecordingFile(base: file, fileSystem: self, number: number)
    }

    fileprivate func recordWrite(_ bytes: UnsafeRawBufferPointer, at offset: Int64, file number: Int) {
        patterns.withLock { patterns in
            let end = Int(offset) + bytes.count
            if patterns[number].content.count < end { patterns[number].content.append(contentsOf: repeatElement(0, count: end - patterns[number].content.count)) }
            patterns[number].content.withUnsafeMutableBytes { content in
                content.baseAddress!.advanced(by: Int(offset)).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            }
            patterns[number].writes.append((Int(offset), bytes.count))
        }
    }

    fileprivate func recordPreallocation(_ size: Int64, file number: Int) {
        patterns.withLock { $0[number].preallocated = max($0[number].preallocated, size) }
    }
}

final class RecordingFile: ForwardingStorageFile {
    let base: any StorageFile
    private let fileSystem: RecordingFileSystem
    private let number: Int

    init(base: any StorageFile, fileSystem: RecordingFileSystem, number: Int) {
        self.base = base
        self.fileSystem = fileSystem
        self.number = number
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) {
        try base.write(bytes, at: offset)
        if bytes.count > 0 { fileSystem.recordWrite(bytes, at: offset, file: number) }
    }

    func preallocate(to size: Int64) throws(StorageError) {
        try base.preallocate(to: size)
        fileSystem.recordPreallocation(size, file: number)
    }
}
