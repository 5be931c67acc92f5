import Foundation
import DefermentStore

/// 帳號維護: contact changes and new passwords (移交), all rows checked before any applies
/// (``Desk/applyAccountsFile``). Passwords are never archived: the archive keeps a copy with
/// them masked.
struct AccountRequestHandler: InputHandler {
    let desk: Desk

    func handle(_ file: ClaimedFile, progress: @escaping (Int) throws -> Void) throws -> HandledFile {
        // A clerk's own request (帳號維護申請) made on the site, as a file.
        if let text = Self.smallText(file.url), let request = try AccountChangeRequest.find(in: text) {
            let line = try desk.applyAccountChangeRequest(request, requestDigest: file.sha)
            try desk.store.queue.write { db in
                let id = try DeskStore.addLedgerEntry(db, sha256: file.sha, kind: file.kind.rawValue, originalName: file.name,
                                                      archivedPath: file.relativeArchive, uploadDate: nil, uploadDateSource: nil,
                                                      format: "")
                try DeskStore.finishLedgerEntry(db, id: id, rowCount: 1, summary: line, format: "申請")
            }
            return HandledFile(line: line, archivedCopy: nil)
        }
        let (rows, redacted) = try desk.applyAccountsFile(file.url)
        let line = "更新帳號 \(rows) 筆"
        try desk.store.queue.write { db in
            let id = try DeskStore.addLedgerEntry(db, sha256: file.sha, kind: file.kind.rawValue, originalName: file.name,
                                                  archivedPath: file.relativeArchive, uploadDate: nil, uploadDateSource: nil, format: "")
            try DeskStore.finishLedgerEntry(db, id: id, rowCount: rows, summary: line, format: "CSV")
        }
        return HandledFile(line: line, archivedCopy: Data(redacted.utf8))
    }

    /// A file's text when it is small enough to be a request (at most 64 KiB of UTF-8).
    static func smallText(_ url: URL) -> String? {
        guard let data = try? Data(contentsOf: url), data.count <= 65_536 else { return nil }
        return String(data: data, encoding: .utf8)
    }
}
