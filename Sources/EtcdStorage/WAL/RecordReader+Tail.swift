import RaftStorage
import RaftFiles

// The rule that tells a torn tail from damage (Docs/Recovery.md, "Torn tail or damage").
//
// A power cut during a write leaves, after the last record that reached the disk whole, a
// record whose bytes are partly missing (zeros, or past the end of the file); nothing after it
// was acknowledged, so it may be cut off. Damage leaves a record that was written whole and
// changed later, usually with the records written after it still intact. So a failure in the
// last segment is damage when an intact record - one whose CRC chains with a neighbour's - lies
// after it, or when the record itself reached the disk whole (no zeros in it, its last byte
// there) and still does not verify; otherwise it is a torn write.

extension RecordReader {
    /// Classifies a record of the last file that failed at `start`: a torn write
    /// (``RaftStorage/StorageError/Code/unexpectedEnd``) or damage (`cause`, as
    /// ``RaftStorage/StorageError/Code/corrupt`` when it was a plain truncation).
    ///
    /// - Parameters:
    ///   - frameEnd: where the frame ends by its length word (may lie past the end of the file).
    ///   - bodyEnd: where the record's bytes end by its length word (before the padding).
    func classifyTailFailure(at start: Int, frameEnd: Int, bodyEnd: Int, cause: StorageError) throws(StorageError) -> StorageError {
        let window = self.window!
        let size = window.size
        let dataEnd = try window.endOfData(in: start..<size)
        if let anchor = try intactRecord(after: start, claimedEnd: frameEnd, bodyEnd: bodyEnd, dataEnd: dataEnd) {
            return damage(cause, at: start, "an intact record at offset \(anchor) follows it")
        }
        if frameEnd <= size, dataEnd >= bodyEnd, try !window.hasZeroSector(in: start..<frameEnd) {
            return damage(cause, at: start, "the record reached the disk whole (no zeroed sector, its last byte there), so it was not torn")
        }
        return StorageError(
            .unexpectedEnd, "torn write: the record's bytes end in zeros or at the end of the file, and nothing intact follows (\(cause.message))",
            path: window.path, offset: Int64(start))
    }

    /// A zero length word at `start` ends a file unless an intact record follows it (the word
    /// was zeroed after it was written); other bytes there are left for the writer to zero
    /// (etcd's `ZeroToEnd`).
    func checkEndOfLog(at start: Int) throws(StorageError) {
        let window = self.window!
        let dataEnd = try window.endOfData(in: start..<window.size)
        guard dataEnd > start, let anchor = try intactRecord(after: start, claimedEnd: nil, bodyEnd: nil, dataEnd: dataEnd) else { return }
        throw StorageError(
            .corrupt,
            "the log ends at offset \(start) (a zero length word), but an intact record follows at offset \(anchor): "
                + "records after it were written and may be acknowledged; damage, not a torn write",
            path: window.path, offset: Int64(start))
    }

    private func damage(_ cause: StorageError, at start: Int, _ reason: String) -> StorageError {
        var error = cause
        if error.code == .unexpectedEnd { error.code = .corrupt }
        error.path = window!.path
        if error.offset == nil { error.offset = Int64(start) }
        error.message += "; damage, not a torn write: \(reason)"
        return error
    }

