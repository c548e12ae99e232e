import RaftStorage

// The HardState rules of LogStore's requirements (HardState.validate): a commit past the last
// index after the save, a lower term, or a changed vote within a term is refused, and the
// refused save changes nothing - checked again across a restart in the reopen run.
extension LogStoreConformance {
    static var hardStateRuleCases: [Case] {
        [
            testCase("hardState rules: a commit past the last index is refused and changes nothing") { h in
                try h.store.save(hardState: HardState(term: 1, vote: 1, commit: 2), entries: makeEntries(1...3, term: 1))
                try h.checkpoint()
                h.expectError(.invalidArgument, "commit 10 with last index 3") {
                    try $0.save(hardState: HardState(term: 1, vote: 1, commit: 10), entries: [])
                }
                h.equal(try h.store.hardState(), HardState(term: 1, vote: 1, commit: 2), "hardState")
                try h.expectLog(first: 1, last: 3, terms: [1, 1, 1])
            },
            testCase("hardState rules: a commit past the batch's last entry writes neither") { h in
                h.expectError(.invalidArgument, "commit 4 with entries 1...3") {
                    try $0.save(hardState: HardState(term: 1, vote: 1, commit: 4), entries: makeEntries(1...3, term: 1))
                }
                h.equal(try h.store.hardState(), .empty, "hardState")
                try h.expectLog(first: 1, last: 0, terms: [])
                try h.store.save(hardState: HardState(term: 1, vote: 1, commit: 3), entries: makeEntries(1...3, term: 1))
                h.equal(try h.store.hardState(), HardState(term: 1, vote: 1, commit: 3), "hardState committing the batch's last entry")
            },
            testCase("hardState rules: a commit past a replaced tail is refused") { h in
                try plainLog(&h)
                try h.store.save(hardState: HardState(term: 1, vote: 1, commit: 3), entries: [])
                h.expectError(.invalidArgument, "commit 8 with a tail replaced from 5 to 6") {
                    try $0.save(hardState: HardState(term: 2, vote: 2, commit: 8), entries: makeEntries(5...6, term: 2))
                }
                h.equal(try h.store.hardState(), HardState(term: 1, vote: 1, commit: 3), "hardState")
                try h.expectLog(first: 1, last: 10, terms: Array(repeating: 1, count: 10))
                try h.store.save(hardState: HardState(term: 2, vote: 2, commit: 6), entries: makeEntries(5...6, term: 2))
                try h.expectLog(first: 1, last: 6, terms: [1, 1, 1, 1, 2, 2])
            },
            testCase("hardState rules: entries at or below the boundary do not count") { h in
                try etcdLog(&h)
                try h.store.save(hardState: HardState(term: 5, vote: 1, commit: 5), entries: [bare(2, 3), bare(3, 3)])
                h.expectError(.invalidArgument, "commit 6 with compacted entries only") {
                    try $0.save(hardState: HardState(term: 5, vote: 1, commit: 6), entries: [bare(2, 3), bare(3, 3)])
                }
                h.equal(try h.store.hardState(), HardState(term: 5, vote: 1, commit: 5), "hardState")
                try h.expectLog(first: 4, last: 5, terms: [4, 5])
            },
            testCase("hardState rules: a lower term is refused and changes nothing") { h in
                try h.store.save(hardState: HardState(term: 3, vote: 1, commit: 0), entries: [])
                try h.checkpoint()
                h.expectError(.invalidArgument, "term 2 after term 3") {
                    try $0.save(hardState: HardState(term: 2, vote: 1, commit: 0), entries: [])
                }
                h.expectError(.invalidArgument, "term 2 after term 3, with entries") {
                    try $0.save(hardState: HardState(term: 2, vote: 1, commit: 0), entries: makeEntries(1...2, term: 2))
                }
                h.equal(try h.store.hardState(), HardState(term: 3, vote: 1, commit: 0), "hardState")
                try h.expectLog(first: 1, last: 0, terms: [])
            },
            testCase("hardState rules: a vote cast in a term never changes within it") { h in
                try h.store.save(hardState: HardState(term: 2, vote: 1, commit: 0), entries: [])
                try h.checkpoint()
                h.expectError(.invalidArgument, "vote 3 after vote 1 in term 2") {
                    try $0.save(hardState: HardState(term: 2, vote: 3, commit: 0), entries: [])
                }
                h.expectError(.invalidArgument, "vote 0 after vote 1 in term 2") {
                    try $0.save(hardState: HardState(term: 2, vote: 0, commit: 0), entries: [])
                }
                h.equal(try h.store.hardState(), HardState(term: 2, vote: 1, commit: 0), "hardState")
                try h.store.save(hardState: HardState(term: 3, vote: 3, commit: 0), entries: [])
                h.equal(try h.store.hardState(), HardState(term: 3, vote: 3, commit: 0), "a new vote in a new term")
            },
            testCase("hardState rules: a first vote in the stored term is accepted") { h in
                try h.store.save(hardState: HardState(term: 2, vote: 0, commit: 0), entries: [])
                try h.store.save(hardState: HardState(term: 2, vote: 5, commit: 0), entries: [])
                h.equal(try h.store.hardState(), HardState(term: 2, vote: 5, commit: 0), "hardState")
            },
            testCase("hardState rules: an empty HardState is never refused") { h in
                try h.store.save(hardState: HardState(term: 4, vote: 2, commit: 3), entries: makeEntries(1...3, term: 4))
                try h.store.save(hardState: .empty, entries: [])
                try h.store.save(hardState: .empty, entries: makeEntries(4...5, term: 4))
                h.equal(try h.store.hardState(), HardState(term: 4, vote: 2, commit: 3), "hardState")
                try h.expectLog(first: 1, last: 5, terms: [4, 4, 4, 4, 4])
            },
        ]
    }
}
