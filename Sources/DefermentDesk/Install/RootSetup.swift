import Foundation
import DefermentFiles

/// Makes a new root for production (建立作業根目錄): its folders (state owner-only), the
/// database and keys, and `<root>/seeds/` with the shipped reference data to edit (the counties,
/// schools, rules and `settings.csv`), without the demo's sample rosters and registry extract.
public enum RootSetup {
    /// The sample folders of the shipped seeds, which a production root must not load.
    static let samples: Set<String> = ["rosters", "registry"]

    /// Sets up `root` from the shipped `seeds` and returns what the operator does next.
    public static func initialize(root: URL, seeds: URL) throws -> [String] {
        let fm = FileManager.default
        let paths = DeskPaths(root: root)
        let ownSeeds = paths.root.appendingPathComponent("seeds")
        var lines: [String] = []
        if fm.fileExists(atPath: ownSeeds.path) {
            lines.append("已有 \(ownSeeds.path)，保留不動")
        } else {
            try AtomicFile.makeFolders(ownSeeds, mode: 0o755)
            for name in try fm.contentsOfDirectory(atPath: seeds.path).sorted() where !samples.contains(name) && !name.hasPrefix(".") {
                try fm.copyItem(at: seeds.appendingPathComponent(name), to: ownSeeds.appendingPathComponent(name))
            }
            lines.append("已建立 \(ownSeeds.path)（縣市、學校、規則與 settings.csv；不含示範名冊與示範役政資料）")
        }
        // Opening the desk once makes the folders, the database and the keys.
        _ = try Desk(root: paths.root, seeds: ownSeeds)
        lines += [
            "已建立作業根目錄 \(paths.root.path)（state/ 僅擁有者可讀寫）",
            "接下來：",
            "1. 編輯 \(ownSeeds.path)/settings.csv：site_base_url（網站公開網址）、mail_from（寄件者）、mail_command（寄信程式）",
            "2. 核對 \(ownSeeds.path)/counties.csv（承辦單位、聯絡電話、電子郵件）與 schools.csv",
            "3. 將役政資料（戶籍縣市）放入 \(paths.inbox(.registry).path)/，名冊放入 \(paths.inbox(.rosters).path)/",
            "4. 以 systemd 執行：deferment-watch.service（見 README 的 Deploy 一節），或手動 deferment run --root \(paths.root.path)",
        ]
        return lines
    }
}
