/// The workers' dice: xorshift64, seeded by the parent, so a run can be repeated.
struct Dice {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed | 1
    }

    /// A number below `bound`.
    mutating func roll(_ bound: UInt64) -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state % bound
    }
}
