/// Every group's state, by group ID.
///
/// A dictionary whose keys hash with a few multiply-and-shift steps instead of the standard
/// library's SipHash: a write of a thousand one-entry groups looks every group up twice (to
/// admit its part, then to apply it), and SipHash took about 190 instructions per lookup, a
/// tenth of the write. Group IDs are chosen by the application, not by whoever sends it
/// requests, so a hash built to resist chosen keys buys nothing here; the dictionary's own
/// per-instance seed is still mixed in.
struct GroupTable: Sendable {
    private struct Key: Hashable, Sendable {
        let id: UInt64

        // What `Dictionary` asks for (the synthesised `hash(into:)` stays for any other use).
        func _rawHashValue(seed: Int) -> Int {
            // The 64-bit finaliser of SplitMix64: every bit of the ID reaches every bit.
            var mixed = id ^ UInt64(UInt(bitPattern: seed))
            mixed = (mixed ^ (mixed >> 30)) &* 0xbf58_476d_1ce4_e5b9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94d0_49bb_1331_11eb
            return Int(truncatingIfNeeded: mixed ^ (mixed >> 31))
        }
    }

    private var states: [Key: GroupState] = [:]

    init() {}

    /// The group IDs, in no particular order.
    var ids: some Collection<UInt64> { states.keys.lazy.map(\.id) }

    /// Every group and its state, in no particular order.
    var all: some Collection<(id: UInt64, state: GroupState)> { states.lazy.map { (id: $0.key.id, state: $0.value) } }

    subscript(group: UInt64) -> GroupState? {
        get { states[Key(id: group)] }
        set { states[Key(id: group)] = newValue }
    }

    /// Runs `body` on `group`'s state in place (its index arrays are not copied), or returns
    /// `nil` when the group has none.
    mutating func withExisting<Result, Failure: Error>(
        _ group: UInt64, _ body: (inout GroupState) throws(Failure) -> Result
    ) throws(Failure) -> Result? {
        guard let position = states.index(forKey: Key(id: group)) else { return nil }
        return try body(&states.values[position])
    }

    /// Changes `group`'s state in place with `body`, or a new state (its history starting in
    /// `file`) that is then added.
    ///
    /// Not through the dictionary's `default:` subscript, whose accessor allocated and freed
    /// two blocks on every call (a third of the instructions of a write of many one-entry
    /// groups).
    mutating func update(_ group: UInt64, startingIn file: UInt64, _ body: (inout GroupState) -> Void) {
        if withExisting(group, body) == nil {
            var fresh = GroupState(historyStart: file)
            body(&fresh)
            self[group] = fresh
        }
    }
}
