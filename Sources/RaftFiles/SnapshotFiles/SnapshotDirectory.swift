package import RaftStorage
/// The directory of a file-based snapshot store: one file per snapshot, named
/// `<term>-<index><suffix>` (etcd's naming), with etcd's set-aside rule for damaged files and
/// atomic, durable saves that etcd lacks.
///
/// Shared by `EtcdSnapshotStore` (`.snap`) and `LZ4SnapshotStore` (`.snap.lz4`), which only add
/// their file content. `package` rather than `public`: it is a building block of this package's
/// stores, not API. All I/O goes through the injected ``FileSystem``.
///
/// - Saves write `<name>.<random>.tmp`, fsync it, rename it over `<name>` and fsync the
///   directory, so a crash leaves the old set of files or the new one, plus at worst a stale
///   `.tmp`, which ``init(path:suffix:fileSystem:isForeign:report:)`` removes.
/// - Names that do not parse are reported (``SnapshotDirectoryEvent/unrecognizedName(_:)``) and
///   otherwise left alone; nothing but this store's own temporary files is ever deleted except
///   by ``retainNewest(_:)``.
/// - A file that fails to read or verify is renamed `<name>.broken` (`<name>.broken.1`, ... when
///   that exists), never deleted, and the next older one is tried.
package final class SnapshotDirectory: Sendable {
    package let fileSystem: any FileSystem
    package let path: String
    /// The file-name suffix of this store's snapshots, such as `.snap`.
    package let suffix: String
    private let isForeign: @Sendable (String) -> Bool
    private let report: @Sendable (SnapshotDirectoryEvent) -> Void

    /// Opens `path` (creating it, not its parents, when missing, and making its name durable)
    /// and removes the temporary files a crashed save left behind.
    ///
    /// - Parameters:
    ///   - isForeign: names that belong to someone else in a shared directory (etcd's `db` in
    ///     `member/snap`), skipped without a report.
    ///   - report: receives what the directory noticed or did, for logging.
    package init(
        path: String,
        suffix: String,
        fileSystem: any FileSystem,
        isForeign: @escaping @Sendable (String) -> Bool = { _ in false },
        report: @escaping @Sendable (SnapshotDirectoryEvent) -> Void = { _ in }
    ) throws(StorageError) {
        self.fileSystem = fileSystem
        self.path = path
        self.suffix = suffix
        self.isForeign = isForeign
        self.report = report
        try fileSystem.createDirectory(path, permissions: 0o700)
        // A new directory's name is durable only with its parent; an existing one may come from
        // an open whose fsync failed, so this runs on every open (one fsync).
        try fileSystem.syncDirectory(fileSystem.parentDirectory(of: path))
        // So may the names in it (a process killed between a snapshot's rename and the
        // directory's fsync): durable before anything is built on them.
        try fileSystem.syncDirectory(path)
        try removeTemporaryFiles()
    }

    /// The path of the snapshot file for `marker`.
    package func filePath(of marker: SnapshotMarker) -> String {
        fileSystem.join(path, marker.fileName(suffix: suffix))
    }

    // MARK: - Listing

    private enum Kind {
        case snapshot(SnapshotMarker)
        case temporary
        case setAside
        case other
    }

    private func classify(_ name: String) -> Kind {
        if let marker = SnapshotMarker(fileName: name, suffix: suffix) { return .snapshot(marker) }
        let stem = 33 + suffix.utf8.count
        if name.utf8.count > stem,
            SnapshotMarker(fileName: String(decoding: name.utf8.prefix(stem), as: UTF8.self), suffix: suffix) != nil
        {
            let rest = String(decoding: name.utf8.dropFirst(stem), as: UTF8.self)
            if rest.hasPrefix(".") && rest.hasSuffix(".tmp") { return .temporary }
            if rest == ".broken" || rest.hasPrefix(".broken.") { return .setAside }
        }
        return .other
    }

    /// The markers of the stored snapshots, newest first (by term, then index).
    package func markers() throws(StorageError) -> [SnapshotMarker] {
        var markers: [SnapshotMarker] = []
        for name in try fileSystem.contentsOfDirectory(path) {
            switch classify(name) {
            case .snapshot(let marker): markers.append(marker)
            case .temporary, .setAside: break
            case .other: if !isForeign(name) { report(.unrecognizedName(name)) }
            }
        }
        return markers.sorted(by: >)
    }

    // MARK: - Saving

    /// Writes the snapshot file for `marker` atomically and durably: `body` fills a new temporary
    /// file, which is then fsynced, renamed over the final name, and the directory fsynced.
    /// On any error the temporary file is removed and nothing changes.
    package func write(
        _ marker: SnapshotMarker,
        _ body: (any StorageFile) throws(StorageError) -> Void
    ) throws(StorageError) {
        let final = filePath(of: marker)
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let temporary = final + "." + String(repeating: "0", count: 16 - random.count) + random + ".tmp"
        let file = try fileSystem.open(temporary, [.write, .create, .exclusive], permissions: 0o600)
        do {
            try body(file)
            try file.sync()
            try file.close()
            try fileSystem.rename(temporary, to: final)
        } catch {
            try? file.close()
            try? fileSystem.removeFile(temporary)
            throw error
        }
        try fileSystem.syncDirectory(path)
    }

    // MARK: - Loading

    /// Reads the newest snapshot whose marker is one of `markers` (any, when `nil`) with `read`,
    /// setting aside each file whose read fails with damage (see ``isDamage(_:)``) and trying
    /// the next older one. Other errors stop the search and are rethrown unchanged.
    ///
    /// Files are chosen by name, so newer snapshots that do not match are never opened. `read`
    /// should check that the content's (index, term) agree with the name.
    package func loadNewest<Value>(
        matching markers: [SnapshotMarker]?,
        isDamage: (StorageError) -> Bool = SnapshotDirectory.isDamage,
        _ read: (_ file: any StorageFile, _ marker: SnapshotMarker) throws(StorageError) -> Value
    ) throws(StorageError) -> Value? {
        for marker in try self.markers() where markers?.contains(where: marker.matches) ?? true {
            let filePath = filePath(of: marker)
            let file: any StorageFile
            do {
                file = try fileSystem.open(filePath, .read, permissions: 0)
            } catch where error.code == .notFound {
                continue  // removed since it was listed (retention racing this load)
            }
            do {
                let value = try read(file, marker)
                try? file.close()
                return value
            } catch {
                try? file.close()
                guard isDamage(error) else { throw error }
                setAside(marker, because: error.path == nil ? error.at(path: filePath) : error)
            }
        }
        return nil
    }

    /// Whether a read error means the file is damaged: undecodable, a checksum mismatch, or
    /// cut short. I/O errors are not damage; they may be passing.
    package static func isDamage(_ error: StorageError) -> Bool {
        error.code == .corrupt || error.code == .crcMismatch || error.code == .unexpectedEnd
    }

    /// Checks that the snapshot read from a file is the one its name says.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/corrupt`` when (index, term) differ, or for a snapshot at
    ///   index 0 (which stands for no snapshot and is never saved).
    package static func check(_ metadata: SnapshotMetadata, against marker: SnapshotMarker) throws(StorageError) {
        guard metadata.index != 0 else {
            throw StorageError(.corrupt, "the file holds an empty snapshot (index 0)")
        }
        guard metadata.marker.matches(marker) else {
            throw StorageError(
                .corrupt,
                "the file name says index \(marker.index) term \(marker.term), the snapshot inside is index \(metadata.index) term \(metadata.term)")
        }
    }

    /// Renames the snapshot file for `marker` to `<name>.broken` (or `.broken.<n>` when taken),
    /// as etcd does; a failed rename is only reported.
    package func setAside(_ marker: SnapshotMarker, because reason: StorageError) {
        let source = filePath(of: marker)
        let destination = fileSystem.setAsidePath(for: source)
        do {
            try fileSystem.rename(source, to: destination)
            try fileSystem.syncDirectory(path)
            report(.setAside(file: source, renamedTo: destination, reason: reason))
        } catch {
            report(.setAsideFailed(file: source, reason: reason, renameError: error))
        }
    }

    // MARK: - Removing

    /// Removes all but the newest `count` snapshot files (at least one stays) and returns the
    /// markers removed. Durable on return.
    @discardableResult
    package func retainNewest(_ count: Int) throws(StorageError) -> [SnapshotMarker] {
        let removed = Array(try markers().dropFirst(max(1, count)))
        guard !removed.isEmpty else { return [] }
        for marker in removed {
            do {
                try fileSystem.removeFile(filePath(of: marker))
                report(.removed(filePath(of: marker)))
            } catch where error.code == .notFound {
                // already gone
            }
        }
        try fileSystem.syncDirectory(path)
        return removed
    }

    private func removeTemporaryFiles() throws(StorageError) {
        var removedAny = false
        for name in try fileSystem.contentsOfDirectory(path) {
            guard case .temporary = classify(name) else { continue }
            let temporary = fileSystem.join(path, name)
            do {
                try fileSystem.removeFile(temporary)
                removedAny = true
                report(.removedTemporaryFile(temporary))
            } catch where error.code == .notFound {
                // already gone
            }
        }
        if removedAny { try fileSystem.syncDirectory(path) }
    }
}

