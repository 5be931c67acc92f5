import Foundation
import DefermentCore
import DefermentFiles
import DefermentStore

/// 學生名冊: a monthly roster's rows are checked, assigned to counties and stored in one
/// transaction; the counties it gives rows to are sent a notice.
struct RosterHandler: InputHandler {
    let desk: Desk

    func handle(_ file: ClaimedFile, progress: @escaping (Int) throws -> Void) throws -> HandledFile {
        let reference = desk.reference
        let intake = desk.rosterIntake(reference)
        // A small file takes the plain path; a large one (or one read ahead) the engine.
        let plain = file.readAhead == nil && fileSize(of: file.url) < intake.tuning.plainBelow
        // The registry in memory comes free when an extract of this run left it; otherwise
        // whether to read it depends on how many people it holds.
        let held = desk.schedule.heldRegistry
        let people = held == nil && !plain && file.readAhead == nil ? try desk.store.queue.read { try DeskStore.peopleHeld($0) } : nil
        let reading = plain ? nil
            : file.readAhead?.reading
                ?? intake.startReading(url: file.url, originalName: file.name, arrivalDay: file.arrivalDay, people: people)
        if let held { reading?.provide(registry: held) }
        var summary: RosterFileSummary?
        let line: String = try desk.store.queue.write { db in
            let fileID = try DeskStore.addLedgerEntry(db, sha256: file.sha, kind: file.kind.rawValue, originalName: file.name,
                                                      archivedPath: file.relativeArchive, uploadDate: nil, uploadDateSource: nil,
                                                      format: "")
            let (applied, format) = try reading.map { try intake.apply(db, fileID: fileID, reading: $0, progress: progress) }
                ?? intake.applyPlainly(db, fileID: fileID, url: file.url, originalName: file.name, arrivalDay: file.arrivalDay,
                                       progress: progress)
            let line = applied.line(counties: reference.counties)
            try desk.queueRosterNotices(db, summary: applied)
            try DeskStore.finishLedgerEntry(db, id: fileID, rowCount: applied.rows, summary: line, format: format,
                                            uploadDate: applied.uploadDates.max()?.iso, uploadDateSource: applied.uploadDateSource.rawValue)
            summary = applied
            return line
        }
        return HandledFile(line: line, roster: summary)
    }
}
