import MemoryStore
import RaftStorage
import RaftStorageTesting
import Testing

/// `MemoryLogStore.save` refuses a HardState that breaks raft's invariants, and the refused
/// save changes neither the entries nor the HardState.
@Suite("MemoryLogStore HardState rules")
struct MemoryLogStoreHardStateRulesTests {
    /// Expects `body` to be refused with `invalidArgument`.
    static func expectRefused(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(sourceLocation: sourceLocation) { try body() } throws: { ($0 as? StorageError)?.code == .invalidArgument }
    }

    @Test("a commit past the last index is refused and changes nothing")
    func commitPastTheLastIndex() throws {
        let log = MemoryLogStore()
        try log.append(makeEntries(1...3, term: 1))
        Self.expectRefused { try log.save(hardState: HardState(commit: 10), entries: []) }
        #expect(try log.hardState() == .empty)
        #expect(try log.lastIndex() == 3)
    }

    @Test("a commit past the batch's last entry writes neither the entries nor the HardState")
    func commitPastTheBatch() throws {
        let log = MemoryLogStore()
        Self.expectRefused { try log.save(hardState: HardState(term: 1, vote: 1, commit: 4), entries: makeEntries(1...3, term: 1)) }
        #expect(try log.hardState() == .empty)
        #expect(try log.lastIndex() == 0)
        try log.save(hardState: HardState(term: 1, vote: 1, commit: 3), entries: makeEntries(1...3, term: 1))
        #expect(try log.hardState() == HardState(term: 1, vote: 1, commit: 3))
    }

    @Test("the last index after a save counts a replaced tail and drops entries at or below the boundary")
    func lastIndexAfterTheSave() throws {
        let log = MemoryLogStore()
        try log.save(hardState: HardState(term: 1, vote: 1, commit: 3), entries: makeEntries(1...10, term: 1))
        // A new leader's entries 5 and 6 cut the log to 6: commit 8 would be past it.
        Self.expectRefused { try log.save(hardState: HardState(term: 2, vote: 2, commit: 8), entries: makeEntries(5...6, term: 2)) }
        #expect(try log.lastIndex() == 10)
        #expect(try log.term(at: 5) == 1)
        try log.save(hardState: HardState(term: 2, vote: 2, commit: 6), entries: makeEntries(5...6, term: 2))
        #expect(try log.lastIndex() == 6)

        // Entries at or below the boundary are dropped, so they leave the last index at 6.
        try log.compact(through: 4)
        Self.expectRefused { try log.save(hardState: HardState(term: 2, vote: 2, commit: 7), entries: makeEntries(3...4, term: 1)) }
        try log.save(hardState: HardState(term: 2, vote: 2, commit: 6), entries: makeEntries(3...4, term: 1))
        #expect(try log.lastIndex() == 6)
    }

    @Test("a lower term is refused and changes nothing")
    func lowerTerm() throws {
        let log = MemoryLogStore()
        try log.save(hardState: HardState(term: 3, vote: 1, commit: 0), entries: [])
        Self.expectRefused { try log.save(hardState: HardState(term: 2, vote: 1, commit: 0), entries: makeEntries(1...2, term: 2)) }
        #expect(try log.hardState() == HardState(term: 3, vote: 1, commit: 0))
        #expect(try log.lastIndex() == 0)
    }

    @Test("a vote cast in a term never changes within it; a first vote or a new term's vote is accepted")
    func vote() throws {
        let log = MemoryLogStore()
        try log.save(hardState: HardState(term: 2, vote: 0, commit: 0), entries: [])
        try log.save(hardState: HardState(term: 2, vote: 1, commit: 0), entries: [])
        Self.expectRefused { try log.save(hardState: HardState(term: 2, vote: 3, commit: 0), entries: []) }
        Self.expectRefused { try log.save(hardState: HardState(term: 2, vote: 0, commit: 0), entries: []) }
        #expect(try log.hardState() == HardState(term: 2, vote: 1, commit: 0))
        try log.save(hardState: HardState(term: 3, vote: 3, commit: 0), entries: [])
        #expect(try log.hardState() == HardState(term: 3, vote: 3, commit: 0))
    }

    @Test("an empty HardState is never refused, and a lower commit is not checked")
    func emptyAndLowerCommit() throws {
        let log = MemoryLogStore()
        try log.save(hardState: HardState(term: 4, vote: 2, commit: 3), entries: makeEntries(1...3, term: 4))
        try log.save(hardState: .empty, entries: makeEntries(4...5, term: 4))
        #expect(try log.hardState() == HardState(term: 4, vote: 2, commit: 3))
        // raft never lowers its commit index, but etcd's MemoryStorage does not check it either.
        try log.save(hardState: HardState(term: 4, vote: 2, commit: 1), entries: [])
        #expect(try log.hardState() == HardState(term: 4, vote: 2, commit: 1))
    }
}
