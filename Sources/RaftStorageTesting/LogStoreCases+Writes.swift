import RaftStorage

// etcd's TestStorageCompact and TestStorageAppend, one case per row, plus compaction points,
// tail truncation (the bug class raft logs hit most), payloads and HardState round trips.
extension LogStoreConformance {
    static var compactCases: [Case] {
        [
            testCase("compact: below the boundary is compacted and changes nothing") { h in
                try etcdLog(&h)
                h.expectError(.compacted, "compact(through: 2)") { try $0.compact(through: 2) }
                try h.expectLog(first: 4, last: 5, terms: [4, 5])
                h.equal(try h.store.term(at: 3), 3, "term(at: 3)")
            },
            testCase("compact: at the boundary is compacted") { h in
                try etcdLog(&h)
                h.expectError(.compacted, "compact(through: 3)") { try $0.compact(through: 3) }
                try h.expectLog(first: 4, last: 5, terms: [4, 5])
            },
            testCase("compact: at the first index") { h in
                try etcdLog(&h)
                try h.store.compact(through: 4)
                try h.expectLog(first: 5, last: 5, terms: [5])
                h.equal(try h.store.term(at: 4), 4, "term(at: 4) of the new boundary")
                h.expectError(.compacted, "term(at: 3)") { try $0.term(at: 3) }
            },
            testCase("compact: at the last index") { h in
                try etcdLog(&h)
                try h.store.compact(through: 5)
                try h.expectLog(first: 6, last: 5, terms: [])
                h.equal(try h.store.term(at: 5), 5, "term(at: 5) of the new boundary")
                h.expectError(.unavailable, "entries(in: 6..<6)") { try $0.entries(in: 6..<6) }
            },
            testCase("compact: past the last index is unavailable and changes nothing") { h in
                try etcdLog(&h)
                h.expectError(.unavailable, "compact(through: 6)") { try $0.compact(through: 6) }
                try h.expectLog(first: 4, last: 5, terms: [4, 5])
            },
            testCase("compact: in the middle of a longer log") { h in
                try plainLog(&h)
                try h.store.compact(through: 5)
                try h.expectLog(first: 6, last: 10, terms: Array(repeating: 1, count: 5))
                h.equal(try h.store.entries(in: 6..<11), makeEntries(6...10, term: 1), "entries after compaction")
                h.expectError(.compacted, "term(at: 4)") { try $0.term(at: 4) }
                h.expectError(.compacted, "entries(in: 5..<7)") { try $0.entries(in: 5..<7) }
            },
            testCase("compact: twice in a row") { h in
                try plainLog(&h)
                try h.store.compact(through: 3)
                try h.store.compact(through: 7)
                try h.expectLog(first: 8, last: 10, terms: [1, 1, 1])
                h.expectError(.compacted, "compact(through: 5)") { try $0.compact(through: 5) }
            },
            testCase("compact: then append continues the log") { h in
                try plainLog(&h)
                try h.store.compact(through: 10)
                try h.store.append(makeEntries(11...12, term: 2))
                try h.expectLog(first: 11, last: 12, terms: [2, 2])
                h.equal(try h.store.term(at: 10), 1, "term(at: 10) of the boundary")
            },
        ]
    }

    static var appendCases: [Case] {
        func row(_ name: String, _ batch: [Entry], first: UInt64, last: UInt64, terms: [UInt64]) -> Case {
            testCase("append: \(name)") { h in
                try etcdLog(&h)
                try h.store.append(batch)
                try h.expectLog(first: first, last: last, terms: terms)
            }
        }
        return [
            row("the same entries leave the log unchanged", [bare(3, 3), bare(4, 4), bare(5, 5)], first: 4, last: 5, terms: [4, 5]),
            row("conflicting entries replace the tail", [bare(3, 3), bare(4, 6), bare(5, 6)], first: 4, last: 5, terms: [6, 6]),
            row("a longer batch extends the log", [bare(3, 3), bare(4, 4), bare(5, 5), bare(6, 5)], first: 4, last: 6, terms: [4, 5, 5]),
            row("compacted incoming entries are dropped, the tail replaced", [bare(2, 3), bare(3, 3), bare(4, 5)], first: 4, last: 4, terms: [5]),
            row("a batch replaces from its first index", [bare(4, 5)], first: 4, last: 4, terms: [5]),
            row("a batch at lastIndex + 1 appends", [bare(6, 5)], first: 4, last: 6, terms: [4, 5, 5]),
            row("an entirely compacted batch is ignored", [bare(1, 1), bare(2, 1)], first: 4, last: 5, terms: [4, 5]),
            testCase("append: a gap is refused and changes nothing") { h in
                try etcdLog(&h)
                h.expectError(.invalidArgument, "append at 7") { try $0.append([bare(7, 5)]) }
                try h.expectLog(first: 4, last: 5, terms: [4, 5])
            },
            testCase("append: a batch with a hole is refused and changes nothing") { h in
                try etcdLog(&h)
                h.expectError(.invalidArgument, "append 6, 8") { try $0.append([bare(6, 5), bare(8, 5)]) }
                try h.expectLog(first: 4, last: 5, terms: [4, 5])
            },
            testCase("append: an empty batch changes nothing") { h in
                try etcdLog(&h)
                try h.store.append([])
                try h.expectLog(first: 4, last: 5, terms: [4, 5])
            },
        ]
    }

