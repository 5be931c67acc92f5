import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// Step: one sealed decision workbook (審核名冊) per county and upload date, and beside it the
/// county's roster page of that date (the same rows, as a page).
extension SiteBuilder {
    /// The site path of a county's sealed decision workbook for an upload date.
    static func workbookPath(county: String, date: String) -> String {
        "counties/\(county)/decisions/\(CivilDate.compact(date)).xlsx"
    }

    /// Writes and seals one county's decision workbook for an upload date (its rows in the
    /// sheets' order). Which workbooks a build writes is decided from their rows' versions (``SitePlan``).
    func publishDecisionWorkbook(county: County, date: String, rows: [DecisionSheetRow], generation: Int64) throws {
        guard let day = CivilDate.parse(date) else { return }
        let token = DecisionToken(county: county.code, uploadDate: day, generation: generation)
        let workbook = try DecisionWorkbook.data(countyName: county.name, token: token, tokenText: signToken(token), rows: rows,
                                                 returnAddress: returnAddress)
        try publishSealedFile(Self.workbookPath(county: county.code, date: date), data: workbook, account: county.code)
    }

    /// The step: the workbooks of the plan and their roster pages, on the workers; each reads
    /// the county's rows of the date once for both.
    func decisionWorkbooks(_ plan: SitePlan, _ inputs: SiteInputs) -> SiteStep {
        var counts: [String: [RosterCount]] = [:]
        for c in inputs.counts { counts[c.countyCode + "|" + c.uploadDate, default: []].append(c) }
        let names = Dictionary(inputs.schools.map { ($0.code, $0.name) }) { a, _ in a }
        return SiteStep(Self.workbookStep, on: .workers, plan.workbooks.map { county, date in
            let (dateCounts, awaiting) = (counts[county.code + "|" + date] ?? [], inputs.awaiting[county.code]?[date] ?? [:])
            return { [self] queue in
                let (rows, history, generation) = try queue!.read {
                    (try DeskStore.countyRosterRows($0, county: county.code, uploadDate: date),
                     try DeskStore.decisionHistory($0, county: county.code, uploadDate: date),
                     try DeskStore.workbookGeneration($0, county: county.code, uploadDate: date))
                }
                try publishDecisionWorkbook(county: county, date: date, rows: DecisionSheetRow.sheets(of: rows, schoolNames: names),
                                            generation: generation)
                try publishCountyRoster(county: county, date: date, rows: rows, history: history, counts: dateCounts,
                                        awaiting: awaiting, schoolNames: names)
                return 3
            }
        })
    }

    static let workbookStep = "審核名冊 decision workbooks"
}
