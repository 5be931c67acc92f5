/// What a 身分證字號 field holds, after the format and check-digit rules of the
/// Ministry of the Interior.
public enum NationalIDKind: Equatable, Sendable {
    /// A citizen's national ID (國民身分證統一編號); `male` from the second character (1 or 2).
    case citizen(male: Bool)
    /// A resident-certificate number (外來人口統一證號): new form (8/9) or old form (letter A–D).
    /// Such people are not subject to conscription.
    case residentCertificate
    /// Not a valid number: wrong shape or check digit (身分證字號格式錯誤).
    case invalid
}

/// The national ID number (身分證字號) rules.
public enum NationalID {
    /// Letter values of the first character, A10 … Z33, by the letter's offset from `A`.
    static let letterValueTable: [Int] = [
        10, 11, 12, 13, 14, 15, 16, 17, 34, 18, 19, 20, 21, 22, 35, 23, 24, 25, 26, 27, 28, 29, 32, 30, 31, 33,
    ]

    /// The value of an upper-case ASCII letter (`A` = 10 … `Z` = 33), or `nil` for any other byte.
    @inline(__always)
    static func letterValue(_ b: UInt8) -> Int? {
        b >= 0x41 && b <= 0x5A ? letterValueTable[Int(b - 0x41)] : nil
    }

    /// Normalises what a clerk typed: trims spaces, upper-cases ASCII letters, folds full-width
    /// letters and digits to ASCII.
    public static func normalise(_ raw: String) -> String {
        // Fast path: already upper-case ASCII letters and digits.
        if raw.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) }) { return raw }
        var out = String.UnicodeScalarView()
        for s in raw.unicodeScalars {
            var v = s.value
            if v >= 0xFF01 && v <= 0xFF5E { v -= 0xFEE0 } // full-width ASCII
            if v == 0x20 || v == 0x09 || v == 0x3000 { continue }
            if v >= 0x61 && v <= 0x7A { v -= 0x20 }
            out.append(Unicode.Scalar(v)!)
        }
        return String(out)
    }

    /// Classifies an already normalised ID.
    ///
    /// `A123456789` → citizen, male; `A123456788` → invalid (check digit).
    public static func classify(_ id: String) -> NationalIDKind {
        var id = id
        // Over the string's own bytes: called for every row of every file.
        return id.withUTF8 { b -> NationalIDKind in
            guard b.count == 10, let first = letterValue(b[0]) else { return .invalid }
            for i in 2..<10 where b[i] < 0x30 || b[i] > 0x39 { return .invalid }
            let second = b[1]
            let secondValue: Int
            var oldResident = false
            if second >= 0x30 && second <= 0x39 {
                secondValue = Int(second - 0x30)
            } else if second >= 0x41 && second <= 0x44, let letter = letterValue(second) {
                // Old resident-certificate form: the second letter counts by its units digit.
                secondValue = letter % 10
                oldResident = true
            } else {
                return .invalid
            }
            // Weights 1 and 9 for the letter's two digits, then 8 … 1, then the check digit.
            var sum = (first / 10) + (first % 10) * 9 + secondValue * 8
            for i in 2..<9 { sum += Int(b[i] - 0x30) * (9 - i) }
            sum += Int(b[9] - 0x30)
            guard sum % 10 == 0 else { return .invalid }
            if oldResident { return .residentCertificate }
            switch secondValue {
            case 1: return .citizen(male: true)
            case 2: return .citizen(male: false)
            case 8, 9: return .residentCertificate
            default: return .invalid
            }
        }
    }

    /// A masked form for operator output: `A12****789`.
    public static func masked(_ id: String) -> String {
        let chars = Array(id)
        guard chars.count >= 6 else { return String(repeating: "*", count: chars.count) }
        return String(chars[0..<3]) + String(repeating: "*", count: chars.count - 6) + String(chars[(chars.count - 3)...])
    }

    /// Completes nine characters (letter, sex digit and seven digits) with the check digit.
    /// Used by the sample generator.
    public static func withCheckDigit(_ prefix: String) -> String? {
        let b = Array(prefix.utf8)
        guard b.count == 9, let first = letterValue(b[0]) else { return nil }
        var sum = (first / 10) + (first % 10) * 9
        let weights = [8, 7, 6, 5, 4, 3, 2, 1]
        for i in 1..<9 {
            guard b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
            sum += Int(b[i] - 0x30) * weights[i - 1]
        }
        let check = (10 - sum % 10) % 10
        return prefix + String(check)
    }
}
