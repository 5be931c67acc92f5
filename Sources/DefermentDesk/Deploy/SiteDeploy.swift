import Foundation
import DefermentSite

/// Copies the built site to where it is served (部署), through rclone (any of its remotes: a
/// local path, SFTP, WebDAV, S3-compatible storage), so that the served site is consistent at
/// every moment: files that pages link to first, then the pages that link to them (folder
/// indexes from the deepest up, the home page last), then `manifest.json`, and only then the
/// files no longer listed are deleted. Only what differs from the remote's own `manifest.json`
/// is sent.
public struct SiteDeploy {
    /// What a deploy sends, batch by batch, and deletes after.
    public struct Plan: Equatable, Sendable {
        /// Paths to copy; a batch starts once the one before it is complete.
        public var batches: [[String]]
        /// Paths the remote has and the site no longer lists.
        public var deletions: [String]
        public var sent: Int { batches.reduce(0) { $0 + $1.count } }
    }

    /// Why a deploy failed.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        /// rclone's exit status, when it ran.
        public var status: Int32 = 0
    }

    /// The built site (`outbox/site/`).
    public let site: URL
    /// The rclone destination: a path, `remote:path`, or a connection string such as
    /// `:webdav,url='https://host/':`.
    public let target: String
    /// The rclone program and options before its subcommand.
    public let rclone: [String]

    public init(site: URL, target: String, rclone: [String] = ["rclone"]) {
        self.site = site
        self.target = target
        self.rclone = rclone
    }

    /// The batches for going from the remote's manifest to the local one.
    public static func plan(local: [String: ManifestEntry], remote: [String: ManifestEntry]) -> Plan {
        let manifest = SitePublisher.manifestName
        let changed = local.values.filter { $0.path != manifest && remote[$0.path] != $0 }.map(\.path)
        var files: [String] = []
        var pages: [Int: [String]] = [:]
        for path in changed {
            if SitePublisher.linksToOthers(path) { pages[SitePublisher.pageGroup(path),
                default: []].append(path) } else { files.append(path) }
        }
        var batches: [[String]] = []
        if !files.isEmpty { batches.append(files.sorted()) }
        for group in pages.keys.sorted() { batches.append(pages[group]!.sorted()) }
        // The manifest does not list itself: it goes whenever anything else does, or to a new remote.
        if !changed.isEmpty || remote.isEmpty { batches.append([manifest]) }
        let deletions = remote.keys.filter { local[$0] == nil && $0 != manifest }.sorted()
        return Plan(batches: batches, deletions: deletions)
    }

    /// Deploys: reads both manifests, sends the batches, deletes what is gone. `say` hears one
    /// line per batch (no personal data: paths hold codes and dates only).
    @discardableResult
    public func run(say: (String) -> Void = { _ in }) throws -> Plan {
        let localData = try Data(contentsOf: site.appendingPathComponent(SitePublisher.manifestName))
        let local = SitePublisher.readManifest(localData)
        guard !local.isEmpty else { throw Failure(description: "網站尚未產生（\(site.path) 沒有 manifest.json）；請先執行 deferment publish") }
        let remote = try remoteManifest()
        let plan = Self.plan(local: local, remote: remote)
        let lists = try FileManager.default.url(for: .itemReplacementDirectory, in: .userDomainMask, appropriateFor: site, create: true)
        defer { try? FileManager.default.removeItem(at: lists) }
        for (i, batch) in plan.batches.enumerated() {
            let list = lists.appendingPathComponent("batch-\(i)")
            try Data(batch.map { $0 + "\n" }.joined().utf8).write(to: list)
            try rcloneRun(["copy", "--files-from-raw", list.path, "--no-traverse", "--no-check-dest", site.path, target])
            say("已部署第 \(i + 1)/\(plan.batches.count) 批：\(batch.count) 個檔案")
        }
        if !plan.deletions.isEmpty {
            let list = lists.appendingPathComponent("deletions")
            try Data(plan.deletions.map { $0 + "\n" }.joined().utf8).write(to: list)
            try rcloneRun(["delete", "--files-from-raw", list.path, target])
            say("已刪除 \(plan.deletions.count) 個不再列出的檔案")
        }
        return plan
    }

    /// The remote's `manifest.json`, or none when the remote is new (rclone's exit codes 3 and 4:
    /// no such folder, no such file); any other failure (unreachable, refused) stops the deploy.
    func remoteManifest() throws -> [String: ManifestEntry] {
        do {
            return SitePublisher.readManifest(try rcloneOutput(["cat", joined(SitePublisher.manifestName)]))
        } catch let failure as Failure where failure.status == 3 || failure.status == 4 {
            return [:]
        }
    }

    /// A path under the target.
    func joined(_ path: String) -> String {
        target.hasSuffix(":") || target.hasSuffix("/") ? target + path : target + "/" + path
    }

    private func rcloneRun(_ arguments: [String]) throws { _ = try rcloneOutput(arguments) }

    private func rcloneOutput(_ arguments: [String]) throws -> Data {
        guard let program = rclone.first else { throw Failure(description: "未設定 deploy_command") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [program] + rclone.dropFirst() + arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { throw Failure(description: "無法執行 \(program)：\(error)") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            let last = message.split(separator: "\n").last.map(String.init) ?? ""
            throw Failure(description: "\(program) \(arguments.first ?? "") 失敗（結束代碼 \(p.terminationStatus)）：\(last)",
                          status: p.terminationStatus)
        }
        return data
    }
}

extension Desk {
    /// The deployment of this root's site: `target` or the `deploy_target` setting, through the
    /// `deploy_command` setting (default `rclone`); `nil` when no target is set.
    public func siteDeploy(target: String? = nil) -> SiteDeploy? {
        guard let target = target ?? reference.settings["deploy_target"], !target.isEmpty else { return nil }
        let command = (reference.settings["deploy_command"] ?? "").split(separator: " ").map(String.init)
        return SiteDeploy(site: paths.site, target: target, rclone: command.isEmpty ? ["rclone"] : command)
    }

    /// Whether `watch` deploys after each publish (`deploy_after_publish`: 是 or yes).
    var deploysAfterPublish: Bool {
        ["是", "yes", "1", "true"].contains((reference.settings["deploy_after_publish"] ?? "").lowercased())
    }
}
