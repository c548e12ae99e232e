import EtcdStorage
import Foundation
import RaftStorage
import RaftFiles
@testable import RaftStoreCLI
import TestSupport
import Testing

/// `raftstore wal import`: a dump imported and dumped again is the same dump, for every WAL
/// etcd's Go code wrote; bad dumps are refused with one line.
@Suite("wal import")
struct WALImportTests {
    @Test("import then dump round-trips", arguments: Fixtures.goFixtureNames)
    func roundTrip(name: String) throws {
        // Qualified: the tool's own TemporaryDirectory is visible here through @testable.
        let scratch = TestSupport.TemporaryDirectory("cli")
        defer { scratch.remove() }
        let expectations = try GoExpectations.load(name)
        var roundTrips = 0
        for (number, expected) in expectations.replays.enumerated() where expected.modes.contains("openForRead") && expected.error == nil {
            var markerArguments: [String] = []
            if expected.snapshot.index != 0 || expected.snapshot.term != 0 {
                markerArguments = ["--snap-index", String(expected.snapshot.index), "--snap-term", String(expected.snapshot.term)]
            }
            let original = try RaftStoreTool.run(["wal", "dump", "--json", Fixtures.goWAL(name)] + markerArguments)
            let dumpFile = try scratch.write(original.stdout, to: "dump-\(number).json")
            let copy = scratch.file("wal-\(number)")
            let imported = try RaftStoreTool.run(["wal", "import", copy, dumpFile, "--segment-size", "8192"])
            #expect(imported.status == 0, "\(name): \(imported)")
            let again = try RaftStoreTool.run(["wal", "dump", "--json", copy] + markerArguments)
            #expect(again.status == 0, "\(name): \(again)")
            if original.status == 0 {
                #expect(again.stdout == original.stdout, "\(name) from \(expected.snapshot)")
            } else {
                // A torn tail: the copy holds the complete records, and reads cleanly.
                var cleaned = try DumpJSON.decode(original.stdout)
                cleaned.error = nil
                #expect(try DumpJSON.decode(again.stdout) == cleaned)
            }
            // The copy is a sound WAL a restart can open, when the dump's marker is committed
            // (a restart opens only at markers the commit index covers).
            if expected.snapshot.index <= expected.hardState.commit {
                let verified = try RaftStoreTool.run(["wal", "verify", copy])
                #expect(verified.status == 0, "\(name): \(verified)")
            }
            roundTrips += 1
        }
        #expect(roundTrips > 0 || expectations.replays.allSatisfy { $0.error != nil || !$0.modes.contains("openForRead") })
    }

