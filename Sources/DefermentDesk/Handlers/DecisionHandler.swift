import Foundation

/// 縣市政府審核名冊: a county's returned decision workbook, checked whole (token, folder,
/// locked cells, 序號, 核定日期) and applied in one transaction (``Desk/applyDecisionFile``).
struct DecisionHandler: InputHandler {
    let desk: Desk

    func handle(_ file: ClaimedFile, progress: @escaping (Int) throws -> Void) throws -> HandledFile {
        desk.schedule.heldRegistry = nil   // decisions change deferment records, which the snapshot holds
        return HandledFile(line: try desk.applyDecisionFile(url: file.url, name: file.name, folderCounty: file.county,
                                                            sha: file.sha, archive: file.archive))
    }
}
