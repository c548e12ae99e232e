import RaftStorage

/// The snapshot half of `inspect`.
enum SnapshotSection {
    /// Lists `directory`; `nil` (with a note) when there is none.
    static func read(_ directory: String, into report: inout InspectReport) -> SnapshotFileListing? {
        guard Paths.exists(directory) else {
            report.notes.append("no snapshot directory \(directory): etcd has not taken a snapshot yet")
            return nil
        }
        var section = InspectReport.Section(title: "snapshots \(directory)")
        defer { report.sections.append(section) }
        let listing: SnapshotFileListing
        do {
            listing = try SnapshotFileListing.read(directory)
        } catch {
            report.problems.append("snapshots: \(error)")
            return nil
        }
        let etcd = listing.snapshots.filter { $0.format == .etcd }.count
        let lz4 = listing.snapshots.count - etcd
        section.rows.append(("files", "\(etcd) .snap, \(lz4) .snap.lz4"))
        if let newest = listing.snapshots.first {
            section.rows.append(("newest", "\(newest.name): snapshot \(newest.marker), \(Format.bytes(newest.size))"))
        }
        for database in listing.etcdDatabase {
            section.rows.append(("database", "\(database.name), \(Format.bytes(database.size)) (etcd's bbolt backend; not read)"))
        }
        for name in listing.setAside {
            report.notes.append("snapshots: \(name) was set aside by a load that could not read it")
        }
        for name in listing.temporary {
            report.notes.append("snapshots: \(name) is left from a save that did not finish (removed when a store opens)")
        }
        for name in listing.other {
            report.notes.append("snapshots: ignoring \(name): not a snapshot file name")
        }
        return listing
    }

    /// Loads (read-only) the snapshot file a restart would load, at the marker the WAL half
    /// chose, and reports what it holds or why it cannot be read.
    static func verifyRestartSnapshot(_ listing: SnapshotFileListing, into report: inout InspectReport) {
        guard let marker = report.restartMarker, !marker.matches(.zero),
              let file = listing.snapshots.first(where: { $0.marker.matches(marker) }),
              let position = report.sections.firstIndex(where: { $0.title.hasPrefix("snapshots ") }) else { return }
        do {
            let loaded = try SnapshotFileCheck.load(file)
            report.sections[position].rows.append((
                "restart", "\(file.name) loads: \(describe(loaded.metadata.confState)), \(Format.count(loaded.dataCount, "data byte"))"))
        } catch {
            report.problems.append("snapshots: \(file.name), the snapshot a restart loads, is unreadable: \(error)")
        }
    }
}