    @Test("a replay from expected.json imports as is (extra keys are ignored)")
    func importsFixtureReplay() throws {
        let scratch = TestSupport.TemporaryDirectory("cli")
        defer { scratch.remove() }
        let url = URL(fileURLWithPath: Fixtures.goWritten + "/overwrite/expected.json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let replays = try #require(object["replays"] as? [[String: Any]])
        let replay = try #require(replays.first { ($0["snapshot"] as? [String: Any])?["index"] as? Int == 8 })
        let file = scratch.file("replay.json")
        try JSONSerialization.data(withJSONObject: replay).write(to: URL(fileURLWithPath: file))
        let imported = try RaftStoreTool.run(["wal", "import", scratch.file("wal"), file])
        #expect(imported.status == 0, "\(imported)")
        let dump = try RaftStoreTool.run(["wal", "dump", "--json", scratch.file("wal"), "--snap-index", "8", "--snap-term", "2"])
        #expect(dump.status == 0, "\(dump)")
        let expected = try #require(try GoExpectations.load("overwrite").replays.first { $0.snapshot.index == 8 })
        let decoded = try DumpJSON.decode(dump.stdout)
        #expect(decoded.entries == expected.entries)
        #expect(decoded.hardState == expected.hardState)
        #expect(decoded.metadata == expected.metadata)
    }

    @Test("standard input, and the parser keeps nil and empty data apart")
    func standardInput() throws {
        let scratch = TestSupport.TemporaryDirectory("cli")
        defer { scratch.remove() }
        let text = """
            {"metadata": "", "hardState": {"term": 2, "vote": 1, "commit": 3}, "entries": [
            {"index": 1, "term": 1, "type": "normal", "data": null},
            {"index": 2, "term": 1, "type": "confChange", "data": ""},
            {"index": 3, "term": 2, "type": 7, "data": "AAEC"}
            ], "error": null}

            """
        let dump = try WALDump.parse(json: Array(text.utf8))
        #expect(dump.metadata == [])
        #expect(dump.entries.map(\.data) == [nil, [], [0, 1, 2]])
        #expect(dump.entries[2].type == EntryType(rawValue: 7))
        #expect(dump.json == text)
        let imported = try RaftStoreTool.run(["wal", "import", scratch.file("wal"), "-"], input: Data(text.utf8))
        #expect(imported.status == 0, "\(imported)")
        let again = try RaftStoreTool.run(["wal", "dump", "--json", scratch.file("wal")])
        #expect(again.stdout == text)
    }

    /// Dumps that must be refused, with a fragment the one-line error must contain.
    static let badDumps: [(String, String)] = [
        ("", "unexpected end of input"),
        ("{", "invalid JSON at byte 1"),
        ("[]", "not a WAL dump"),
        ("null", "not a WAL dump"),
        ("\"text\"", "not a WAL dump"),
        (String(repeating: "[", count: 100_000), "nested more than"),
        ("{\"entries\": [{\"index\": -1, \"term\": 1, \"type\": \"normal\"}]}", "entries[0].index"),
        ("{\"entries\": [{\"index\": 1.5, \"term\": 1, \"type\": \"normal\"}]}", "entries[0].index"),
        ("{\"entries\": [{\"index\": 1e30, \"term\": 1, \"type\": \"normal\"}]}", "entries[0].index"),
        ("{\"entries\": [{\"index\": 18446744073709551616, \"term\": 1, \"type\": \"normal\"}]}", "entries[0].index"),
        ("{\"entries\": [{\"index\": 1, \"term\": 1, \"type\": \"normal\", \"data\": \"AAE\"}]}", "entries[0].data"),
        ("{\"entries\": [{\"index\": 1, \"term\": 1, \"type\": \"normal\", \"data\": \"A=AA\"}]}", "entries[0].data"),
        ("{\"entries\": [{\"index\": 1, \"term\": 1, \"type\": \"weird\"}]}", "unknown entry type"),
        ("{\"entries\": [{\"index\": 1, \"term\": 1, \"type\": 4294967296}]}", "entries[0].type"),
        ("{\"entries\": [{\"term\": 1, \"type\": \"normal\"}]}", "entries[0].index: expected"),
        ("{\"entries\": [{\"index\": 2, \"term\": 1, \"type\": \"normal\"}]}", "expected 1"),
        ("{\"entries\": [{\"index\": 1, \"term\": 2, \"type\": \"normal\"}, {\"index\": 2, \"term\": 1, \"type\": \"normal\"}]}", "below the term"),
        ("{\"snapshot\": {\"index\": 0, \"term\": 3}}", "index 0"),
        ("{\"snapshot\": {\"index\": 5, \"term\": 1}, \"entries\": [{\"index\": 5, \"term\": 1, \"type\": \"normal\"}]}", "expected 6"),
        ("{\"metadata\": 12}", "metadata"),
        ("{\"hardState\": {\"term\": 1}}", "hardState.vote"),
    ]

    @Test("bad dumps give one line and exit code 1, and create nothing", arguments: badDumps.indices)
    func badDump(number: Int) throws {
        let (text, fragment) = Self.badDumps[number]
        let scratch = TestSupport.TemporaryDirectory("cli")
        defer { scratch.remove() }
        let file = try scratch.write(text, to: "bad.json")
        let result = try RaftStoreTool.run(["wal", "import", scratch.file("wal"), file])
        expectFailure(result, status: 1, mentioning: [fragment, "bad.json"])
        #expect(!FileManager.default.fileExists(atPath: scratch.file("wal")))
    }

    @Test("the parser survives random bytes and random mutations of a valid dump; what it accepts imports and dumps back")
    func parserFuzz() throws {
        let scratch = TestSupport.TemporaryDirectory("cli")
        defer { scratch.remove() }
        var generator = SeededGenerator(seed: 0x5EED)
        // The dump `wal dump --json` prints for a fixture from its marker at (8, 2): a snapshot
        // key, metadata, HardState and entries with data, so mutations reach every field.
        let source = try WAL<ProtobufRecordCodec>.read(
            at: Fixtures.goWAL("overwrite"), from: SnapshotMarker(index: 8, term: 2), codec: ProtobufRecordCodec())
        try #require(source.error == nil && !source.entries.isEmpty, "\(String(describing: source.error))")
        let valid = Array(WALDump(source).json.utf8)
        #expect(try WALDump.parse(json: valid) == WALDump(source))
        var accepted = 0
        for round in 0..<2000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0..<200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            } else {
                bytes = valid
                for _ in 0..<Int.random(in: 1...8, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
            }
            let dump: WALDump
            do {
                dump = try WALDump.parse(json: bytes)
            } catch {
                #expect(error.code == .corrupt, "round \(round): \(error)")
                #expect(!error.message.isEmpty)
                #expect(!error.description.contains("\n"))
                continue
            }
            #expect(round % 2 == 1, "round \(round): random bytes parsed as a dump: \(dump)")
            accepted += 1
            try expectImportRoundTrips(dump, into: scratch.file("import-\(round)"), "round \(round)")
        }
        // Mutations that land in base64 data (in its alphabet) or in a digit still parse.
        #expect(accepted > 0, "no mutation was accepted, so no import was checked")
    }

