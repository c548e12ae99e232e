import RaftStorage
import Testing

/// The window's rule for a run of appended indexes, taken two ways: the general rule, and the
/// in-place call with its shortcut for a run right after the last index. Both must give the
/// same indexes to keep and throw for the same runs.
@Suite("A run's accepted indexes")
struct AcceptedRunTests {
    /// A window after `boundary` holding entries up to `last`.
    static func window(boundary: UInt64, last: UInt64) -> LogWindow<EntrySlots> {
        var window = LogWindow<EntrySlots>(boundaryIndex: boundary, boundaryTerm: 1)
        if last > boundary {
            window.replace(from: boundary + 1) { $0.append(contentsOf: ((boundary + 1)...last).map { Entry(term: 1, index: $0) }) }
        }
        return window
    }

    @Test(arguments: [(UInt64(0), UInt64(0)), (0, 5), (3, 3), (3, 9), (10, 12)])
    func inPlaceAgreesWithTheRule(boundary: UInt64, last: UInt64) {
        var window = Self.window(boundary: boundary, last: last)
        #expect(window.lastIndex == last)
        for first in UInt64(0)...(last + 3) {
            for count in UInt64(0)...4 {
                let general = Result { () throws(StorageError) in try window.acceptedRun(first: first, count: count) }
                let inPlace = Result { () throws(StorageError) in try window.acceptedRunInPlace(first: first, count: count) }
                switch (general, inPlace) {
                case (.success(let kept), .success(let fast)):
                    #expect(fast.kept == kept, "first \(first), count \(count)")
                    #expect(fast.lastIndex == last)
                case (.failure(let error), .failure(let fastError)):
                    #expect(fastError.code == error.code, "first \(first), count \(count)")
                default:
                    Issue.record("first \(first), count \(count): \(general) against \(inPlace)")
                }
            }
        }
    }
}
