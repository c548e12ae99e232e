#if canImport(Glibc)
import Glibc
#endif

/// Asks Linux to back large buffers with 2 MiB pages.
///
/// Why: snapshot pipelines allocate their block buffers (and a whole load its result) afresh
/// for each snapshot, and a replay its entries' buffers, and first touching fresh memory costs a
/// page fault per 4 KiB page. On the project's virtual machines that was ~26 ms per 64 MiB, more
/// than decompressing it; with 2 MiB pages it is ~5 ms (measured, see Docs/Performance.md). Transparent huge pages are commonly set to
/// `madvise`, so they must be asked for. Only whole 2 MiB pages inside the buffer are advised;
/// the advice is a hint, and failure (no THP support, other systems) changes nothing.
package enum HugePages {
    package static let size = 2 << 20

    /// Advises the 2 MiB-aligned part of `buffer`; buffers smaller than a page are left alone.
    package static func advise(_ buffer: UnsafeMutableRawBufferPointer) {
        #if os(Linux)
        guard let base = buffer.baseAddress, buffer.count >= size else { return }
        let start = (UInt(bitPattern: base) + UInt(size - 1)) & ~UInt(size - 1)
        let end = (UInt(bitPattern: base) + UInt(buffer.count)) & ~UInt(size - 1)
        guard end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(pointer, Int(end - start), MADV_HUGEPAGE)
        #endif
    }

    /// Advises the reserved room of `array` (its capacity, not only its elements): for arrays
    /// reserved for many elements before they are appended.
    package static func advise<Element>(capacityOf array: inout [Element]) {
        let capacity = array.capacity * MemoryLayout<Element>.stride
        guard capacity >= size else { return }
        array.withUnsafeMutableBufferPointer { elements in
            guard let base = elements.baseAddress else { return }
            advise(UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(base), count: capacity))
        }
    }

    /// A buffer of `byteCount` bytes, aligned to and advised for 2 MiB pages when that large.
    package static func allocate(byteCount: Int) -> UnsafeMutableRawBufferPointer {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: byteCount, alignment: byteCount >= size ? size : 64)
        advise(buffer)
        return buffer
    }

    /// Writes a zero into every 4 KiB page of `region` (fresh memory about to be overwritten),
    /// so that the thread that fills it later does not take the page faults.
    package static func touch(_ region: UnsafeMutableRawBufferPointer) {
        var offset = 0
        while offset < region.count {
            region[offset] = 0
            offset += 4096
        }
    }
}
