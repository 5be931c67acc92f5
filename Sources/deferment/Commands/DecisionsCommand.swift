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

struct DecisionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decisions",
        abstract: "County decision workbooks (審核名冊): write one, read a returned one, export deferment records.",
        subcommands: [Workbook.self, Read.self, Export.self, Synthetic.self])

    struct Workbook: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a county's decision workbook for one upload date, unencrypted (it holds personal data: hand it only "
                + "to that county).",
            discussion: Exit.help)
        @OptionGroup var options: RootOptions
        @Option(help: "County code, e.g. 63000.") var county: String
        @Option(help: "Upload date, YYYY-MM-DD.") var date: String
        @Option(help: "Output file.") var out: String
        func run() throws {
            let desk = try options.openDesk(logger: options.makeLogger())
            guard let day = CivilDate.parse(date) else { print("無法辨識的日期：\(date)"); throw ExitCode(64) }
            let n = try desk.writeDecisionWorkbook(county: county, uploadDate: day, to: URL(fileURLWithPath: out))
            print("已寫出 \(out)：\(n) 列")
        }
    }

    struct Read: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read a returned decision workbook (XLSX, or CSV exported from it) with the streaming reader and print what "
                + "it holds; changes nothing.")
        @Argument(help: "The file.") var file: String
        @OptionGroup var options: RootOptions
        func run() throws {
            do {
                let r = try ReturnedDecisions.read(URL(fileURLWithPath: file))
                let decided = r.rows.filter { !$0.decision.trimmingSpaces().isEmpty }.count
                print("格式 \(r.format)：資料列 \(r.rows.count)，已填審核結果 \(decided)，驗證碼\(tokenState(r.tokenText))，"
                      + (r.signOff.isFinal ? "已核定（\(r.signOff.approvedOn!.roc)）" : "未核定（陳核中）"))
            } catch let e as TableFileError {
                print("無法讀取：\(e.problem) \(e.fix)")
                throw ExitCode(Exit.rejected)
            }
        }

        /// The token checked against the root's key, read without taking the root's lock (a
        /// running `watch` does not stop this command).
        func tokenState(_ text: String?) -> String {
            guard let text else { return "缺" }
            let keyFile = DeskPaths(root: options.rootURL).decisionKey
            guard let key = FileManager.default.contents(atPath: keyFile.path), key.count == 32 else { return "有（未檢查：此根目錄沒有驗證金鑰）" }
            guard let token = DecisionToken.verify(text, key: SymmetricKey(data: key)) else { return "無效" }
            return "有效（縣市 \(token.county)，上傳日期 \(token.uploadDate.roc)）"
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write outbox/exports/deferment-records.csv (every deferment record, for the military-service system).",
            discussion: Exit.help)
        @OptionGroup var options: RootOptions
        func run() throws {
            let desk = try options.openDesk(logger: options.makeLogger())
            print("已寫出 \(try desk.exportDefermentRecords().path)")
        }
    }

    struct Synthetic: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Benchmark input: write a decision workbook of N made-up rows (no database) to --out.")
        @Option(help: "Rows.") var rows: Int = 100_000
        @Option(help: "Output file.") var out: String
        @Flag(help: "Fill in every row's decision (as a returned workbook).") var decided = false
        func run() throws {
            let list = DecisionSamples.rows(rows)
            let token = DecisionToken(county: "63000", uploadDate: CivilDate(year: 2026, month: 11, day: 15)!)
            let key = DecisionSamples.benchmarkKey
            try DecisionWorkbook.write(to: out, countyName: "臺北市", token: token, tokenText: token.signed(with: key), rows: list,
                                       fill: decided ? { r in RowDecision(word: r.id % 7 == 0 ? .refuse : .approve,
                                                                          comment: r.id % 7 == 0 ? "資料不符，請學校查明" : "") } : nil,
                                       signOff: decided ? SignOff(reviewer: "王承辦", approver: "李科長",
                                                                  approvedOn: CivilDate(year: 2026, month: 11, day: 30)) : nil)
            print("已寫出 \(out)：\(rows) 列")
        }
    }
}