    /// The offset of a record after the one failed at `start` that is provably one this log
    /// wrote, or `nil`: the failed record itself verifying with another length (its length
    /// word was damaged), the record after its claimed end chaining from the CRC it stores,
    /// or any two records in a row whose CRCs chain.
    private func intactRecord(after start: Int, claimedEnd: Int?, bodyEnd: Int?, dataEnd: Int) throws(StorageError) -> Int? {
        var scanner = try SegmentWindow(path: window!.path, fileSystem: fileSystem)
        defer { scanner.close() }
        if let claimedEnd, let bodyEnd, claimedEnd < dataEnd, let failed = try decoded((start + 8)..<bodyEnd, in: &scanner),
            let next = try frame(at: claimedEnd, in: &scanner), next.isChained(after: failed.checksum)
        {
            return claimedEnd
        }
        var predecessorTries = 0
        var candidate = start + 8
        while candidate + 8 <= dataEnd {
            defer { candidate += 8 }
            guard let record = try frame(at: candidate, in: &scanner) else { continue }
            if predecessorTries < 16 {
                predecessorTries += 1
                if try failedRecordVerifies(from: start, endingAt: candidate, in: &scanner) { return candidate }
            }
            if let next = try frame(at: candidate + record.frameSize, in: &scanner), next.isChained(after: record.checksum) {
                return candidate
            }
        }
        // The failed record as the last one written, with a length word claiming too much.
        let end = (dataEnd + 7) / 8 * 8
        for frameEnd in stride(from: max(end, start + 16), through: end + 64, by: 8) where frameEnd <= scanner.size {
            if try failedRecordVerifies(from: start, endingAt: frameEnd, in: &scanner) { return start }
        }
        return nil
    }

    /// Whether the record at `start` verifies (decodes, and continues the running CRC) when its
    /// frame is taken to end at `frameEnd`, with any of the paddings a writer could have used.
    private func failedRecordVerifies(from start: Int, endingAt frameEnd: Int, in scanner: inout SegmentWindow) throws(StorageError) -> Bool {
        for padding in 0..<8 {
            let length = frameEnd - start - 8 - padding
            guard length > 0, (8 - length % 8) % 8 == padding else { continue }
            guard let record = try decoded(start + 8..<(start + 8 + length), in: &scanner) else { continue }
            if record.isChained(after: crc) { return true }
        }
        return false
    }

    /// The record framed at `offset`, when its length word is one a writer produces and its
    /// bytes decode.
    private func frame(at offset: Int, in scanner: inout SegmentWindow) throws(StorageError) -> CandidateRecord? {
        guard offset + 8 <= scanner.size, try scanner.load(offset..<(offset + 8)) else { return nil }
        let base = scanner.start
        let word = scanner.withBytes { raw in UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset - base, as: UInt64.self)) }
        guard let (length, padding) = Framing.plausible(word: word, room: scanner.size - offset - 8) else { return nil }
        guard var record = try decoded((offset + 8)..<(offset + 8 + length), in: &scanner) else { return nil }
        record.frameSize = 8 + length + padding
        return record
    }

    /// The record in `bytes` of the file, decoded by the codec, or `nil` when it does not decode.
    private func decoded(_ bytes: Range<Int>, in scanner: inout SegmentWindow) throws(StorageError) -> CandidateRecord? {
        guard bytes.upperBound <= scanner.size, try scanner.load(bytes) else { return nil }
        let base = scanner.start
        let codec = self.codec
        return scanner.withBytes { raw in
            let body = UnsafeRawBufferPointer(rebasing: raw[(bytes.lowerBound - base)..<(bytes.upperBound - base)])
            guard let decoded = try? codec.decode(body) else { return nil }
            if case .crc = decoded.record { return CandidateRecord(checksum: decoded.checksum, payload: nil) }
            guard decoded.payload.lowerBound >= 0, decoded.payload.upperBound <= body.count else { return nil }
            return CandidateRecord(checksum: decoded.checksum, payload: Array(UnsafeRawBufferPointer(rebasing: body[decoded.payload])))
        }
    }
}

/// A record found while looking for intact data after a failure.
struct CandidateRecord {
    /// The CRC the record stores (for a crc record, the running CRC it carries).
    var checksum: UInt32
    /// The bytes the CRC covers; `nil` for a crc record, which proves nothing about its neighbours.
    var payload: [UInt8]?
    /// Length word, record and padding.
    var frameSize = 0

    /// Whether this record's CRC continues `previous`, the CRC stored by the record before it.
    func isChained(after previous: UInt32) -> Bool {
        guard let payload else { return false }
        return payload.withUnsafeBytes { CRC32C.update(previous, $0) } == checksum
    }
}
