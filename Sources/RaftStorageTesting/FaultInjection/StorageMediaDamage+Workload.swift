public import RaftStorage

extension StorageMediaDamage {
    /// A storage for the snapshot-file cases: written through `Storage`'s public API on a new
    /// simulated disk, every Ready synced, closed cleanly. Three terms, each started without a
    /// vote and then voted in, entries with the commit following, and a snapshot in each term
    /// (5,000, 6,000 and 7,000 bytes that neither compress nor hold a zero sector).
    ///
    /// - Parameter filePath: the file `Snapshots` keeps a snapshot in.
    /// - Returns: the disk as it is durably, what was acknowledged, and each snapshot's file.
    public func writeSnapshotWorkload(
        filePath: (Snapshots, SnapshotMarker) -> String
    ) throws -> (image: FaultInjectingFileSystem, acknowledged: AcknowledgedStorage, files: [SnapshotMarker: String]) {
        let fs = FaultInjectingFileSystem()
        let storage = try openStorage(fs)
        var acknowledged = AcknowledgedStorage()
        func ready(_ state: HardState, _ indexes: ClosedRange<UInt64>? = nil, term: UInt64 = 0) throws {
            var entries: [Entry] = []
            if let indexes {
                entries = indexes.map { index in Entry(term: term, index: index, data: Array(repeating: UInt8(truncatingIfNeeded: index), count: 64)) }
            }
            try storage.save(hardState: state, entries: entries)
            try storage.sync()
            acknowledged.saved(hardState: state, entries: entries)
        }
        func snapshot(at index: UInt64, size: Int) throws {
            let saved = try storage.createSnapshot(at: index, data: Self.stateMachine(index, size: size))
            acknowledged.snapshotSaved(saved)
        }
        try ready(HardState(term: 1, vote: 0, commit: 0))
        try ready(HardState(term: 1, vote: 1, commit: 4), 1...5, term: 1)
        try snapshot(at: 4, size: 5_000)
        try ready(HardState(term: 2, vote: 0, commit: 5))
        try ready(HardState(term: 2, vote: 2, commit: 9), 6...10, term: 2)
        try snapshot(at: 9, size: 6_000)
        try ready(HardState(term: 3, vote: 0, commit: 10))
        try ready(HardState(term: 3, vote: 3, commit: 14), 11...15, term: 3)
        try snapshot(at: 14, size: 7_000)
        try ready(HardState(term: 3, vote: 3, commit: 17), 16...18, term: 3)
        var files: [SnapshotMarker: String] = [:]
        for marker in acknowledged.snapshots.keys { files[marker] = filePath(storage.snapshots, marker) }
        try storage.close()
        return (try fs.durableCopy(), acknowledged, files)
    }

    /// State-machine bytes that neither compress nor hold a zero sector (xorshift).
    static func stateMachine(_ index: UInt64, size: Int) -> [UInt8] {
        var x = index &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<size).map { _ in
            x ^= x << 13
            x ^= x >> 7
            x ^= x << 17
            return UInt8(truncatingIfNeeded: x >> 24)
        }
    }
}
