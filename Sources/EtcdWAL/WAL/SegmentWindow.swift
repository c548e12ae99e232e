import RaftStorage

/// A segment file read through a window that grows only as far as records are read.
///
/// Reading stops at the first zero length word, so the preallocated zero tail of a 64 MB
/// segment is never read, and memory stays at one chunk or one record, bounded by the file's
/// real size whatever a length word claims.
struct SegmentWindow {
    static let chunk = 1 << 20

    let path: String
    let size: Int
    private let file: any StorageFile
    /// Bytes of the file starting at `start`.
    private(set) var bytes: [UInt8] = []
    private(set) var start = 0

    init(path: String, fileSystem: any FileSystem) throws(StorageError) {
        self.path = path
        file = try fileSystem.open(path, .read, permissions: 0)
        do {
            size = Int(try file.size())
        } catch {
            try? file.close()
            throw error
        }
    }

    func close() { try? file.close() }

    /// Makes `range` (which lies within the file's size) available in ``bytes``; returns false
    /// when the file turned out shorter than its size said.
    mutating func load(_ range: Range<Int>) throws(StorageError) -> Bool {
        if range.lowerBound >= start && range.upperBound <= start + bytes.count { return true }
        let count = min(max(range.count, Self.chunk), size - range.lowerBound)
        bytes = [UInt8](repeating: 0, count: count)
        let file = self.file
        let offset = Int64(range.lowerBound)
        let read = try bytes.withMutableRawBytes { (buffer) throws(StorageError) in try file.read(into: buffer, at: offset) }
        if read < count { bytes.removeLast(count - read) }
        start = range.lowerBound
        return range.upperBound <= start + bytes.count
    }
}
