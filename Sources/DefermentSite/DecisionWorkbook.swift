import Crypto
import Foundation
import DefermentCore
import DefermentFiles
import DefermentWorkbooks
import DefermentStore

/// A column of a decision workbook's roster sheets (審核名冊欄位): the one definition that both
/// writing the workbook and reading it back use.
public enum DecisionColumn: String, CaseIterable, Sendable {
    case rowID = "序號"
    case schoolCode = "學校代碼"
    case schoolName = "學校名稱"
    case nationalID = "身分證字號"
    case name = "姓名"
    case birthDate = "出生年月日"
    case program = "群科"
    case grade = "年級"
    case status = "學籍狀態"
    case start = "緩徵起始日期"
    case end = "緩徵終止日期"
    case checks = "系統檢核"
    case currentState = "目前狀態"
    case decision = "審核結果"
    case comment = "審核意見"

    /// Whether county staff fill the column in (every other cell is locked).
    public var isEditable: Bool { self == .decision || self == .comment }
    /// The identity cells that must come back exactly as sent.
    public static let identity: [DecisionColumn] = [.nationalID, .name, .birthDate]
    /// Column widths in characters.
    var width: Double {
        switch self {
        case .rowID: return 9
        case .schoolName, .checks: return 28
        case .comment: return 36
        case .nationalID, .birthDate, .start, .end: return 13
        default: return 10
        }
    }
}

/// The token a decision workbook carries (驗證碼): the county, upload date and generation it was
/// issued for. Its text, signed with an HMAC under the desk's key, is made and checked by the
/// desk (`Sources/DefermentDesk/Decisions/DecisionTokenSigning.swift`); the site only writes it.
public struct DecisionToken: Sendable, Equatable {
    public var county: String
    public var uploadDate: CivilDate
    /// What the workbook was made from: the last file the desk had applied when it was written
    /// (its ledger id). A row finally decided by a later file is not changed by this workbook.
    /// 0 for a token of the first form (`DDT1`), which carried none.
    public var generation: Int64

    public init(county: String, uploadDate: CivilDate, generation: Int64 = 0) {
        self.county = county
        self.uploadDate = uploadDate
        self.generation = generation
    }
}

/// Writes a county's decision workbook for one upload date (審核名冊活頁簿):
/// a cover with counts, instructions and the sign-off fields, then 申請緩徵名冊 and 離校學生名冊
/// where only 審核結果 (a dropdown) and 審核意見 can be edited.
public enum DecisionWorkbook {
    public static let coverSheet = "封面"
    public static let tokenLabel = "驗證碼（請勿修改）"
    public static let reviewerLabel = "承辦人"
    public static let approverLabel = "核定人"
    public static let approvedOnLabel = "核定日期"

    /// The sheet of each roster.
    public static func sheetName(_ kind: RosterKind) -> String { kind == .application ? "申請緩徵名冊" : "離校學生名冊" }

    /// The file name a county downloads.
    public static func fileName(county: String, uploadDate: String) -> String {
        "審核名冊-\(county)-\(CivilDate.compact(uploadDate)).xlsx"
    }

    /// The 0-based rows of the sign-off fields on the cover (their values are in column B).
    static let reviewerRow = 2, approverRow = 3, approvedOnRow = 4

    /// Writes the workbook to `path`.
    /// - Parameters:
    ///   - fill: decisions to write into the editable cells instead of the current ones (the
    ///     demo's county clerk uses it); `nil` from it leaves a row's current decision.
    ///   - signOff: sign-off values to write into the cover (the demo again).
    public static func write(to path: String, countyName: String, token: DecisionToken, tokenText: String,
                             rows: [DecisionSheetRow], fill: ((DecisionSheetRow) -> RowDecision?)? = nil,
                             signOff: SignOff? = nil, returnAddress: String = "") throws {
        try AtomicFile.write(data(countyName: countyName, token: token, tokenText: tokenText, rows: rows, fill: fill, signOff: signOff,
                                  returnAddress: returnAddress),
                             to: URL(fileURLWithPath: path))
    }

