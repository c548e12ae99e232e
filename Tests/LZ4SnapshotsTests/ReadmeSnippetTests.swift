import EtcdStorage
import Foundation
import LZ4Snapshots
import MemoryStore
import RaftStorage
import TestSupport
import Testing

// README snippet: backend swap
/// Compile time: the backends are generic arguments, with no dynamic dispatch.
func makeInMemoryStorage() throws -> Storage<MemoryLogStore, MemorySnapshotStore> {
    try Storage(log: MemoryLogStore(), snapshots: MemorySnapshotStore())
}

/// The same on disk: etcd's WAL format and LZ4-compressed snapshots.
func makeDurableStorage(in directory: String) throws -> Storage<WALLogStore<ProtobufRecordCodec>, LZ4SnapshotStore<ProtobufRecordCodec>> {
    try Storage(log: WALLogStore.open(at: directory + "/wal"),
                snapshots: LZ4SnapshotStore(directory: directory + "/snap", codec: ProtobufRecordCodec()))
}

/// Run time: configuration picks the backends; the erased wrappers keep one storage type.
func makeStorage(log: any LogStore, snapshots: any SnapshotStore) throws -> Storage<AnyLogStore, AnySnapshotStore> {
    try Storage(log: AnyLogStore(log), snapshots: AnySnapshotStore(snapshots))
}
// end of README snippet

/// Here rather than with the core's tests, so the core's test target needs no disk backend.
@Suite("README")
struct ReadmeSnippetTests {
    /// The README shows the snippet above verbatim, so the README never shows code that does not compile.
    @Test func readmeShowsTheCompiledSnippet() throws {
        let readme = try String(contentsOf: URL(fileURLWithPath: PackagePaths.root + "/README.md"), encoding: .utf8)
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        let snippet = try #require(source.components(separatedBy: "// README snippet: backend swap\n").dropFirst().first?
            .components(separatedBy: "// end of README snippet").first)
        #expect(readme.contains(snippet), "README.md must contain the snippet from ReadmeSnippetTests.swift verbatim")
    }

    @Test func theSnippetWorks() throws {
        let typed = try makeInMemoryStorage()
        try typed.save(hardState: HardState(term: 1, vote: 1, commit: 1), entries: [Entry(term: 1, index: 1, data: [1])])
        let erased = try makeStorage(log: MemoryLogStore(), snapshots: MemorySnapshotStore())
        try erased.save(hardState: HardState(term: 1, vote: 1, commit: 1), entries: [Entry(term: 1, index: 1, data: [1])])
        #expect(try typed.entries(in: 1..<2) == erased.entries(in: 1..<2))

        let directory = TemporaryDirectory("readme-snippet")
        defer { directory.remove() }
        let durable = try makeDurableStorage(in: directory.path)
        try durable.save(hardState: HardState(term: 1, vote: 1, commit: 1), entries: [Entry(term: 1, index: 1, data: [1])])
        try durable.close()
        let reopened = try makeDurableStorage(in: directory.path)
        #expect(try reopened.entries(in: 1..<2) == typed.entries(in: 1..<2))
        try reopened.close()
    }
}
