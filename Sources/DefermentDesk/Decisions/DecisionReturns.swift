import Crypto
import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore
import DefermentSite

/// What applying one returned decision workbook did (審核結果處理), without personal data.
public struct DecisionFileSummary: Sendable, Equatable {
    public var approved = 0
    public var refused = 0
    public var awaitingSignOff = 0
    public var unchanged = 0
    public var undecided = 0
    /// Row-level problems: sheet, row and column, in zh-TW (those rows were not applied).
    public var problems: [String] = []
    /// Notes from applying (e.g. a leaving row with no open deferment record to end).
    public var notes: [String] = []
    public var final = false

    /// One line for logs, the ledger and the county's page.
    public var line: String {
        var parts: [String] = []
        if final { parts.append("已核定：核准 \(approved)、未核准 \(refused)") } else { parts.append("陳核中 \(awaitingSignOff)（尚未核定，學校暫不可見）") }
        if unchanged > 0 { parts.append("與先前相同 \(unchanged)") }
        if undecided > 0 { parts.append("未填審核結果 \(undecided)") }
        if !problems.isEmpty { parts.append("有誤未處理 \(problems.count)") }
        if !notes.isEmpty { parts.append("請注意 \(notes.count)") }
        return parts.joined(separator: "，")
    }
}

extension Desk {
    /// The key that signs decision workbooks' tokens, created (32 random bytes, mode 0600)
    /// on first use and kept in `state/`.
    public func decisionTokenKey() throws -> SymmetricKey {
        let url = paths.decisionKey
        if let data = try? Data(contentsOf: url), data.count == 32 { return SymmetricKey(data: data) }
        let key = SymmetricKey(size: .bits256)
        let data = key.withUnsafeBytes { Data($0) }
        try AtomicFile.write(data, to: url)
        chmod(url.path, 0o600)
        return key
    }

    /// Writes a county's decision workbook for one upload date to `url` (plain, for operators
    /// and for tests; the site publishes the same workbook sealed for the county).
    @discardableResult
    public func writeDecisionWorkbook(county: String, uploadDate: CivilDate, to url: URL,
                                      fill: ((DecisionSheetRow) -> RowDecision?)? = nil, signOff: SignOff? = nil) throws -> Int {
        guard let c = reference.counties.county(code: county) else { throw SiteError("沒有縣市代碼 \(county)") }
        let (rows, generation) = try store.queue.read { db in
            (try DeskStore.decisionSheetRows(db, county: county, uploadDate: uploadDate.iso),
             try DeskStore.workbookGeneration(db, county: county, uploadDate: uploadDate.iso))
        }
        let token = DecisionToken(county: county, uploadDate: uploadDate, generation: generation)
        try DecisionWorkbook.write(to: url.path, countyName: c.name, token: token, tokenText: token.signed(with: try decisionTokenKey()),
                                   rows: rows, fill: fill, signOff: signOff, returnAddress: mailReturnAddress)
        return rows.count
    }

    /// The upload dates with rows assigned to each county, newest first.
    public func decisionDates() throws -> [String: [String]] {
        try store.queue.read { try DeskStore.decisionDates($0) }
    }

