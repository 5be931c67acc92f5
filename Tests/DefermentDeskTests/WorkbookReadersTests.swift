import Foundation
import GRDB
import Testing
@testable import DefermentDesk
@testable import DefermentSite
@testable import DefermentStore
import DefermentCore

/// Every kind of workbook the desk writes, opened by two independent readers (openpyxl and
/// LibreOffice's headless Calc, see Scripts/workbook_cells.py) and compared cell by cell with the
/// database; and a decision workbook round trip through LibreOffice, as a clerk who uses it would.
@Suite(.serialized)
struct WorkbookReadersTests {
    /// Every cell of every sheet of each file, as each reader sees it.
    typealias Cells = [String: [String: [[String]]]]

    func cells(_ files: [URL], folder: URL) throws -> [URL: Cells] {
        let json = try pythonOutput([scriptsFolder.appendingPathComponent("workbook_cells.py").path,
                                     folder.appendingPathComponent("lo").path] + files.map(\.path))
        let all = try JSONDecoder().decode([String: Cells].self, from: Data(json.utf8))
        return Dictionary(uniqueKeysWithValues: files.map { ($0, all[$0.path] ?? [:]) })
    }

    /// A row as the readers give it back: trailing empty cells dropped.
    func trimmed(_ row: [String]) -> [String] {
        var row = row
        while row.last == "" { row.removeLast() }
        return row
    }

    @Test func everyWorkbookReadsAsTheDatabaseHoldsItInOpenpyxlAndLibreOffice() throws {
        let f = try DecisionFixture()
        try f.desk.publishSite()
        let site = SiteFixtureView(desk: f.desk)
        let folder = f.root.appendingPathComponent("readers")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)

