import RaftStorage
import RaftFiles
import RaftStorageTesting
import Synchronization

/// The real file system whose fdatasyncs can fail or slow down, and are counted.
final class FlakyFileSystem: Sendable {
    struct Settings {
        var failDataSync = false
        var syncDelay: Duration = .zero
        var dataSyncs = 0
    }

    let settings = Mutex(Settings())

    /// The file system to hand to the WAL: fdatasyncs obey `settings`.
    var fileSystem: SyncHookFileSystem {
        SyncHookFileSystem { [self] kind, path, perform throws(StorageError) in
            guard kind == .data else { return try perform() }
            let (fail, delay) = settings.withLock { settings in
                settings.dataSyncs += 1
                return (settings.failDataSync, settings.syncDelay)
            }
            if delay > .zero {
                let clock = ContinuousClock()
                let end = clock.now + delay
                while clock.now < end {}
            }
            if fail { throw StorageError(.io, "injected fdatasync failure", path: path, errno: 5) }
            try perform()
        }
    }
}