    static var truncationCases: [Case] {
        [
            testCase("truncate: replace the last entry") { h in
                try plainLog(&h)
                let replacement = Entry(term: 2, index: 10, data: Array("new ten".utf8))
                try h.store.append([replacement])
                try h.expectLog(first: 1, last: 10, terms: Array(repeating: 1, count: 9) + [2])
                h.equal(try h.store.entries(in: 10..<11), [replacement], "entry 10")
            },
            testCase("truncate: replace from the middle drops everything after") { h in
                try plainLog(&h)
                try h.store.append(makeEntries(6...7, term: 2))
                try h.expectLog(first: 1, last: 7, terms: [1, 1, 1, 1, 1, 2, 2])
                h.expectError(.unavailable, "term(at: 8)") { try $0.term(at: 8) }
                h.equal(try h.store.entries(in: 1..<6), makeEntries(1...5, term: 1), "kept prefix")
            },
            testCase("truncate: replace from the first entry") { h in
                try plainLog(&h)
                try h.store.append(makeEntries(1...1, term: 3))
                try h.expectLog(first: 1, last: 1, terms: [3])
            },
            testCase("truncate: then extend past the old end") { h in
                try plainLog(&h)
                try h.store.append(makeEntries(5...15, term: 2))
                try h.expectLog(first: 1, last: 15, terms: Array(repeating: 1, count: 4) + Array(repeating: 2, count: 11))
                h.equal(try h.store.entries(in: 5..<16), makeEntries(5...15, term: 2), "new tail")
            },
            testCase("truncate: repeatedly at several points") { h in
                try plainLog(&h)
                try h.store.append(makeEntries(8...9, term: 2))
                try h.checkpoint()
                try h.store.append(makeEntries(4...4, term: 3))
                try h.checkpoint()
                try h.store.append(makeEntries(5...6, term: 4))
                try h.expectLog(first: 1, last: 6, terms: [1, 1, 1, 3, 4, 4])
                h.equal(try h.store.entries(in: 4..<7), makeEntries(4...4, term: 3) + makeEntries(5...6, term: 4), "tail")
            },
            testCase("truncate: across the compaction point keeps the boundary") { h in
                try plainLog(&h)
                try h.store.compact(through: 3)
                try h.store.append(makeEntries(2...4, term: 2))
                try h.expectLog(first: 4, last: 4, terms: [2])
                h.equal(try h.store.term(at: 3), 1, "term(at: 3) of the boundary")
            },
            testCase("truncate: a shorter batch in the middle keeps the prefix only") { h in
                try plainLog(&h, count: 100)
                try h.store.append(makeEntries(50...50, term: 2))
                try h.expectLog(first: 1, last: 50, terms: Array(repeating: 1, count: 49) + [2])
            },
        ]
    }

