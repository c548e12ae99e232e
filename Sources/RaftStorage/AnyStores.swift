/// A log store chosen at run time, for example from a command-line flag.
///
/// `Storage<AnyLogStore, AnySnapshotStore>` lets configuration pick the backends; when the
/// backends are known at compile time, use them as generic arguments instead and pay no
/// dynamic dispatch.
///
/// ```swift
/// let log = useDisk ? AnyLogStore(try WALLogStore.open(at: directory)) : AnyLogStore(MemoryLogStore())
/// ```
public struct AnyLogStore: LogStore {
    /// The wrapped store.
    public let base: any LogStore

    /// Wraps `base`; every call goes to it.
    public init(_ base: any LogStore) {
        if let erased = base as? AnyLogStore {
            self = erased
        } else {
            self.base = base
        }
    }

    public func firstIndex() throws(StorageError) -> UInt64 { try base.firstIndex() }
    public func lastIndex() throws(StorageError) -> UInt64 { try base.lastIndex() }
    public func term(at index: UInt64) throws(StorageError) -> UInt64 { try base.term(at: index) }
    public func entries(in range: Range<UInt64>, maxBytes: UInt64) throws(StorageError) -> [Entry] {
        try base.entries(in: range, maxBytes: maxBytes)
    }
    public func hardState() throws(StorageError) -> HardState { try base.hardState() }
    public func snapshotMarker() throws(StorageError) -> SnapshotMarker { try base.snapshotMarker() }
    public func snapshotMarkers() throws(StorageError) -> [SnapshotMarker] { try base.snapshotMarkers() }
    public func save(hardState: HardState, entries: [Entry]) throws(StorageError) {
        try base.save(hardState: hardState, entries: entries)
    }
    public func applySnapshot(_ metadata: SnapshotMetadata) throws(StorageError) { try base.applySnapshot(metadata) }
    public func recordSnapshot(_ metadata: SnapshotMetadata) throws(StorageError) { try base.recordSnapshot(metadata) }
    public func compact(through index: UInt64) throws(StorageError) { try base.compact(through: index) }
    public func sync() throws(StorageError) { try base.sync() }
    public func resume(from marker: SnapshotMarker) throws(StorageError) { try base.resume(from: marker) }
    public func close() throws(StorageError) { try base.close() }
    public var recoveryActions: [RecoveryAction] { base.recoveryActions }
    public nonisolated(nonsending) func saveDurably(hardState: HardState, entries: [Entry]) async throws(StorageError) {
        try await base.saveDurably(hardState: hardState, entries: entries)
    }
    public nonisolated(nonsending) func appendDurably(term: UInt64, type: EntryType, data: [UInt8]?) async throws(StorageError) -> UInt64 {
        try await base.appendDurably(term: term, type: type, data: data)
    }
    public nonisolated(nonsending) func syncDurably() async throws(StorageError) { try await base.syncDurably() }
}

/// A snapshot store chosen at run time; see ``AnyLogStore``.
public struct AnySnapshotStore: SnapshotStore {
    /// The wrapped store.
    public let base: any SnapshotStore

    /// Wraps `base`; every call goes to it.
    public init(_ base: any SnapshotStore) {
        if let erased = base as? AnySnapshotStore {
            self = erased
        } else {
            self.base = base
        }
    }

    public func save(_ snapshot: Snapshot) throws(StorageError) { try base.save(snapshot) }
    public func list() throws(StorageError) -> [SnapshotMarker] { try base.list() }
    public func loadNewest(matching markers: [SnapshotMarker]) throws(StorageError) -> Snapshot? {
        try base.loadNewest(matching: markers)
    }
    public func loadNewest() throws(StorageError) -> Snapshot? { try base.loadNewest() }
    @discardableResult
    public func retainNewest(_ count: Int) throws(StorageError) -> [SnapshotMarker] { try base.retainNewest(count) }
}
