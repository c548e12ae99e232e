package import RaftStorage
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The calling thread's current `errno`.
@usableFromInline
var currentErrno: Int32 { errno }

extension StorageError {
    /// An `.io` error for a failed system call, carrying the current `errno`.
    package static func systemCall(_ call: String, path: String? = nil, offset: Int64? = nil, errno code: Int32 = currentErrno) -> StorageError {
        StorageError(.io, "\(call) failed", path: path, offset: offset, errno: code)
    }
}
