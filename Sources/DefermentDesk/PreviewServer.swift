import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 server on loopback that serves the static site as a static host would
/// (`deferment serve`), with correct MIME types. For previews only.
public final class PreviewServer: @unchecked Sendable {
    let root: URL
    let port: UInt16
    private var fd: Int32 = -1

    public init(root: URL, port: UInt16) {
        self.root = root.standardizedFileURL
        self.port = port
    }

    static let mimeTypes: [String: String] = [
        "html": "text/html; charset=utf-8", "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8",
        "json": "application/json", "csv": "text/csv; charset=utf-8", "svg": "image/svg+xml", "png": "image/png",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "txt": "text/plain; charset=utf-8",
        "enc": "application/octet-stream",
    ]

    /// Binds to 127.0.0.1 (port 0 picks a free port) and returns the port bound.
    public func bind() throws -> UInt16 {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CocoaError(.featureUnsupported) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0, listen(fd, 64) == 0 else { throw CocoaError(.fileWriteNoPermission,
                                                                   userInfo: [NSLocalizedDescriptionKey: "port \(port) 無法使用"]) }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return UInt16(bigEndian: bound.sin_port)
    }

    /// Serves until `shouldStop` returns true (checked every half second).
    public func serve(shouldStop: @escaping () -> Bool) {
        while !shouldStop() {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 500) > 0 else { continue }
            let client = accept(fd, nil, nil)
            guard client >= 0 else { continue }
            let thread = Thread { [self] in handle(client) }
            thread.start()
        }
        close(fd)
    }

    private func handle(_ client: Int32) {
        defer { close(client) }
        var request = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 4096)
        while request.count < 16384 {
            let n = read(client, &buf, buf.count)
            if n <= 0 { break }
            request += buf[0..<n]
            if request.count >= 4, request.suffix(4) == [13, 10, 13, 10] { break }
        }
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self).split(separator: " ")
        guard line.count >= 2, line[0] == "GET" || line[0] == "HEAD" else {
            return respond(client, 405, "text/plain", Data("405".utf8), head: false)
        }
        var path = String(line[1].split(separator: "?", maxSplits: 1)[0].split(separator: "#", maxSplits: 1)[0])
        path = path.removingPercentEncoding ?? path
        if path.hasSuffix("/") { path += "index.html" }
        let url = root.appendingPathComponent(path).standardizedFileURL
        var isDir: ObjCBool = false
        guard url.path.hasPrefix(root.path + "/"), !url.lastPathComponent.hasPrefix("."),
              FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue,
              let data = try? Data(contentsOf: url) else {
            return respond(client, 404, "text/html; charset=utf-8", Data("<!DOCTYPE html><meta charset=utf-8><p>找不到此頁面。</p>".utf8),
                           head: line[0] == "HEAD")
        }
        let type = Self.mimeTypes[url.pathExtension.lowercased()] ?? "application/octet-stream"
        respond(client, 200, type, data, head: line[0] == "HEAD")
    }

    private func respond(_ client: Int32, _ status: Int, _ type: String, _ body: Data, head: Bool) {
        let reason = [200: "OK", 404: "Not Found", 405: "Method Not Allowed"][status] ?? "OK"
        let header = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\n"
            + "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n"
        var out = Data(header.utf8)
        if !head { out.append(body) }
        out.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = write(client, raw.baseAddress! + sent, raw.count - sent)
                if n <= 0 { return }
                sent += n
            }
        }
    }
}