/// What a ``SnapshotDirectory`` noticed or did, for the store's log.
package enum SnapshotDirectoryEvent: Sendable, Hashable {
    /// A file name that is not this store's; it is left alone.
    case unrecognizedName(String)
    /// A temporary file left by a save that did not finish was removed.
    case removedTemporaryFile(String)
    /// A damaged snapshot file was renamed.
    case setAside(file: String, renamedTo: String, reason: StorageError)
    /// A damaged snapshot file could not be renamed.
    case setAsideFailed(file: String, reason: StorageError, renameError: StorageError)
    /// Retention removed a snapshot file.
    case removed(String)
}

extension SnapshotDirectoryEvent {
    /// One line for a log.
    package var message: String {
        switch self {
        case .unrecognizedName(let name): "ignoring '\(name)': not a snapshot file name"
        case .removedTemporaryFile(let path): "removed \(path), left by a snapshot save that did not finish"
        case .setAside(let path, let broken, let reason): "set aside unreadable snapshot \(path) as \(broken): \(reason)"
        case .setAsideFailed(let path, let reason, let renameError):
            "unreadable snapshot \(path) (\(reason)) could not be set aside: \(renameError)"
        case .removed(let path): "removed old snapshot \(path)"
        }
    }

    /// Whether an operator should look: something unexpected was found.
    package var isWarning: Bool {
        switch self {
        case .unrecognizedName, .setAside, .setAsideFailed: true
        case .removedTemporaryFile, .removed: false
        }
    }
}
