import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

extension RosterIntake {
    /// The plain path (名冊逐列處理), for small files and as the engine's reference: every row
    /// read and checked (``read(url:originalName:opened:body:)``), put in the order of the
    /// roster's key, decided with a look-up in the registry (``RosterRules``), and stored by the
    /// upsert, one row at a time. It records what the engine
    /// (``apply(_:fileID:reading:progress:)``) records for the same file: the same rows, row ids,
    /// schools, counts and summary (tested by `IntakePathsTests`).
    public func applyPlainly(_ db: Database, fileID: Int64, url: URL, originalName: String, arrivalDay: CivilDate,
                             progress: (Int) throws -> Void) throws -> (RosterFileSummary, String) {
        var rows: [ReadRow] = []
        let (format, source) = try read(url: url, originalName: originalName) { rows.append($0) }
        guard !rows.isEmpty else { throw FileRejection.headerOnly }
        let lookup = try PersonLookup(db)
        let writer = try RosterRowWriter(db, fileID: fileID)
        var knownSchools = try DeskStore.schoolCodes(db)
        var summary = RosterFileSummary()
        var tally = OutcomeTally()
        for (n, (index, _)) in Self.indexOrder(rows, arrivalDay: arrivalDay).enumerated() {
            let row = rows[index]
            let (school, date, _, _) = row.storageKey(arrivalDay: arrivalDay)
            let recorded = try decide(row, arrivalDay: arrivalDay, lookup: lookup)
            let outcome = recorded.assessment
            // A school first seen here is added by its first row given to a county.
            if outcome.state != .notAssigned && !knownSchools.contains(school) {
                try DeskStore.addRosterSchool(db, code: school, name: row.parsed.schoolName)
                knownSchools.insert(school)
                summary.newSchools.append(school)
            }
            let written = try writer.write(recorded)
            tally.add(OutcomeCount.one + (OutcomeCount.correction(written) ?? OutcomeCount()),
                      to: OutcomeKey(county: outcome.countyCode, kind: recorded.rosterKind, state: outcome.state, reason: outcome.reason),
                      school: school, date: date)
            if (n + 1) % 10_000 == 0 { try progress(n + 1) }
        }
        try writer.finish()
        summary.add(tally.total(adding: OutcomeTally()))
        summary.uploadDateSource = source
        try DeskStore.refreshCounts(db, pairs: summary.touched, version: fileID, workbookCounties: summary.changedCounties)
        return (summary, format)
    }
}
