package import RaftStorage
// File names of the file-based snapshot stores: etcd's `%016x-%016x` of term and index, plus the
// store's suffix (`.snap`, `.snap.lz4`). Package-visible so EtcdStorage and LZ4Snapshots share one
// strict parser without it becoming public API; the WAL's segment names use the same two
// helpers for their numbers.

extension SnapshotMarker {
    /// `<term>-<index><suffix>`, each number as 16 lower-case hex digits (etcd's naming).
    package func fileName(suffix: String) -> String {
        hex16(term) + "-" + hex16(index) + suffix
    }

    /// Parses exactly `<16 lower-case hex>-<16 lower-case hex><suffix>`; anything else is `nil`.
    package init?(fileName name: String, suffix: String) {
        let utf8 = Array(name.utf8)
        guard utf8.count == 33 + suffix.utf8.count, utf8[16] == UInt8(ascii: "-"),
            utf8[33...].elementsEqual(suffix.utf8),
            let term = parseHex16(utf8[0..<16]), let index = parseHex16(utf8[17..<33]),
            // The log after a snapshot starts at index + 1, which must exist.
            index < .max
        else { return nil }
        self.init(index: index, term: term)
    }
}

/// `value` as 16 lower-case hex digits, as etcd names its files.
package func hex16(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}

/// The value of lower-case hex `digits`; `nil` for any other character.
package func parseHex16(_ digits: ArraySlice<UInt8>) -> UInt64? {
    var value: UInt64 = 0
    for digit in digits {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): value = value << 4 | UInt64(digit - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): value = value << 4 | UInt64(digit - UInt8(ascii: "a") + 10)
        default: return nil
        }
    }
    return value
}
