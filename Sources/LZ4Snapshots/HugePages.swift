#if canImport(Glibc)
import Glibc
#endif

/// Asks Linux to back large buffers with 2 MiB pages.
///
/// Why: the pipelines allocate their block buffers (and a whole load its result) afresh for each
/// snapshot, and first touching fresh memory costs a page fault per 4 KiB page. On the project's
/// virtual machines that was ~26 ms per 64 MiB, more than decompressing it; with 2 MiB pages it
/// is ~5 ms (measured, see Docs/Performance.md). Transparent huge pages are commonly set to
/// `madvise`, so they must be asked for. Only whole 2 MiB pages inside the buffer are advised;
/// the advice is a hint, and failure (no THP support, other systems) changes nothing.
enum HugePages {
    static let size = 2 << 20

    /// Advises the 2 MiB-aligned part of `buffer`; buffers smaller than a page are left alone.
    static func advise(_ buffer: UnsafeMutableRawBufferPointer) {
        #if os(Linux)
        guard let base = buffer.baseAddress, buffer.count >= size else { return }
        let start = (UInt(bitPattern: base) + UInt(size - 1)) & ~UInt(size - 1)
        let end = (UInt(bitPattern: base) + UInt(buffer.count)) & ~UInt(size - 1)
        guard end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(pointer, Int(end - start), MADV_HUGEPAGE)
        #endif
    }

    /// A buffer of `byteCount` bytes, aligned to and advised for 2 MiB pages when that large.
    static func allocate(byteCount: Int) -> UnsafeMutableRawBufferPointer {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: byteCount, alignment: byteCount >= size ? size : 64)
        advise(buffer)
        return buffer
    }

    /// Writes a zero into every 4 KiB page of `region` (fresh memory about to be overwritten),
    /// so that the thread that fills it later does not take the page faults.
    static func touch(_ region: UnsafeMutableRawBufferPointer) {
        var offset = 0
        while offset < region.count {
            region[offset] = 0
            offset += 4096
        }
    }
}
