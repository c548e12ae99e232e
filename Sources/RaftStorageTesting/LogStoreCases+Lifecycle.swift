import RaftStorage

// Resuming from an older recorded marker (recovery's fallback when the newest snapshot is
// unreadable), closing, and the durability points of LogStore's requirements: each
// checkpoint here follows an operation that is durable on return, so the crash run can check
// it without a sync.
extension LogStoreConformance {
    static var resumeCases: [Case] {
        [
            testCase("markers: resuming from an older recorded marker starts the log there") { h in
                try plainLog(&h)
                try h.store.save(hardState: HardState(term: 1, vote: 1, commit: 10), entries: [])
                try h.store.recordSnapshot(SnapshotMetadata(index: 4, term: 1))
                try h.store.recordSnapshot(SnapshotMetadata(index: 7, term: 1))
                try h.checkpoint()
                let older = SnapshotMarker(index: 4, term: 1)
                // A store that keeps only its newest marker may refuse, and only with unsupported.
                guard try resume(&h, from: older, mayBeUnsupported: true) else { return }
                if h.reopening {
                    // A restart opens at the newest marker; the older one must still be recorded.
                    try h.checkpoint()
                    _ = try resume(&h, from: older, mayBeUnsupported: false)
                }
            },
        ]
    }

    /// Resumes from `marker` (a marker at index 4 of `plainLog`'s 10 entries) and checks the
    /// log starts right after it with every later entry readable; `false` when the store
    /// refused with unsupported and that is allowed.
    private static func resume(_ h: inout Harness, from marker: SnapshotMarker, mayBeUnsupported: Bool) throws -> Bool {
        let hardState = try h.store.hardState()
        do throws(StorageError) {
            try h.store.resume(from: marker)
        } catch {
            guard mayBeUnsupported, error.code == .unsupported else { throw error }
            return false
        }
        h.equal(try h.store.snapshotMarker().matches(marker), true, "snapshotMarker after resume(from: \(marker)) is \(marker)")
        try h.expectLog(first: marker.index + 1, last: 10, terms: Array(repeating: 1, count: Int(10 - marker.index)), "log after resume")
        h.equal(try h.store.entries(in: (marker.index + 1)..<11), makeEntries((marker.index + 1)...10, term: 1), "entries after resume")
        h.equal(try h.store.term(at: marker.index), marker.term, "term(at: \(marker.index)) of the resumed boundary")
        h.equal(try h.store.hardState(), hardState, "hardState after resume")
        return true
    }

    static var closeCases: [Case] {
        [
            testCase("close: every call afterwards throws closed, closing again does nothing") { h in
                try plainLog(&h)
                try h.store.save(hardState: HardState(term: 1, vote: 1, commit: 3), entries: [])
                // Commit-only: close must make it durable (the restart after the case checks it).
                try h.store.save(hardState: HardState(term: 1, vote: 1, commit: 7), entries: [])
                try h.close()
                let calls: [(String, (Store) throws -> Void)] = [
                    ("firstIndex", { _ = try $0.firstIndex() }),
                    ("lastIndex", { _ = try $0.lastIndex() }),
                    ("term(at:)", { _ = try $0.term(at: 5) }),
                    ("entries(in:maxBytes:)", { _ = try $0.entries(in: 1..<3, maxBytes: .max) }),
                    ("hardState", { _ = try $0.hardState() }),
                    ("snapshotMarker", { _ = try $0.snapshotMarker() }),
                    ("snapshotMarkers", { _ = try $0.snapshotMarkers() }),
                    ("save", { try $0.save(hardState: HardState(term: 1, vote: 1, commit: 8), entries: makeEntries(11...11, term: 1)) }),
                    ("save of a HardState only", { try $0.save(hardState: HardState(term: 2, vote: 0, commit: 7), entries: []) }),
                    ("applySnapshot", { try $0.applySnapshot(SnapshotMetadata(index: 20, term: 2)) }),
                    ("recordSnapshot", { try $0.recordSnapshot(SnapshotMetadata(index: 6, term: 1)) }),
                    ("compact", { try $0.compact(through: 2) }),
                    ("sync", { try $0.sync() }),
                    ("resume", { try $0.resume(from: .zero) }),
                ]
                for (name, call) in calls {
                    h.expectError(.closed, "\(name) after close") { try call($0) }
                }
                try h.close()
                h.expectError(.closed, "lastIndex after closing twice") { try $0.lastIndex() }
            },
        ]
    }

    static var durabilityCases: [Case] {
        [
            testCase("durability: sync() makes a commit-only change durable") { h in
                try h.store.save(hardState: HardState(term: 1, vote: 1, commit: 0), entries: makeEntries(1...5, term: 1))
                try h.checkpoint()
                try h.store.save(hardState: HardState(term: 1, vote: 1, commit: 4), entries: [])
                try h.syncAndCheckpoint()
                h.equal(try h.store.hardState(), HardState(term: 1, vote: 1, commit: 4), "hardState")
                try h.expectLog(first: 1, last: 5, terms: [1, 1, 1, 1, 1])
            },
            testCase("durability: a new term and vote are durable without a sync") { h in
                try h.store.save(hardState: HardState(term: 2, vote: 1, commit: 0), entries: [])
                try h.checkpoint()
                h.equal(try h.store.hardState(), HardState(term: 2, vote: 1, commit: 0), "hardState after a new term")
                try h.store.save(hardState: HardState(term: 3, vote: 0, commit: 0), entries: [])
                try h.store.save(hardState: HardState(term: 3, vote: 2, commit: 0), entries: [])
                try h.checkpoint()
                h.equal(try h.store.hardState(), HardState(term: 3, vote: 2, commit: 0), "hardState after a vote")
            },
            testCase("durability: snapshot markers are durable without a sync") { h in
                try plainLog(&h)
                try h.store.save(hardState: HardState(term: 1, vote: 1, commit: 10), entries: [])
                try h.store.recordSnapshot(SnapshotMetadata(index: 6, term: 1))
                try h.checkpoint()
                h.equal(try h.store.snapshotMarkers().contains { $0.matches(SnapshotMarker(index: 6, term: 1)) }, true, "marker (6, 1) recorded")
                try h.store.applySnapshot(SnapshotMetadata(index: 15, term: 2))
                try h.checkpoint()
                try h.expectLog(first: 16, last: 15, terms: [], "log after an installed snapshot")
                h.equal(try h.store.term(at: 15), 2, "term(at: 15) of the installed snapshot")
            },
        ]
    }
}
