import Testing
@testable import DefermentCore

/// The one gate between a value from outside and a path: every hostile form is refused.
struct PathGateTests {
    /// Forms a sender could put into a cell or a file name to reach outside its folder, hide a
    /// file, forge a line or confuse a filesystem.
    static let hostile: [String] = [
        "", ".", "..", "...", "../", "./x", "/", "//", "/etc", "../../../../../x", "..\\..\\x", "a/b", "a\\b",
        "11000\u{0}", "\u{0}", "1100\n0", "11000\r", "\t11000", " 110000", "110000 ", "110 00",
        "１１００００", "11000１", "ǅ10000", "ＡＢＣ１２３", "11000\u{202E}", "\u{200B}110000", "110000\u{FEFF}",
        "%2e%2e", "..%2f", "~", "~root", "$HOME", "`id`", "a*b", "a?b", "-rf", "1100000",
        "CON", "aux.txt", ".hidden", "x.enc", "學校代碼", "範例高中", "0000000000000000000000000000000000000000000000000000000000000000000",
        "2026-02-30", "2026-13-01", "2026-1-01", "2026/11/15", "115-11-15", "ABCDEF0123",
    ]

    @Test(arguments: hostile)
    func hostileFormsPassNoGate(_ value: String) {
        for form in PathGate.Form.allCases {
            #expect(!PathGate.accepts(value, as: form), "\(form) accepted \(ShownText.escaped(value))")
            #expect(throws: PathGate.Refused.self) { try PathGate.component(value, as: form) }
        }
    }

    @Test(arguments: [
        ("110000", PathGate.Form.schoolCode), ("A1b2C3", .schoolCode), ("63000", .countyCode), ("09020", .countyCode),
        ("2026-11-15", .isoDate), ("2028-02-29", .isoDate), ("20261115", .compactDate),
        ("0123456789abcdef", .digest), (String(repeating: "f", count: 64), .digest),
    ])
    func theWhitelistedFormsPass(_ c: (String, PathGate.Form)) throws {
        #expect(try PathGate.component(c.0, as: c.1) == c.0)
    }

    @Test func eachFormIsItsOwn() {
        #expect(!PathGate.accepts("63000", as: .schoolCode))
        #expect(!PathGate.accepts("110000", as: .countyCode))
        #expect(!PathGate.accepts("2027-02-29", as: .isoDate))
        #expect(!PathGate.accepts("0123456789ABCDEF", as: .digest))
    }

    @Test(arguments: [
        ("schools/110000/index.html", true), ("counties/63000/decisions/20261115.xlsx.enc", true), ("index.html", true),
        ("schools/../index.html", false), ("schools/./x", false), ("/etc/passwd", false), ("schools//x", false),
        ("schools/.x/index.html", false), ("schools/學校/index.html", false), ("schools/a b/x", false), ("", false),
        ("schools/11000\n/x", false),
    ])
    func sitePathsAreMadeOfSafeComponentsOnly(_ c: (String, Bool)) {
        #expect(PathGate.isSafeRelativePath(c.0) == c.1)
    }

    @Test func namesAreShownOnOneLine() {
        #expect(ShownText.escaped("a\nb.csv") == "a\\nb.csv")
        #expect(ShownText.escaped("x\r\t\u{1B}[2J") == "x\\r\\t\\u{1B}[2J")
        #expect(ShownText.escaped("名冊 2026.csv") == "名冊 2026.csv")
        #expect(!ShownText.escaped("a\u{2028}b").contains("\u{2028}"))
    }
}
