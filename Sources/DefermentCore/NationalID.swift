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

    /// The weighted sum of an ID's first nine characters, the check digit left out: the
    /// letter's two digits weigh 1 and 9, the second character 8, the third to ninth 7 … 1. A
    /// number is valid when this sum plus its check digit is a multiple of 10.
    /// - Parameters:
    ///   - letter: the first character's value (``letterValue(_:)``).
    ///   - second: the second character's value.
    ///   - b: the ID's bytes; the third to ninth must be ASCII digits.
    @inline(__always)
    static func weightedSum(letter: Int, second: Int, _ b: UnsafeBufferPointer<UInt8>) -> Int {
        var sum = letter / 10 + (letter % 10) * 9 + second * 8
        for i in 2..<9 { sum += Int(b[i] - 0x30) * (9 - i) }
        return sum
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
            let sum = weightedSum(letter: first, second: secondValue, b) + Int(b[9] - 0x30)
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
        var prefix = prefix
        let sum: Int? = prefix.withUTF8 { b in
            guard b.count == 9, let first = letterValue(b[0]) else { return nil }
            for i in 1..<9 where b[i] < 0x30 || b[i] > 0x39 { return nil }
            return weightedSum(letter: first, second: Int(b[1] - 0x30), b)
        }
        guard let sum else { return nil }
        return prefix + String((10 - sum % 10) % 10)
    }
}
