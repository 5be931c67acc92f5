/// A calendar date without time or time zone (日期), as written in rosters and registry extracts.
///
/// Dates in Taiwanese government files are usually in the ROC calendar (民國年 = Gregorian − 1911).
/// ``CivilDate/parse(_:)`` accepts every ROC and ISO form the desk meets; the value itself is
/// always Gregorian.
public struct CivilDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Gregorian year.
    public let year: Int
    /// Month, 1–12.
    public let month: Int
    /// Day of month, 1–31.
    public let day: Int

    /// Creates a date, or `nil` when the components do not name a real day.
    public init?(year: Int, month: Int, day: Int) {
        guard (1800...2200).contains(year), (1...12).contains(month),
              day >= 1, day <= CivilDate.daysIn(month: month, year: year) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Number of days in a month of a Gregorian year.
    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2:
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            return leap ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// `yyyy-mm-dd`, the form every report and export uses.
    public var iso: String {
        let m = month < 10 ? "0\(month)" : "\(month)"
        let d = day < 10 ? "0\(day)" : "\(day)"
        return "\(year)-\(m)-\(d)"
    }

    public var description: String { iso }

    /// Days since 1970-01-01 (proleptic Gregorian), for date arithmetic.
    public var daysSinceEpoch: Int {
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// The date a number of days after 1970-01-01.
    public init(daysSinceEpoch z0: Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.year = yoe + era * 400 + (m <= 2 ? 1 : 0)
        self.month = m
        self.day = d
    }

    /// The date an Excel serial number names, in the 1900 or the 1904 date system.
    ///
    /// The 1900 system counts 1900-01-01 as day 1 and keeps Lotus 1-2-3's phantom 1900-02-29
    /// (serial 60); serials after it are shifted back one day.
    public init?(excelSerial: Double, date1904: Bool) {
        guard excelSerial.isFinite, excelSerial >= 1, excelSerial < 200_000 else { return nil }
        let whole = Int(excelSerial.rounded(.down))
        let epochOffset: Int
        if date1904 {
            epochOffset = CivilDate(year: 1904, month: 1, day: 1)!.daysSinceEpoch
            self.init(daysSinceEpoch: epochOffset + whole)
        } else {
            guard whole != 60 else { return nil }
            epochOffset = CivilDate(year: 1899, month: 12, day: 31)!.daysSinceEpoch
            self.init(daysSinceEpoch: epochOffset + (whole > 60 ? whole - 1 : whole))
        }
    }

    public static func < (a: CivilDate, b: CivilDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    /// Parses a date written in any of the forms government files use.
    ///
    /// ROC forms: `0951023`, `951023`, `95/10/23`, `095.10.23`, `95-10-23`, `民國95年10月23日`,
    /// `95年10月23日`. ISO and Gregorian forms: `2006-10-23`, `2006/10/23`, `2006.10.23`,
    /// `20061023`. Full-width digits and separators are accepted; surrounding spaces are ignored.
    /// Returns `nil` for anything else, including impossible days such as `95/02/30`.
    public static func parse(_ raw: String) -> CivilDate? {
        var digitsRuns: [[Int]] = []
        var current: [Int] = []
        var sawROCMarker = false
        var otherCharacters = false
        for scalar in raw.unicodeScalars {
            let v = scalar.value
            var digit: Int? = nil
            if v >= 0x30 && v <= 0x39 { digit = Int(v - 0x30) }
            else if v >= 0xFF10 && v <= 0xFF19 { digit = Int(v - 0xFF10) }
            if let digit {
                current.append(digit)
                continue
            }
            if !current.isEmpty { digitsRuns.append(current); current = [] }
            switch scalar {
            case "/", "-", ".", "／", "－", "．", "年", "月": continue
            case "日": continue
            case " ", "\t", "\u{3000}": continue
            case "民", "國", "国": sawROCMarker = true
            default: otherCharacters = true
            }
        }
        if !current.isEmpty { digitsRuns.append(current) }
        guard !otherCharacters, !digitsRuns.isEmpty else { return nil }
        func number(_ ds: ArraySlice<Int>) -> Int { ds.reduce(0) { $0 * 10 + $1 } }
        if digitsRuns.count == 1 {
            let ds = digitsRuns[0]
            switch ds.count {
            case 8 where !sawROCMarker: // 20061023
                return CivilDate(year: number(ds[0..<4]), month: number(ds[4..<6]), day: number(ds[6..<8]))
            case 7: // 0951023 or 1141001
                return CivilDate(year: number(ds[0..<3]) + 1911, month: number(ds[3..<5]), day: number(ds[5..<7]))
            case 6: // 951023
                return CivilDate(year: number(ds[0..<2]) + 1911, month: number(ds[2..<4]), day: number(ds[4..<6]))
            default:
                return nil
            }
        }
        guard digitsRuns.count == 3, digitsRuns[1].count <= 2, digitsRuns[2].count <= 2 else { return nil }
        let first = digitsRuns[0]
        let month = number(digitsRuns[1][...])
        let day = number(digitsRuns[2][...])
        if first.count == 4 && !sawROCMarker {
            return CivilDate(year: number(first[...]), month: month, day: day)
        }
        guard (1...3).contains(first.count) else { return nil }
        let rocYear = number(first[...])
        guard rocYear >= 1 else { return nil }
        return CivilDate(year: rocYear + 1911, month: month, day: day)
    }
}
