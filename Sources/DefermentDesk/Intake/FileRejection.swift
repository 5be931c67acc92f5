import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// Why a whole file was refused (退件), worded for the person who sent it.
public struct FileRejection: Error, Sendable, Equatable {
    /// What is wrong, in zh-TW.
    public var problem: String
    /// What to do, in zh-TW.
    public var fix: String

    /// What is kept in `outbox/rejected/` instead of the file itself (an account request with
    /// its passwords masked).
    public var keptCopy: Data?

    public init(problem: String, fix: String) {
        self.problem = problem
        self.fix = fix
    }

    /// A roster with a header and no rows.
    static let headerOnly = FileRejection(problem: "檔案只有標題列，沒有任何學生資料。", fix: "請確認匯出範圍後重新上傳。")

    init(_ error: TableFileError) {
        self.init(problem: error.problem, fix: error.fix)
    }
}
