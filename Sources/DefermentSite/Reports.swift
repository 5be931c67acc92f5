import Foundation
import DefermentCore
import DefermentFiles
import DefermentWorkbooks
import DefermentStore

/// A school's 產出報表 of one roster (upload date): `report-<date>.xlsx` and `report-<date>.csv`
/// with the current review state, including the county's decision and comment. The results page
/// joins the CSVs of every roster into one file in the browser (the pieces' rows in order, one BOM
/// and one header), which is byte for byte ``csv(rows:)`` of all the school's rows.
enum SchoolReport {
    static let red: UInt32 = 0xC62828
    /// The date of a report whose last change is unknown (2000-01-01): fixed, not "now".
    static let noChangeKnown = Date(timeIntervalSince1970: 946_684_800)

    /// The site paths (before sealing) of a school's reports of an upload date.
    static func paths(base: String, date: String) -> (xlsx: String, csv: String) {
        let stem = base + "report-" + CivilDate.compact(date)
        return (stem + ".xlsx", stem + ".csv")
    }

    /// Builds both reports of a roster and hands each to `publish` (which seals it for the
    /// school). The workbook is dated `created`, the time of the last file that changed the
    /// roster, so that its bytes are a function of the database (the same in any build).
    static func write(rows: [ReportRow], school: SchoolEntry, base: String, date: String, created: Date,
                      publish: (String, Data) throws -> Void) throws {
        let (xlsxPath, csvPath) = paths(base: base, date: date)
        try publish(csvPath, Data(csv(rows: rows)))
        try publish(xlsxPath, try xlsx(rows: rows, title: "審核結果報表・\(school.name)・\(CivilDate.shown(date))", created: created))
    }

    /// UTF-8 with BOM so Excel opens it, CRLF, formula injection neutralised: the same text as
    /// ``RosterReport/csvField(_:)`` of ``SpreadsheetText/neutralised(_:)`` for every value,
    /// built as bytes.
    static func csv(rows: [ReportRow]) -> [UInt8] {
        var out: [UInt8] = [0xEF, 0xBB, 0xBF]
        out.reserveCapacity(rows.count * 160)
        func line(_ count: Int, neutralise: Bool, _ value: (Int) -> String) {
            for i in 0..<count {
                if i > 0 { out.append(0x2C) }
                field(value(i), neutralise: neutralise)
            }
            out.append(0x0D); out.append(0x0A)
        }
        func field(_ value: String, neutralise: Bool) {
            var value = value
            value.withUTF8 { u in
                var apostrophe = false
                if neutralise, let first = u.first { apostrophe = SpreadsheetText.startsFormula(first) }
                let quoted = u.contains(where: RosterReport.needsQuotes)
                if quoted { out.append(0x22) }
                if apostrophe { out.append(0x27) }
                if quoted {
                    for b in u { if b == 0x22 { out.append(0x22) }; out.append(b) }
                    out.append(0x22)
                } else {
                    out.append(contentsOf: u)
                }
            }
        }
        line(RosterReport.columns.count, neutralise: false) { RosterReport.columns[$0] }
        for r in rows { line(ReportRow.reportColumnCount, neutralise: true, r.reportValue) }
        return out
    }

    /// The date columns of ``RosterReport/columns``: shown as 民國 in the workbook (the CSV keeps
    /// ISO 8601, one documented form for machines).
    static let dateColumns: Set<Int> = Set(["上傳日期", "出生年月日", "緩徵起始日期", "緩徵終止日期"].compactMap { RosterReport.columns.firstIndex(of: $0) })

    static func xlsx(rows: [ReportRow], title: String = "審核結果報表", created: Date = SchoolReport.noChangeKnown) throws -> Data {
        let wb = try Workbook(constantMemory: true)
        wb.setProperties(title: title, created: created)
        let header = wb.format(.init(bold: true, background: 0xE6EBF2))
        let redRow = wb.format(.init(fontColor: red))
        let sheet = wb.addSheet("審核結果")
        let columns = RosterReport.columns
        var widths = columns.map { WorkbookSheet.displayWidth($0) }
        let widest = 60
        for r in rows {
            for i in widths.indices where widths[i] < widest { widths[i] = max(widths[i], WorkbookSheet.displayWidth(r.reportValue(i))) }
        }
        for (i, w) in widths.enumerated() { sheet.setColumnWidth(i, Double(min(w, widest) + 2)) }
        for (i, c) in columns.enumerated() { sheet.write(0, i, c, header) }
        sheet.freezeRows(1)
        let isDate = columns.indices.map(dateColumns.contains)
        for (n, r) in rows.enumerated() {
            let format = r.state == .refused ? redRow : nil
            for i in columns.indices {
                let v = r.reportValue(i)
                sheet.write(n + 1, i, isDate[i] ? CivilDate.shown(v) : v, format)
            }
        }
        sheet.autofilter(firstRow: 0, firstCol: 0, lastRow: max(rows.count, 1), lastCol: columns.count - 1)

        // Summary by county, with a chart.
        var tallies: [String: [String: Int]] = [:]
        var order: [String] = []
        for r in rows {
            let county = r.countyName.isEmpty ? "不分派" : r.countyName
            if tallies[county] == nil { order.append(county) }
            tallies[county, default: [:]][r.reviewState, default: 0] += 1
        }
        order.sort { a, b in a == "不分派" ? false : (b == "不分派" ? true : a < b) }
        let summary = wb.addSheet("依縣市統計")
        let heads = ["分派縣市", "總數", "待審核", "核准", "未核准", "不分派"]
        for (i, h) in heads.enumerated() { summary.write(0, i, h, header) }
        summary.setColumnWidth(0, 14)
        for (n, county) in order.enumerated() {
            let t = tallies[county]!
            summary.write(n + 1, 0, county)
            summary.write(n + 1, 1, number: Double(t.values.reduce(0, +)))
            for (i, state) in [ReviewState.pending, .approved, .refused, .notAssigned].enumerated() {
                summary.write(n + 1, 2 + i, number: Double(t[state.rawValue] ?? 0))
            }
        }
        if !order.isEmpty {
            summary.insertChart(1, 7, ColumnChart(title: "依分派縣市之審核狀態", sheet: "依縣市統計", rows: 1...order.count, categoryColumn: 0,
                                                  series: [("待審核", 2), ("核准", 3), ("未核准", 4)]))
        }
        return try wb.data()
    }
}

