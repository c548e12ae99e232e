/// Thrown by the crash-consistency checkers when a workload cannot even run without a crash,
/// so there is nothing to enumerate.
public struct CrashConsistencyFailure: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
