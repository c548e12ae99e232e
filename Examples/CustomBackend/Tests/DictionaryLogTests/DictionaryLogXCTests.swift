import DictionaryLog
import RaftStorageTesting
import XCTest

/// The same suites run from XCTest. The kit records Swift Testing issues only while a Swift
/// Testing test runs; here a reporter hands every failed check to XCTest instead.
final class DictionaryLogXCTests: XCTestCase {
    func testLogStoreConformance() throws {
        try ConformanceReporting.withReporter({ issue in XCTFail("\(issue) (run from \(issue.caller))") }) {
            try DictionaryLogConformanceTests.suite.run()
        }
    }

    func testStorageConformance() throws {
        try ConformanceReporting.withReporter({ issue in XCTFail("\(issue) (run from \(issue.caller))") }) {
            try DictionaryLogConformanceTests.storageSuite.run()
        }
    }
}
