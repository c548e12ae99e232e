import RaftStorage
import RaftFiles
import Synchronization

/// A snapshot store for testing the snapshot crash checker: one file per snapshot holding
/// index, term, a checksum and the data. With `atomic` it writes a temporary file, fsyncs,
/// renames and fsyncs the directory; without, it writes the file in place and never fsyncs.
/// With `verifies` a file whose checksum is wrong is set aside; without, it loads whatever is
/// there - the bugs the checker must catch.
final class NaiveSnapshotStore: SnapshotStore {
    let fs: any FileSystem
    let directory: String
    let atomic: Bool
    let verifies: Bool

    init(fs: any FileSystem, directory: String, atomic: Bool, verifies: Bool = true) throws(StorageError) {
        self.fs = fs
        self.directory = directory
        self.atomic = atomic
        self.verifies = verifies
        try fs.createDirectory(directory, permissions: 0o700)
        try fs.syncDirectory(fs.parentDirectory(of: directory))
    }

    func path(_ marker: SnapshotMarker) -> String { fs.join(directory, "\(marker.term)-\(marker.index).snap") }

    private static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reduce(UInt64(1469598103934665603)) { ($0 ^ UInt64($1)) &* 1099511628211 }
    }

    func save(_ snapshot: Snapshot) throws(StorageError) {
        guard !snapshot.isEmpty else { return }
        let data = snapshot.data ?? []
        var bytes: [UInt8] = []
        for value in [snapshot.metadata.index, snapshot.metadata.term, Self.checksum(data[...])] {
            bytes += (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
        }
        bytes += data
        if atomic {
            try fs.writeFileAtomically(path(snapshot.metadata.marker), bytes)
        } else {
            let file = try fs.open(path(snapshot.metadata.marker), [.write, .create, .truncate], permissions: 0o600)
            try bytes.withRawBytes { (raw) throws(StorageError) in try file.write(raw, at: 0) }
            try file.close()
        }
    }

    func list() throws(StorageError) -> [SnapshotMarker] {
        try fs.contentsOfDirectory(directory).compactMap { name -> SnapshotMarker? in
            guard name.hasSuffix(".snap") else { return nil }
            let parts = name.dropLast(5).split(separator: "-")
            guard parts.count == 2, let term = UInt64(parts[0]), let index = UInt64(parts[1]) else { return nil }
            return SnapshotMarker(index: index, term: term)
        }.sorted(by: >)
    }

    func loadNewest(matching markers: [SnapshotMarker]) throws(StorageError) -> Snapshot? {
        for marker in try list() where markers.contains(where: marker.matches) {
            if let snapshot = try load(marker) { return snapshot }
        }
        return nil
    }

    func loadNewest() throws(StorageError) -> Snapshot? {
        for marker in try list() {
            if let snapshot = try load(marker) { return snapshot }
        }
        return nil
    }

    private func load(_ marker: SnapshotMarker) throws(StorageError) -> Snapshot? {
        let bytes = try fs.readFile(path(marker))
        func word(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) } }
        guard bytes.count >= 24, !verifies || (word(0) == marker.index && word(8) == marker.term && word(16) == Self.checksum(bytes[24...])) else {
            try fs.rename(path(marker), to: path(marker) + ".broken")
            try fs.syncDirectory(directory)
            return nil
        }
        return Snapshot(data: Array(bytes[24...]), metadata: SnapshotMetadata(index: marker.index, term: marker.term))
    }

    func retainNewest(_ count: Int) throws(StorageError) -> [SnapshotMarker] {
        let removed = Array(try list().dropFirst(max(1, count)))
        for marker in removed { try fs.removeFile(path(marker)) }
        try fs.syncDirectory(directory)
        return removed
    }
}