    /// Imports `dump` the way `wal import` does and reads the new WAL back from the dump's
    /// marker: it reads cleanly and dumps as the same metadata, HardState and entries (a dump's
    /// recorded error is not imported, and a marker at (0, 0) is not printed).
    private func expectImportRoundTrips(_ dump: WALDump, into directory: String, _ what: String) throws {
        let options = WALOptions(segmentSize: 64 << 10, unsafeNoSync: true)
        try WALCodecChoice.etcd.run(WALImportTask(directory: directory, dump: dump, options: options))
        let start = dump.snapshot ?? .zero
        let replay = try WAL<ProtobufRecordCodec>.read(at: directory, from: start, codec: ProtobufRecordCodec())
        #expect(replay.error == nil, "\(what): \(String(describing: replay.error))")
        var expected = dump
        expected.error = nil
        if start.matches(.zero) { expected.snapshot = nil }
        #expect(WALDump(replay) == expected, "\(what): imported \(dump), dumped \(WALDump(replay))")
    }

    @Test("usage errors: existing WAL, missing file, bad codec")
    func usage() throws {
        let scratch = TestSupport.TemporaryDirectory("cli")
        defer { scratch.remove() }
        let existing = try scratch.copy(Fixtures.goWAL("single-segment"), as: "existing")
        let dump = try scratch.write("{}", to: "empty.json")
        expectFailure(try RaftStoreTool.run(["wal", "import", existing, dump]), status: 2, mentioning: ["not empty"])
        expectFailure(try RaftStoreTool.run(["wal", "import", scratch.file("new"), scratch.file("missing.json")]), status: 2, mentioning: ["missing.json"])
        expectFailure(try RaftStoreTool.run(["wal", "import", scratch.file("new"), dump, "--codec", "zip"]), status: 2, mentioning: ["zip"])
        expectFailure(try RaftStoreTool.run(["wal", "import", scratch.file("new")]), status: 2)
    }
}

/// A deterministic generator (SplitMix64), so failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
