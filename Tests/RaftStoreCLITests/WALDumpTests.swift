import Foundation
import Testing

/// `raftstore wal dump` on WALs written by etcd 3.4's own Go code: `--json` prints exactly what
/// etcd's ReadAll returned (Fixtures/go-written/*/expected.json), nil and empty data apart.
@Suite("wal dump")
struct WALDumpTests {
    @Test("the fixtures are there")
    func fixturesPresent() {
        #expect(Fixtures.goFixtureNames.count >= 18)
    }

    @Test("dump --json equals etcd's ReadAll", arguments: Fixtures.goFixtureNames)
    func dumpMatchesEtcd(name: String) throws {
        let expectations = try GoExpectations.load(name)
        var compared = 0
        for expected in expectations.replays where expected.modes.contains("openForRead") {
            let marker = expected.snapshot
            var arguments = ["wal", "dump", "--json", Fixtures.goWAL(name)]
            if marker != GoExpectations.Marker(index: 0, term: 0) {
                arguments += ["--snap-index", String(marker.index), "--snap-term", String(marker.term)]
            }
            let result = try RaftStoreTool.run(arguments)
            let context = "\(name) from \(marker)"
            if expected.errorAt == "open" {
                // etcd could not even open it (no segment for the marker, a gap): nothing to dump.
                expectFailure(result, status: 1)
                continue
            }
            let dump = try DumpJSON.decode(result.stdout)
            #expect(dump.snapshot == (marker == GoExpectations.Marker(index: 0, term: 0) ? nil : marker), "\(context)")
            if let error = expected.error {
                // etcd returns nothing with an error; the dump keeps what came before it.
                #expect(dump.error != nil, "\(context): etcd said \(error)")
                #expect(result.status == 1, "\(context)")
                #expect(result.stderrLines.count == 1, "\(context): \(result.stderr)")
                continue
            }
            #expect(dump.metadata == expected.metadata, "\(context)")
            #expect(dump.hardState == expected.hardState, "\(context)")
            #expect(dump.entries == expected.entries, "\(context): \(dump.entries.count) vs \(expected.entries.count) entries")
            if let error = dump.error {
                // etcd's OpenForRead ends silently at a torn last record; the dump says so.
                #expect(error.hasPrefix("unexpectedEnd"), "\(context): \(error)")
                #expect(result.status == 1, "\(context)")
            } else {
                #expect(result.status == 0, "\(context): \(result)")
            }
            compared += 1
        }
        #expect(compared > 0 || expectations.replays.allSatisfy { $0.error != nil }, "\(name): nothing compared")
    }

    @Test("the table shows every entry, nil and empty data apart")
    func table() throws {
        let result = try RaftStoreTool.run(["wal", "dump", Fixtures.goWAL("conf-changes")])
        #expect(result.status == 0, "\(result)")
        let expected = try #require(try GoExpectations.load("conf-changes").replays.first { $0.snapshot.index == 0 })
        let rows = result.stdout.split(separator: "\n").filter { $0.first == " " && !$0.contains("INDEX") }
        #expect(rows.count == expected.entries.count)
        for (row, entry) in zip(rows, expected.entries) {
            let columns = row.split(separator: " ", omittingEmptySubsequences: true)
            #expect(columns[0] == Substring(String(entry.index)))
            #expect(columns[1] == Substring(String(entry.term)))
            #expect(columns[2] == Substring(entry.type))
            let size = entry.data.map { Data(base64Encoded: $0)!.count }
            #expect(columns[3] == (size.map { Substring(String($0)) } ?? "-"), "\(row)")
        }
        #expect(result.stdout.contains("HardState: term 3, vote 2, commit 13"))
        #expect(result.stdout.contains("metadata:  (none)"))
    }

    @Test("a replay error is one line naming the file and offset, after what was read")
    func damage() throws {
        let result = try RaftStoreTool.run(["wal", "dump", "--json", Fixtures.goWAL("crc-mismatch-last-segment")])
        expectFailure(result, status: 1, mentioning: ["crcMismatch", "0000000000000001-0000000000000016.wal", "at offset"])
        let dump = try DumpJSON.decode(result.stdout)
        #expect(!dump.entries.isEmpty)
        #expect(dump.error?.contains("at offset") == true)
    }
}
