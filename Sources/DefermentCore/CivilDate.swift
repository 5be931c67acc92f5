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
    /// The date as a clerk reads it, in the ROC calendar: `115/11/15` (民國日期).
    public var roc: String { "\(year - 1911)/" + (month < 10 ? "0" : "") + "\(month)/" + (day < 10 ? "0" : "") + "\(day)" }

    public var iso: String {
        let y = year, m = month, d = day
        return String(unsafeUninitializedCapacity: 10) { b in
            b[0] = UInt8(48 + y / 1000 % 10); b[1] = UInt8(48 + y / 100 % 10)
            b[2] = UInt8(48 + y / 10 % 10); b[3] = UInt8(48 + y % 10); b[4] = 45
            b[5] = UInt8(48 + m / 10); b[6] = UInt8(48 + m % 10); b[7] = 45
            b[8] = UInt8(48 + d / 10); b[9] = UInt8(48 + d % 10)
            return 10
        }
    }

    public var description: String { iso }

    /// An ISO date (`2026-11-15`) as file names and tokens carry it: `20261115`.
    public static func compact(_ iso: String) -> String { iso.filter { $0 != "-" } }

    /// A date as clerks read it (民國, 115/11/15), from any form ``parse(_:)`` reads; text that is
    /// not a date is returned as it is. Pages, workbooks, reports and e-mails show dates so; CSV
    /// exports and the database keep ISO 8601.
    public static func shown(_ text: String) -> String {
        if let stored = rocOfStoredISO(text) { return stored }
        guard !text.isEmpty, let date = parse(text) else { return text }
        return date.roc
    }

    /// The 民國 form of `YYYY-MM-DD` as the database stores it, without a full parse (pages show
    /// millions of these; `nil` for any other text).
    static func rocOfStoredISO(_ text: String) -> String? {
        var text = text
        return text.withUTF8 { u -> String? in
            guard u.count == 10, u[4] == 0x2D, u[7] == 0x2D else { return nil }
            func digit(_ i: Int) -> Int? { u[i] >= 0x30 && u[i] <= 0x39 ? Int(u[i] - 0x30) : nil }
            guard let y0 = digit(0), let y1 = digit(1), let y2 = digit(2), let y3 = digit(3), let m0 = digit(5), let m1 = digit(6),
                  let d0 = digit(8), let d1 = digit(9) else { return nil }
            let year = y0 * 1000 + y1 * 100 + y2 * 10 + y3, month = m0 * 10 + m1, day = d0 * 10 + d1
            guard year > 1911, (1...12).contains(month), (1...31).contains(day) else { return nil }
            // At most 10 bytes (`9999/12/31` is 8088/12/31): a small string, made without allocating.
            let roc = year - 1911
            return String(unsafeUninitializedCapacity: 10) { out in
                var n = 0
                if roc >= 1000 { out[n] = UInt8(0x30 + roc / 1000 % 10); n += 1 }
                if roc >= 100 { out[n] = UInt8(0x30 + roc / 100 % 10); n += 1 }
                if roc >= 10 { out[n] = UInt8(0x30 + roc / 10 % 10); n += 1 }
                out[n] = UInt8(0x30 + roc % 10); n += 1
                out[n] = 0x2F; out[n + 1] = u[5]; out[n + 2] = u[6]; out[n + 3] = 0x2F; out[n + 4] = u[8]; out[n + 5] = u[9]
                return n + 6
            }
        }
    }

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

    /// A date in one of the two commonest forms, `0951023` (ROC, seven digits) or `2006-10-23`
    /// (ISO, or with `/` or `.`): `.some(date or nil)` when `b` has that shape, `nil` when not.
    private static func commonForm(_ b: UnsafeBufferPointer<UInt8>) -> CivilDate?? {
        func digits(_ from: Int, _ count: Int) -> Int? {
            var v = 0
            for i in from..<(from + count) {
                let d = b[i] &- 0x30
                guard d < 10 else { return nil }
                v = v * 10 + Int(d)
            }
            return v
        }
        switch b.count {
        case 7:
            guard let n = digits(0, 7) else { return .none }
            return .some(CivilDate(year: n / 10000 + 1911, month: n / 100 % 100, day: n % 100))
        case 10:
            let sep = b[4]
            guard sep == 0x2D || sep == 0x2F || sep == 0x2E, b[7] == sep,
                  let y = digits(0, 4), let m = digits(5, 2), let d = digits(8, 2) else { return .none }
            return .some(CivilDate(year: y, month: m, day: d))
        default:
            return .none
        }
    }

    /// Parses a date written in any of the forms government files use.
    ///
    /// ROC forms: `0951023`, `951023`, `95/10/23`, `095.10.23`, `95-10-23`, `民國95年10月23日`,
    /// `95年10月23日`. ISO and Gregorian forms: `2006-10-23`, `2006/10/23`, `2006.10.23`,
    /// `20061023`. Full-width digits and separators are accepted; surrounding spaces are ignored.
    /// Returns `nil` for anything else, including impossible days such as `95/02/30`.
    public static func parse(_ raw: String) -> CivilDate? {
        // The two forms national files use, read straight from the bytes; the same answer as
        // the general scan below gives them (a quarter of its time).
        if let quick = raw.utf8.withContiguousStorageIfAvailable(commonForm), let date = quick { return date }
        // Up to three runs of digits, scanned over the UTF-8 bytes without allocating.
        var numbers = (0, 0, 0)
        var lengths = (0, 0, 0)
        var runs = 0
        var inRun = false
        var sawROCMarker = false
        func addDigit(_ d: Int) -> Bool {
            if !inRun {
                guard runs < 3 else { return false }
                runs += 1
                inRun = true
            }
            switch runs {
            case 1: numbers.0 = numbers.0 * 10 + d; lengths.0 += 1; return lengths.0 <= 8
            case 2: numbers.1 = numbers.1 * 10 + d; lengths.1 += 1; return lengths.1 <= 2
            default: numbers.2 = numbers.2 * 10 + d; lengths.2 += 1; return lengths.2 <= 2
            }
        }
        var bytes = raw.utf8.makeIterator()
        while let b = bytes.next() {
            if b >= 0x30 && b <= 0x39 {
                guard addDigit(Int(b - 0x30)) else { return nil }
                continue
            }
            switch b {
            case 0x2F, 0x2D, 0x2E, 0x20, 0x09: inRun = false // / - . space tab
            case 0xEF: // full-width forms: ０-９ (EF BC 90-99), ／ (EF BC 8F), － (EF BC 8D), ． (EF BC 8E)
                guard bytes.next() == 0xBC, let c = bytes.next() else { return nil }
                if c >= 0x90 && c <= 0x99 {
                    guard addDigit(Int(c - 0x90)) else { return nil }
                } else if c == 0x8F || c == 0x8D || c == 0x8E {
                    inRun = false
                } else {
                    return nil
                }
            case 0xE3: // ideographic space E3 80 80
                guard bytes.next() == 0x80, bytes.next() == 0x80 else { return nil }
                inRun = false
            case 0xE5, 0xE6:
                inRun = false
                guard let b2 = bytes.next(), let b3 = bytes.next() else { return nil }
                switch (b, b2, b3) {
                case (0xE5, 0xB9, 0xB4), (0xE6, 0x9C, 0x88), (0xE6, 0x97, 0xA5): break // 年 月 日
                case (0xE6, 0xB0, 0x91), (0xE5, 0x9C, 0x8B), (0xE5, 0x9B, 0xBD): sawROCMarker = true // 民 國 国
                default: return nil
                }
            default:
                return nil
            }
        }
        switch runs {
        case 1:
            let n = numbers.0
            switch lengths.0 {
            case 8 where !sawROCMarker: // 20061023
                return CivilDate(year: n / 10000, month: n / 100 % 100, day: n % 100)
            case 7, 6: // 0951023, 1141001, 951023
                return CivilDate(year: n / 10000 + 1911, month: n / 100 % 100, day: n % 100)
            default:
                return nil
            }
        case 3:
            if lengths.0 == 4 && !sawROCMarker {
                return CivilDate(year: numbers.0, month: numbers.1, day: numbers.2)
            }
            guard (1...3).contains(lengths.0), numbers.0 >= 1 else { return nil }
            return CivilDate(year: numbers.0 + 1911, month: numbers.1, day: numbers.2)
        default:
            return nil
        }
    }
}
