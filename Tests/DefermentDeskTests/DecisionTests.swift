import Foundation
import GRDB
import Testing
@testable import DefermentDesk
@testable import DefermentSite
@testable import DefermentStore
import DefermentCore
import DefermentFiles

/// A desk with the first sample month processed, and helpers to play a county's part.
final class DecisionFixture {
    let root: URL
    let desk: Desk
    /// The county with the most rows in the month, and that month.
    let county: String
    let date = "2026-10-15"

    init(_ name: String = #function) throws {
        root = try temporaryRoot(name)
        try drop(try Data(contentsOf: seedsFolder.appendingPathComponent("rosters/roster-20261015.csv")), as: "roster-20261015.csv", into: .rosters, root: root)
        desk = try Desk(root: root, seeds: seedsFolder, templates: templatesFolder)
        desk.settleSeconds = 0
        _ = try desk.runOnce()
        county = try desk.store.queue.read { db in
            try String.fetchOne(db, sql: "SELECT county_code FROM roster_row WHERE county_code IS NOT NULL GROUP BY county_code ORDER BY COUNT(*) DESC LIMIT 1")!
        }
    }

    var day: CivilDate { CivilDate.parse(date)! }

    /// The county's workbook as the site offers it (plain, written to a temporary file).
    func download(_ county: String? = nil) throws -> URL {
        let url = root.appendingPathComponent("download-\(UUID().uuidString.prefix(6)).xlsx")
        try desk.writeDecisionWorkbook(county: county ?? self.county, uploadDate: day, to: url)
        return url
    }

    /// Edits a workbook with openpyxl (see Scripts/edit_decisions.py) and returns the result.
    func edit(_ workbook: URL, _ spec: [String: Any], ext: String = "xlsx") throws -> URL {
        let out = root.appendingPathComponent("edited-\(UUID().uuidString.prefix(6)).\(ext)")
        let json = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
        _ = try pythonOutput([scriptsFolder.appendingPathComponent("edit_decisions.py").path, workbook.path, out.path, json])
        return out
    }

    /// What openpyxl reads in a workbook's roster sheets.
    func readBack(_ workbook: URL) throws -> [String: [[String: JSONValue]]] {
        let json = try pythonOutput([scriptsFolder.appendingPathComponent("edit_decisions.py").path, workbook.path, "-", "{\"read\": true}"])
        return try JSONDecoder().decode([String: [[String: JSONValue]]].self, from: Data(json.utf8))
    }

    /// Drops a returned file into `inbox/decisions/<folder>/` and runs the desk once.
    @discardableResult
    func submit(_ file: URL, folder: String? = nil, name: String? = nil) throws -> FileOutcome {
        let dir = folder == "" ? desk.paths.inbox(.decisions) : desk.paths.decisions(county: folder ?? county)
        let target = dir.appendingPathComponent(name ?? "審核名冊-\(UUID().uuidString.prefix(6)).\(file.pathExtension)")
        try FileManager.default.copyItem(at: file, to: target)
        let summary = try desk.runOnce()
        return try #require(summary.files.first)
    }

    func rows(_ kind: RosterKind = .application) throws -> [DecisionSheetRow] {
        try desk.store.queue.read { try DeskStore.decisionSheetRows($0, county: county, uploadDate: date) }.filter { $0.rosterKind == kind }
    }

    func value(_ sql: String) throws -> Int { try desk.store.queue.read { try Int.fetchOne($0, sql: sql) ?? -1 } }
    func text(_ sql: String) throws -> String? { try desk.store.queue.read { try String.fetchOne($0, sql: sql) } }
}

/// A JSON scalar as openpyxl hands it over.
enum JSONValue: Decodable, Equatable {
    case text(String), number(Double), null
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null } else if let d = try? c.decode(Double.self) { self = .number(d) } else { self = .text(try c.decode(String.self)) }
    }
    var string: String? { if case .text(let s) = self { return s }; return nil }
}

@Suite(.serialized)
struct DecisionTests {
    static let application = DecisionWorkbook.sheetName(.application)

