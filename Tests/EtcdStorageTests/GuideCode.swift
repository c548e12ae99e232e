import EtcdStorage
import Foundation
import RaftStorage
import TestSupport
import Testing

// The code of the DocC guides (Docs/raftstore.docc), compiled and run here: every block
// between `// guide:` and `// end` must appear, word for word, in an article, and every Swift
// block of an article must be one of these (`GuideCodeTests` checks both ways).

/// The state machine of the guides: it counts the bytes of the entries it applied.
struct ByteCounter {
    var total = 0

    init() {}

    init(snapshot data: [UInt8]?) {
        total = Int(String(decoding: data ?? [], as: UTF8.self)) ?? 0
    }

    mutating func apply(_ entry: Entry) { total += entry.data?.count ?? 0 }

    func snapshotData() -> [UInt8] { Array(String(total).utf8) }
}

/// One node's storage, raft log and state machine, as the guides drive them.
struct GuideNode {
    var log: RaftLog<WALLogStore<ProtobufRecordCodec>, EtcdSnapshotStore>
    var stateMachine: ByteCounter
    let snapshotInterval: UInt64 = 50

    static func open(at directory: String) throws -> GuideNode {
        // guide: open
        let storage = try Storage(
            log: try WALLogStore.open(at: directory + "/wal"),
            snapshots: try EtcdSnapshotStore(directory: directory + "/snap"))
        for action in storage.recovery.actions {
            print("recovery: \(action)")  // a torn tail cut, a damaged snapshot set aside
        }
        // The newest snapshot restores the state machine; the log starts at the stored commit.
        let stateMachine = ByteCounter(snapshot: try storage.snapshot().data)
        let log = try RaftLog(storage: storage)
        // end
        return GuideNode(log: log, stateMachine: stateMachine)
    }

    /// One round of raft output: `hardState` and the entries raft appended to `log`.
    mutating func handleReady(hardState: HardState) async throws {
        // guide: ready
        // 1. Persist: the HardState, the new entries, a snapshot received from the leader.
        let write = log.beginWrite()
        try await log.storage.save(hardState: hardState, entries: write.entries, snapshot: write.snapshot)
        if let snapshot = write.snapshot {
            log.stableSnapshot(at: snapshot.metadata.index, term: snapshot.metadata.term)
        }
        if let last = write.entries.last {
            log.stable(to: last.index, term: last.term)
        }
        // 2. Apply what is committed.
        let batch = try log.beginApplying()
        for entry in batch {
            stateMachine.apply(entry)
        }
        if let last = batch.last {
            try log.applied(to: last.index, bytes: batch.totalEncodedSize)
        }
        // 3. Now and then, snapshot the state machine; the log is compacted behind it.
        if log.applied - log.storage.snapshotMetadata.index >= snapshotInterval {
            try await log.storage.createSnapshot(at: log.applied, data: stateMachine.snapshotData())
        }
        // end
    }

    /// After a restart: the committed entries after the snapshot, applied again.
    mutating func catchUp() throws {
        // guide: restart
        while log.hasEntriesToApply() {
            let batch = try log.beginApplying()
            for entry in batch {
                stateMachine.apply(entry)
            }
            if let last = batch.last {
                try log.applied(to: last.index, bytes: batch.totalEncodedSize)
            }
        }
        // end
    }
}

@Suite("The guides' code")
struct GuideCodeTests {
    @Test("a node persists, applies, snapshots, restarts and catches up to the same state")
    func roundTrip() async throws {
        let directory = TemporaryDirectory("guide")
        defer { directory.remove() }
        var node = try GuideNode.open(at: directory.path)
        for round in 1...120 {
            let index = try node.log.lastIndex() + 1
            try node.log.append([Entry(term: 1, index: index, data: Array("entry \(round)".utf8))])
            // A single node commits what it appended.
            try node.log.commit(to: index)
            try await node.handleReady(hardState: HardState(term: 1, vote: 1, commit: index))
        }
        let expected = node.stateMachine.total
        #expect(node.log.storage.snapshotMetadata.index >= 100, "snapshots were taken")
        try node.log.storage.close()

        var restarted = try GuideNode.open(at: directory.path)
        #expect(restarted.log.committed == 120, "the log starts at the stored commit")
        try restarted.catchUp()
        #expect(restarted.stateMachine.total == expected)
        #expect(restarted.log.applied == 120)
        try restarted.log.storage.close()
    }

    @Test("every block of guide code is in an article, and every Swift block of an article is guide code")
    func articlesMatchTheCode() throws {
        let code = try String(contentsOfFile: #filePath, encoding: .utf8)
        let blocks = Self.guideBlocks(in: code)
        #expect(blocks.count == 3)
        let catalog = PackagePaths.root + "/Docs/raftstore.docc"
        var articleBlocks: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: catalog) where name.hasSuffix(".md") {
            articleBlocks += Self.swiftBlocks(in: try String(contentsOfFile: catalog + "/" + name, encoding: .utf8))
        }
        for block in blocks {
            #expect(articleBlocks.contains(block), "guide code not in any article:\n\(block)")
        }
        for block in articleBlocks {
            #expect(blocks.contains(block), "an article's Swift block is not compiled guide code:\n\(block)")
        }
    }

    /// The code between `// guide: <name>` and `// end`, without its common indentation.
    static func guideBlocks(in source: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop { $0 == " " }
            if trimmed.hasPrefix("// guide: ") {
                current = []
            } else if trimmed == "// end", let lines = current {
                blocks.append(dedent(lines))
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    /// The fenced Swift blocks of a Markdown article.
    static func swiftBlocks(in article: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in article.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line.hasPrefix("```swift") {
                current = []
            } else if line.hasPrefix("```"), let lines = current {
                blocks.append(dedent(lines))
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    static func dedent(_ lines: [Substring]) -> String {
        let indent = lines.filter { !$0.allSatisfy { $0 == " " } }.map { $0.prefix { $0 == " " }.count }.min() ?? 0
        return lines.map { String($0.dropFirst(min(indent, $0.count))) }.joined(separator: "\n")
    }
}
