import Foundation

/// JSON string literals for script files: escapes quotes, backslashes, control characters and
/// `<`, `>`, `&` (so the text can never close a script element).
enum JSONText {
    /// Whether a byte takes a string off the fast path: a quote, backslash, `<`, `>`, `&`, a
    /// control character or the lead byte of U+2028/U+2029.
    static func needsEscape(_ b: UInt8) -> Bool {
        b < 0x20 || b == 0x22 || b == 0x5C || b == 0x3C || b == 0x3E || b == 0x26 || b == 0xE2
    }

    /// Appends a JSON string literal of `s` to UTF-8 bytes (the same text as the `String` form).
    static func append(_ s: String, to out: inout [UInt8]) {
        var s = s
        let plain = s.withUTF8 { u -> Bool in
            for b in u where needsEscape(b) { return false }
            out.append(0x22)
            out.append(contentsOf: u)
            out.append(0x22)
            return true
        }
        if !plain {
            var text = ""
            append(s, to: &text)
            out.append(contentsOf: text.utf8)
        }
    }

    /// Appends markup as is.
    static func raw(_ s: StaticString, to out: inout [UInt8]) {
        s.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    static func append(_ s: String, to out: inout String) {
        // Fast path: nothing to escape (no quote, backslash, < > &, control or U+2028/9 lead byte).
        if !s.utf8.contains(where: needsEscape) {
            out += "\""
            out += s
            out += "\""
            return
        }
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}