    /// Applies a returned decision workbook in one transaction. Throws ``FileRejection`` (and
    /// changes nothing) for a file that is not a valid workbook of the county whose folder it
    /// was dropped into; row-level problems only skip their rows.
    func applyDecisionFile(url: URL, name: String, folderCounty: String?, sha: String, archive: URL) throws -> String {
        guard let county = folderCounty else {
            throw FileRejection(problem: "審核名冊直接放在 inbox/decisions/，沒有放入縣市資料夾。",
                                fix: "請放入 inbox/decisions/<縣市代碼>/（例如 inbox/decisions/63000/）。")
        }
        guard let countyEntry = reference.counties.county(code: county) else {
            throw FileRejection(problem: "資料夾「\(county)」不是縣市代碼。", fix: "請放入 inbox/decisions/<縣市代碼>/，縣市代碼見縣市政府通訊錄。")
        }
        let returned: ReturnedDecisions
        do { returned = try ReturnedDecisions.read(url) } catch let e as TableFileError { throw FileRejection(e) }
        guard let tokenText = returned.tokenText, !tokenText.isEmpty else {
            throw FileRejection(problem: "檔案中找不到驗證碼（封面或名冊工作表第 1 列「\(DecisionWorkbook.tokenLabel)」）。",
                                fix: "請使用從本縣市審核頁面下載的審核名冊填寫；匯出 CSV 時請保留第 1、2 列。")
        }
        guard let token = DecisionToken.verify(tokenText, key: try decisionTokenKey()) else {
            throw FileRejection(problem: "驗證碼無效：此檔案不是本系統產生的審核名冊，或驗證碼已被修改。",
                                fix: "請重新下載審核名冊，填寫審核結果後上傳，勿修改驗證碼。")
        }
        guard token.county == county else {
            let owner = reference.counties.county(code: token.county)?.name ?? token.county
            throw FileRejection(problem: "此審核名冊屬於\(owner)（\(token.county)），卻放在\(countyEntry.name)（\(county)）的資料夾。",
                                fix: "請放入 inbox/decisions/\(token.county)/，或改用本縣市的審核名冊。")
        }
        guard returned.foundHeader else {
            throw FileRejection(problem: "找不到審核名冊的標題列（需有「序號」與「審核結果」欄）。", fix: "請勿刪除或修改標題列後重新上傳。")
        }
        if let bad = returned.unreadableApprovalDate {
            let shown = bad.count > 20 ? String(bad.prefix(20)) + "…" : bad
            throw FileRejection(problem: "封面「核定日期」無法辨識（「\(shown)」）。", fix: "請填寫如 115/11/30 或 2026-11-30 的日期後重新上傳。")
        }
        let signOff = returned.signOff
        if let day = signOff.approvedOn, day > Self.day(of: Date()) {
            throw FileRejection(problem: "封面「核定日期」（\(day.roc)）晚於今日：核定日期不可晚於今日。",
                                fix: "請填寫實際核定的日期（今日或之前）後重新上傳。")
        }
        let relativeArchive = String(archive.path.dropFirst(paths.root.path.count + 1))
        var summary = DecisionFileSummary()
        summary.final = signOff.isFinal
        try store.queue.write { db in
            let fileID = try DeskStore.addLedgerEntry(db, sha256: sha, kind: InputKind.decisions.rawValue, originalName: name,
                                                      archivedPath: relativeArchive, uploadDate: token.uploadDate.iso,
                                                      uploadDateSource: nil, format: returned.format)
            var seen: Set<Int64> = []
            var touched: Set<[String]> = []
            var schoolChanges: [String: [String: (approved: Int, refused: Int)]] = [:]
            for r in returned.rows {
                let at = "工作表「\(r.sheet)」第 \(r.rowNumber) 列"
                guard let id = r.id, let row = try DeskStore.decidableRow(db, id: id) else {
                    throw FileRejection(problem: "\(at)「序號」不是本系統產生的序號（序號不得修改，也不得自行增列）。",
                                        fix: "請重新下載審核名冊，只填寫「審核結果」與「審核意見」兩欄。")
                }
                guard row.countyCode == county, row.uploadDate == token.uploadDate.iso else {
                    throw FileRejection(problem: "\(at)不是分派給\(countyEntry.name) \(token.uploadDate.iso) 名冊的資料，本縣市不能審核。",
                                        fix: "請只審核本縣市審核名冊中的資料列，勿自其他檔案複製資料列。")
                }
                let stored: [DecisionColumn: String] = [.nationalID: row.nationalID, .name: row.name, .birthDate: row.birthDate]
                // 出生年月日 compares as a date: the workbook shows 民國, a spreadsheet may rewrite it.
                func same(_ c: DecisionColumn) -> Bool {
                    let sent = r.identity[c] ?? ""
                    if c == .birthDate, let a = CivilDate.parse(sent), let b = CivilDate.parse(stored[c]!) { return a == b }
                    return sent == stored[c]!
                }
                for c in DecisionColumn.identity where !same(c) {
                    throw FileRejection(problem: "\(at)「\(c.rawValue)」與系統產生時不同（鎖定欄位不得修改；若學校已重送此列更正資料，也會如此）。",
                                        fix: "請重新下載審核名冊（會顯示最新資料與已填的審核結果），只填寫「審核結果」與「審核意見」兩欄後上傳。")
                }
                switch DecisionRules.read(decision: r.decision, comment: r.comment) {
                case .failure(let p):
                    summary.problems.append("\(at)「\(p.column)」：\(p.message)")
                case .success(nil):
                    summary.undecided += 1
                case .success(let decision?):
                    guard seen.insert(id).inserted else {
                        summary.problems.append("\(at)「序號」：同一序號出現兩次，此列未處理")
                        continue
                    }
                    let change = DecisionRules.change(row.current, to: decision, final: signOff.isFinal)
                    // A workbook made before the row's latest final decision does not override it.
                    if change != .unchanged, let later = row.lastFinal, later.fileID > token.generation {
                        summary.problems.append("\(at)：此列已於 \(later.day?.roc ?? later.recordedAt) 另有核定結果，請下載最新審核名冊")
                        continue
                    }
                    switch change {
                    case .unchanged:
                        summary.unchanged += 1
                    case .awaitingSignOff:
                        try DeskStore.recordDraft(db, row: row, decision: decision, signOff: signOff, fileID: fileID)
                        summary.awaitingSignOff += 1
                        touched.insert([row.schoolCode, row.uploadDate])
                    case .final(let previous):
                        if let note = try DeskStore.recordFinal(db, row: row, decision: decision, previous: previous, signOff: signOff,
                                                                fileID: fileID) {
                            summary.notes.append("\(at)：\(note)")
                        }
                        if decision.word == .approve { summary.approved += 1 } else { summary.refused += 1 }
                        var change = schoolChanges[row.schoolCode, default: [:]][row.uploadDate, default: (0, 0)]
                        if decision.word == .approve { change.approved += 1 } else { change.refused += 1 }
                        schoolChanges[row.schoolCode, default: [:]][row.uploadDate] = change
                        touched.insert([row.schoolCode, row.uploadDate])
                    }
                }
            }
            try DeskStore.refreshCounts(db, pairs: touched, version: fileID, workbookCounties: [county])
            try queueResultNotices(db, county: county, fileID: fileID, changes: schoolChanges)
            try DeskStore.finishLedgerEntry(db, id: fileID, rowCount: returned.rows.count, summary: summary.line, format: returned.format,
                                            uploadDate: token.uploadDate.iso, uploadDateSource: nil)
            try DeskStore.addCountyNotice(db, county: county, fileName: name, fileDigest: sha, accepted: true, summary: summary.line,
                                          problems: summary.problems + summary.notes)
        }
        if !summary.problems.isEmpty {
            let text = "審核名冊：\(name)\n\(summary.line)\n以下資料列有誤，未處理（其餘資料列已處理）：\n" + summary.problems.joined(separator: "\n") + "\n"
            try QueueFiles.writeAtomically(text, to: paths.rejected.appendingPathComponent("decisions/\(county)/\(name).有誤資料列.txt"))
        }
        if summary.final && summary.approved + summary.refused > 0 { try exportDefermentRecords() }
        return summary.line
    }

