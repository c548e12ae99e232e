/// The state raft starts from (raft's `InitialState`): the last HardState persisted and the
/// membership of the newest snapshot.
///
/// ``Storage/initialState()`` returns it, and so does `MemoryLogStore.initialState()`, which
/// answers from the log store alone as etcd's `MemoryStorage` does.
public struct InitialState: Sendable, Hashable {
    /// The last HardState persisted.
    public var hardState: HardState
    /// The membership of the newest snapshot.
    public var confState: ConfState

    /// An initial state.
    public init(hardState: HardState, confState: ConfState) {
        self.hardState = hardState
        self.confState = confState
    }
}
