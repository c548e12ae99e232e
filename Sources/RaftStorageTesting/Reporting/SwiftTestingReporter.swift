import Testing

/// The only place the conformance kit meets Swift Testing: failed checks become issues of the
/// running test, at the caller's line, with the kit's step in the comment.
enum SwiftTestingReporter {
    /// Records `issue` in the running Swift Testing test; `false` when none is running.
    static func record(_ issue: ConformanceIssue) -> Bool {
        guard Test.current != nil else { return false }
        let location = SourceLocation(
            fileID: issue.caller.fileID, filePath: issue.caller.filePath, line: issue.caller.line, column: issue.caller.column)
        Issue.record(Comment(rawValue: issue.description), sourceLocation: location)
        return true
    }
}