    /// The formats of a decision workbook.
    struct Formats {
        let bold, header, input, inputWrap, red, wrap: Workbook.Format
        init(_ wb: Workbook) {
            bold = wb.format(.init(bold: true))
            header = wb.format(.init(bold: true, background: 0xDDE6F0))
            input = wb.format(.init(background: 0xFFF5CC, unlocked: true))
            inputWrap = wb.format(.init(background: 0xFFF5CC, wrap: true, unlocked: true))
            red = wb.format(.init(fontColor: 0xC00000))
            wrap = wb.format(.init(wrap: true))
        }
    }

    /// The workbook's bytes (see ``write(to:countyName:token:tokenText:rows:fill:signOff:)``),
    /// written in constant-memory mode: rows are on disk, in a private folder, as they are written.
    public static func data(countyName: String, token: DecisionToken, tokenText: String,
                            rows: [DecisionSheetRow], fill: ((DecisionSheetRow) -> RowDecision?)? = nil,
                            signOff: SignOff? = nil, returnAddress: String = "") throws -> Data {
        let sendTo = returnAddress.isEmpty ? "放入 inbox/decisions/\(token.county)/"
            : "以附加檔案回覆寄至 \(returnAddress)（或交系統管理者放入 inbox/decisions/\(token.county)/）"
        let wb = try Workbook(constantMemory: true)
        wb.setProperties(title: "\(countyName)在學緩徵審核名冊 \(token.uploadDate.iso)",
                         created: Date(timeIntervalSince1970: Double(token.uploadDate.daysSinceEpoch) * 86400))
        let f = Formats(wb)
        var counts: [String: Int] = [:]
        var total: [RosterKind: Int] = [:]
        for r in rows {
            counts[r.countyState, default: 0] += 1
            total[r.rosterKind, default: 0] += 1
        }

        let cover = wb.addSheet(coverSheet)
        cover.setColumnWidth(0, 22)
        cover.setColumnWidth(1, 60)
        cover.write(0, 0, "\(countyName)政府・在學緩徵名冊審核", f.bold)
        cover.write(1, 0, tokenLabel); cover.write(1, 1, tokenText)
        cover.write(reviewerRow, 0, reviewerLabel, f.bold); cover.write(reviewerRow, 1, signOff?.reviewer ?? "", f.input)
        cover.write(approverRow, 0, approverLabel, f.bold); cover.write(approverRow, 1, signOff?.approver ?? "", f.input)
        cover.write(approvedOnRow, 0, approvedOnLabel, f.bold); cover.write(approvedOnRow, 1, signOff?.approvedOn?.iso ?? "", f.input)
        let facts: [(String, String)] = [
            ("縣市", "\(countyName)（\(token.county)）"), ("上傳日期", token.uploadDate.roc),
            ("申請緩徵名冊", "\(total[.application] ?? 0) 筆"), ("離校學生名冊", "\(total[.leaving] ?? 0) 筆"),
            ("待審核", "\(counts[ReviewState.pending.rawValue] ?? 0) 筆"), ("陳核中", "\(counts["陳核中"] ?? 0) 筆"),
            ("核准", "\(counts[ReviewState.approved.rawValue] ?? 0) 筆"), ("未核准", "\(counts[ReviewState.refused.rawValue] ?? 0) 筆"),
        ]
        for (i, fact) in facts.enumerated() { cover.write(6 + i, 0, fact.0, f.bold); cover.write(6 + i, 1, fact.1) }
        let instructions = [
            "填寫說明",
            "1. 請於「申請緩徵名冊」「離校學生名冊」兩表的「審核結果」欄選擇「核准」或「未核准」；「未核准」須於「審核意見」欄說明理由。",
            "2. 「系統檢核」欄列出系統檢查發現的疑點（如逾就學年齡限制、已有未結束之在學緩徵註記、役別不符），請審核時參考。",
            "3. 其餘欄位（序號、身分證字號、姓名、出生年月日等）已鎖定，請勿修改；修改或刪除鎖定欄位、驗證碼的檔案將整份退件。",
            "4. 陳核：承辦人填妥審核結果後填寫本頁「承辦人」，存檔後\(sendTo)，系統記錄為「陳核中」（學校尚看不到），並寄回收件回條。",
            "5. 核定：核定人確認後於本頁填寫「核定人」與「核定日期」（如 115/11/30 或 2026-11-30），再以同樣方式寄回，審核結果即生效並通知學校。",
            "6. 已審核的資料列顯示目前結果；如需更正，修改後依上述程序重新上傳即可，每次變更都會留下紀錄。",
            "7. 未填審核結果的資料列維持待審核；可分批審核、分次上傳。",
        ]
        for (i, line) in instructions.enumerated() { cover.write(16 + i, 0, line, i == 0 ? f.bold : nil) }
        cover.protect()
        cover.activate()

        let columns = DecisionColumn.allCases
        for kind in [RosterKind.application, .leaving] {
            let sheet = wb.addSheet(sheetName(kind))
            for (i, c) in columns.enumerated() { sheet.setColumnWidth(i, c.width) }
            sheet.write(0, 0, tokenLabel); sheet.write(0, 2, tokenText)
            // The sign-off as the cover holds it, so a CSV export of this sheet carries it too.
            let signOffFields = [(reviewerLabel, reviewerRow), (approverLabel, approverRow), (approvedOnLabel, approvedOnRow)]
            for (i, (label, row)) in signOffFields.enumerated() {
                sheet.write(1, i * 2, label)
                sheet.write(1, i * 2 + 1, formula: "=IF('\(coverSheet)'!B\(row + 1)=\"\",\"\",'\(coverSheet)'!B\(row + 1))", result: "")
            }
            for (i, c) in columns.enumerated() { sheet.write(2, i, c.rawValue, f.header) }
            var at = 3
            for r in rows where r.rosterKind == kind {
                writeRow(r, at: at, in: sheet, formats: f, fill: fill)
                at += 1
            }
            let last = max(3, 2 + (total[kind] ?? 0))
            sheet.freezeRows(3)
            sheet.autofilter(firstRow: 2, firstCol: 0, lastRow: last, lastCol: columns.count - 1)
            sheet.dropdown(firstRow: 3, lastRow: max(3, last), col: 13, values: DecisionWord.allCases.map(\.rawValue),
                           prompt: "請選擇「核准」或「未核准」；未核准須填寫審核意見")
            sheet.protect(allowFilter: true)
        }
        return try wb.data()
    }

    /// Writes one row of a roster sheet.
    static func writeRow(_ r: DecisionSheetRow, at row: Int, in sheet: WorkbookSheet, formats f: Formats,
                         fill: ((DecisionSheetRow) -> RowDecision?)?) {
        var shown = r.shownDecision
        if let d = fill?(r) { shown = (d.word.rawValue, d.comment) }
        sheet.write(row, 0, number: Double(r.id))
        sheet.write(row, 1, r.schoolCode); sheet.write(row, 2, r.schoolName); sheet.write(row, 3, r.nationalID)
        sheet.write(row, 4, r.name); sheet.write(row, 5, CivilDate.shown(r.birthDate)); sheet.write(row, 6, r.program)
        sheet.write(row, 7, r.grade); sheet.write(row, 8, r.status); sheet.write(row, 9, CivilDate.shown(r.start))
        sheet.write(row, 10, CivilDate.shown(r.end))
        sheet.write(row, 11, r.checks, r.checks.isEmpty ? nil : f.wrap)
        sheet.write(row, 12, r.countyState, r.state == .refused && r.draft == nil ? f.red : nil)
        sheet.write(row, 13, shown.word, f.input)
        sheet.write(row, 14, shown.comment, f.inputWrap)
    }
}
