/// How the desk shows a moment to people (時間顯示): Taiwan time (Asia/Taipei, UTC+8, no daylight
/// saving), as `YYYY-MM-DD HH:MM:SS`, in pages, exports and the command line alike. The database
/// keeps UTC (SQLite's `datetime('now')`) or ISO 8601 with `Z`; both are read.
public enum DeskTime {
    /// The Taiwan time of a UTC moment written `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SSZ`;
    /// text of another form is returned as it is.
    public static func taipei(fromUTC text: String) -> String {
        let digits = text.unicodeScalars.filter { $0.properties.numericType != nil && $0.isASCII }.map { Int($0.value) - 48 }
        guard digits.count == 14, text.count >= 19,
              let date = CivilDate(year: number(digits[0..<4]), month: number(digits[4..<6]), day: number(digits[6..<8]))
        else { return text }
        var hour = number(digits[8..<10]) + 8
        var day = date
        if hour >= 24 { hour -= 24; day = CivilDate(daysSinceEpoch: date.daysSinceEpoch + 1) }
        return day.iso + " " + two(hour) + ":" + two(number(digits[10..<12])) + ":" + two(number(digits[12..<14]))
    }

    private static func number(_ d: ArraySlice<Int>) -> Int { d.reduce(0) { $0 * 10 + $1 } }
    private static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
