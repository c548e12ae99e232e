import RaftStorage
import CCRC32C

/// CRC32C (Castagnoli), the checksum of etcd's WAL records and `.snap` files.
///
/// Values chain like Go's `crc32.Update`: start with 0 and pass each result back in to continue,
/// so `update(update(0, a), b) == update(0, a + b)`. The work is done in C with the CPU's CRC
/// instructions (SSE4.2 on x86-64, the ARMv8 CRC extension on aarch64) when present, inputs of
/// 384 bytes and more folded with 512-bit carry-less multiplies on x86-64 CPUs with AVX-512 and
/// VPCLMULQDQ, and a portable slicing-by-8 table otherwise; every path gives the same values.
public enum CRC32C {
    /// Which code computes the checksum; results are identical, only speed differs.
    public enum Implementation: Sendable, CaseIterable {
        /// The fastest path this CPU supports.
        case best
        /// The portable table-driven path, whatever the CPU offers.
        case portable
    }

    /// Whether this CPU has the CRC32C instructions ``Implementation/best`` uses.
    public static var hardwareAvailable: Bool { ccrc32c_hardware_available() != 0 }

    /// Continues `crc` over `bytes`; pass 0 to start.
    @inlinable
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer, using implementation: Implementation = .best) -> UInt32 {
        _update(crc, bytes.baseAddress, bytes.count, implementation)
    }

    /// Continues `crc` over `bytes`; pass 0 to start.
    @inlinable
    public static func update(_ crc: UInt32, _ bytes: [UInt8], using implementation: Implementation = .best) -> UInt32 {
        bytes.withUnsafeBytes { update(crc, $0, using: implementation) }
    }

    /// The CRC32C, from zero, of the first `count` bytes (at most 16) of the words `low` and
    /// `high` laid out little-endian (`low` first), followed by `bytes`: what ``update(_:_:using:)-(_,UnsafeRawBufferPointer,_)``
    /// gives for those bytes in one buffer, in one call, for a small header built in registers
    /// before a body (no buffer to assemble, no second call for the header).
    public static func checksum(words low: UInt64, _ high: UInt64, count: Int, followedBy bytes: UnsafeRawBufferPointer) -> UInt32 {
        ccrc32c_words(low.littleEndian, high.littleEndian, count, bytes.baseAddress, bytes.count)
    }

    /// The CRC32C of `bytes` alone.
    @inlinable
    public static func checksum(_ bytes: [UInt8]) -> UInt32 { update(0, bytes) }

    @usableFromInline
    static func _update(_ crc: UInt32, _ base: UnsafeRawPointer?, _ count: Int, _ implementation: Implementation) -> UInt32 {
        switch implementation {
        case .best: ccrc32c_update(crc, base, count)
        case .portable: ccrc32c_update_portable(crc, base, count)
        }
    }
}
