import ArgumentParser
import Crypto
import DefermentCore
import DefermentDesk
import DefermentFiles
import DefermentSite
import DefermentStore
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

struct AccountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "School and county query accounts: list, set a password, change contact details (移交).",
        subcommands: [List.self, SetPassword.self, SetContact.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the accounts (no passwords or keys).", discussion: Exit.help)
        @OptionGroup var options: RootOptions
        func run() throws {
            let desk = try options.openDesk(logger: options.makeLogger())
            try desk.ensureAccounts()
            print("帳號\t類別\t聯絡人\t電子郵件\t通知\t密碼設定時間")
            for a in try desk.accounts() {
                let kind = a.kind == .school ? "學校" : "縣市", notify = a.notify ? "是" : "否"
                print("\(a.code)\t\(kind)\t\(a.contactName)\t\(a.contactEmail)\t\(notify)\t\(DeskTime.taipei(fromUTC: a.passwordSetAt))")
            }
        }
    }

    struct SetPassword: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-password",
            abstract: "Set an account's password (read from stdin, or prompted on a terminal). Takes effect at the next publish.",
            discussion: "At least \(Desk.minimumPasswordLength) characters. The account's pages are not re-encrypted; only its "
                + "key.json changes.\n\n" + Exit.help)
        @OptionGroup var options: RootOptions
        @Argument(help: "School code or county code.") var code: String
        func run() throws {
            let desk = try options.openDesk(logger: options.makeLogger())
            try desk.ensureAccounts()
            var password: String
            if isatty(STDIN_FILENO) != 0 {
                guard let p = getpass("新密碼："), let again = getpass("再輸入一次：") else { throw ExitCode(Exit.failed) }
                password = String(cString: p)
                guard password == String(cString: again) else { print("兩次輸入不一致。"); throw ExitCode(Exit.failed) }
            } else {
                password = readLine(strippingNewline: true) ?? ""
            }
            do {
                try desk.setPassword(code: code, password: password)
                try publish(desk)
                print("帳號 \(code) 的密碼已變更；舊密碼已失效。")
            } catch let e as AccountError {
                FileHandle.standardError.write(Data((e.description + "\n").utf8))
                throw ExitCode(Exit.failed)
            }
        }
    }

    struct SetContact: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-contact",
            abstract: "Change an account's contact name, e-mail and notification choice.", discussion: Exit.help)
        @OptionGroup var options: RootOptions
        @Argument(help: "School code or county code.") var code: String
        @Option(help: "Contact person (承辦人).") var name: String?
        @Option(help: "Contact e-mail.") var email: String?
        @Option(help: "Receive notification e-mails: on or off.") var notify: String?
        func validate() throws {
            if let notify, notify != "on" && notify != "off" { throw ValidationError("--notify takes on or off.") }
        }
        func run() throws {
            let desk = try options.openDesk(logger: options.makeLogger())
            try desk.ensureAccounts()
            do {
                try desk.setContact(code: code, name: name, email: email, notify: notify.map { $0 == "on" })
                print("帳號 \(code) 的聯絡資料已更新。")
            } catch let e as AccountError {
                FileHandle.standardError.write(Data((e.description + "\n").utf8))
                throw ExitCode(Exit.failed)
            }
        }
    }
}