    static var payloadCases: [Case] {
        [
            testCase("payload: limits on entries with payloads follow raft's rule") { h in
                let entries = (1...20).map { Entry(term: 1, index: UInt64($0), data: [UInt8](repeating: UInt8($0), count: $0 * 7)) }
                try h.store.append(entries)
                try h.checkpoint()
                for limit in [0, 1, 30, 100, 250, 1000, 1500, 5000] as [UInt64] {
                    var total: UInt64 = 0
                    let expected = entries.prefix { entry in
                        total += UInt64(entry.encodedSize)
                        return total <= limit || entry.index == 1
                    }
                    h.equal(try h.store.entries(in: 1..<21, maxBytes: limit), Array(expected), "entries(in: 1..<21, maxBytes: \(limit))")
                }
            },
            testCase("payload: reads right after each append") { h in
                for index in UInt64(1)...200 {
                    let entry = Entry(term: 1 + index / 50, index: index, data: Array("value \(index)".utf8))
                    try h.store.append([entry])
                    h.equal(try h.store.lastIndex(), index, "lastIndex after appending \(index)")
                    h.equal(try h.store.term(at: index), entry.term, "term(at: \(index))")
                    h.equal(try h.store.entries(in: index..<(index + 1)), [entry], "entry \(index)")
                }
                try h.checkpoint()
                h.equal(try h.store.entries(in: 1..<201).count, 200, "all entries")
            },
            testCase("payload: large entries round trip") { h in
                var random = SeededGenerator(seed: 7)
                let sizes = [1 << 20, 3 << 20 + 5, 17]
                let entries = sizes.enumerated().map { offset, size in
                    Entry(term: 1, index: UInt64(offset + 1), data: (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) })
                }
                try h.store.append(entries)
                try h.checkpoint()
                h.equal(try h.store.entries(in: 1..<4) == entries, true, "large entries equal")
                h.equal(try h.store.entries(in: 1..<4, maxBytes: 0).count, 1, "a 1 MiB entry under a zero limit")
            },
            testCase("payload: nil and empty data are kept apart") { h in
                let entries = [
                    Entry(term: 1, index: 1, data: nil),
                    Entry(term: 1, index: 2, data: []),
                    Entry(term: 1, index: 3, data: [0]),
                ]
                try h.store.append(entries)
                try h.checkpoint()
                h.equal(try h.store.entries(in: 1..<4), entries, "entries")
            },
            testCase("payload: entry types round trip") { h in
                let entries = [
                    Entry(term: 1, index: 1, type: .normal, data: [1]),
                    Entry(term: 1, index: 2, type: .confChange, data: [8, 0, 16, 1, 24, 2]),
                    Entry(term: 2, index: 3, type: .confChangeV2, data: [8, 1]),
                ]
                try h.store.append(entries)
                try h.checkpoint()
                h.equal(try h.store.entries(in: 1..<4), entries, "entries")
            },
            testCase("payload: many entries read in pages") { h in
                let entries = (UInt64(1)...3000).map { Entry(term: 1 + $0 / 1000, index: $0, data: Array("k\($0)=v\($0)".utf8)) }
                for batch in stride(from: 0, to: entries.count, by: 250) {
                    try h.store.append(Array(entries[batch..<min(batch + 250, entries.count)]))
                }
                try h.checkpoint()
                var read: [Entry] = []
                var next: UInt64 = 1
                while next <= 3000 {
                    let page = try h.store.entries(in: next..<3001, maxBytes: 4096)
                    guard !page.isEmpty else { break }
                    read += page
                    next += UInt64(page.count)
                }
                h.equal(read == entries, true, "pages concatenated equal the log")
            },
        ]
    }

    static var hardStateCases: [Case] {
        [
            testCase("hardState: round trip") { h in
                try h.store.save(hardState: HardState(term: 5, vote: 2, commit: 0), entries: [])
                h.equal(try h.store.hardState(), HardState(term: 5, vote: 2, commit: 0), "hardState")
            },
            testCase("hardState: saved with entries as one unit") { h in
                try h.store.save(hardState: HardState(term: 1, vote: 1, commit: 3), entries: makeEntries(1...3, term: 1))
                try h.checkpoint()
                h.equal(try h.store.hardState(), HardState(term: 1, vote: 1, commit: 3), "hardState")
                try h.expectLog(first: 1, last: 3, terms: [1, 1, 1])
            },
            testCase("hardState: empty leaves the stored one") { h in
                try h.store.save(hardState: HardState(term: 2, vote: 1, commit: 0), entries: [])
                try h.store.save(hardState: .empty, entries: makeEntries(1...2, term: 2))
                h.equal(try h.store.hardState(), HardState(term: 2, vote: 1, commit: 0), "hardState")
            },
            testCase("hardState: a commit-only change is kept") { h in
                try h.store.save(hardState: HardState(term: 1, vote: 1, commit: 0), entries: makeEntries(1...5, term: 1))
                try h.checkpoint()
                try h.store.save(hardState: HardState(term: 1, vote: 1, commit: 4), entries: [])
                h.equal(try h.store.hardState(), HardState(term: 1, vote: 1, commit: 4), "hardState")
            },
            testCase("hardState: a refused save changes neither entries nor HardState") { h in
                try h.store.save(hardState: HardState(term: 1, vote: 1, commit: 1), entries: makeEntries(1...2, term: 1))
                h.expectError(.invalidArgument, "save with a gap") {
                    try $0.save(hardState: HardState(term: 9, vote: 9, commit: 2), entries: [bare(5, 9)])
                }
                h.equal(try h.store.hardState(), HardState(term: 1, vote: 1, commit: 1), "hardState")
                try h.expectLog(first: 1, last: 2, terms: [1, 1])
            },
            testCase("hardState: many changes, the last one wins") { h in
                try h.store.append(makeEntries(1...20, term: 1))
                for step in UInt64(1)...20 {
                    // One vote per term (terms 1 to 5 vote 1, 2, 0, 1, 2): a vote never changes
                    // within its term.
                    let term = 1 + step / 5
                    try h.store.save(hardState: HardState(term: term, vote: term % 3, commit: step), entries: [])
                }
                try h.checkpoint()
                h.equal(try h.store.hardState(), HardState(term: 5, vote: 2, commit: 20), "hardState")
            },
        ]
    }
}
