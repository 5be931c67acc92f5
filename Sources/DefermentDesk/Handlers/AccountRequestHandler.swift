import Foundation
import DefermentStore

/// 帳號維護: contact changes and new passwords (移交), all rows checked before any applies
/// (``Desk/applyAccountsFile``). Passwords are never archived: the archive keeps a copy with
/// them masked.
struct AccountRequestHandler: InputHandler {
    let desk: Desk

    func handle(_ file: ClaimedFile, progress: @escaping (Int) throws -> Void) throws -> HandledFile {
        let (rows, redacted) = try desk.applyAccountsFile(file.url)
        let line = "更新帳號 \(rows) 筆"
        try desk.store.queue.write { db in
            let id = try DeskStore.addLedgerEntry(db, sha256: file.sha, kind: file.kind.rawValue, originalName: file.name,
                                                  archivedPath: file.relativeArchive, uploadDate: nil, uploadDateSource: nil, format: "")
            try DeskStore.finishLedgerEntry(db, id: id, rowCount: rows, summary: line, format: "CSV")
        }
        return HandledFile(line: line, archivedCopy: Data(redacted.utf8))
    }
}
