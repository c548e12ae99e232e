import RaftStorage
import RaftFiles

extension SegmentWindow {
    /// The offset just past the last non-zero byte in `range`, or `range.lowerBound` when the
    /// range holds only zeros. Bytes the file no longer has (it shrank) count as zeros.
    ///
    /// Reads backwards in chunks through a buffer of its own, so the window's records stay loaded.
    ///
    /// Only the parts the file system says may hold data are read (``RaftFiles/StorageFile/dataRanges(in:)``):
    /// the never-written rest of a preallocated segment costs nothing.
    func endOfData(in range: Range<Int>) throws(StorageError) -> Int {
        guard !range.isEmpty else { return range.lowerBound }
        var buffer: [UInt8] = []
        for data in try dataRanges(in: range).reversed() {
            if buffer.isEmpty { buffer = [UInt8](repeating: 0, count: min(Self.chunk, range.count)) }
            var end = data.upperBound
            while end > data.lowerBound {
                let begin = max(data.lowerBound, end - buffer.count)
                let found = try read(begin..<end, into: &buffer) { raw in ZeroScan.lastNonZero(raw) }
                if let found { return begin + found + 1 }
                end = begin
            }
        }
        return range.lowerBound
    }

    /// The offset of the first non-zero byte in `range`, or `nil` when it holds only zeros
    /// (reading only what may hold data, as ``endOfData(in:)``).
    func firstNonZero(in range: Range<Int>) throws(StorageError) -> Int? {
        guard !range.isEmpty else { return nil }
        var buffer: [UInt8] = []
        for data in try dataRanges(in: range) {
            if buffer.isEmpty { buffer = [UInt8](repeating: 0, count: min(Self.chunk, range.count)) }
            var begin = data.lowerBound
            while begin < data.upperBound {
                let end = min(data.upperBound, begin + buffer.count)
                if let found = try read(begin..<end, into: &buffer, { raw in ZeroScan.firstNonZero(raw) }) { return begin + found }
                begin = end
            }
        }
        return nil
    }

    /// The parts of `range` that may hold data.
    private func dataRanges(in range: Range<Int>) throws(StorageError) -> [Range<Int>] {
        try file.dataRanges(in: Int64(range.lowerBound)..<Int64(range.upperBound)).map { Int($0.lowerBound)..<Int($0.upperBound) }
    }

    /// Whether any 512-byte piece of `range`, cut at sector boundaries of the file, is all
    /// zeros (etcd's test for a torn write): a sector the disk never got.
    func hasZeroSector(in range: Range<Int>) throws(StorageError) -> Bool {
        guard !range.isEmpty else { return false }
        var buffer = [UInt8](repeating: 0, count: range.count)
        return try read(range, into: &buffer) { raw in
            var pieceStart = 0
            while pieceStart < raw.count {
                let pieceEnd = min(raw.count, ((range.lowerBound + pieceStart) / 512 + 1) * 512 - range.lowerBound)
                if ZeroScan.firstNonZero(UnsafeRawBufferPointer(rebasing: raw[pieceStart..<pieceEnd])) == nil { return true }
                pieceStart = pieceEnd
            }
            return raw.count < range.count
        }
    }

    /// Reads `range` into the front of `buffer` and hands the bytes read to `body`.
    private func read<Result>(
        _ range: Range<Int>, into buffer: inout [UInt8], _ body: (UnsafeRawBufferPointer) -> Result
    ) throws(StorageError) -> Result {
        let file = self.file
        return try buffer.withMutableRawBytes { (raw) throws(StorageError) in
            let target = UnsafeMutableRawBufferPointer(rebasing: raw[0..<range.count])
            let count = try file.read(into: target, at: Int64(range.lowerBound))
            return body(UnsafeRawBufferPointer(rebasing: target[0..<count]))
        }
    }
}

/// Finding non-zero bytes eight at a time: the check runs over whole preallocated segments.
enum ZeroScan {
    static func firstNonZero(_ raw: UnsafeRawBufferPointer) -> Int? {
        var index = 0
        while index + 8 <= raw.count {
            if raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) != 0 { break }
            index += 8
        }
        while index < raw.count {
            if raw[index] != 0 { return index }
            index += 1
        }
        return nil
    }

    static func lastNonZero(_ raw: UnsafeRawBufferPointer) -> Int? {
        var end = raw.count
        while end >= 8 && raw.loadUnaligned(fromByteOffset: end - 8, as: UInt64.self) == 0 { end -= 8 }
        while end > 0 {
            if raw[end - 1] != 0 { return end - 1 }
            end -= 1
        }
        return nil
    }
}
