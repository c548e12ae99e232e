public import RaftStorage
import Testing

/// The context a ``LogStoreConformance`` case runs in: the store under test and, for durable
/// backends, the reopen step.
///
/// A case calls ``checkpoint()`` after its setup. In the plain run that does nothing; in the
/// reopen run it syncs the store, closes and reopens it through the backend's reopen closure,
/// and checks that the reopened store holds what the old one did (see ``RaftStorage/LogStore``'s restart
/// requirements). The runner checkpoints once more after the case, so the outcome of the
/// operation under test is checked across a restart as well.
public struct LogStoreHarness<Store: LogStore> {
    /// The store under test; replaced by the reopened one at each checkpoint.
    public private(set) var store: Store
    /// Whether this run reopens at checkpoints.
    public let reopening: Bool
    let caseName: String
    let sourceLocation: SourceLocation
    private let reopen: (@Sendable (Store) throws -> Store)?

    init(store: Store, caseName: String, reopen: (@Sendable (Store) throws -> Store)?, sourceLocation: SourceLocation) {
        self.store = store
        self.caseName = caseName
        self.reopen = reopen
        self.reopening = reopen != nil
        self.sourceLocation = sourceLocation
    }

    var context: String { "\(caseName)\(reopening ? " [reopen]" : "")" }

    /// Reopens the store (in the reopen run) and checks that nothing durable was lost.
    public mutating func checkpoint() throws {
        guard let reopen else { return }
        try store.sync()
        let before = try LogState(store)
        store = try reopen(store)
        let after = try LogState(store)
        before.checkRestart(to: after, store: store, context: context, sourceLocation: sourceLocation)
    }

    /// Records an issue unless `actual == expected`.
    public func equal<T: Equatable>(_ actual: T, _ expected: T, _ what: @autoclosure () -> String) {
        #expect(actual == expected, "\(context): \(what()): got \(actual), expected \(expected)", sourceLocation: sourceLocation)
    }

    /// Records an issue unless `body` throws a ``RaftStorage/StorageError`` with `code`.
    public func expectError<R>(_ code: StorageError.Code, _ what: @autoclosure () -> String, _ body: (Store) throws -> R) {
        let store = self.store
        RaftStorageTesting.expectError(code, "\(context): \(what())", sourceLocation: sourceLocation) { try body(store) }
    }

    /// Checks first and last index and the term of every entry from the first index on.
    public func expectLog(first: UInt64, last: UInt64, terms: [UInt64], _ what: @autoclosure () -> String = "log") throws {
        let label = what()
        equal(try store.firstIndex(), first, "\(label): firstIndex")
        equal(try store.lastIndex(), last, "\(label): lastIndex")
        let stored = first <= last ? try store.entries(in: first..<(last + 1)) : []
        equal(stored.map(\.term), terms, "\(label): terms from \(first)")
        equal(stored.map(\.index), first <= last ? Array(first...last) : [], "\(label): indexes")
    }
}

/// What a restart must preserve, captured from a store.
struct LogState {
    var hardState: HardState
    var first: UInt64
    var last: UInt64
    var lastTerm: UInt64
    var entries: [Entry]
    var newestValidMarker: SnapshotMarker?

    init(_ store: some LogStore) throws {
        hardState = try store.hardState()
        first = try store.firstIndex()
        last = try store.lastIndex()
        lastTerm = try store.term(at: last)
        entries = first <= last ? try store.entries(in: first..<(last + 1)) : []
        newestValidMarker = try store.snapshotMarkers().max { $0.index < $1.index }
    }

    func checkRestart(to after: LogState, store: some LogStore, context: String, sourceLocation: SourceLocation) {
        let label = "\(context): after reopen"
        #expect(after.hardState == hardState, "\(label): hardState \(after.hardState), expected \(hardState)", sourceLocation: sourceLocation)
        #expect(after.last == last, "\(label): lastIndex \(after.last), expected \(last)", sourceLocation: sourceLocation)
        #expect(after.lastTerm == lastTerm, "\(label): term at lastIndex \(after.lastTerm), expected \(lastTerm)", sourceLocation: sourceLocation)
        let limit = max(first, (newestValidMarker?.index ?? 0) + 1)
        #expect(after.first <= limit, "\(label): firstIndex \(after.first) lost entries (was \(first), newest valid snapshot marker \(newestValidMarker.map(String.init(describing:)) ?? "none"))", sourceLocation: sourceLocation)
        let common = max(first, after.first)
        guard common <= last, after.last == last else { return }
        let expected = entries.drop { $0.index < common }
        let actual = after.entries.drop { $0.index < common }
        #expect(Array(actual) == Array(expected), "\(label): entries from \(common) differ", sourceLocation: sourceLocation)
    }
}
