/// Thrown by the crash-consistency checkers when a workload cannot even run without a crash
/// (or needs something the checker was not given), so there is nothing to enumerate.
public struct CrashConsistencyFailure: Error, CustomStringConvertible, Sendable {
    /// What went wrong.
    public let description: String

    /// A failure saying `description`.
    public init(_ description: String) {
        self.description = description
    }
}