    /// The manual's items 4–5 end to end: staff decide and submit (陳核中: the school sees
    /// nothing yet), the supervisor signs off (final: records created, the school sees 核准 and
    /// 未核准 with the comment), a later workbook changes a decision (history kept, record voided).
    @Test func openpyxlRoundTripFromSubmissionToSignOffToCorrection() throws {
        let f = try DecisionFixture()
        let rows = try f.rows()
        #expect(rows.count >= 6)
        let comment = "<script>alert(1)</script>學籍資料不符，請查明"
        let decisions: [[String: Any]] = [
            ["sheet": Self.application, "row": 0, "decision": "核准"],
            ["sheet": Self.application, "row": 1, "decision": "核准"],
            ["sheet": Self.application, "row": 2, "decision": " 核准 "],
            ["sheet": Self.application, "row": 3, "decision": "未核准", "comment": comment],
            ["sheet": Self.application, "row": 4, "decision": "未核准"],
            ["sheet": Self.application, "row": 5, "decision": "准了"],
        ]
        // 1. Submitted for sign-off (承辦人 only).
        let submitted = try f.edit(try f.download(), ["decisions": decisions, "signoff": ["reviewer": "王承辦"]])
        let first = try f.submit(submitted)
        guard case .applied(let line) = first.result else { Issue.record("not applied: \(first.result)"); return }
        #expect(line.contains("陳核中 4"))
        #expect(line.contains("有誤未處理 2"))
        #expect(try f.value("SELECT COUNT(*) FROM roster_row WHERE draft_decision IS NOT NULL") == 4)
        #expect(try f.value("SELECT COUNT(*) FROM roster_row WHERE review_state IN ('核准', '未核准')") == 0)
        #expect(try f.value("SELECT COUNT(*) FROM deferment_record") == 0)
        let problems = try #require(try f.text("SELECT problems FROM county_notice ORDER BY id DESC LIMIT 1"))
        #expect(problems.contains("工作表「申請緩徵名冊」第 8 列「審核意見」：未核准須填寫審核意見"))
        #expect(problems.contains("工作表「申請緩徵名冊」第 9 列「審核結果」：「准了」不是可用的審核結果"))
        // The row problems are reported to the county beside its file too.
        let reports = try FileManager.default.contentsOfDirectory(atPath: f.desk.paths.rejected.appendingPathComponent("decisions/\(f.county)").path)
        #expect(reports.contains { $0.hasSuffix(".有誤資料列.txt") })

        // 2. A fresh download shows the decisions awaiting sign-off; the supervisor signs off.
        let again = try f.download()
        let shown = try #require(try f.readBack(again)[Self.application])
        #expect(shown[0]["審核結果"] == .text("核准"))
        #expect(shown[3]["審核意見"] == .text(comment))
        #expect(shown[0]["目前狀態"] == .text("陳核中"))
        let signed = try f.edit(again, ["signoff": ["reviewer": "王承辦", "approver": "李科長", "date": "115/11/30"]])
        let second = try f.submit(signed)
        guard case .applied(let line2) = second.result else { Issue.record("not applied: \(second.result)"); return }
        #expect(line2.contains("核准 3、未核准 1"))
        #expect(try f.value("SELECT COUNT(*) FROM roster_row WHERE draft_decision IS NOT NULL") == 0)
        for r in rows.prefix(3) {
            #expect(try f.text("SELECT review_state FROM roster_row WHERE id = \(r.id)") == "核准")
            #expect(try f.value("SELECT COUNT(*) FROM deferment_record WHERE roster_row_id = \(r.id) AND status = 'active' AND national_id = '\(r.nationalID)' AND start_date = '\(r.start)'") == 1)
        }
        #expect(try f.text("SELECT review_state || '|' || comment FROM roster_row WHERE id = \(rows[3].id)") == "未核准|" + comment)
        #expect(try f.value("SELECT COUNT(*) FROM decision_history WHERE roster_row_id = \(rows[0].id)") == 2)
        #expect(try f.text("SELECT approver || '|' || approved_on FROM decision_history WHERE roster_row_id = \(rows[0].id) AND final = 1") == "李科長|2026-11-30")

        // The export for the military-service system lists the three records.
        let exportData = try Data(contentsOf: f.desk.paths.exports.appendingPathComponent("deferment-records.csv"))
        #expect(exportData.starts(with: [0xEF, 0xBB, 0xBF])) // BOM: Excel opens it as UTF-8
        let export = String(decoding: exportData.dropFirst(3), as: UTF8.self)
        #expect(export.hasPrefix("身分證字號,學校代碼,緩徵起始日期,緩徵終止日期,狀態"))
        for r in rows.prefix(3) { #expect(export.contains("\(r.nationalID),\(r.schoolCode),\(r.start),\(r.end),有效,核准在學緩徵")) }

        // `deferment report` (operators) shows the county's decisions and comment.
        let report = try runCLI(["report", "--root", f.root.path, "--county", f.county, "--format", "csv"])
        #expect(report.status == 0, "\(report.err)")
        let reportLines = report.out.split(separator: "\n")
        #expect(reportLines.contains { $0.contains(rows[0].nationalID) && $0.contains(",核准,") })
        #expect(reportLines.contains { $0.contains(rows[3].nationalID) && $0.contains("未核准") && $0.contains("學籍資料不符") })

        // 3. A later workbook changes a decision: the record is voided, every change kept.
        let correction = try f.edit(try f.download(), [
            "decisions": [["sheet": Self.application, "row": 0, "decision": "未核准", "comment": "經查已畢業"]],
            "signoff": ["reviewer": "王承辦", "approver": "李科長", "date": "2026-12-02"],
        ])
        _ = try f.submit(correction)
        #expect(try f.text("SELECT review_state FROM roster_row WHERE id = \(rows[0].id)") == "未核准")
        #expect(try f.text("SELECT status FROM deferment_record WHERE roster_row_id = \(rows[0].id)") == "voided")
        #expect(try f.value("SELECT COUNT(*) FROM decision_history WHERE roster_row_id = \(rows[0].id)") == 3)
        let export2 = try String(contentsOf: f.desk.paths.exports.appendingPathComponent("deferment-records.csv"), encoding: .utf8)
        #expect(export2.contains("\(rows[0].nationalID),\(rows[0].schoolCode),\(rows[0].start),\(rows[0].end),已撤銷"))
    }

    /// The site reflects decisions: the school sees only final ones (red 未核准 with the
    /// comment, and the history), the county sees 陳核中 too and gets its sealed workbook.
    @Test func pagesShowFinalDecisionsToSchoolsAndSubmissionsToCounties() throws {
        let f = try DecisionFixture()
        let rows = try f.rows()
        let signed = try f.edit(try f.download(), [
            "decisions": [["sheet": Self.application, "row": 0, "decision": "未核准", "comment": "年齡逾限"],
                          ["sheet": Self.application, "row": 1, "decision": "核准"]],
            "signoff": ["reviewer": "王承辦", "approver": "李科長", "date": "2026-11-30"],
        ])
        _ = try f.submit(signed)
        let pending = try f.edit(try f.download(), [
            "decisions": [["sheet": Self.application, "row": 2, "decision": "未核准", "comment": "待補件"]],
            "signoff": ["reviewer": "王承辦"],
        ])
        try f.desk.publishSite()
        _ = try f.submit(pending)
        // Republishing after one county's decisions rewrites that county's workbook of that
        // date only (and the pages of the schools concerned).
        let republished = try f.desk.publishSite()
        #expect(republished.workbooks == 1)
        #expect(republished.schoolsRendered >= 1 && republished.schoolsRendered < 30)
        let site = SiteFixtureView(desk: f.desk)

        // The school's details: row 0 red 未核准 with its comment and history; row 2 still 待審核.
        let school = rows[0].schoolCode
        let detail = try site.openedPage("schools/\(school)/roster-\(f.date.filter { $0 != "-" }).html")
        let body = detail.tables[0].rows.dropFirst()
        let refusedRow = try #require(body.first { $0.cells[1].text == rows[0].nationalID })
        #expect(refusedRow.class.contains("refused"))
        #expect(refusedRow.cells[10].text == "未核准" && refusedRow.cells[10].class.contains("red"))
        #expect(refusedRow.cells[11].text == "年齡逾限" && refusedRow.cells[11].class.contains("red"))
        #expect(refusedRow.cells[13].text.contains("未核准（年齡逾限）"))
        // The history says when it was signed off (核定日期, as 民國) and by whom.
        #expect(refusedRow.cells[13].text.contains("核定 115/11/30") && refusedRow.cells[13].text.contains("核定人 李科長"))
        if rows[2].schoolCode == school {
            let waiting = try #require(body.first { $0.cells[1].text == rows[2].nationalID })
            #expect(waiting.cells[10].text == "待審核")
            #expect(!waiting.cells[13].text.contains("陳核中"))
        }
        // The county's roster page shows the submission awaiting sign-off.
        let countyPage = try site.openedPage("counties/\(f.county)/roster-\(f.date.filter { $0 != "-" }).html")
        let entry = try #require(countyPage.tables.flatMap(\.rows).first { $0.cells.contains { $0.text == rows[2].nationalID } })
        #expect(entry.cells.contains { $0.text == "陳核中：未核准" })
        // The county's public page: counts with 陳核中, the sealed workbook's link, the notices.
        let index = try PageOutline.of(f.desk.paths.site.appendingPathComponent("counties/\(f.county)/index.html"))
        let link = try #require(index.links.first { ($0.href ?? "").hasPrefix("decisions/") })
        #expect(link.href == "decisions/20261015.xlsx.enc")
        let total = try #require(index.tables[0].rows.first { $0.cells.first?.text == CivilDate.shown(f.date) })
        #expect(total.cells[3].text == "1") // 陳核中
        #expect(total.cells[5].text == "1") // 未核准
        // The sealed workbook opens with the county's key and is the current workbook.
        let workbook = try site.opened("counties/\(f.county)/decisions/20261015.xlsx")
        let plain = f.root.appendingPathComponent("opened.xlsx")
        try workbook.write(to: plain)
        let back = try #require(try f.readBack(plain)[Self.application])
        #expect(back[0]["目前狀態"] == .text("未核准"))
        #expect(back[2]["目前狀態"] == .text("陳核中"))
        // The overview counts the final decisions.
        let overview = try PageOutline.of(f.desk.paths.site.appendingPathComponent("overview.html"))
        #expect(overview.tables[0].rows.contains { $0.cells.count > 4 && $0.cells.contains { $0.text == "1" } })
    }

    /// A school's resent row rewrites only the decision workbook of that row's county and date,
    /// from the pieces of the other schools kept since the last build.
    @Test func aResentRowRewritesOnlyItsCountysWorkbook() throws {
        let f = try DecisionFixture()
        try f.desk.publishSite()
        let r = try #require(try f.desk.store.queue.read { db in
            try Row.fetchOne(db, sql: """
                SELECT national_id, birth_date, name, school_code, grade, start_date, end_date, enrolment_status, county_code
                FROM roster_row WHERE review_state = '待審核' AND roster_kind = '申請緩徵' ORDER BY id LIMIT 1
                """)
        })
        let v: [String] = (0..<8).map { (r[$0] as String?) ?? "" }
        let fields: [String] = [v[0], v[1], v[2], v[3], "範例高中", "資訊科", v[4], v[5], v[6], v[7], "否"]
        let line = fields.joined(separator: ",")
        try drop(Fixture.rosterHeader + line + "\n", as: "resend-20261015.csv", into: .rosters, root: f.root)
        let outcome = try #require(try f.desk.runOnce().files.first)
        #expect(outcome.roster?.replaced == 1)
        let republished = try f.desk.publishSite()
        #expect(republished.workbooks == 1)
        let county: String = r[8]
        let workbook = try SiteFixtureView(desk: f.desk).opened("counties/\(county)/decisions/20261015.xlsx")
        let plain = f.root.appendingPathComponent("resent.xlsx")
        try workbook.write(to: plain)
        let rows = try #require(try f.readBack(plain)[Self.application])
        #expect(rows.contains { $0["身分證字號"]?.string == (r[0] as String) && $0["群科"]?.string == "資訊科" })
        // Written again from the database, it is byte for byte the workbook the operator's
        // `decisions workbook` writes (libxlsxwriter with a fixed creation time).
        #expect(workbook == (try Data(contentsOf: f.download(county))))

