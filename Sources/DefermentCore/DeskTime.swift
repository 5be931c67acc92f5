import Foundation

/// How the desk shows a moment to people (時間顯示): Taiwan time (Asia/Taipei, UTC+8, no daylight
/// saving), as `YYYY-MM-DD HH:MM:SS`, in pages, exports and the command line alike. The database
/// keeps UTC (SQLite's `datetime('now')`) or ISO 8601 with `Z`; both are read.
public enum DeskTime {
    /// The Taiwan time of a UTC moment written `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SSZ`;
    /// text of another form is returned as it is.
    public static func taipei(fromUTC text: String) -> String {
        guard let (date, hour, minute, second) = utcFields(text) else { return text }
        var taipeiHour = hour + 8
        var day = date
        if taipeiHour >= 24 { taipeiHour -= 24; day = CivilDate(daysSinceEpoch: date.daysSinceEpoch + 1) }
        return day.iso + " " + two(taipeiHour) + ":" + two(minute) + ":" + two(second)
    }

    /// The moment a UTC text of those two forms names (as the database stores it); `nil` for
    /// text of another form.
    public static func moment(fromUTC text: String) -> Date? {
        guard let (date, hour, minute, second) = utcFields(text) else { return nil }
        return Date(timeIntervalSince1970: Double(date.daysSinceEpoch * 86_400 + hour * 3_600 + minute * 60 + second))
    }

    /// The day and time of a UTC text of those two forms.
    private static func utcFields(_ text: String) -> (CivilDate, Int, Int, Int)? {
        let digits = text.unicodeScalars.filter { $0.properties.numericType != nil && $0.isASCII }.map { Int($0.value) - 48 }
        guard digits.count == 14, text.count >= 19,
              let date = CivilDate(year: number(digits[0..<4]), month: number(digits[4..<6]), day: number(digits[6..<8]))
        else { return nil }
        return (date, number(digits[8..<10]), number(digits[10..<12]), number(digits[12..<14]))
    }

    private static func number(_ d: ArraySlice<Int>) -> Int { d.reduce(0) { $0 * 10 + $1 } }
    private static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
