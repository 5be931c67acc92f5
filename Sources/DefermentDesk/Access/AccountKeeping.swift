import Crypto
import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentSite
import DefermentStore

/// Why an account change was refused, in words the operator or the sender understands.
public struct AccountError: Error, CustomStringConvertible {
    public var description: String
}

extension Desk {
    /// The shortest password an account accepts.
    public static let minimumPasswordLength = 10

    /// PBKDF2 rounds for passwords set now: 600,000 unless `DEFERMENT_PBKDF2_ROUNDS` says
    /// otherwise (tests lower it to keep runs short; never do that in production).
    public static var keyDerivationRounds: Int {
        if let v = ProcessInfo.processInfo.environment["DEFERMENT_PBKDF2_ROUNDS"], let n = Int(v), n > 0 { return n }
        return Envelope.defaultRounds
    }

    /// Where new accounts' initial passwords are written for the operator (owner-only).
    public var initialPasswordsFile: URL { paths.state.appendingPathComponent("initial-passwords.csv") }

    /// Creates an account for every school and county that has none, each with a random data key
    /// and a random initial password, which is appended to `state/initial-passwords.csv`
    /// (mode 0600) for the operator to hand over once. Returns the new (code, password) pairs.
    @discardableResult
    public func ensureAccounts() throws -> [(code: String, password: String)] {
        let (schools, counties, existing) = try store.queue.read { db in
            (try DeskStore.schools(db), try DeskStore.counties(db), Set(try DeskStore.accounts(db).map(\.code)))
        }
        var wanted: [(String, AccountRecord.Kind, String)] = []
        for c in counties where !existing.contains(c.code) { wanted.append((c.code, .county, c.email)) }
        for s in schools where !existing.contains(s.code) && PathGate.accepts(s.code, as: .schoolCode) {
            wanted.append((s.code, .school, s.email ?? ""))
        }
        guard !wanted.isEmpty else { return [] }
        let rounds = Self.keyDerivationRounds
        final class Results: @unchecked Sendable {
            var items: [(AccountRecord, String)?]
            var error: Error?
            let lock = NSLock()
            init(_ n: Int) { items = Array(repeating: nil, count: n) }
        }
        let results = Results(wanted.count)
        let jobs = wanted, hostKey = self.hostKey
        DispatchQueue.concurrentPerform(iterations: jobs.count) { i in
            let (code, kind, email) = jobs[i]
            do {
                let password = Envelope.newPassword()
                let key = Envelope.newDataKey()
                let wrapped = try Envelope.wrap(key, password: password, account: code, rounds: rounds)
                let json = String(decoding: try JSONEncoder().encode(wrapped), as: UTF8.self)
                let record = AccountRecord(code: code, kind: kind, contactName: "", contactEmail: email, notify: true,
                                           dataKey: try hostKey.seal(key.withUnsafeBytes { Data($0) }, account: code),
                                           wrappedKey: json, passwordSetAt: "")
                results.lock.lock(); results.items[i] = (record, password); results.lock.unlock()
            } catch {
                results.lock.lock(); results.error = error; results.lock.unlock()
            }
        }
        if let e = results.error { throw e }
        let created = results.items.compactMap { $0 }
        // The passwords reach the file before the accounts exist, so none is ever lost.
        var lines = FileManager.default.fileExists(atPath: initialPasswordsFile.path) ? "" : "帳號,類別,初始密碼\n"
        for (r, pw) in created { lines += "\(r.code),\(r.kind == .school ? "學校" : "縣市"),\(pw)\n" }
        try appendOwnerOnly(lines, to: initialPasswordsFile)
        try store.queue.write { db in
            for (r, _) in created {
                var r = r
                r.passwordSetAt = ISO8601DateFormatter().string(from: Date())
                try DeskStore.insertAccount(db, r)
            }
        }
        logger.notice("已建立 \(created.count) 個查詢帳號；初始密碼寫入 \(initialPasswordsFile.path)（僅擁有者可讀）")
        return created.map { ($0.0.code, $0.1) }
    }

