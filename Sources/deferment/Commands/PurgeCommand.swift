import ArgumentParser
import DefermentCore
import DefermentDesk
import Foundation

struct Purge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List (or with --apply remove) the personal data past its retention (seeds/settings.csv retain_*): roster rows, "
            + "records, raw files, refused files, mail.",
        discussion: Exit.help)

    @OptionGroup var options: RootOptions
    @Flag(help: "Remove what is listed (one transaction for the database, then the files, VACUUM and the site).") var apply = false
    @Option(help: "The day to count from (YYYY-MM-DD; default today in Taiwan).") var today: String?

    func run() throws {
        let desk = try options.openDesk(logger: options.makeLogger())
        let day = try today.map { try CivilDate.parse($0).orThrow(ValidationError("無法辨識的日期：\($0)")) } ?? Desk.day(of: Date())
        let plan = try desk.purgePlan(today: day)
        for item in plan.items { print("\(item.kind)  \(item.date)  \(item.count) 筆  \(item.reason)") }
        if plan.items.isEmpty { print("沒有逾保存期限的資料") }
        guard apply else {
            if !plan.items.isEmpty { print("（僅列出；加上 --apply 才會刪除）") }
            return
        }
        try failing("刪除失敗") { try desk.applyPurge(plan) }
        if !plan.items.isEmpty { print("已刪除上列資料，資料庫已重整（VACUUM），網站已更新") }
    }
}

struct InventoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory",
        abstract: "Print what personal data the root holds, by kind and month, with the oldest date of each and why it is kept.")

    @OptionGroup var options: RootOptions

    func run() throws {
        let desk = try options.openDesk(logger: options.makeLogger())
        print(try desk.inventory().text)
    }
}

extension Optional {
    /// The value, or `error` thrown.
    func orThrow(_ error: @autoclosure () -> Error) throws -> Wrapped {
        guard let value = self else { throw error() }
        return value
    }
}
