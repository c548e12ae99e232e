import Foundation
import Testing

/// `raftstore inspect` on directories that are not etcd's own: a WAL directory's parent, damage,
/// and paths that are not member directories.
@Suite("inspect")
struct InspectTests {
    @Test("a directory holding wal/ directly, without snapshots")
    func walOnly() throws {
        let result = try RaftStoreTool.run(["inspect", Fixtures.goWritten + "/multi-segment"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("segments    9: 0000000000000000-0000000000000000.wal to 0000000000000008-00000000000000e0.wal"))
        #expect(result.stdout.contains("restart     opens at snapshot (index: 0, term: 0)"))
        #expect(result.stdout.contains("HardState   term 3, vote 3, commit 232"))
        #expect(result.stdout.contains("note: no snapshot directory"))
    }

    @Test("problems give exit code 1 and one line", arguments: [("torn-tail", "torn tail"), ("metadata-conflict", "metadataConflict"), ("missing-segment", "gap")])
    func problems(name: String, fragment: String) throws {
        let result = try RaftStoreTool.run(["inspect", Fixtures.goWritten + "/" + name])
        expectFailure(result, status: 1, mentioning: [fragment])
        #expect(result.stdout.contains("problems: 1"))
    }

    @Test("usage errors")
    func usage() throws {
        expectFailure(try RaftStoreTool.run(["inspect"]), status: 2)
        expectFailure(try RaftStoreTool.run(["inspect", "/nonexistent/raftstore"]), status: 2)
        expectFailure(try RaftStoreTool.run(["inspect", Fixtures.goWritten]), status: 2, mentioning: ["no etcd member directory"])
    }
}
