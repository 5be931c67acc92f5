import Crypto
import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// Step: one sealed decision workbook (審核名冊) per county and upload date.
extension SiteBuilder {
    /// The site path of a county's sealed decision workbook for an upload date.
    static func workbookPath(county: String, date: String) -> String {
        "counties/\(county)/decisions/\(date.filter { $0 != "-" }).xlsx"
    }

    /// Writes and seals one county's decision workbook for an upload date, from the pieces kept
    /// since the last build where their stamp (`stamps`, by school) still holds, and from the
    /// database for the rest; then keeps the pieces for the next build.
    func publishDecisionWorkbook(county: County, date: String, queue: DatabaseQueue, stamps: [String: String]) throws {
        guard let day = CivilDate.parse(date) else { return }
        let cache = pieceCacheFolder.map { DecisionPieceCache(file: $0.appendingPathComponent(DecisionPieceCache.fileName(county: county.code, date: date))) }
        let kept = cache?.load() ?? [:]
        let wanted = try queue.read { try DeskStore.decisionSheetPieces($0, county: county.code, uploadDate: date) }
        func stamp(_ school: String) -> String { stamps[school] ?? "" }
        var pieces: [DecisionSheetPiece?] = wanted.map { w in
            guard let k = kept[DecisionPieceCache.Key(kind: w.kind, school: w.school)], k.stamp == stamp(w.school),
                  k.piece.rows.count == w.rows else { return nil }
            return k.piece
        }
        let missing = pieces.indices.filter { pieces[$0] == nil }
        if !missing.isEmpty {
            if missing.count * 8 < wanted.count {
                // A few schools changed: read just their rows.
                for i in missing {
                    let rows = try queue.read {
                        try DeskStore.decisionSheetRows($0, county: county.code, uploadDate: date, school: wanted[i].school,
                                                        kind: wanted[i].kind)
                    }
                    pieces[i] = try DecisionWorkbook.piece(kind: wanted[i].kind, schoolCode: wanted[i].school, rows: rows)
                }
            } else {
                // Most of the workbook changed: read it whole. Rows come by roster and school, so
                // each piece is a run of rows.
                let rows = try queue.read { try DeskStore.decisionSheetRows($0, county: county.code, uploadDate: date) }
                var missingAt: [DecisionPieceCache.Key: Int] = [:]
                for i in missing { missingAt[DecisionPieceCache.Key(kind: wanted[i].kind, school: wanted[i].school)] = i }
                for run in DecisionWorkbook.pieceRuns(rows) {
                    let first = rows[run.lowerBound]
                    if let i = missingAt.removeValue(forKey: DecisionPieceCache.Key(kind: first.rosterKind, school: first.schoolCode)) {
                        pieces[i] = try DecisionWorkbook.piece(kind: wanted[i].kind, schoolCode: wanted[i].school, rows: rows[run])
                    }
                }
                for i in missingAt.values { pieces[i] = try DecisionWorkbook.piece(kind: wanted[i].kind, schoolCode: wanted[i].school, rows: []) }
            }
            // Kept for the next build; a cache that cannot be written only costs time then.
            try? cache?.store(zip(wanted, pieces).map { (stamp($0.school), $1!) })
        }
        let token = DecisionToken(county: county.code, uploadDate: day, generation: workbookGeneration)
        let workbook = try DecisionWorkbook.data(countyName: county.name, token: token, tokenText: signToken(token),
                                                 pieces: pieces.map { $0! })
        try publishSealedFile(Self.workbookPath(county: county.code, date: date), data: workbook, account: county.code)
    }

    /// The step: the workbooks of the plan, on the workers.
    func decisionWorkbooks(_ plan: SitePlan) -> SiteStep {
        let stamps = plan.stamps
        return SiteStep(Self.workbookStep, on: .workers, plan.workbooks.map { county, date in { [self] queue in
            try publishDecisionWorkbook(county: county, date: date, queue: queue!, stamps: stamps)
            return 1
        } })
    }

    static let workbookStep = "審核名冊 decision workbooks"
}