    private func appendOwnerOnly(_ text: String, to url: URL) throws {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AccountError(description: "無法寫入 \(url.path)") }
        defer { close(fd) }
        fchmod(fd, 0o600)
        let data = Array(text.utf8)
        var off = 0
        while off < data.count {
            let n = data[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw AccountError(description: "無法寫入 \(url.path)") }
            off += n
        }
        fsync(fd)
    }

    /// Sets an account's password: its data key is wrapped again under the new password; no
    /// page is re-encrypted. The old password stops working at the next publish.
    public func setPassword(code: String, password: String, rounds: Int = Desk.keyDerivationRounds) throws {
        guard password.count >= Self.minimumPasswordLength else {
            throw AccountError(description: "密碼至少需要 \(Self.minimumPasswordLength) 個字元。")
        }
        guard let account = try accounts().first(where: { $0.code == code }) else {
            throw AccountError(description: "查無帳號 \(code)。")
        }
        let wrapped = try Envelope.wrap(SymmetricKey(data: account.dataKey), password: password, account: code, rounds: rounds)
        let json = String(decoding: try JSONEncoder().encode(wrapped), as: UTF8.self)
        try store.queue.write { try DeskStore.setWrappedKey($0, code: code, wrappedKey: json) }
        logger.info("帳號 \(code) 已變更密碼")
    }

    /// Changes an account's contact details (移交: together with a new password).
    public func setContact(code: String, name: String?, email: String?, notify: Bool?) throws {
        let exists = try store.queue.read { try DeskStore.accounts($0).contains { $0.code == code } }
        guard exists else { throw AccountError(description: "查無帳號 \(code)。") }
        if let email, !email.isEmpty, !(email.contains("@") && email.contains(".")) {
            throw AccountError(description: "電子郵件「\(email)」格式不正確。")
        }
        try store.queue.write { try DeskStore.setContact($0, code: code, name: name, email: email, notify: notify) }
    }

    /// Every account.
    /// Every account, its data key unsealed with the host key (``HostKey``).
    public func accounts() throws -> [AccountRecord] {
        try store.queue.read { try DeskStore.accounts($0) }.map { a in
            var a = a
            a.dataKey = try hostKey.open(a.dataKey, account: a.code)
            return a
        }
    }

    /// Seals under the host key every data key an older desk stored in clear (one transaction).
    func sealAccountKeys() throws {
        try store.queue.write { db in
            for a in try DeskStore.accounts(db) where !HostKey.isSealed(a.dataKey) {
                try DeskStore.setDataKey(db, code: a.code, dataKey: try hostKey.seal(a.dataKey, account: a.code))
            }
        }
    }

    /// Applies an account maintenance CSV (`inbox/accounts/`): columns 帳號, and any of 聯絡人,
    /// 電子郵件, 接收通知 (是/否), 新密碼. Every row is checked first; any bad row refuses the
    /// whole file, listing every problem with its row and column, and nothing changes. The
    /// copy kept (archive or rejected) has the passwords masked.
    func applyAccountsFile(_ url: URL) throws -> (rows: Int, redacted: String) {
        let reader: TableReader
        do { reader = try TableFile.open(url) } catch let e as TableFileError { throw FileRejection(e) }
        var header: [String: Int] = [:]
        var rows: [(row: Int, code: String, name: String?, email: String?, notify: Bool?, password: String?)] = []
        var redacted = ""
        var problems: [String] = []
        let known = Set(try accounts().map(\.code))
        func line(_ cells: [String]) -> String { cells.map(RosterReport.csvField).joined(separator: ",") + "\n" }
        try reader.forEachRow { row in
            if header.isEmpty {
                for (i, c) in row.cells.enumerated() { header[RosterColumn.normaliseHeader(c)] = i }
                guard header["帳號"] != nil else {
                    throw FileRejection(problem: "第 \(row.number) 列標題列缺少「帳號」欄。", fix: "請使用欄位：帳號、聯絡人、電子郵件、接收通知、新密碼。")
                }
                redacted += line(row.cells)
                return
            }
            func cell(_ name: String) -> String? {
                guard let i = header[name], i < row.cells.count else { return nil }
                let v = row.cells[i].trimmingSpaces()
                return v.isEmpty ? nil : v
            }
            var cells = row.cells
            if let i = header["新密碼"], i < cells.count, !cells[i].isEmpty { cells[i] = "（已遮蔽）" }
            redacted += line(cells)
            let before = problems.count
            let code = cell("帳號") ?? ""
            if !known.contains(code) {
                problems.append("第 \(row.number) 列「帳號」欄：查無帳號「\(ShownText.escaped(code))」，請填寫學校代碼或縣市代碼。")
            }
            var notify: Bool?
            if let v = cell("接收通知") {
                notify = RosterRules.parseYesNo(v)
                if notify == nil { problems.append("第 \(row.number) 列「接收通知」欄：「\(ShownText.escaped(v))」不是 是 或 否。") }
            }
            if let email = cell("電子郵件"), !(email.contains("@") && email.contains(".")) {
                problems.append("第 \(row.number) 列「電子郵件」欄格式不正確，請填寫正確的電子郵件地址。")
            }
            let password = cell("新密碼")
            if let password, password.count < Self.minimumPasswordLength {
                problems.append("第 \(row.number) 列「新密碼」欄：密碼至少需要 \(Self.minimumPasswordLength) 個字元。")
            }
            if problems.count == before { rows.append((row.number, code, cell("聯絡人"), cell("電子郵件"), notify, password)) }
        }
        if !problems.isEmpty {
            var rejection = FileRejection(problem: "下列 \(problems.count) 項有誤，整個檔案未處理：\n" + problems.joined(separator: "\n"),
                                          fix: "請更正以上各列後重新上傳整個檔案。")
            rejection.keptCopy = Data(redacted.utf8)
            throw rejection
        }
        // All rows are valid: derive the new wrapped keys, then change everything in one transaction.
        var wrappedKeys: [String: String] = [:]
        let existing = Dictionary(uniqueKeysWithValues: try accounts().map { ($0.code, $0) })
        for r in rows {
            guard let password = r.password, let account = existing[r.code] else { continue }
            let wrapped = try Envelope.wrap(SymmetricKey(data: account.dataKey), password: password, account: r.code,
                                            rounds: Self.keyDerivationRounds)
            wrappedKeys[r.code] = String(decoding: try JSONEncoder().encode(wrapped), as: UTF8.self)
        }
        try store.queue.write { db in
            for r in rows {
                try DeskStore.setContact(db, code: r.code, name: r.name, email: r.email, notify: r.notify)
                if let w = wrappedKeys[r.code] { try DeskStore.setWrappedKey(db, code: r.code, wrappedKey: w) }
            }
        }
        return (rows.count, redacted)
    }
}
