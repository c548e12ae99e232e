import Foundation
import TestSupport
import Testing

/// Peak memory of replaying a WAL far larger than a batch, measured in fresh child processes
/// (`WALBenchmark replay-child`, built next to the tests; its own `ru_maxrss`): the streamed
/// replay and the log store's open stay small, `WAL.read` (etcd's `ReadAll`) holds everything.
///
/// 200 MB by default; `RAFTSTORE_2GB_REPLAY=1` replays 2 GB and checks the 256 MiB bound of
/// Docs/Performance.md (also `make bench BENCH_2GB=1`).
@Suite("Bounded-memory replay")
struct BoundedReplayTests {
    static let executable = PackagePaths.builtExecutable("WALBenchmark")

    struct Report {
        var entries: Int
        var peakMiB: Double
    }

    static func run(_ arguments: [String]) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw ToolNotBuilt(description: "\(executable) is missing: build with `swift build --build-tests` (make test does)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        // Under `make sanitize` the child is built with AddressSanitizer too, whose quarantine
        // keeps up to 256 MiB of freed memory resident; without it the peak measures the
        // replay again (plus ASan's redzones and shadow). No effect on an unsanitized child.
        var environment = ProcessInfo.processInfo.environment
        environment["ASAN_OPTIONS"] = [environment["ASAN_OPTIONS"], "quarantine_size_mb=0"].compactMap { $0 }.joined(separator: ":")
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0 else { throw ToolNotBuilt(description: "WALBenchmark \(arguments) failed: \(text)") }
        return text
    }

    static func replay(_ path: String, mode: String, expected: Int) throws -> Report {
        let line = try run(["replay-child", "--path", path, "--mode", mode, "--expected", String(expected)])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        return Report(entries: try #require(object["entries"] as? Int), peakMiB: Double(try #require(object["peak_rss_bytes"] as? Int)) / 1_048_576)
    }

    /// The bounds are for plain builds; under `make sanitize` the child carries the sanitizer's
    /// shadow memory and allocator overhead too (the streamed replay measured 65 MiB under
    /// ThreadSanitizer), so they are doubled there. The ReadAll control keeps them meaningful.
    static let sanitizerAllowance: Double = {
        let runtimes: [String] = ["__asan_init", "__tsan_init"]
        return runtimes.contains { dlsym(nil, $0) != nil } ? 2 : 1
    }()

    @Test("a streamed replay and the log store's open hold a bounded amount; ReadAll holds the log")
    func boundedMemory() throws {
        let big = ProcessInfo.processInfo.environment["RAFTSTORE_2GB_REPLAY"] == "1"
        let megabytes = big ? 2000 : 200
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let count = try #require(Int(try Self.run(["write-wal", "--path", path, "--megabytes", String(megabytes), "--size", "1000"])))

        let stream = try Self.replay(path, mode: "stream", expected: count)
        #expect(stream.entries == count)
        #expect(stream.peakMiB < (big ? 256 : 64) * Self.sanitizerAllowance, "streamed replay peaked at \(stream.peakMiB) MiB")

        // The log store holds the tail segment's entries (up to one 64 MB segment) and
        // positions for the rest.
        let store = try Self.replay(path, mode: "logstore", expected: count)
        #expect(store.entries == count)
        #expect(store.peakMiB < (big ? 256 : 160) * Self.sanitizerAllowance, "the log store's open peaked at \(store.peakMiB) MiB")

        if !big {
            // The control: the same child measuring ReadAll sees the whole log.
            let read = try Self.replay(path, mode: "read", expected: count)
            #expect(read.peakMiB > Double(megabytes) * 0.9, "WAL.read peaked at only \(read.peakMiB) MiB")
        }
    }
}

struct ToolNotBuilt: Error, CustomStringConvertible {
    var description: String
}