        // Pieces that earlier versions kept under state/site-cache/ (personal data) are removed.
        let legacy = f.desk.paths.legacySiteCache
        try FileManager.default.createDirectory(at: legacy, withIntermediateDirectories: true)
        try Data("old".utf8).write(to: legacy.appendingPathComponent("\(county)-2026-10-15.pieces"))
        try drop(Fixture.rosterHeader + line.replacingOccurrences(of: "資訊科", with: "電機科") + "\n", as: "resend2-20261015.csv", into: .rosters, root: f.root)
        let second = try #require(try f.desk.runOnce().files.first)
        #expect(second.roster?.replaced == 1, "\(second)")
        #expect(try f.desk.publishSite().workbooks == 1)
        #expect(!FileManager.default.fileExists(atPath: legacy.path))
        let again = try SiteFixtureView(desk: f.desk).opened("counties/\(county)/decisions/20261015.xlsx")
        #expect(again != workbook)
        #expect(again == (try Data(contentsOf: f.download(county))))
        try again.write(to: plain)
        #expect(try #require(try f.readBack(plain)[Self.application]).contains { $0["身分證字號"]?.string == (r[0] as String) && $0["群科"]?.string == "電機科" })
    }

    /// Every way a whole file is refused, each with a zh-TW report to the county, on its page,
    /// and nothing stored changed.
    @Test(arguments: [
        ("沒有驗證碼", "找不到驗證碼"),
        ("驗證碼被修改", "驗證碼無效"),
        ("放錯縣市資料夾", "卻放在"),
        ("鎖定的姓名被修改", "「姓名」與系統產生時不同"),
        ("鎖定的身分證字號被修改", "「身分證字號」與系統產生時不同"),
        ("審核其他縣市的資料列", "不是分派給"),
        ("自行增列的序號", "不是本系統產生的序號"),
        ("核定日期無法辨識", "核定日期」無法辨識"),
        ("未放入縣市資料夾", "沒有放入縣市資料夾"),
    ])
    func rejectedWorkbooks(_ c: (String, String)) throws {
        let f = try DecisionFixture(c.0)
        let rows = try f.rows()
        var spec: [String: Any] = ["decisions": [["sheet": Self.application, "row": 0, "decision": "核准"]],
                                   "signoff": ["reviewer": "王承辦", "approver": "李科長", "date": "2026-11-30"]]
        var folder: String? = nil
        switch c.0 {
        case "沒有驗證碼": spec["drop_token"] = true
        case "驗證碼被修改": spec["token"] = DecisionToken(county: f.county, uploadDate: f.day).signed(with: .init(size: .bits256))
        case "放錯縣市資料夾": folder = f.desk.reference.counties.counties.first { $0.code != f.county }!.code
        case "鎖定的姓名被修改": spec["set"] = [["sheet": Self.application, "row": 1, "column": "姓名", "value": "改過的名字"]]
        case "鎖定的身分證字號被修改": spec["set"] = [["sheet": Self.application, "row": 1, "column": "身分證字號", "value": "A123456789"]]
        case "審核其他縣市的資料列":
            let other = try #require(try f.desk.store.queue.read { try Int64.fetchOne($0, sql: "SELECT id FROM roster_row WHERE county_code <> ? AND county_code IS NOT NULL", arguments: [f.county]) })
            spec["set"] = [["sheet": Self.application, "row": 1, "column": "序號", "value": other]]
        case "自行增列的序號": spec["set"] = [["sheet": Self.application, "row": 1, "column": "序號", "value": 99_999_999]]
        case "核定日期無法辨識": spec["signoff"] = ["reviewer": "王承辦", "approver": "李科長", "date": "下週一"]
        case "未放入縣市資料夾": folder = ""
        default: Issue.record("unknown case")
        }
        let file = try f.edit(try f.download(), spec)
        let before = try f.value("SELECT COUNT(*) FROM decision_history")
        let outcome = try f.submit(file, folder: folder)
        guard case .rejected(let r) = outcome.result else { Issue.record("\(c.0): not rejected: \(outcome.result)"); return }
        #expect(r.problem.contains(c.1), "\(c.0): \(r.problem)")
        #expect(try f.value("SELECT COUNT(*) FROM decision_history") == before)
        #expect(try f.text("SELECT review_state FROM roster_row WHERE id = \(rows[0].id)") == "待審核")
        #expect(try f.value("SELECT COUNT(*) FROM input_file WHERE kind = 'decisions'") == 0)
        // The report beside the refused file, in the county's rejected folder.
        let folderName = folder == "" ? "未放入縣市資料夾" : (folder ?? f.county)
        let rejected = f.desk.paths.rejected.appendingPathComponent("decisions/\(folderName)")
        let names = try FileManager.default.contentsOfDirectory(atPath: rejected.path)
        let report = try #require(names.first { $0.hasSuffix(".退件說明.txt") })
        let text = try String(contentsOf: rejected.appendingPathComponent(report), encoding: .utf8)
        #expect(text.contains("縣市政府審核名冊") && text.contains(c.1))
        // …and on that county's page (none when no county folder was used).
        if folder != "" {
            #expect(try f.value("SELECT COUNT(*) FROM county_notice WHERE accepted = 0 AND county_code = '\(folderName)'") == 1)
            try f.desk.publishSite()
            let html = try String(contentsOf: f.desk.paths.site.appendingPathComponent("counties/\(folderName)/index.html"), encoding: .utf8)
            #expect(html.contains("退件"))
        }
    }

    /// A CSV exported from one sheet of the workbook is accepted while it keeps its token.
    @Test func csvExportedFromTheWorkbookIsAccepted() throws {
        let f = try DecisionFixture()
        let rows = try f.rows()
        let csv = try f.edit(try f.download(), [
            "decisions": [["sheet": Self.application, "row": 0, "decision": "核准"], ["sheet": Self.application, "row": 1, "decision": "未核准", "comment": "資料不符"]],
            "signoff": ["reviewer": "王承辦", "approver": "李科長", "date": "2026-11-30"], "csv": Self.application,
        ], ext: "csv")
        let outcome = try f.submit(csv)
        guard case .applied(let line) = outcome.result else { Issue.record("not applied: \(outcome.result)"); return }
        #expect(line.contains("已核定：核准 1、未核准 1"))
        #expect(try f.text("SELECT review_state FROM roster_row WHERE id = \(rows[0].id)") == "核准")
        // Without its token the same export is refused.
        let bare = try f.edit(try f.download(), ["drop_token": true, "csv": Self.application,
                                                   "decisions": [["sheet": Self.application, "row": 2, "decision": "核准"]]], ext: "csv")
        guard case .rejected = try f.submit(bare).result else { Issue.record("tokenless CSV accepted"); return }
    }

    /// A workbook saved by LibreOffice Calc (kept as a fixture; see Fixtures/README.md) reads the
    /// same: its sign-off and decisions are applied.
    @Test func workbookSavedByLibreOffice() throws {
        let f = try DecisionFixture()
        let fixture = repositoryRoot.appendingPathComponent("Tests/DefermentDeskTests/Fixtures/decisions-libreoffice.xlsx")
        try? FileManager.default.removeItem(at: f.desk.paths.decisionKey)
        try Data(repeating: 0x5A, count: 32).write(to: f.desk.paths.decisionKey)
        let county = "64000"
        let rows = try f.desk.store.queue.read { try DeskStore.decisionSheetRows($0, county: county, uploadDate: f.date) }.filter { $0.rosterKind == .application }
        let outcome = try f.submit(fixture, folder: county, name: "libreoffice.xlsx")
        guard case .applied(let line) = outcome.result else { Issue.record("not applied: \(outcome.result)"); return }
        #expect(line.contains("已核定：核准 2、未核准 1"))
        #expect(try f.text("SELECT review_state FROM roster_row WHERE id = \(rows[0].id)") == "核准")
        #expect(try f.text("SELECT review_state || '|' || comment FROM roster_row WHERE id = \(rows[2].id)") == "未核准|LibreOffice 存檔測試")
        #expect(try f.text("SELECT approved_on FROM decision_history WHERE roster_row_id = \(rows[0].id)") == "2026-11-30")
    }

    /// Hostile files are refused with a clear message and change nothing.
    @Test(arguments: ["xxe", "billion-laughs", "zip-bomb"])
    func hostileFilesAreRefused(_ kind: String) throws {
        let f = try DecisionFixture(kind)
        let file = f.root.appendingPathComponent("\(kind).xlsx")
        _ = try pythonOutput([scriptsFolder.appendingPathComponent("hostile_xlsx.py").path, kind, file.path])
        let outcome = try f.submit(file)
        guard case .rejected(let r) = outcome.result else { Issue.record("\(kind) not rejected: \(outcome.result)"); return }
        #expect(r.problem.contains(kind == "zip-bomb" ? "壓縮比或解壓縮後大小超過上限" : "DOCTYPE"), "\(r.problem)")
        #expect(try f.value("SELECT COUNT(*) FROM decision_history") == 0)
    }

    /// A leaving row's approval ends the open record at the leaving date (a record the desk
    /// created, or one the registry holds); with none, the county is told. Records feed the
    /// 已有未結束之在學緩徵註記 check of later rosters.
    @Test func leavingRowsEndOpenRecordsAndRecordsFeedLaterChecks() throws {
        let root = try temporaryRoot()
        let (a, b, c) = (Fixture.id(301), Fixture.id(302), Fixture.id(303))
        try drop(Fixture.registryHeader + """
            \(a),0951023,甲生,63000,高中肄業,未經徵兵處理,,
            \(b),0951023,乙生,63000,高中肄業,未經徵兵處理,1140801,1160630
            \(c),0951023,丙生,63000,高中肄業,未經徵兵處理,,

            """, as: "reg.csv", into: .registry, root: root)
        try drop(Fixture.rosterHeader + "\(a),0951023,甲生,110000,範例高中,普通科,3,1151015,1160630,在學,否\n", as: "r-20261015.csv", into: .rosters, root: root)
        let desk = try Desk(root: root, seeds: seedsFolder, templates: templatesFolder)
        desk.settleSeconds = 0
        _ = try desk.runOnce()
        func decideAll(_ date: String) throws {
            let url = root.appendingPathComponent("wb-\(date).xlsx")
            try desk.writeDecisionWorkbook(county: "63000", uploadDate: CivilDate.parse(date)!, to: url,
                                           fill: { _ in RowDecision(word: .approve, comment: "") },
                                           signOff: SignOff(reviewer: "甲", approver: "乙", approvedOn: CivilDate.parse("2026-12-01")))
            try FileManager.default.moveItem(at: url, to: desk.paths.decisions(county: "63000").appendingPathComponent("wb-\(date).xlsx"))
            _ = try desk.runOnce()
        }
        try decideAll("2026-10-15")
        let q = { (sql: String) throws -> String? in try desk.store.queue.read { try String.fetchOne($0, sql: sql) } }
        #expect(try q("SELECT start_date || '~' || end_date FROM deferment_record WHERE national_id = '\(a)' AND status = 'active'") == "2026-10-15~2027-06-30")

        // Next month: 甲 leaves (休學), 乙 (open deferment in the registry) leaves, 丙 leaves with
        // no deferment at all; and 甲 appears again in an application roster of another school.
        try drop(Fixture.rosterHeader + """
            \(a),0951023,甲生,110000,範例高中,普通科,3,1151115,1151120,休學,否
            \(b),0951023,乙生,110000,範例高中,普通科,3,1151115,1151120,退學,否
            \(c),0951023,丙生,110000,範例高中,普通科,3,1151115,1151120,休學,否
            \(a),0951023,甲生,110037,另一高中,普通科,3,1151115,1160630,在學,否

            """, as: "r-20261115.csv", into: .rosters, root: root)
        _ = try desk.runOnce()
        // The record approved last month is open when this roster is checked.
        #expect(try q("SELECT checks FROM roster_row WHERE national_id = '\(a)' AND school_code = '110037'")?.contains("已有未結束之在學緩徵註記") == true)
        try decideAll("2026-11-15")
        #expect(try q("SELECT end_date FROM deferment_record WHERE national_id = '\(a)' AND source = 'decision' AND start_date = '2026-10-15'") == "2026-11-20")
        #expect(try q("SELECT start_date || '~' || end_date || '|' || source FROM deferment_record WHERE national_id = '\(b)'") == "2025-08-01~2026-11-20|registry")
        #expect(try q("SELECT decision_note FROM roster_row WHERE national_id = '\(c)'")?.contains("查無未結束之緩徵註記") == true)
        let notice = try q("SELECT problems FROM county_notice ORDER BY id DESC LIMIT 1") ?? ""
        #expect(notice.contains("查無未結束之緩徵註記"))
    }
}

/// Opens sealed site files of a desk with the accounts' data keys.
struct SiteFixtureView {
    let desk: Desk
    func opened(_ path: String) throws -> Data {
        let account = path.split(separator: "/").map(String.init)[1]
        let key = try desk.accounts().first { $0.code == account }!.dataKey
        let sealed = try Data(contentsOf: desk.paths.site.appendingPathComponent(path + ".enc"))
        return try Envelope.open(sealed, key: .init(data: key), account: account, path: path + ".enc")
    }
    /// A sealed page's content as a page of its own, for the HTML parser.
    func openedPageFile(_ path: String) throws -> URL {
        let html = "<!DOCTYPE html><html lang=\"zh-Hant-TW\"><head><meta charset=\"utf-8\"><title>opened</title></head><body><main>"
            + String(decoding: try opened(path), as: UTF8.self) + "</main></body></html>"
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("opened-\(UUID().uuidString).html")
        try Data(html.utf8).write(to: url)
        return url
    }
    func openedPage(_ path: String) throws -> PageOutline { try PageOutline.of(openedPageFile(path)) }
}
