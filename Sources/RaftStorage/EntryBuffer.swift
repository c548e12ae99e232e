/// Bytes read from a log in one piece, which the entries decoded from them share as their data.
///
/// A replay that gave every entry an array of its own made one heap allocation per entry, and
/// the fresh pages those allocations touched cost more than decoding (a million 100-byte
/// entries: a quarter of the replay in page faults, another tenth in `malloc` and `free`).
/// Entries created with ``Entry/init(term:index:type:data:in:)`` refer to their data inside
/// one of these buffers instead; the buffer is freed when the last entry that refers to it is.
///
/// Keeping one entry keeps its whole buffer: a reader that holds a few entries of a long
/// replay for a long time can give them data of their own (`entry.data = entry.data`).
///
/// The bytes are written once, by ``init(capacity:fill:)``, and only read after that, so the
/// buffer can be shared between threads.
public final class EntryBuffer: Hashable, @unchecked Sendable {
    /// The bytes the buffer holds.
    public let bytes: UnsafeRawBufferPointer
    private let allocation: UnsafeMutableRawBufferPointer

    /// The largest buffer: entries keep their offset and size in 32 bits.
    public static let maximumCapacity = Int(UInt32.max)

    /// A buffer of at most `capacity` bytes, filled by `fill`, which returns how many of them
    /// it wrote (from the start); the rest is never read.
    ///
    /// Buffers of 2 MiB and more are aligned to and advised for 2 MiB pages on Linux: first
    /// touching fresh memory costs a page fault per 4 KiB page otherwise.
    ///
    /// - Precondition: `capacity` is from 0 to ``maximumCapacity``, and `fill` returns a count
    ///   from 0 to `capacity` (the WAL's reader passes a file read's count, which never
    ///   exceeds the room it was given, whatever the file holds).
    public init<Failure: Error>(
        capacity: Int, fill: (UnsafeMutableRawBufferPointer) throws(Failure) -> Int
    ) throws(Failure) {
        precondition(capacity >= 0 && capacity <= Self.maximumCapacity, "EntryBuffer capacity \(capacity) out of range")
        let allocation = HugePages.allocate(byteCount: capacity)
        let count: Int
        do {
            count = try fill(allocation)
        } catch {
            allocation.deallocate()
            throw error
        }
        precondition(count >= 0 && count <= capacity, "EntryBuffer filled \(count) of \(capacity) bytes")
        self.allocation = allocation
        self.bytes = UnsafeRawBufferPointer(rebasing: allocation[0..<count])
    }

    deinit { allocation.deallocate() }

    /// Buffers are equal when they are the same buffer.
    public static func == (lhs: EntryBuffer, rhs: EntryBuffer) -> Bool { lhs === rhs }

    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }

    /// Whether `part` lies within ``bytes``.
    @inlinable @inline(__always)
    package func contains(_ part: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress, let start = part.baseAddress else { return false }
        let offset = start - base
        return offset >= 0 && offset + part.count <= bytes.count
    }
}