    /// Records on the county's page that a decision file was refused.
    func noteRejectedDecisionFile(county: String?, name: String, sha: String, _ rejection: FileRejection) {
        guard let county, reference.counties.county(code: county) != nil else { return }
        do {
            try store.queue.write { db in
                try DeskStore.addCountyNotice(db, county: county, fileName: name, fileDigest: sha, accepted: false,
                                              summary: "整份退件，未做任何變更", problems: [rejection.problem, "處理方式：" + rejection.fix])
            }
        } catch {
            logger.error("無法記錄退件通知：\(error)")
        }
    }

    /// Column names of the deferment-record export (緩徵註記匯出).
    public static let exportHeader = ["身分證字號", "學校代碼", "緩徵起始日期", "緩徵終止日期", "狀態", "依據", "名冊上傳日期", "離校名冊上傳日期", "更新時間"]

    /// Writes every deferment record to `outbox/exports/deferment-records.csv` (UTF-8 with BOM)
    /// for the military-service system, atomically.
    @discardableResult
    public func exportDefermentRecords() throws -> URL {
        var text = "\u{FEFF}" + Self.exportHeader.joined(separator: ",") + "\r\n"
        try store.queue.read { db in
            try DeskStore.forEachDefermentRecord(db) { values in
                var values = values
                if let last = values.indices.last { values[last] = DeskTime.taipei(fromUTC: values[last]) }   // 更新時間
                text += values.map(RosterReport.csvField).joined(separator: ",") + "\r\n"
            }
        }
        let url = paths.exports.appendingPathComponent("deferment-records.csv")
        try AtomicFile.write(Data(text.utf8), to: url)
        return url
    }
}
