import CXXHash

/// XXH32, the checksum of the LZ4 frame format (content, block and header checksums).
struct XXH32 {
    private var state = cxxh32_state()

    init(seed: UInt32 = 0) {
        cxxh32_reset(&state, seed)
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        cxxh32_update(&state, bytes.baseAddress, bytes.count)
    }

    /// The hash of everything so far.
    func digest() -> UInt32 {
        withUnsafePointer(to: state) { cxxh32_digest($0) }
    }

    /// The hash of `bytes` alone.
    static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        cxxh32(bytes.baseAddress, bytes.count, seed)
    }
}
