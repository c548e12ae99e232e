import Foundation
import RaftStorage
import RaftFiles
import Testing

@Suite("PosixFileSystem")
final class PosixFileSystemTests {
    let fs = PosixFileSystem()
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "raftstore-fs-\(UUID().uuidString)"
        try fs.createDirectory(directory, permissions: 0o700)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func path(_ name: String) -> String { fs.join(directory, name) }

    @Test("dataRanges covers every byte written, dirty or synced, in order and within the range")
    func dataRangesSkipOnlyZeros() throws {
        let file = try fs.open(path("sparse"), [.read, .write, .create], permissions: 0o600)
        defer { try? file.close() }
        let size: Int64 = 8 << 20
        try file.preallocate(to: size)
        let written: [(offset: Int64, count: Int)] = [(0, 100_000), (4 << 20, 4096), (size - 10, 10)]
        for (offset, count) in written {
            try [UInt8](repeating: 7, count: count).withRawBytes { (raw) throws(StorageError) in try file.write(raw, at: offset) }
        }
        try file.syncData()
        try [UInt8](repeating: 9, count: 512).withRawBytes { (raw) throws(StorageError) in try file.write(raw, at: 6 << 20) }
        let ranges = try file.dataRanges(in: 0..<size)
        for (offset, count) in written + [(6 << 20, 512)] {
            #expect(ranges.contains { $0.contains(offset) && $0.contains(offset + Int64(count) - 1) }, "\(offset) in \(ranges)")
        }
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound <= $1.lowerBound })
        #expect(ranges.allSatisfy { $0.lowerBound >= 0 && $0.upperBound <= size })
        // Skipping preallocated blocks never written is an optimisation some file systems
        // (ext4, XFS) allow and others do not; only correctness is required.
        print("[dataRanges] \(ranges.reduce(Int64(0)) { $0 + Int64($1.count) }) of \(size) bytes may hold data on this file system")
        #expect(try file.dataRanges(in: (size - 5)..<size) == [(size - 5)..<size])
    }

    @Test func positionalWritesAndReads() throws {
        let file = try fs.open(path("a"), [.read, .write, .create], permissions: 0o600)
        defer { try? file.close() }
        try Array("hello".utf8).withRawBytes { (raw) throws(StorageError) in try file.write(raw, at: 10) }
        #expect(try file.size() == 15)
        var buffer = [UInt8](repeating: 0xFF, count: 20)
        let count = try buffer.withMutableRawBytes { (raw) throws(StorageError) in try file.read(into: raw, at: 8) }
        #expect(count == 7)
        #expect(Array(buffer[..<7]) == [0, 0] + Array("hello".utf8))
        try file.truncate(to: 12)
        #expect(try file.size() == 12)
        try file.preallocate(to: 1 << 20)
        #expect(try file.size() == 1 << 20)
        try file.syncData()
        try file.sync()
    }

    @Test func newFilesAndDirectoriesArePrivate() throws {
        let file = try fs.open(path("private"), [.write, .create], permissions: 0o600)
        try file.close()
        let sub = path("sub")
        try fs.createDirectory(sub, permissions: 0o700)
        let fileMode = try FileManager.default.attributesOfItem(atPath: path("private"))[.posixPermissions] as? Int
        let dirMode = try FileManager.default.attributesOfItem(atPath: sub)[.posixPermissions] as? Int
        #expect(fileMode == 0o600)
        #expect(dirMode == 0o700)
    }

    @Test func errorsNameThePathAndCode() throws {
        let missing = #expect(throws: StorageError.self) { try fs.open(path("missing"), .read, permissions: 0) }
        #expect(missing?.code == .notFound)
        #expect(missing?.path == path("missing"))
        try fs.open(path("x"), [.write, .create], permissions: 0o600).close()
        let exists = #expect(throws: StorageError.self) { try fs.open(path("x"), [.write, .create, .exclusive], permissions: 0o600) }
        #expect(exists?.code == .alreadyExists)
        #expect(exists?.description.contains(path("x")) == true)
    }

    @Test func aSecondLockInTheSameProcessIsRefused() throws {
        let first = try fs.open(path("locked"), [.read, .write, .create], permissions: 0o600)
        try first.lock(wait: false)
        let second = try fs.open(path("locked"), .readWrite, permissions: 0o600)
        let error = #expect(throws: StorageError.self) { try second.lock(wait: false) }
        #expect(error?.code == .locked)
        try first.close()
        try second.lock(wait: false)
        try second.close()
    }

    @Test func directoryOperations() throws {
        try fs.writeFileAtomically(path("atomic"), Array("one".utf8))
        try fs.writeFileAtomically(path("atomic"), Array("two".utf8))
        #expect(try fs.readFile(path("atomic")) == Array("two".utf8))
        #expect(!fs.fileExists(path("atomic.tmp")))
        try fs.rename(path("atomic"), to: path("moved"))
        #expect(try fs.contentsOfDirectory(directory).sorted() == ["moved"])
        #expect(try fs.info(path("moved")) == FileInfo(size: 3, isDirectory: false))
        #expect(try fs.info(directory)?.isDirectory == true)
        #expect(try fs.info(path("nothing")) == nil)
        try fs.syncDirectory(directory)
        let tooBig = #expect(throws: StorageError.self) { try fs.readFile(path("moved"), maxSize: 2) }
        #expect(tooBig?.code == .invalidArgument)
        try fs.removeFile(path("moved"))
        #expect(try fs.contentsOfDirectory(directory).isEmpty)
        try fs.removeDirectory(directory)
        #expect(!fs.fileExists(directory))
    }

    @Test func closedFilesRefuseWork() throws {
        let file = try fs.open(path("closed"), [.write, .create], permissions: 0o600)
        try file.close()
        try file.close()
        let error = #expect(throws: StorageError.self) { try file.size() }
        #expect(error?.code == .closed)
    }

    @Test func pathHelpers() {
        #expect(fs.join("a", "b") == "a/b")
        #expect(fs.join("a/", "b") == "a/b")
        #expect(fs.parentDirectory(of: "/x/y/z") == "/x/y")
        #expect(fs.parentDirectory(of: "/z") == "/")
        #expect(fs.parentDirectory(of: "z") == ".")
    }
}