        // The county's decision workbook from the site, and the operator's copy of it.
        let decision = folder.appendingPathComponent("decision.xlsx")
        try site.opened("counties/\(f.county)/decisions/20261015.xlsx").write(to: decision)
        let operatorCopy = try f.download()
        // A school's report, and the two roster templates.
        let school = try #require(try f.desk.store.queue.read { db in
            try String.fetchOne(db, sql: "SELECT school_code FROM roster_row WHERE upload_date = '\(f.date)' GROUP BY school_code ORDER BY COUNT(*) DESC LIMIT 1")
        })
        let report = folder.appendingPathComponent("report.xlsx")
        try site.opened("schools/\(school)/report-\(f.date.filter { $0 != "-" }).xlsx").write(to: report)
        let templates = RosterTemplateFiles.kinds.map { f.desk.paths.site.appendingPathComponent("templates/\($0.file).xlsx") }
        let read = try cells([decision, operatorCopy, report] + templates, folder: folder)

        for (file, readers) in read {
            #expect(readers["openpyxl"] != nil && readers["openpyxl"] == readers["libreoffice"], "\(file.lastPathComponent): readers differ")
        }

        // Decision workbook: the token and sign-off rows, the header, then every row of the
        // database in order.
        let rows = try f.desk.store.queue.read { try DeskStore.decisionSheetRows($0, county: f.county, uploadDate: f.date) }
        for file in [decision, operatorCopy] {
            let office = try #require(read[file]?["libreoffice"])
            let cover = try #require(office[DecisionWorkbook.coverSheet])
            let token = cover[1][1]
            #expect(token.hasPrefix("DDT2-\(f.county)-20261015-"))
            for kind in [RosterKind.application, .leaving] {
                let sheet = try #require(office[DecisionWorkbook.sheetName(kind)])
                let expected = rows.filter { $0.rosterKind == kind }.map { r in
                    trimmed(["\(r.id)", r.schoolCode, r.schoolName, r.nationalID, r.name, CivilDate.shown(r.birthDate), r.program, r.grade,
                             r.status, CivilDate.shown(r.start), CivilDate.shown(r.end), r.checks, r.countyState, r.shownDecision.word,
                             r.shownDecision.comment])
                }
                #expect(sheet.first == [DecisionWorkbook.tokenLabel, "", token])
                #expect(sheet[1] == ["承辦人", "", "核定人", "", "核定日期"])
                #expect(sheet[2] == DecisionColumn.allCases.map(\.rawValue))
                #expect(Array(sheet.dropFirst(3)) == expected)
                #expect(cover.contains([DecisionWorkbook.sheetName(kind), "\(expected.count) 筆"]))
            }
        }

        // School report of the roster: every row of the school on it, and the counts by county.
        let reportRows = try f.desk.store.queue.read { try DeskStore.schoolRows($0, school: school) }.filter { $0.uploadDate == f.date }
        let office = try #require(read[report]?["libreoffice"])
        #expect(office["審核結果"] == [RosterReport.columns] + reportRows.map { row in
            trimmed(row.reportValues.enumerated().map { SchoolReport.dateColumns.contains($0.offset) ? CivilDate.shown($0.element) : $0.element })
        })
        let summary = try #require(office["依縣市統計"])
        #expect(summary.first == ["分派縣市", "總數", "待審核", "核准", "未核准", "不分派"])
        #expect(summary.dropFirst().map { Int($0[1]) ?? -1 }.reduce(0, +) == reportRows.count)
        for line in summary.dropFirst() {
            let name = line[0] == "不分派" ? "" : line[0]
            #expect(Int(line[1]) == reportRows.filter { $0.countyName == name }.count, "\(line)")
        }

        // Templates: the parser's columns and the example row; the instructions sheet.
        for (k, file) in zip(RosterTemplateFiles.kinds, templates) {
            let sheets = try #require(read[file]?["libreoffice"])
            let columns = RosterColumn.templateOrder
            let statuses = f.desk.reference.rules.rosterKindByStatus.filter { $0.value == k.kind }.map { $0.key }.sorted()
            let example = RosterTemplateFiles.example(k.kind, statuses: statuses)
            #expect(sheets["名冊"] == [columns.map(\.rawValue), trimmed(columns.map { example[$0] ?? "" })])
            #expect(sheets["填寫說明"]?.dropFirst(4).map { $0.first ?? "" } == (columns + [.uploadDate]).map(\.rawValue))
        }
    }

    /// A clerk fills the workbook in (openpyxl), saves it with LibreOffice and sends it back:
    /// the sign-off and the decisions are applied as from Excel.
    @Test func decisionWorkbookSavedByLibreOfficeIsApplied() throws {
        let f = try DecisionFixture()
        let rows = try f.rows()
        let app = DecisionWorkbook.sheetName(.application)
        let edited = try f.edit(try f.download(), [
            "decisions": [["sheet": app, "row": 0, "decision": "核准"], ["sheet": app, "row": 1, "decision": "核准"],
                          ["sheet": app, "row": 2, "decision": "未核准", "comment": "LibreOffice 存檔測試"]],
            "signoff": ["reviewer": "王承辦", "approver": "李科長", "date": "2026-11-30"],
        ])
        let out = f.root.appendingPathComponent("lo")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let soffice = Process()
        soffice.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        soffice.arguments = ["soffice", "-env:UserInstallation=file://" + out.appendingPathComponent("profile").path, "--headless",
                             "--calc", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", out.path, edited.path]
        soffice.standardOutput = FileHandle.nullDevice
        soffice.standardError = FileHandle.nullDevice
        try soffice.run()
        soffice.waitUntilExit()
        #expect(soffice.terminationStatus == 0)
        let saved = out.appendingPathComponent(edited.lastPathComponent)
        #expect(try Data(contentsOf: saved) != (try Data(contentsOf: edited)))   // LibreOffice wrote its own file

        let outcome = try f.submit(saved)
        guard case .applied(let line) = outcome.result else { Issue.record("not applied: \(outcome.result)"); return }
        #expect(line.contains("已核定：核准 2、未核准 1"))
        #expect(try f.text("SELECT review_state FROM roster_row WHERE id = \(rows[0].id)") == "核准")
        #expect(try f.text("SELECT review_state FROM roster_row WHERE id = \(rows[1].id)") == "核准")
        #expect(try f.text("SELECT review_state || '|' || comment FROM roster_row WHERE id = \(rows[2].id)") == "未核准|LibreOffice 存檔測試")
        #expect(try f.text("SELECT approved_on FROM decision_history WHERE roster_row_id = \(rows[0].id)") == "2026-11-30")
        #expect(try f.value("SELECT COUNT(*) FROM deferment_record") == 2)
    }
}