/// Text for spreadsheets made safe against formula injection (OWASP CSV injection): a value
/// starting with `=`, `+`, `-`, `@`, tab or carriage return gets a leading apostrophe.
public enum SpreadsheetText {
    /// Whether a text starting with this byte would be read as a formula (`=`, `+`, `-`, `@`,
    /// tab, carriage return).
    static func startsFormula(_ first: UInt8) -> Bool {
        first == 0x3D || first == 0x2B || first == 0x2D || first == 0x40 || first == 0x09 || first == 0x0D
    }

    public static func neutralised(_ s: String) -> String {
        guard let first = s.utf8.first, startsFormula(first) else { return s }
        return "'" + s
    }
}

/// The ministry's roster templates (名冊範本): the application and the leaving roster, as XLSX
/// (header, dropdowns, instructions sheet, an example row) and CSV, with the very columns the
/// parser accepts (``RosterColumn/templateOrder``).
enum RosterTemplateFiles {
    struct Kind {
        let kind: RosterKind
        let file: String
        let label: String
    }

    /// The templates' creation time, fixed so that a build writes the same bytes (and the
    /// publisher leaves them alone) until their content changes.
    static let created = Date(timeIntervalSince1970: 1_767_225_600)   // 2026-01-01

    static let kinds = [
        Kind(kind: .application, file: "application-roster-template", label: "申請緩徵名冊範本"),
        Kind(kind: .leaving, file: "leaving-roster-template", label: "離校學生名冊範本"),
    ]

    static func example(_ kind: RosterKind, statuses: [String]) -> [RosterColumn: String] {
        [.nationalID: "A123456789", .birthDate: "0970301", .name: "王小明", .schoolCode: "110000",
         .schoolName: "國立範例高級中學", .program: "普通科", .grade: "1",
         .start: kind == .application ? "1151015" : "1141015", .end: kind == .application ? "1180630" : "1151031",
         .status: statuses.first ?? "", .experimental: "否"]
    }

    /// Writes the four files and returns their entries for the templates page.
    static func write(rules: DefermentRules, publisher: SitePublisher) throws -> [[String: String]] {
        var files: [[String: String]] = []
        let columns = RosterColumn.templateOrder
        for k in kinds {
            let statuses = rules.rosterKindByStatus.filter { $0.value == k.kind }.map { $0.key }.sorted()
            let example = example(k.kind, statuses: statuses)
            // CSV
            var csv = "\u{FEFF}" + columns.map(\.rawValue).joined(separator: ",") + "\r\n"
            csv += columns.map { example[$0] ?? "" }.joined(separator: ",") + "\r\n"
            try publisher.publish("templates/\(k.file).csv", Data(csv.utf8))
            // XLSX
            let wb = try Workbook()
            wb.setProperties(title: k.label, created: RosterTemplateFiles.created)
            let header = wb.format(.init(bold: true, background: 0xE6EBF2))
            let sheet = wb.addSheet("名冊")
            for (i, c) in columns.enumerated() {
                let width = max(WorkbookSheet.displayWidth(c.rawValue), WorkbookSheet.displayWidth(example[c] ?? ""))
                sheet.setColumnWidth(i, Double(width + 4))
                sheet.write(0, i, c.rawValue, header)
            }
            for (i, c) in columns.enumerated() { sheet.write(1, i, example[c] ?? "") }
            sheet.freezeRows(1)
            if let statusCol = columns.firstIndex(of: .status) {
                sheet.dropdown(firstRow: 1, lastRow: 5000, col: statusCol, values: statuses, prompt: "請選擇學籍狀態")
            }
            if let expCol = columns.firstIndex(of: .experimental) {
                sheet.dropdown(firstRow: 1, lastRow: 5000, col: expCol, values: ["是", "否"], prompt: "是否為非學校型態實驗教育學生")
            }
            let help = wb.addSheet("填寫說明")
            help.setColumnWidth(0, 34)
            help.setColumnWidth(1, 8)
            help.setColumnWidth(2, 90)
            help.write(0, 0, "\(k.label)填寫說明", header)
            help.write(1, 0, "第 1 列為標題列，請勿修改欄位名稱；第 2 列為範例，請以實際資料覆寫。"
                + "日期可填民國年（如 0970301、97/03/01）或西元（如 2008-03-01）。存檔請選「Excel 活頁簿（.xlsx）」或「CSV UTF-8」。")
            for (i, h) in ["欄位名稱", "必填", "說明"].enumerated() { help.write(3, i, h, header) }
            // The optional 上傳日期 too: a roster may carry it instead of a date in its name.
            for (n, c) in (columns + [.uploadDate]).enumerated() {
                help.write(4 + n, 0, c.rawValue)
                help.write(4 + n, 1, c.isRequired ? "是" : "否")
                help.write(4 + n, 2, c.help)
            }
            try publisher.publish("templates/\(k.file).xlsx", try wb.data())
            files.append(["file": "\(k.file).xlsx", "label": k.label, "format": "Excel"])
            files.append(["file": "\(k.file).csv", "label": k.label, "format": "CSV"])
        }
        return files
    }
}
