import Testing
@testable import DefermentCore

/// The registry extract's row rules (役政資料檢核), one row per case.
struct RegistryRulesTests {
    static let counties = CountyDirectory([
        County(code: "63000", name: "臺北市", office: "", phone: "", address: "", email: "", isExample: true),
        County(code: "09020", name: "金門縣", office: "", phone: "", address: "", email: "", isExample: true),
    ])

    static let good: [RegistryColumn: String] = [
        .nationalID: "A123456789", .birthDate: "0951023", .name: "王小明", .countyCode: "63000",
        .education: "高中肄業", .serviceStatus: "未經徵兵處理", .defermentStart: "", .defermentEnd: "",
    ]

    func check(_ changes: [RegistryColumn: String]) -> Result<RegistryRules.Checked, RegistryRules.Problem> {
        var values = Self.good
        for (k, v) in changes { values[k] = v }
        // Each cell as the reader hands it over: UTF-8 bytes, alive for the call.
        let buffers = values.mapValues { Array($0.utf8) }
        var pointers: [RegistryColumn: UnsafeMutableBufferPointer<UInt8>] = [:]
        for (k, v) in buffers {
            let p = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, v.count))
            _ = p.initialize(from: v)
            pointers[k] = UnsafeMutableBufferPointer(rebasing: p[0..<v.count])
        }
        defer { for p in pointers.values { p.baseAddress.map { UnsafeMutablePointer($0).deallocate() } } }
        return RegistryRules.check({ UnsafeBufferPointer(pointers[$0]!) }, rules: RosterRulesTests.rules, counties: Self.counties)
    }

    @Test(arguments: [
        ("身分證字號格式錯誤 (check digit)", [RegistryColumn.nationalID: "A123456788"], RegistryColumn.nationalID, "身分證字號格式錯誤"),
        ("外來人口統一證號 is not a conscript", [.nationalID: "A800000014"], .nationalID, "身分證字號格式錯誤"),
        ("出生年月日 unreadable", [.birthDate: "95/13/45"], .birthDate, "日期無法辨識"),
        ("姓名 blank", [.name: ""], .name, "空白"),
        ("戶籍縣市代碼 not a county", [.countyCode: "99999"], .countyCode, "不在縣市代碼表中"),
        ("教育程度 unknown", [.education: "幼稚園"], .education, "不是已知的教育程度"),
        ("兵役狀態 unknown", [.serviceStatus: "出國"], .serviceStatus, "不是已知的兵役狀態"),
        ("在學緩徵起始日期 unreadable", [.defermentStart: "明年"], .defermentStart, "日期無法辨識"),
        ("在學緩徵終止日期 unreadable", [.defermentStart: "1140901", .defermentEnd: "x"], .defermentEnd, "日期無法辨識"),
    ] as [(String, [RegistryColumn: String], RegistryColumn, String)])
    func anUnusableRowNamesItsColumn(_ c: (String, [RegistryColumn: String], RegistryColumn, String)) {
        #expect(check(c.1) == .failure(RegistryRules.Problem(column: c.2, message: c.3)), "\(c.0)")
    }

    @Test func aUsableRowIsTyped() throws {
        let row = try check([.countyCode: "9020", .defermentStart: "1140901"]).get()
        #expect(row.nationalID == "A123456789")
        #expect(row.birthDate == CivilDate(year: 2006, month: 10, day: 23))
        #expect(row.countyCode == "09020")
        #expect(row.deferment == DefermentPeriod(start: CivilDate(year: 2025, month: 9, day: 1)!, end: nil))
        // No deferment start: no open deferment on record.
        #expect(try check([:]).get().deferment == nil)
    }
}
