import Logging
import CoreMetrics
import RaftStorage
import RaftFiles

extension WALWriter {
    /// etcd's `cut` (Docs/OnDiskFormat.md, Writing, syncing and cutting): seal the tail at its real end, start the next
    /// segment in the spare file, and make the new name durable.
    mutating func cut() throws(StorageError) {
        // A segment name taken from a damaged or hostile directory may leave no number to follow.
        let (sequence, noSequence) = segments[segments.count - 1].name.sequence.addingReportingOverflow(1)
        let (firstIndex, noIndex) = highestIndex.addingReportingOverflow(1)
        guard !noSequence, !noIndex else {
            throw StorageError(.corrupt, "no WAL segment can follow \(segments[segments.count - 1].name.fileName): its sequence number or the next index would pass \(UInt64.max)", path: directory)
        }
        try flush()
        try tail.file.truncate(to: tail.flushedOffset)
        try sync()

        let name = SegmentName(sequence: sequence, index: firstIndex)
        let target = fileSystem.join(directory, name.fileName)
        let spare = try takeSpare()
        var writer = PageWriter(file: spare.file, offset: 0)
        try Self.writeHeader(into: &writer, codec: codec, crc: &crc, metadata: storedMetadata, state: lastState)
        try Self.flush(&writer, options: options, instruments: instruments)
        try syncData(spare.file, through: 0)
        try fileSystem.rename(spare.path, to: target)
        // The rename is durable only with the directory; done even without fsync (as etcd).
        try fileSystem.syncDirectory(directory)

        // Reopen under the final name so errors name the right file. The spare's lock ends
        // with its descriptor (open-file-description locks would conflict with a second one).
        try spare.file.close()
        let file = try fileSystem.open(target, .readWrite, permissions: 0o600)
        try file.lock(wait: true)
        segments.append(HeldSegment(name: name, file: file))
        tail = PageWriter(file: file, offset: writer.flushedOffset, writtenThrough: writer.writtenThrough)
        instruments.segmentsCut.increment()
        try prepareSpareUnlessOutOfSpace()
    }

    /// What every segment starts with: the running CRC, the metadata and the last HardState
    /// (Docs/OnDiskFormat.md, What each segment starts with).
    static func writeHeader(
        into writer: inout PageWriter, codec: Codec, crc: inout UInt32, metadata: [UInt8]?, state: HardState
    ) throws(StorageError) {
        try writer.append(.crc(crc), codec: codec, crc: &crc)
        try writer.append(.metadata(metadata), codec: codec, crc: &crc)
        if !state.isEmpty {
            try writer.append(.hardState(state), codec: codec, crc: &crc)
        }
    }

    /// Creates the next spare segment, `0.tmp` or `1.tmp` in turn, locked and preallocated.
    ///
    /// Unlike etcd, a stale spare left by a crash is cut to zero first, so no old bytes can
    /// follow the new segment's records.
    mutating func prepareSpare() throws(StorageError) {
        guard spare == nil else { return }
        let path = fileSystem.join(directory, "\(spareCount % 2).tmp")
        spareCount += 1
        let file = try fileSystem.open(path, [.write, .create], permissions: 0o600)
        do {
            try file.lock(wait: false)
            try file.truncate(to: 0)
            try file.preallocate(to: options.segmentSize)
        } catch {
            try? file.close()
            // A half-allocated spare would only hold on to the space that ran out.
            if error.isOutOfSpace { try? fileSystem.removeFile(path) }
            throw error
        }
        spare = HeldSpare(path: path, file: file)
    }

    /// ``prepareSpare()``, except that a full disk only logs: the WAL stays usable (and can be
    /// opened to be read) until the next cut, which tries again and reports the full disk.
    mutating func prepareSpareUnlessOutOfSpace() throws(StorageError) {
        do {
            try prepareSpare()
        } catch where error.isOutOfSpace {
            options.logger.warning("no space for the next WAL segment; the next cut will fail unless space is freed", metadata: [
                "directory": "\(directory)", "error": "\(error)",
            ])
        }
    }

    private mutating func takeSpare() throws(StorageError) -> HeldSpare {
        try prepareSpare()
        let taken = spare!
        spare = nil
        return taken
    }

    // MARK: - Releasing and purging

    /// etcd's `ReleaseLockTo` (Docs/OnDiskFormat.md, Writing, syncing and cutting): unlock every held segment whose start
    /// index is below `index` except the newest of them, which may hold entries around `index`
    /// and the snapshot record. Released segments can then be purged.
    mutating func releaseSegments(below index: UInt64) throws(StorageError) {
        let firstAtOrAbove = segments.firstIndex { $0.name.index >= index }
        let smaller = (firstAtOrAbove ?? segments.count) - 1
        guard smaller > 0 else { return }
        for segment in segments[..<smaller] { try segment.file.close() }
        segments.removeFirst(smaller)
    }

    /// Deletes the oldest segments this WAL no longer holds, keeping the newest `keeping`
    /// segment files, as etcd's purge loop does: it stops at the first segment still held, and
    /// at the newest segment starting below `index` (the one ``releaseSegments(below:)`` keeps).
    ///
    /// - Returns: the paths removed.
    func purgeReleasedSegments(keeping: Int, below index: UInt64 = .max) throws(StorageError) -> [String] {
        let names = try WALDirectory.segments(in: directory, fileSystem: fileSystem, logger: options.logger)
        guard names.count > keeping else { return [] }
        let held = Set(segments.map(\.name))
        var removed: [String] = []
        for (position, name) in names.dropLast(max(keeping, 0)).enumerated() {
            if held.contains(name) || (position + 1 < names.count && names[position + 1].index >= index) { break }
            let path = fileSystem.join(directory, name.fileName)
            let file = try fileSystem.open(path, .readWrite, permissions: 0)
            do {
                try file.lock(wait: false)
            } catch {
                try? file.close()
                if error.code == .locked { break }
                throw error
            }
            defer { try? file.close() }
            try fileSystem.removeFile(path)
            // Each removal is made durable before the next, oldest first: after a power loss the
            // segments left are still a contiguous sequence, which opening requires. Without
            // the fsync a file system may persist a later unlink and not an earlier one.
            try fileSystem.syncDirectory(directory)
            removed.append(path)
        }
        return removed
    }
}
