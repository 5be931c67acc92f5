import Testing
@testable import DefermentCore

/// Every date form of docs/rules.md: ROC (民國) and ISO.
struct CivilDateTests {
    static let forms: [(String, String?)] = [
        ("0951023", "2006-10-23"),          // ROC, 7 digits
        ("951023", "2006-10-23"),           // ROC, 6 digits
        ("95/10/23", "2006-10-23"),         // ROC with slashes
        ("095.10.23", "2006-10-23"),        // ROC with dots and leading zero
        ("95-10-23", "2006-10-23"),         // ROC with dashes
        ("民國95年10月23日", "2006-10-23"),   // written out
        ("95年10月23日", "2006-10-23"),       // written out without 民國
        ("民國 95 年 1 月 3 日", "2006-01-03"), // spaces, one-digit month and day
        ("1151015", "2026-10-15"),          // ROC 115 (three-digit year)
        ("115/10/15", "2026-10-15"),
        ("2006-10-23", "2006-10-23"),       // ISO
        ("2006/10/23", "2006-10-23"),
        ("2006.10.23", "2006-10-23"),
        ("20061023", "2006-10-23"),         // ISO compact
        ("０９５１０２３", "2006-10-23"),      // full-width digits
        (" 95/10/23 ", "2006-10-23"),
        ("95/02/29", nil),                  // 2006 is no leap year
        ("96/02/29", nil),
        ("97/02/29", "2008-02-29"),         // leap year
        ("95/13/01", nil),
        ("95/10/32", nil),
        ("", nil),
        ("abc", nil),
        ("95/10", nil),
        ("12345", nil),
        ("2006-10-23T00:00", nil),
        // The two common forms, read by a quicker path, answer as the general scan does.
        ("0950229", nil),                   // 7 digits, no such day
        ("0951323", nil),                   // 7 digits, no such month
        ("095102a", nil),                   // 7 characters, not all digits
        ("2006-02-30", nil),                // ISO, no such day
        ("2006-10/23", "2006-10-23"),       // mixed separators: the general scan's answer
        ("2006x10x23", nil),                // 10 characters, not a separator
        ("1995-1-023", nil),                // 10 characters, misplaced separator
    ]

    @Test(arguments: forms)
    func parses(_ form: (String, String?)) {
        #expect(CivilDate.parse(form.0)?.iso == form.1, "\(form.0)")
    }

    @Test func excelSerials() {
        #expect(CivilDate(excelSerial: 45292, date1904: false)?.iso == "2024-01-01")
        #expect(CivilDate(excelSerial: 45292.75, date1904: false)?.iso == "2024-01-01")
        #expect(CivilDate(excelSerial: 1, date1904: false)?.iso == "1900-01-01")
        #expect(CivilDate(excelSerial: 59, date1904: false)?.iso == "1900-02-28")
        #expect(CivilDate(excelSerial: 60, date1904: false) == nil) // Lotus's phantom 1900-02-29
        #expect(CivilDate(excelSerial: 61, date1904: false)?.iso == "1900-03-01")
        #expect(CivilDate(excelSerial: 43830, date1904: true)?.iso == "2024-01-01")
        #expect(CivilDate(excelSerial: 1, date1904: true)?.iso == "1904-01-02")
    }

    @Test func epochRoundTrip() {
        for days in stride(from: -30000, to: 60000, by: 37) {
            let d = CivilDate(daysSinceEpoch: days)
            #expect(d.daysSinceEpoch == days)
        }
        #expect(CivilDate(year: 1970, month: 1, day: 1)!.daysSinceEpoch == 0)
    }

    /// Dates as clerks read them: the stored form's quick path and the general one agree.
    @Test(arguments: [("2026-11-15", "115/11/15"), ("2008-03-01", "097/03/01".replacingOccurrences(of: "097", with: "97")),
                      ("1115/11/15", "1115/11/15"), ("0970301", "97/03/01"), ("", ""), ("不是日期", "不是日期"), ("2026-13-01", "2026-13-01")])
    func shownAsROC(_ c: (String, String)) {
        #expect(CivilDate.shown(c.0) == c.1)
    }

    /// The quick path gives what the general one gives, for every year of 民國 from 1 to 8088.
    @Test func storedFormReadsAsTheFullParseDoes() {
        for year in [1912, 1920, 1999, 2010, 2011, 2026, 2910, 2911, 9999] {
            for (month, day) in [(1, 1), (2, 29), (6, 30), (12, 31)] {
                let iso = String(format: "%04d-%02d-%02d", year, month, day)
                guard let date = CivilDate(year: year, month: month, day: day) else { continue }
                #expect(CivilDate.rocOfStoredISO(iso) == date.roc, "\(iso)")
            }
        }
        #expect(CivilDate.rocOfStoredISO("1911-12-31") == nil && CivilDate.rocOfStoredISO("2026-1-015") == nil)
    }
}
