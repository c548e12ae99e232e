import EtcdStorage
import Foundation
import LZ4Snapshots
import RaftStorage
import RaftFiles
import TestSupport
import Testing

/// Streaming saves and loads hold a few block buffers, whatever the snapshot's size: measured as
/// the peak resident memory (`VmHWM`) of a child process, reset before each phase, so other
/// tests running in parallel do not count. 256 MiB by default; 1 GiB with
/// `RAFTSTORE_LARGE_SNAPSHOT_TESTS=1`.
@Suite("Bounded memory")
struct BoundedMemoryTests {
    static let limit = 100 << 20

    #if os(Linux)
    @Test("streaming a large snapshot through the LZ4 store stays well under 100 MiB")
    func streamingStaysBounded() async throws {
        let result = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
            let size = ProcessInfo.processInfo.environment["RAFTSTORE_LARGE_SNAPSHOT_TESTS"] == "1" ? 1 << 30 : 256 << 20
            let report = try measureStreamingPeaks(size: size)
            print("snapshot=\(size) save-peak=\(report.save) load-peak=\(report.load) verified=\(report.verified)")
            if !report.verified || report.save >= BoundedMemoryTests.limit || report.load >= BoundedMemoryTests.limit { exit(1) }
        }
        let output = String(decoding: result?.standardOutputContent ?? [], as: UTF8.self)
        #expect(output.contains("verified=true"), "child output: \(output)")
        print("bounded memory: \(output)")
    }
    #endif
}

/// Peak resident memory above the starting point, in bytes, for a streamed save and a streamed
/// load of `size` bytes through 1 MiB caller buffers; and whether the loaded bytes matched.
func measureStreamingPeaks(size: Int) throws -> (save: Int, load: Int, verified: Bool) {
    let directory = TemporaryDirectory("memory")
    defer { directory.remove() }
    let store = try LZ4SnapshotStore(directory: directory.path, codec: ProtobufRecordCodec())
    let metadata = SnapshotMetadata(confState: ConfState(voters: [1, 2, 3]), index: 1_000_000, term: 7)
    var chunk = compressibleBytes(1 << 20)
    var expected: UInt32 = 0

    var base = resetPeakMemory()
    try store.save(metadata: metadata, dataCount: size) { writer throws(StorageError) in
        for number in 0..<(size >> 20) {
            withUnsafeBytes(of: UInt64(number)) { chunk.replaceSubrange(0..<8, with: $0) }
            expected = CRC32C.update(expected, chunk)
            try writer.write(chunk)
        }
    }
    let savePeak = peakMemory() - base

    base = resetPeakMemory()
    var loaded: UInt32 = 0
    var count = 0
    let loadedMetadata = try store.loadNewest(matching: nil) { event throws(StorageError) in
        if case .data(let bytes) = event {
            loaded = CRC32C.update(loaded, bytes)
            count += bytes.count
        }
    }
    let loadPeak = peakMemory() - base
    return (savePeak, loadPeak, loaded == expected && count == size && loadedMetadata == metadata)
}

/// Resets the process's peak resident memory to its current value (Linux `clear_refs` 5) and
/// returns that value.
func resetPeakMemory() -> Int {
    if let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
        handle.write(Data("5".utf8))
        try? handle.close()
    }
    return memoryStatus("VmRSS")
}

func peakMemory() -> Int { memoryStatus("VmHWM") }

/// A `kB` field of /proc/self/status, in bytes.
private func memoryStatus(_ field: String) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
        let digits = line.split(separator: " ").dropFirst().first { $0.allSatisfy(\.isNumber) }
        return (digits.flatMap { Int($0) } ?? 0) * 1024
    }
    return 0
}
