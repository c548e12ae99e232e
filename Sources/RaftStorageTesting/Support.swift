public import RaftStorage

/// A small, fast, seedable random number generator (SplitMix64), so conformance runs that use
/// random data are reproducible from the seed printed on failure.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Entries `indexes` at `term`, with small distinct payloads.
public func makeEntries(_ indexes: ClosedRange<UInt64>, term: UInt64) -> [Entry] {
    indexes.map { Entry(term: term, index: $0, data: Array("entry \($0) term \(term)".utf8)) }
}
