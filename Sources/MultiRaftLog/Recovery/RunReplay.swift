import RaftStorage

extension GroupState {
    /// Replays a part of entries and a HardState only (``BatchCodec/isRun(_:)``) as
    /// ``admit(_:entries:)`` and ``apply(_:kept:locations:file:)`` do a change holding the same,
    /// reading it from `parts` as it goes: the window's rule for a run of entries
    /// (``RaftStorage/LogWindow/acceptedRun(first:count:)``, the one its rule for entries uses),
    /// then the entries, then the HardState's rule.
    ///
    /// - Returns: why the group refuses the part, or `nil`. A refused part may have changed the
    ///   group: recovery then holds it broken, which only a later base part or removal ends
    ///   (both replace the whole state), or opening fails.
    /// - Throws: ``RaftStorage/StorageError/Code/corrupt`` when the part breaks the format.
    mutating func replayRun(_ flags: UInt8, from parts: inout RecordBodyReader) throws(StorageError) -> StorageError? {
        if let (first, count) = try parts.runHeader(flags) {
            let kept: Range<UInt64>
            do throws(StorageError) {
                kept = try window.acceptedRunInPlace(first: first, count: UInt64(count)).kept
            } catch {
                for offset in 0..<count { _ = try parts.runEntry(index: first + UInt64(offset)) }
                _ = try parts.runHardState(flags)
                return error
            }
            if kept.isEmpty {
                for offset in 0..<count { _ = try parts.runEntry(index: first + UInt64(offset)) }
            } else {
                try window.replace(from: kept.lowerBound) { (slots) throws(StorageError) in
                    for offset in 0..<count {
                        let index = first + UInt64(offset)
                        let (term, location) = try parts.runEntry(index: index)
                        if index >= kept.lowerBound { slots.append(term: term, at: location) }
                    }
                }
            }
        }
        let hardState = try parts.runHardState(flags)
        do throws(StorageError) {
            // After the entries, the window's last index is the one the save leaves.
            try hardState.validate(replacing: self.hardState, lastIndexAfterSave: window.lastIndex)
        } catch {
            return error
        }
        if !hardState.isEmpty { self.hardState = hardState }
        return nil
    }
}
