package import RaftStorage

extension StorageFile {
    /// Writes the first `end` bytes of the file again, as reading them returns them, 1 MiB at a
    /// time; not synced.
    ///
    /// After a failed fsync Linux may drop a file's dirty pages yet keep serving them from the
    /// page cache, and no later fsync writes them ("fsyncgate"); writing the bytes again makes
    /// them dirty, so the next fsync takes them to the disk.
    package func writeAgain(through end: Int64) throws(StorageError) {
        var chunk = [UInt8](repeating: 0, count: Int(min(max(end, 1), 1 << 20)))
        var offset: Int64 = 0
        while offset < end {
            let count = Int(min(Int64(chunk.count), end - offset))
            let read = try chunk.withMutableRawBytes { (raw) throws(StorageError) in
                try self.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<count]), at: offset)
            }
            guard read == count else { throw StorageError(.unexpectedEnd, "the file ended while writing it again", path: path, offset: offset + Int64(read)) }
            try chunk.withRawBytes { (raw) throws(StorageError) in try write(UnsafeRawBufferPointer(rebasing: raw[0..<count]), at: offset) }
            offset += Int64(count)
        }
    }
}
