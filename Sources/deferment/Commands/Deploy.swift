import ArgumentParser
import DefermentDesk
import Foundation

struct Deploy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the built site to where it is served, through rclone: changed files first, pages after them, index.html "
            + "and manifest.json last, then deletions.",
        discussion: Exit.help)

    @OptionGroup var options: RootOptions
    @Option(help: "The rclone destination (default: deploy_target in settings.csv).") var to: String?

    func run() throws {
        let desk = try options.openDesk(logger: options.makeLogger())
        guard let deploy = desk.siteDeploy(target: to) else {
            throw ValidationError("未設定部署目的地：請以 --to 指定，或設定 settings.csv 的 deploy_target")
        }
        try failing("部署失敗") {
            let plan = try deploy.run(say: { print($0) })
            print("已部署到 \(deploy.target)：傳送 \(plan.sent) 個檔案，刪除 \(plan.deletions.count) 個")
        }
    }
}
