/// One benchmark result, in the JSON shape of `Benchmarks/etcd-go` (same keys, same order),
/// then the restart floors this side also measures (`cat_s`, `reopen_s`, `reopen_peak_rss_bytes`).
struct BenchResult {
    var entries: Int
    var size: Int
    var batch: Int
    var fsync: Bool
    var writeSeconds: Double
    var readSeconds: Double
    var readPeakRSSBytes: Int64
    /// How the read side opened the data (``BenchReadMode``, or the `--groups` kind).
    var readModeName: String
    var walBytes: Int64
    var segments: Int
    /// Seconds `cat` takes to read the WAL's segment files from the page cache (best of three).
    var catSeconds: Double
    /// Seconds a `WALLogStore` reopen takes until its first `entries(in:)` returns.
    var reopenSeconds: Double
    /// Peak resident memory of the reopening process.
    var reopenPeakRSSBytes: Int64
    /// How the entries were laid out, for the text output (`--groups`); `nil`: one WAL.
    var layout: String? = nil

    /// 10^6 bytes of entry payload.
    var payloadMB: Double { Double(entries) * Double(size) / 1e6 }
    var writeMBps: Double { payloadMB / writeSeconds }
    var readMBps: Double { payloadMB / readSeconds }
    var writeEntriesPerSecond: Double { Double(entries) / writeSeconds }
    var readEntriesPerSecond: Double { Double(entries) / readSeconds }

    /// One line, compact, as Go's `json.Marshal` prints it.
    var json: String {
        let fields: [(String, String)] = [
            ("impl", "\"raftstore\""),
            ("entries", String(entries)),
            ("size", String(size)),
            ("batch", String(batch)),
            ("fsync", String(fsync)),
            ("write_s", JSONText.number(writeSeconds)),
            ("read_s", JSONText.number(readSeconds)),
            ("write_MBps", JSONText.number(writeMBps)),
            ("read_MBps", JSONText.number(readMBps)),
            ("write_entries_per_s", JSONText.number(writeEntriesPerSecond)),
            ("read_entries_per_s", JSONText.number(readEntriesPerSecond)),
            ("read_peak_rss_bytes", String(readPeakRSSBytes)),
            ("read_mode", "\"\(readModeName)\""),
            ("wal_bytes", String(walBytes)),
            ("segments", String(segments)),
            ("cat_s", JSONText.number(catSeconds)),
            ("reopen_s", JSONText.number(reopenSeconds)),
            ("reopen_peak_rss_bytes", String(reopenPeakRSSBytes)),
        ]
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    func writeText(to out: TextSink) {
        out.line("raftstore: \(Format.count(entries, "entry", "entries")) x \(size) B, \(layout ?? "batches of \(batch)"), fsync \(fsync)")
        out.line("  write \(Format.fixed(writeSeconds, 3)) s  \(Format.fixed(writeMBps, 1)) MB/s  \(Format.count(Int(writeEntriesPerSecond))) entries/s")
        out.line("  read  \(Format.fixed(readSeconds, 3)) s  \(Format.fixed(readMBps, 1)) MB/s  \(Format.count(Int(readEntriesPerSecond))) entries/s  "
            + "peak RSS \(Format.bytes(readPeakRSSBytes)) (\(readModeName))")
        out.line("  \(layout == nil ? "WAL  " : "files") \(Format.count(walBytes, "byte")) in \(Format.count(segments, layout == nil ? "segment" : "file")); cat reads it in \(Format.fixed(catSeconds, 3)) s")
        out.line("  reopen (\(layout == nil ? "WALLogStore" : readModeName), until the first read) \(Format.fixed(reopenSeconds, 3)) s, peak RSS \(Format.bytes(reopenPeakRSSBytes))")
    }
}
