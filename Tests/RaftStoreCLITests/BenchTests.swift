import Foundation
import TestSupport
import Testing

/// `raftstore bench`: the JSON shape of Benchmarks/etcd-go, same keys in the same order, then the
/// restart floors (`cat_s`, `reopen_s`); the same keys with `--groups`.
@Suite("bench")
struct BenchTests {
    @Test("--json prints the etcd-go shape with sane numbers")
    func json() throws {
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        let result = try RaftStoreTool.run(["bench", "--entries", "3000", "--size", "64", "--batch", "100", "--no-fsync", "--dir", scratch.path, "--json"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stderr.isEmpty, "no progress line when piped: \(result.stderr)")
        let keys = ["impl", "entries", "size", "batch", "fsync", "write_s", "read_s", "write_MBps", "read_MBps",
                    "write_entries_per_s", "read_entries_per_s", "read_peak_rss_bytes", "read_mode", "wal_bytes", "segments"]
        let text = result.stdout.trimmingCharacters(in: .newlines)
        #expect(!text.contains("\n"))
        // Key order as etcd-go prints it.
        let positions = keys.map { text.range(of: "\"\($0)\":")?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil })
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        // The etcd-go keys, then the restart floors only this side measures.
        let floors = ["cat_s", "reopen_s", "reopen_peak_rss_bytes"]
        #expect(Set(object.keys) == Set(keys + floors))
        #expect((object["cat_s"] as? Double ?? 0) > 0, "cat timed")
        #expect((object["reopen_s"] as? Double ?? 0) > 0, "the log store reopen timed")
        #expect((object["reopen_peak_rss_bytes"] as? Int ?? 0) > 1 << 20)
        #expect(object["impl"] as? String == "raftstore")
        #expect(object["entries"] as? Int == 3000)
        #expect(object["size"] as? Int == 64)
        #expect(object["fsync"] as? Bool == false)
        #expect(object["read_mode"] as? String == "openForRead")
        #expect((object["write_s"] as? Double ?? 0) > 0)
        #expect((object["read_s"] as? Double ?? 0) > 0)
        let writeMBps = try #require(object["write_MBps"] as? Double)
        let writeSeconds = try #require(object["write_s"] as? Double)
        #expect(abs(writeMBps - 3000 * 64 / 1e6 / writeSeconds) < 1e-6 * writeMBps)
        #expect((object["read_peak_rss_bytes"] as? Int ?? 0) > 1 << 20)
        #expect(object["segments"] as? Int == 1)
        #expect(object["wal_bytes"] as? Int == 64_000_000)
        // The temporary WAL is gone.
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).isEmpty)
    }

    /// `--groups`: the engine (one batch of every group per round) and one WAL per group
    /// (`--separate-wals`) print the keys of the single-WAL line, with their own values.
    @Test("--groups prints the same keys for the engine and for a WAL per group", arguments: [false, true])
    func groups(separateWALs: Bool) throws {
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        let result = try RaftStoreTool.run(
            ["bench", "--groups", "20", "--entries", "200", "--size", "100", "--dir", scratch.path, "--json"] + (separateWALs ? ["--separate-wals"] : []))
        #expect(result.status == 0, "\(result)")
        let text = result.stdout.trimmingCharacters(in: .newlines)
        #expect(!text.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let keys = ["impl", "entries", "size", "batch", "fsync", "write_s", "read_s", "write_MBps", "read_MBps", "write_entries_per_s",
                    "read_entries_per_s", "read_peak_rss_bytes", "read_mode", "wal_bytes", "segments", "cat_s", "reopen_s", "reopen_peak_rss_bytes"]
        #expect(Set(object.keys) == Set(keys))
        #expect(object["entries"] as? Int == 200)
        #expect(object["size"] as? Int == 100)
        #expect(object["fsync"] as? Bool == true)
        // Entries per durable write: every group's in one batch, or one per WAL.
        #expect(object["batch"] as? Int == (separateWALs ? 1 : 20))
        #expect(object["read_mode"] as? String == (separateWALs ? "separateWALs" : "engine"))
        // One log file for the engine; one preallocated segment per group's WAL.
        #expect(object["segments"] as? Int == (separateWALs ? 20 : 1))
        #expect((object["wal_bytes"] as? Int ?? 0) > (separateWALs ? 20 * 1_000_000 : 200 * 100))
        for key in ["write_s", "read_s", "cat_s", "reopen_s"] { #expect((object[key] as? Double ?? 0) > 0, "\(key)") }
        let writeSeconds = try #require(object["write_s"] as? Double)
        #expect(abs((object["write_entries_per_s"] as? Double ?? 0) - 200 / writeSeconds) < 1e-6 * 200 / writeSeconds)
        #expect((object["read_peak_rss_bytes"] as? Int ?? 0) > 1 << 20)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).isEmpty)
    }

    @Test("--separate-wals needs --groups")
    func separateWALsNeedsGroups() throws {
        let result = try RaftStoreTool.run(["bench", "--entries", "10", "--separate-wals"])
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains("--separate-wals needs --groups"), "\(result)")
    }

    @Test("text output and the write-mode replay")
    func text() throws {
        let result = try RaftStoreTool.run(["bench", "--entries", "500", "--batch", "50", "--read-mode", "open"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("raftstore: 500 entries x 100 B, batches of 50, fsync true"))
        #expect(result.stdout.contains("(open)"))
    }
}
