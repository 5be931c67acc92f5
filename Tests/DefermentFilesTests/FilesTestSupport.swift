import Foundation
import DefermentTestSupport

/// A fresh temporary folder for one test.
func temporaryFolder(_ name: String = #function) throws -> URL {
    try temporaryFolder(prefix: "deferment-files", name)
}

/// Runs a Python script (the independent writer of test workbooks) and fails on a non-zero exit.
func python(_ script: String, arguments: [String] = []) throws {
    try runPython(["-c", script] + arguments)
}
