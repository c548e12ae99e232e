/// Writing JSON by hand: the dump and bench shapes are fixed, their key order matters to
/// people reading them, and a dump of millions of entries streams instead of building a tree.
enum JSONText {
    /// `text` as a JSON string literal.
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = Format.hex([UInt8(scalar.value)])
                out += "\\u00" + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Bytes as a base64 string, or `null` for `nil` (Go's nil slice, an absent protobuf field).
    static func bytes(_ bytes: [UInt8]?) -> String {
        bytes.map { "\"" + Base64.encode($0) + "\"" } ?? "null"
    }

    /// A string or `null`.
    static func optionalString(_ text: String?) -> String {
        text.map(string) ?? "null"
    }

    /// A number as Go's `encoding/json` would print a float64 (shortest round-trip form).
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
