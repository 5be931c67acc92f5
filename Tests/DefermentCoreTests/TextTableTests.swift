import Testing
@testable import DefermentCore

/// The rules' text tables answer as a `[String: Value]` dictionary would.
struct TextTableTests {
    static let table: TextTable<Int> = ["在學": 1, "休學": 2, "caf\u{E9}": 3, "": 4]

    @Test(arguments: [
        ("在學", 1 as Int?),
        ("休學", 2),
        ("退學", nil),                 // same length in bytes, other text
        ("在學 ", nil),                // not trimmed here: the reader trims
        ("cafe\u{301}", 3),           // another Unicode form of the same text, as String equality says
        ("", 4),
    ])
    func lookUp(_ c: (String, Int?)) {
        #expect(Self.table[c.0] == c.1)
        #expect(Self.table[c.0] == Dictionary(uniqueKeysWithValues: Self.table.map { ($0.key, $0.value) })[c.0])
    }

    @Test func settingReplacesAndNilRemoves() {
        var t = Self.table
        t["在學"] = 9
        t["cafe\u{301}"] = nil
        #expect(t["在學"] == 9)
        #expect(t["caf\u{E9}"] == nil)
        #expect(t.count == 3)
        #expect(t == ["": 4, "休學": 2, "在學": 9])
        #expect(t != Self.table)
    }
}
