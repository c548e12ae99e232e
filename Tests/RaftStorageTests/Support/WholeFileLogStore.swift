import MemoryStore
import RaftStorage
import RaftFiles
import Synchronization

/// A durable log for testing the crash enumerator: a memory log whose whole state is written
/// to one file on every sync. With `atomic` it writes a temporary file, fsyncs, renames and
/// fsyncs the directory; without, it overwrites the file in place - the bug the enumerator
/// must catch.
final class WholeFileLogStore: LogStore {
    let memory = MemoryLogStore()
    let fs: any FileSystem
    let path: String
    let atomic: Bool
    private let lastSaved = Mutex(HardState())

    init(fs: any FileSystem, directory: String, atomic: Bool) throws(StorageError) {
        self.fs = fs
        self.path = fs.join(directory, "log")
        self.atomic = atomic
        try fs.createDirectory(directory, permissions: 0o700)
        try fs.syncDirectory(fs.parentDirectory(of: directory))
        guard fs.fileExists(path) else { return }
        let bytes = try fs.readFile(path)
        var reader = bytes[...]
        func next() throws(StorageError) -> UInt64 {
            guard reader.count >= 8 else { throw StorageError(.unexpectedEnd, "short log file", path: path) }
            defer { reader = reader.dropFirst(8) }
            return reader.prefix(8).enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        }
        let marker = SnapshotMetadata(index: try next(), term: try next())
        let state = HardState(term: try next(), vote: try next(), commit: try next())
        if marker.index > 0 { try memory.applySnapshot(marker) }
        var entries: [Entry] = []
        for _ in 0..<(try next()) {
            let term = try next(), index = try next(), count = Int(try next())
            guard reader.count >= count else { throw StorageError(.unexpectedEnd, "short entry", path: path) }
            entries.append(Entry(term: term, index: index, data: Array(reader.prefix(count))))
            reader = reader.dropFirst(count)
        }
        try memory.save(hardState: state, entries: entries)
        lastSaved.withLock { $0 = state }
    }

    func firstIndex() throws(StorageError) -> UInt64 { try memory.firstIndex() }
    func lastIndex() throws(StorageError) -> UInt64 { try memory.lastIndex() }
    func term(at index: UInt64) throws(StorageError) -> UInt64 { try memory.term(at: index) }
    func entries(in range: Range<UInt64>, maxBytes: UInt64) throws(StorageError) -> [Entry] { try memory.entries(in: range, maxBytes: maxBytes) }
    func hardState() throws(StorageError) -> HardState { try memory.hardState() }
    func snapshotMarker() throws(StorageError) -> SnapshotMarker { try memory.snapshotMarker() }
    func snapshotMarkers() throws(StorageError) -> [SnapshotMarker] { try memory.snapshotMarkers() }

    func save(hardState: HardState, entries: [Entry]) throws(StorageError) {
        try memory.save(hardState: hardState, entries: entries)
        let previous = lastSaved.withLock { state in
            defer { if !hardState.isEmpty { state = hardState } }
            return state
        }
        if hardState.mustSync(previous: previous, entryCount: entries.count) { try sync() }
    }

    func applySnapshot(_ metadata: SnapshotMetadata) throws(StorageError) {
        try memory.applySnapshot(metadata)
        try sync()
    }

    func recordSnapshot(_ metadata: SnapshotMetadata) throws(StorageError) {
        try memory.recordSnapshot(metadata)
        try sync()
    }

    func compact(through index: UInt64) throws(StorageError) { try memory.compact(through: index) }

    func sync() throws(StorageError) {
        var bytes: [UInt8] = []
        func put(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        let boundary = try memory.firstIndex() - 1
        put(boundary)
        put(try memory.term(at: boundary))
        let state = try memory.hardState()
        [state.term, state.vote, state.commit].forEach(put)
        let entries = try memory.lastIndex() > boundary ? try memory.entries(from: boundary + 1) : []
        put(UInt64(entries.count))
        for entry in entries {
            put(entry.term)
            put(entry.index)
            put(UInt64(entry.data?.count ?? 0))
            bytes += entry.data ?? []
        }
        if atomic {
            try fs.writeFileAtomically(path, bytes)
        } else {
            let file = try fs.open(path, [.write, .create, .truncate], permissions: 0o600)
            try bytes.withRawBytes { (raw) throws(StorageError) in try file.write(raw, at: 0) }
            try file.sync()
            try file.close()
        }
    }

    func resume(from marker: SnapshotMarker) throws(StorageError) { try memory.resume(from: marker) }
    func close() throws(StorageError) { try sync() }
}
