import CFuzzerDriver

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The test function libFuzzer calls; a global because a C callback cannot capture context.
nonisolated(unsafe) private var testOneInput: (UnsafeRawBufferPointer) -> Void = { _ in }

/// libFuzzer's well-known entry point (its driver refers to it even when given a callback).
@_cdecl("LLVMFuzzerTestOneInput")
public func llvmFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    testOneInput(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// Runs libFuzzer with this process's arguments, calling `body` with every input; never returns.
///
/// `body` must not throw or trap on any input: a trap, a sanitizer report, a timeout or an
/// allocation over `-malloc_limit_mb` is a finding.
public func runFuzzer(_ body: @escaping (UnsafeRawBufferPointer) -> Void) -> Never {
    testOneInput = body
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in llvmFuzzerTestOneInput(data, size) }
    exit(status)
}

/// Stops the fuzzer with a finding when a property of the code under test does not hold.
public func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() {
        let text = Array(("property violated: " + message() + "\n").utf8)
        _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        abort()
    }
}
