// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "deferment-desk",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "deferment", targets: ["deferment"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", exact: "0.9.20"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "3.12.3"),
    ],
    targets: [
        .target(name: "DefermentCore"),
        // Raw DEFLATE for the site's sealed pages, over Intel's ISA-L (libisal-dev); inflating
        // through zlib (zlib1g-dev).
        .target(name: "CDeflate", linkerSettings: [.linkedLibrary("isal"), .linkedLibrary("z")]),
        // libxlsxwriter (libxlsxwriter-dev), which writes every workbook the desk makes.
        .systemLibrary(name: "CXLSXWriter", pkgConfig: "xlsxwriter", providers: [.apt(["libxlsxwriter-dev"])]),
        // The desk's workbooks in its own terms (sheets of rows, formats, dropdowns, locked sheets).
        .target(name: "DefermentWorkbooks", dependencies: ["CXLSXWriter", "CXLSXWriterTuning"]),
        // Where libxlsxwriter meets the system, defined by the executable so that libxlsxwriter
        // binds to them (speed choices measured in bench/README.md, one correctness fix): zip
        // entries deflated by ISA-L, buffered temporary files, number and text cells formatted
        // without `fprintf`, text cells escaped only when they need it, a `gmtime` per thread.
        .target(name: "CXLSXWriterTuning", dependencies: ["CXLSXWriter"], linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("isal")]),
        .target(name: "DefermentFiles", dependencies: [
            "DefermentCore", "CDeflate",
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ], swiftSettings: [
            // The readers' per-byte loops touch state captured by the tokenizer's callback; its
            // dynamic exclusivity checks cost a tenth of a large workbook's read time in release
            // builds. Debug builds (and so the tests) keep them.
            .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
        ]),
        // SQLite's global settings (variadic sqlite3_config, which Swift cannot call).
        .target(name: "CSQLiteTuning", linkerSettings: [.linkedLibrary("sqlite3")]),
        .target(name: "DefermentStore", dependencies: [
            "DefermentCore", "CSQLiteTuning",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
        ]),
        .target(name: "DefermentSite", dependencies: [
            "DefermentCore", "DefermentFiles", "DefermentStore", "DefermentWorkbooks",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
        ]),
        .target(name: "DefermentDesk", dependencies: [
            "DefermentCore", "DefermentFiles", "DefermentStore", "DefermentSite",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .executableTarget(name: "deferment", dependencies: [
            "DefermentDesk", "DefermentCore", "DefermentFiles", "DefermentSite", "DefermentStore",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "DefermentCoreTests", dependencies: ["DefermentCore"]),
        // What the test targets share: temporary folders, the repository's folders, Python.
        .target(name: "DefermentTestSupport", path: "Tests/TestSupport"),
        // Fixtures and helper scripts are read from the source tree at test time.
        .testTarget(name: "DefermentStoreTests", dependencies: [
            "DefermentStore", "DefermentCore", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "DefermentWorkbooksTests", dependencies: [
            "DefermentWorkbooks", "DefermentFiles", "DefermentTestSupport", "CXLSXWriterTuning",
        ]),
        .testTarget(name: "DefermentSiteTests", dependencies: ["DefermentSite", "DefermentCore", "DefermentTestSupport"]),
        .testTarget(name: "DefermentFilesTests", dependencies: ["DefermentFiles", "DefermentCore", "DefermentTestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "DefermentDeskTests", dependencies: ["DefermentDesk", "DefermentStore", "DefermentFiles", "DefermentCore",
                                                             "DefermentSite",
                                                           "DefermentTestSupport",
                                                           .product(name: "GRDB", package: "GRDB.swift"),
                                                           .product(name: "Crypto", package: "swift-crypto")],
                    exclude: ["Fixtures", "Scripts"]),
    ]
)
