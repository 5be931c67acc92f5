import Foundation
import GRDB
import Testing
@testable import DefermentDesk
@testable import DefermentStore
@testable import DefermentCore

/// Registry extracts (役政資料檔), row by row: what is stored for a usable row, which column a
/// row that cannot be used is reported under and why, the same whatever the file's format.
@Suite(.serialized)
struct RegistryIntakeTests {
    /// One extract row and what must come of it: the stored person (national ID, birth date,
    /// name, county code, education, service status, deferment start, end) or the problem.
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var cells: [String]
        var stored: [String?]?
        var problem: (column: String, message: String)?
        var testDescription: String { name }
    }

    static let a = Fixture.id(11), b = Fixture.id(12), c = Fixture.id(13), d = Fixture.id(14), e = Fixture.id(15)
    static let f = Fixture.id(24)
    static let longName = String(repeating: "長", count: 25_000)
    static let badCheckDigit = String(Fixture.id(16).dropLast()) + String((Int(String(Fixture.id(16).last!))! + 1) % 10)

    static let cases: [Case] = [
        Case(name: "可用之資料列照錄", cells: [a, "0951023", "王小明", "63000", "高中肄業", "未經徵兵處理", "", ""],
             stored: [a, "2006-10-23", "王小明", "63000", "高中肄業", "未經徵兵處理", nil, nil]),
        Case(name: "前後空白與全形空白去除，字母轉大寫，縣市代碼補足五碼", cells: [" " + b.lowercased() + " ", "95/10/23", "　李　大同　", "63", "高中畢業　", " 免役 ", "1140901", ""],
             stored: [b, "2006-10-23", "李　大同", "63000", "高中畢業", "免役", "2025-09-01", nil]),
        Case(name: "姓名含逗號與引號", cells: [c, "2006-10-23", "王,\"小\"明", "09020", "高中肄業", "待徵", "2025-09-01", "2027-06-30"],
             stored: [c, "2006-10-23", "王,\"小\"明", "09020", "高中肄業", "待徵", "2025-09-01", "2027-06-30"]),
        Case(name: "極長之姓名完整照錄（逾 65,535 位元組）", cells: [f, "0951023", longName, "63000", "高中肄業", "待徵", "", ""],
             stored: [f, "2006-10-23", longName, "63000", "高中肄業", "待徵", nil, nil]),
        Case(name: "有終止日期而無起始日期者不記緩徵", cells: [d, "0951023", "陳一", "台中市", "大學肄業", "待徵", "", "1160630"],
             stored: [d, "2006-10-23", "陳一", "66000", "大學肄業", "待徵", nil, nil]),
        Case(name: "身分證字號檢查碼錯誤", cells: [badCheckDigit, "0951023", "甲", "63000", "高中肄業", "待徵", "", ""],
             problem: ("身分證字號", "身分證字號格式錯誤")),
        Case(name: "出生年月日無法辨識", cells: [Fixture.id(17), "九五年", "甲", "63000", "高中肄業", "待徵", "", ""],
             problem: ("出生年月日", "日期無法辨識")),
        Case(name: "姓名空白", cells: [Fixture.id(18), "0951023", "　", "63000", "高中肄業", "待徵", "", ""],
             problem: ("姓名", "空白")),
        Case(name: "縣市代碼不在代碼表中", cells: [Fixture.id(19), "0951023", "甲", "99", "高中肄業", "待徵", "", ""],
             problem: ("戶籍縣市代碼", "不在縣市代碼表中")),
        Case(name: "教育程度不是已知的教育程度", cells: [Fixture.id(20), "0951023", "甲", "63000", "博士", "待徵", "", ""],
             problem: ("教育程度", "不是已知的教育程度")),
        Case(name: "兵役狀態不是已知的兵役狀態", cells: [Fixture.id(21), "0951023", "甲", "63000", "高中肄業", "未役", "", ""],
             problem: ("兵役狀態", "不是已知的兵役狀態")),
        Case(name: "緩徵起始日期無法辨識", cells: [Fixture.id(22), "0951023", "甲", "63000", "高中肄業", "待徵", "114/13/01", ""],
             problem: ("在學緩徵起始日期", "日期無法辨識")),
        Case(name: "緩徵終止日期無法辨識", cells: [Fixture.id(23), "0951023", "甲", "63000", "高中肄業", "待徵", "1140901", "明年"],
             problem: ("在學緩徵終止日期", "日期無法辨識")),
        // Named twice: the later row is what the registry says.
        Case(name: "同一人列兩次，先列者", cells: [e, "0951023", "林舊", "63000", "高中肄業", "待徵", "1140901", ""], stored: nil),
        Case(name: "同一人列兩次，後列者為準", cells: [e, "0951023", "林新", "64000", "高中畢業", "免役", "", ""],
             stored: [e, "2006-10-23", "林新", "64000", "高中畢業", "免役", nil, nil]),
    ]

    /// The extract as CSV text (RFC 4180 quoting), with a blank line in the middle.
    static func csv() -> String {
        func quoted(_ s: String) -> String {
            s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var lines = [Fixture.registryHeader.trimmingCharacters(in: .newlines)]
        for (i, c) in cases.enumerated() {
            lines.append(c.cells.map(quoted).joined(separator: ","))
            if i == 3 { lines.append("") }
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// The row number each case has in the file (header row 1, the blank line counted).
    static func rowNumber(_ index: Int) -> Int { index + 2 + (index > 3 ? 1 : 0) }

    /// Writes the extract in `format`: CSV in UTF-8, UTF-8 with BOM, or CP950, or XLSX by openpyxl.
    func write(_ format: String, to folder: URL) throws -> URL {
        let text = Self.csv()
        let url = folder.appendingPathComponent("registry.\(format == "xlsx" ? "xlsx" : "csv")")
        switch format {
        case "utf8": try Data(text.utf8).write(to: url)
        case "bom": try Data([0xEF, 0xBB, 0xBF] + Array(text.utf8)).write(to: url)
        default:
            let rows = [Fixture.registryHeader.trimmingCharacters(in: .newlines).components(separatedBy: ",")] + Self.cases.map(\.cells)
            let json = folder.appendingPathComponent("rows.json")
            try JSONSerialization.data(withJSONObject: rows).write(to: json)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", "-c", """
            import sys, json, csv, io, openpyxl
            rows = json.load(open(sys.argv[1], encoding='utf-8'))
            if sys.argv[3] == 'xlsx':
                wb = openpyxl.Workbook(); ws = wb.active
                for r in rows: ws.append(r)
                wb.save(sys.argv[2])
            else:
                out = io.StringIO(); w = csv.writer(out, lineterminator='\\r\\n')
                for i, r in enumerate(rows):
                    w.writerow(r)
                    if i == 4: out.write('\\r\\n')
                open(sys.argv[2], 'wb').write(out.getvalue().encode('cp950'))
            """, json.path, url.path, format]
            try p.run(); p.waitUntilExit()
            #expect(p.terminationStatus == 0)
        }
        return url
    }

    @Test(arguments: ["utf8", "bom", "cp950", "xlsx"])
    func eachRowIsStoredOrReportedUnderItsColumn(_ format: String) throws {
        let root = try temporaryRoot("registry\(format)")
        let desk = try openDesk(root)
        let url = try write(format, to: root)
        let result = try desk.store.queue.write { db in
            try RegistryIntake(reference: desk.reference).apply(db, fileID: nil, url: url) { _ in }
        }
        let expectedProblems = Self.cases.indices.compactMap { i in
            Self.cases[i].problem.map { "\(format == "xlsx" ? i + 2 : Self.rowNumber(i)) \($0.column) \($0.message)" }
        }
        #expect(result.problems.map { "\($0.row) \($0.column) \($0.message)" } == expectedProblems)
        #expect(result.rows == Self.cases.count - expectedProblems.count)
        let stored = try desk.store.queue.read { db in
            try Row.fetchAll(db, sql: """
                SELECT national_id, birth_date, name, county_code, education, service_status, deferment_start, deferment_end
                FROM person WHERE national_id IN ('\([Self.a, Self.b, Self.c, Self.d, Self.e, Self.f].joined(separator: "','"))') ORDER BY national_id
                """).map { row in (0..<8).map { row[$0] as String? } }
        }
        let expected = Self.cases.compactMap(\.stored).sorted { ($0[0] ?? "") < ($1[0] ?? "") }
        #expect(stored == expected)
    }
}
