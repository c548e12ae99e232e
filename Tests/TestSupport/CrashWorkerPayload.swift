/// The CrashWorker's entry data for (index, term): the worker writes it and the tests check
/// any entry they find against it.
public func crashWorkerPayload(index: UInt64, term: UInt64) -> [UInt8] {
    var state = index &* 0x9E37_79B9_7F4A_7C15 ^ term &* 0xD6E8_FEB8_6659_FD93
    func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    let count = Int(next() % 3000)
    return (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
}
