import FuzzSupport
import RaftStorage
import RaftStorageTesting

/// The snapshot every fuzzed file is named after: term 1, index 5 (the seeds are snapshots there).
public let fuzzedMarker = SnapshotMarker(index: 5, term: 1)
/// Its file name without the store's suffix (`<term>-<index>`, 16 hex digits each).
public let fuzzedName = "0000000000000001-0000000000000005"

/// A file system holding `bytes` as the snapshot file `name` in `/snap`.
public func fileSystem(holding bytes: UnsafeRawBufferPointer, as name: String) -> FaultInjectingFileSystem {
    let fs = FaultInjectingFileSystem()
    do {
        try fs.createDirectory("/snap", permissions: 0o700)
        let file = try fs.open("/snap/" + name, [.write, .create], permissions: 0o600)
        try file.write(bytes, at: 0)
        try file.close()
    } catch {
        require(false, "setting up the in-memory file system failed: \(error)")
    }
    return fs
}

/// Loads the one snapshot file whole and streamed (each from its own copy, since a failed load
/// sets the file aside): neither may trap, both must agree, and what loads must be the snapshot
/// the file name says. A file that fails must be set aside.
public func checkLoaders<Store: StreamingSnapshotStore>(_ bytes: UnsafeRawBufferPointer, name: String, open: (FaultInjectingFileSystem) throws -> Store) {
    let wholeFS = fileSystem(holding: bytes, as: name)
    let streamFS = fileSystem(holding: bytes, as: name)
    guard let wholeStore = try? open(wholeFS), let streamStore = try? open(streamFS) else {
        require(false, "the store does not open")
        return
    }
    let whole: Snapshot?
    do {
        whole = try wholeStore.loadNewest()
    } catch {
        whole = nil  // an I/O error is not expected, but not a finding of the loader either
    }
    var streamedData: [UInt8] = []
    var started = false
    let streamed: SnapshotMetadata?
    do {
        streamed = try streamStore.loadNewest(matching: nil) { (event) throws(StorageError) in
            switch event {
            case .start: started = true
            case .data(let chunk): streamedData += chunk
            }
        }
    } catch {
        streamed = nil
    }
    if let whole {
        require(whole.metadata.marker.matches(fuzzedMarker), "loaded \(whole.metadata.marker) from a file named \(fuzzedMarker)")
        require(streamed == whole.metadata, "the whole load gave \(whole.metadata), the streamed one \(String(describing: streamed))")
        require(streamedData == (whole.data ?? []), "the streamed data differs from the whole load's")
    } else {
        require(streamed == nil, "the streamed load succeeded where the whole load failed")
        let left = (try? wholeFS.contentsOfDirectory("/snap")) ?? []
        require(!left.contains(name), "an unreadable snapshot file was not set aside: \(left)")
    }
    _ = started
}
