// The standard library's `withUnsafeBytes` on arrays still `rethrows` untyped errors, which a
// `throws(StorageError)` caller cannot pass through; these wrappers keep the error type.

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` that preserves a typed error.
    @inlinable
    package func withRawBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let outcome: Swift.Result<Result, Failure> = withUnsafeBytes { raw in
            Swift.Result { () throws(Failure) in try body(raw) }
        }
        return try outcome.get()
    }

    /// `withUnsafeMutableBytes` that preserves a typed error.
    @inlinable
    package mutating func withMutableRawBytes<Result, Failure: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let outcome: Swift.Result<Result, Failure> = withUnsafeMutableBytes { raw in
            Swift.Result { () throws(Failure) in try body(raw) }
        }
        return try outcome.get()
    }
}
