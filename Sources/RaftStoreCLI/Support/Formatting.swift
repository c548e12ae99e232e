/// Small text helpers for tables and reports.
enum Format {
    /// `1234567` as `1,234,567`.
    static func count<T: BinaryInteger>(_ value: T) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (offset, digit) in digits.enumerated() {
            if offset > 0 && (digits.count - offset) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return (value < 0 ? "-" : "") + out
    }

    /// `value` and the noun that goes with it: `1 entry`, `0 entries`, `1,234 entries`.
    /// `plural` defaults to `singular` + `s`.
    static func count<T: BinaryInteger>(_ value: T, _ singular: String, _ plural: String? = nil) -> String {
        count(value) + " " + (value == 1 ? singular : plural ?? singular + "s")
    }

    /// A byte count in the nearest binary unit: `512 B`, `4.0 KiB`, `61.0 MiB`.
    static func bytes<T: BinaryInteger>(_ value: T) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var amount = Double(value)
        var unit = 0
        while amount >= 1024 && unit < units.count - 1 {
            amount /= 1024
            unit += 1
        }
        return unit == 0 ? "\(value) B" : "\(fixed(amount, 1)) \(units[unit])"
    }

    /// `value` with `digits` digits after the point, without Foundation's formatters.
    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e18 else { return "\(value)" }
        let whole = UInt64(scaled)
        let integer = whole / UInt64(scale)
        var text = (value < 0 && whole != 0 ? "-" : "") + String(integer)
        if digits > 0 {
            let fraction = String(whole % UInt64(scale))
            text += "." + String(repeating: "0", count: digits - fraction.count) + fraction
        }
        return text
    }

    /// `text` right-aligned in `width` columns.
    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }

    /// `text` left-aligned in `width` columns.
    static func padRight(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// A one-line preview of bytes: printable ASCII as is, anything else as `.`, at most
    /// `limit` characters (with `...` when cut).
    static func preview(_ bytes: [UInt8], limit: Int = 48) -> String {
        var out = ""
        for byte in bytes.prefix(limit) {
            out.append(byte >= 0x20 && byte < 0x7F ? Character(Unicode.Scalar(byte)) : ".")
        }
        return bytes.count > limit ? out + "..." : out
    }

    /// Lower-case hex.
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef")
        var out = ""
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return out
    }

    /// Collapses a message to one line (errors are always one line).
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingSpaces }.joined(separator: " ")
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return text
    }
}
