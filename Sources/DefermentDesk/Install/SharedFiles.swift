import Foundation

/// Where the desk finds the files it ships with (共用檔案): the page templates and the default
/// reference data. In order: the folder given on the command line, the root's own
/// (`<root>/templates`, `<root>/seeds`), the installed copy next to the executable's prefix
/// (`<prefix>/share/deferment/`, for `<prefix>/bin/deferment`), and, for a binary built in the
/// source tree (`.build/…/deferment`), the tree's own folder.
public enum SharedFiles {
    /// The shipped folders.
    public enum Kind: String, Sendable {
        case templates, seeds
        /// The sample rosters and registry extract the demo plays with.
        case samples
    }

    /// Why a shipped folder was not found.
    public struct NotFound: Error, CustomStringConvertible {
        public let kind: Kind
        public let tried: [URL]
        public var description: String {
            "找不到 \(kind.rawValue) 資料夾（已找過：\(tried.map(\.path).joined(separator: "、"))）；請以 --\(kind.rawValue) 指定，或執行 make install"
        }
    }

    /// The folder of `kind` for a root.
    public static func locate(_ kind: Kind, given: URL?, root: URL?, executable: URL = executableURL) throws -> URL {
        if let given { return given }
        var tried: [URL] = []
        if let root, kind != .samples {
            let own = root.appendingPathComponent(kind.rawValue)
            if isFolder(own) { return own }
            tried.append(own)
        }
        for candidate in installed(kind, executable: executable) {
            if isFolder(candidate) { return candidate }
            tried.append(candidate)
        }
        throw NotFound(kind: kind, tried: tried)
    }

    /// The installed and source-tree candidates, nearest the executable first.
    static func installed(_ kind: Kind, executable: URL) -> [URL] {
        var found: [URL] = []
        var folder = executable.resolvingSymlinksInPath().deletingLastPathComponent()
        while folder.path != "/" {
            let parent = folder.deletingLastPathComponent()
            found.append(parent.appendingPathComponent("share/deferment/\(kind.rawValue)"))
            if FileManager.default.fileExists(atPath: parent.appendingPathComponent("Package.swift").path) {
                // The source tree keeps the samples inside seeds/.
                found.append(parent.appendingPathComponent(kind == .templates ? "templates" : "seeds"))
                break
            }
            folder = parent
        }
        return found
    }

    /// The running executable (`/proc/self/exe`, a link to the real file).
    public static var executableURL: URL {
        URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
    }

    private static func isFolder(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
