import RaftStorage

// etcd's TestStorageTerm, TestStorageEntries, TestStorageLastIndex and TestStorageFirstIndex,
// one case per table row.
extension LogStoreConformance {
    static var termCases: [Case] {
        [
            testCase("term: below the boundary is compacted") { h in
                try etcdLog(&h)
                h.expectError(.compacted, "term(at: 2)") { try $0.term(at: 2) }
            },
            testCase("term: at the boundary") { h in
                try etcdLog(&h)
                h.equal(try h.store.term(at: 3), 3, "term(at: 3)")
            },
            testCase("term: first entry") { h in
                try etcdLog(&h)
                h.equal(try h.store.term(at: 4), 4, "term(at: 4)")
            },
            testCase("term: last entry") { h in
                try etcdLog(&h)
                h.equal(try h.store.term(at: 5), 5, "term(at: 5)")
            },
            testCase("term: past the last index is unavailable") { h in
                try etcdLog(&h)
                h.expectError(.unavailable, "term(at: 6)") { try $0.term(at: 6) }
            },
        ]
    }

    static var entriesCases: [Case] {
        let size = { (index: UInt64) in UInt64(bare(index, index).encodedSize) }
        func read(_ name: String, _ range: Range<UInt64>, _ maxBytes: UInt64, _ expected: [UInt64]) -> Case {
            testCase("entries: \(name)") { h in
                try etcdLog(&h, extra: [bare(6, 6)])
                let entries = try h.store.entries(in: range, maxBytes: maxBytes)
                h.equal(entries, expected.map { bare($0, $0) }, "entries(in: \(range), maxBytes: \(maxBytes))")
            }
        }
        return [
            testCase("entries: range starting below the boundary is compacted") { h in
                try etcdLog(&h, extra: [bare(6, 6)])
                h.expectError(.compacted, "entries(in: 2..<6)") { try $0.entries(in: 2..<6) }
            },
            testCase("entries: range starting at the boundary is compacted") { h in
                try etcdLog(&h, extra: [bare(6, 6)])
                h.expectError(.compacted, "entries(in: 3..<4)") { try $0.entries(in: 3..<4) }
            },
            testCase("entries: range ending past the last index is unavailable") { h in
                try etcdLog(&h, extra: [bare(6, 6)])
                h.expectError(.unavailable, "entries(in: 4..<8)") { try $0.entries(in: 4..<8) }
            },
            read("one entry", 4..<5, .max, [4]),
            read("two entries", 4..<6, .max, [4, 5]),
            read("every entry", 4..<7, .max, [4, 5, 6]),
            read("a zero limit still returns one entry", 4..<7, 0, [4]),
            read("a limit of exactly two entries", 4..<7, size(4) + size(5), [4, 5]),
            read("a limit with half of the third entry", 4..<7, size(4) + size(5) + size(6) / 2, [4, 5]),
            read("a limit one byte short of three entries", 4..<7, size(4) + size(5) + size(6) - 1, [4, 5]),
            read("a limit of exactly three entries", 4..<7, size(4) + size(5) + size(6), [4, 5, 6]),
            read("an empty range inside the log", 5..<5, .max, []),
        ]
    }

    static var indexCases: [Case] {
        [
            testCase("lastIndex: after a snapshot and appends") { h in
                try etcdLog(&h)
                h.equal(try h.store.lastIndex(), 5, "lastIndex")
            },
            testCase("lastIndex: grows with an append") { h in
                try etcdLog(&h)
                try h.store.append([bare(6, 5)])
                h.equal(try h.store.lastIndex(), 6, "lastIndex")
            },
            testCase("firstIndex: follows the boundary") { h in
                try etcdLog(&h)
                h.equal(try h.store.firstIndex(), 4, "firstIndex")
            },
            testCase("firstIndex: moves with compaction") { h in
                try etcdLog(&h)
                try h.store.compact(through: 4)
                h.equal(try h.store.firstIndex(), 5, "firstIndex")
            },
        ]
    }

    static var emptyLogCases: [Case] {
        [
            testCase("empty: first index 1, last index 0") { h in
                try h.checkpoint()
                try h.expectLog(first: 1, last: 0, terms: [])
            },
            testCase("empty: term 0 at index 0, nothing after") { h in
                try h.checkpoint()
                h.equal(try h.store.term(at: 0), 0, "term(at: 0)")
                h.expectError(.unavailable, "term(at: 1)") { try $0.term(at: 1) }
            },
            testCase("empty: reads are unavailable or compacted") { h in
                try h.checkpoint()
                h.expectError(.unavailable, "entries(in: 1..<1)") { try $0.entries(in: 1..<1) }
                h.expectError(.unavailable, "entries(in: 1..<2)") { try $0.entries(in: 1..<2) }
                h.expectError(.compacted, "entries(in: 0..<1)") { try $0.entries(in: 0..<1) }
            },
            testCase("empty: empty HardState and the zero snapshot marker") { h in
                try h.checkpoint()
                h.equal(try h.store.hardState(), .empty, "hardState")
                h.equal(try h.store.snapshotMarker().matches(.zero), true, "snapshotMarker is zero")
                h.equal(try h.store.snapshotMarkers().map { [$0.index, $0.term] }, [[0, 0]], "snapshotMarkers")
            },
            testCase("empty: compaction is compacted at 0 and unavailable at 1") { h in
                try h.checkpoint()
                h.expectError(.compacted, "compact(through: 0)") { try $0.compact(through: 0) }
                h.expectError(.unavailable, "compact(through: 1)") { try $0.compact(through: 1) }
            },
            testCase("empty: the first append starts at index 1") { h in
                try h.checkpoint()
                h.expectError(.invalidArgument, "append at 2") { try $0.append([bare(2, 1)]) }
                try h.store.append([bare(1, 1)])
                try h.expectLog(first: 1, last: 1, terms: [1])
            },
        ]
    }
}
