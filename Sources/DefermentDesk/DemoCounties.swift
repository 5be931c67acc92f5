import Crypto
import Foundation
import DefermentCore
import DefermentStore
import DefermentSite

/// The demo's county clerks (示範縣市承辦人): they fill in decision workbooks the way a county
/// would and drop them into `inbox/decisions/<county>/`.
public enum DemoCounties {
    /// The demo's decision for a row: a row the checks doubt is refused with a comment, every
    /// tenth row is left for later, the rest are approved.
    static func decide(_ r: DecisionSheetRow) -> RowDecision? {
        if r.id % 10 == 0 { return nil }
        if let firstCheck = r.checks.split(separator: "；").first, !firstCheck.isEmpty {
            return RowDecision(word: .refuse, comment: "\(firstCheck)，不符在學緩徵要件，請學校查明後於下月名冊更正")
        }
        return RowDecision(word: .approve, comment: "")
    }

    /// Fills in one workbook per county and upload date. Every county signs off except the
    /// second one with rows, whose decisions stay 陳核中; one workbook is also dropped into the
    /// wrong county's folder, to show a rejection. Returns one line per file.
    public static func fillDecisionWorkbooks(desk: Desk) throws -> [String] {
        var lines: [String] = []
        let dates = try desk.decisionDates()
        let counties = desk.reference.counties.counties.filter { dates[$0.code] != nil }
        let awaitingCounty = counties.count > 1 ? counties[1].code : nil
        var firstSigned: (String, String)?
        for county in counties {
            for date in dates[county.code] ?? [] {
                guard let day = CivilDate.parse(date) else { continue }
                let signed = county.code != awaitingCounty
                let signOff = SignOff(reviewer: "\(county.name)承辦人", approver: signed ? "\(county.name)科長" : "",
                                      approvedOn: signed ? CivilDate(year: day.year, month: day.month, day: min(day.day + 10, 28)) : nil)
                let name = DecisionWorkbook.fileName(county: county.code, uploadDate: date)
                let folder = desk.paths.decisions(county: county.code)
                let temp = folder.appendingPathComponent(".\(name).part")
                let n = try desk.writeDecisionWorkbook(county: county.code, uploadDate: day, to: temp, fill: decide, signOff: signOff)
                if signed && firstSigned == nil {
                    // The first county that signs off replies by e-mail with the workbook attached.
                    firstSigned = (county.code, date)
                    try DemoMail.deliver(to: desk.mailInbox, from: county.email, to: desk.mailReturnAddress,
                                         subject: "回覆：\(county.name)審核名冊 \(day.roc)", body: "您好，附上已核定的審核名冊。",
                                         attachment: (name, try Data(contentsOf: temp)))
                    try FileManager.default.removeItem(at: temp)
                    lines.append("\(county.name) \(date)：\(n) 列，已核定，以電子郵件回覆附件寄回（\(desk.mailReturnAddress)）")
                    continue
                }
                try FileManager.default.moveItem(at: temp, to: folder.appendingPathComponent(name))
                lines.append("\(county.name) \(date)：\(n) 列，\(signed ? "已核定" : "只陳核（未核定）")")
            }
        }
        if let (code, date) = firstSigned, let other = counties.last, other.code != code, let day = CivilDate.parse(date) {
            // Another county's workbook (approving everything) dropped into the wrong folder.
            let folder = desk.paths.decisions(county: other.code)
            let temp = folder.appendingPathComponent(".misplaced.part")
            try desk.writeDecisionWorkbook(county: code, uploadDate: day, to: temp, fill: { _ in RowDecision(word: .approve, comment: "") },
                                           signOff: SignOff(reviewer: "承辦人", approver: "", approvedOn: nil))
            let misplaced = "誤放-" + DecisionWorkbook.fileName(county: code, uploadDate: date)
            try FileManager.default.moveItem(at: temp, to: folder.appendingPathComponent(misplaced))
            lines.append("（示範退件）\(other.name)的資料夾誤放了另一縣市（\(code)）的審核名冊")
        }
        return lines
    }
}

/// Made-up decision workbook rows for the benchmark (no real or sample person).
public enum DecisionSamples {
    /// A fixed key: benchmark workbooks are never applied to a desk.
    public static var benchmarkKey: SymmetricKey { SymmetricKey(data: Data(repeating: 7, count: 32)) }

    public static func rows(_ n: Int) -> [DecisionSheetRow] {
        (0..<n).map { i in
            let digits = String(format: "%09d", (i * 7919) % 1_000_000_000)
            return DecisionSheetRow(
                id: Int64(i + 1), rosterKind: i % 9 == 0 ? .leaving : .application, schoolCode: String(format: "%06d", 100000 + i % 500),
                schoolName: "示範高級中學\(i % 500)", nationalID: "A1" + digits.suffix(8), name: "測試生\(i)",
                birthDate: "2007-0\(1 + i % 9)-1\(i % 10)",
                program: "普通科", grade: String(1 + i % 3), status: i % 9 == 0 ? "休學" : "在學", start: "2026-08-01", end: "2027-06-30",
                checks: i % 13 == 0 ? "逾就學年齡限制" : "", state: .pending, comment: "", draft: nil)
        }
    }
}
