import Foundation

/// The one gate through which a value from outside (a cell, a file name, a folder name) may
/// become part of a path (路徑白名單): only the forms listed in ``Form`` pass, each checked byte
/// by byte as ASCII, so no `..`, slash, NUL, control character or look-alike letter ever reaches
/// a path the desk builds.
public enum PathGate {
    /// The forms a path component made from data may take.
    public enum Form: Sendable, CaseIterable {
        /// 學校代碼: exactly 6 ASCII letters or digits.
        case schoolCode
        /// 縣市代碼: exactly 5 ASCII digits.
        case countyCode
        /// An ISO date, `YYYY-MM-DD`, that is a real day.
        case isoDate
        /// A compact date, `YYYYMMDD`, that is a real day.
        case compactDate
        /// A hex digest (SHA-256 or a prefix of it): 8 to 64 lower-case hex digits.
        case digest
    }

    /// Why a value was refused as a path component.
    public struct Refused: Error, CustomStringConvertible, Sendable {
        public var form: Form
        /// The refused value, with control characters escaped (safe to log).
        public var shown: String
        public var description: String { "不允許作為路徑的值（\(form)）：\(shown)" }
    }

    /// Whether `value` has the form `form`.
    public static func accepts(_ value: String, as form: Form) -> Bool {
        let u = Array(value.utf8)
        func allASCII(_ test: (UInt8) -> Bool) -> Bool { u.allSatisfy(test) }
        let digit: (UInt8) -> Bool = { $0 >= 0x30 && $0 <= 0x39 }
        switch form {
        case .schoolCode:
            return u.count == 6 && allASCII { digit($0) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) }
        case .countyCode:
            return u.count == 5 && allASCII(digit)
        case .isoDate:
            guard u.count == 10, u[4] == 0x2D, u[7] == 0x2D else { return false }
            return realDay(u[0..<4], u[5..<7], u[8..<10])
        case .compactDate:
            guard u.count == 8 else { return false }
            return realDay(u[0..<4], u[4..<6], u[6..<8])
        case .digest:
            return (8...64).contains(u.count) && allASCII { digit($0) || ($0 >= 0x61 && $0 <= 0x66) }
        }
    }

    /// `value` itself when it has the form `form`; throws ``Refused`` otherwise.
    public static func component(_ value: String, as form: Form) throws -> String {
        guard accepts(value, as: form) else { throw Refused(form: form, shown: ShownText.escaped(value)) }
        return value
    }

    /// Whether a relative site path is made only of safe components: each of ASCII letters,
    /// digits, `-`, `_` and `.`, not starting with a dot, joined by single slashes. The last
    /// line of defence for every path the site writes.
    public static func isSafeRelativePath(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !parts.isEmpty else { return false }
        return parts.allSatisfy { part in
            guard let first = part.utf8.first, first != 0x2E, part.utf8.count <= 200 else { return false }
            return part.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F || b == 0x2E
            }
        }
    }

    private static func realDay(_ y: ArraySlice<UInt8>, _ m: ArraySlice<UInt8>, _ d: ArraySlice<UInt8>) -> Bool {
        func number(_ s: ArraySlice<UInt8>) -> Int? {
            var n = 0
            for b in s { guard b >= 0x30 && b <= 0x39 else { return nil }; n = n * 10 + Int(b - 0x30) }
            return n
        }
        guard let year = number(y), let month = number(m), let day = number(d) else { return false }
        return CivilDate(year: year, month: month, day: day) != nil
    }
}

/// Text from outside made safe to print on one line of a summary, a log or a report (檔名顯示):
/// control characters (a newline, a tab, an escape) are shown as `\n`, `\t` or `\u{1B}`, so a
/// file name cannot forge a line.
public enum ShownText {
    public static func escaped(_ text: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for s in text.unicodeScalars {
            switch s {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\\": out += "\\\\"
            default:
                if isControl(s) {
                    out += "\\u{" + String(s.value, radix: 16, uppercase: true) + "}"
                } else {
                    out.unicodeScalars.append(s)
                }
            }
        }
        return out
    }

    /// Whether a character is one that moves or hides text rather than showing it: a control
    /// or format character, or a line or paragraph separator.
    public static func isControl(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }
}
