import RaftStorage
import RaftFiles

/// The files of a snapshot directory, classified by name only (nothing is opened): etcd's
/// `<term>-<index>.snap`, this package's `<term>-<index>.snap.lz4`, files set aside as
/// `.broken`, temporary files of an unfinished save, and etcd's bbolt `db` files.
struct SnapshotFileListing {
    /// The two snapshot file formats.
    enum Format: String {
        case etcd = ".snap"
        case lz4 = ".snap.lz4"
    }

    struct SnapshotFile {
        var name: String
        var path: String
        var marker: SnapshotMarker
        var format: Format
        var size: Int64
    }

    var directory: String
    /// Snapshot files, newest first (by term, then index, as the stores order them).
    var snapshots: [SnapshotFile] = []
    /// Names ending in `.broken` (or `.broken.N`): files a load set aside.
    var setAside: [String] = []
    /// Temporary files left by a save that did not finish.
    var temporary: [String] = []
    /// etcd's backend database files (`db`, `*.snap.db`, `db.tmp*`), which are not snapshots.
    var etcdDatabase: [(name: String, size: Int64)] = []
    /// Anything else.
    var other: [String] = []

    /// Lists `directory`.
    static func read(_ directory: String) throws(StorageError) -> SnapshotFileListing {
        let fileSystem = Paths.fileSystem
        var listing = SnapshotFileListing(directory: directory)
        for name in try fileSystem.contentsOfDirectory(directory).sorted() {
            let path = fileSystem.join(directory, name)
            if let (marker, format) = parse(name) {
                let size = try fileSystem.info(path)?.size ?? 0
                listing.snapshots.append(SnapshotFile(name: name, path: path, marker: marker, format: format, size: size))
            } else if name.hasSuffix(".broken") || name.contains(".broken.") {
                listing.setAside.append(name)
            } else if name.hasSuffix(".tmp") {
                listing.temporary.append(name)
            } else if name == "db" || name.hasSuffix(".snap.db") || name.hasPrefix("db.tmp") {
                listing.etcdDatabase.append((name, try fileSystem.info(path)?.size ?? 0))
            } else {
                listing.other.append(name)
            }
        }
        listing.snapshots.sort { ($0.marker, $0.format.rawValue) > ($1.marker, $1.format.rawValue) }
        return listing
    }

    /// `(marker, format)` for `%016x-%016x.snap` or `.snap.lz4` (lower-case hex, as etcd and
    /// this package write), else `nil`.
    static func parse(_ name: String) -> (SnapshotMarker, Format)? {
        for format in [Format.lz4, .etcd] where name.hasSuffix(format.rawValue) {
            let stem = name.dropLast(format.rawValue.count)
            let parts = stem.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ $0.count == 16 && $0.allSatisfy(\.isLowercaseHex) }),
                  let term = UInt64(parts[0], radix: 16), let index = UInt64(parts[1], radix: 16) else { return nil }
            return (SnapshotMarker(index: index, term: term), format)
        }
        return nil
    }
}

extension Character {
    fileprivate var isLowercaseHex: Bool { ("0"..."9").contains(self) || ("a"..."f").contains(self) }
}
