import Foundation
import DefermentCore
import DefermentStore

/// 役政資料: a registry extract updates the people it names, in one transaction. Rows that
/// cannot be used are skipped and listed, with row and column, in `state/reports/`.
struct RegistryHandler: InputHandler {
    let desk: Desk

    func handle(_ file: ClaimedFile, progress: @escaping (Int) throws -> Void) throws -> HandledFile {
        let schedule = desk.schedule, reference = desk.reference
        var built: RegistrySnapshot?
        let line: String = try desk.store.queue.write { db in
            let fileID = try DeskStore.addLedgerEntry(db, sha256: file.sha, kind: file.kind.rawValue, originalName: file.name,
                                                      archivedPath: file.relativeArchive, uploadDate: nil, uploadDateSource: nil,
                                                      format: "")
            let snapshot = try schedule.snapshotForExtract(db)
            let result = try RegistryIntake(reference: reference).apply(db, fileID: fileID, url: file.url, snapshot: snapshot,
                                                                        readingDone: schedule.extractRead(snapshot: snapshot),
                                                                        progress: progress)
            built = snapshot
            var line = "更新役政資料 \(result.rows) 筆"
            if !result.problems.isEmpty {
                line += "，略過有誤的 \(result.problems.count) 列（見 state/reports/）"
                let text = result.problems.map { "第 \($0.row) 列「\($0.column)」：\($0.message)" }.joined(separator: "\n")
                try QueueFiles.writeAtomically("役政資料檔：\(ShownText.escaped(file.name))\n\(text)\n",
                                               to: desk.paths.reports.appendingPathComponent(
                                                   "\(file.sha.prefix(16))-\(StoredName.of(file.name)).txt"))
            }
            try DeskStore.finishLedgerEntry(db, id: fileID, rowCount: result.rows, summary: line, format: result.format)
            return line
        }
        schedule.extractCommitted(built)
        return HandledFile(line: line)
    }
}
