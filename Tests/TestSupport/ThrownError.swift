public import RaftStorage
import Testing

/// The `StorageError` `call` threw, or `nil` when it returned; any other error is recorded as a
/// test issue (and gives `nil`).
public func thrownStorageError(_ call: () throws -> Void) -> StorageError? {
    do {
        try call()
        return nil
    } catch let error as StorageError {
        return error
    } catch {
        Issue.record("threw \(error), not a StorageError")
        return nil
    }
}
