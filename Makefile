# caddy-c build. `make` builds bin/caddy-c; `make test` installs what tests need,
# builds, and runs every test; `make asan` does the same with ASan+UBSan; `make run`
# starts the example site. Objects go to $(BUILD) so plain and sanitizer builds coexist.

CC      ?= gcc
BUILD   ?= build
BIN     ?= bin
OPT     ?= -O2
SAN     ?=
CFLAGS  ?=
WARN     = -Wall -Wextra -Wshadow -Werror
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(OPT) -g $(WARN) $(SAN) -MMD -MP -I. $(CFLAGS)
LIBS     = -ljansson -lm -lcrypt -lmicrohttpd -lpthread -lcurl -lsqlite3 -lz -lzstd -lbrotlienc -lwolfssl
LDFLAGS_ALL = $(SAN) $(LDFLAGS)

LIB_SRCS  := $(wildcard core/*.c caddyfile/*.c handlers/*.c)
MAIN_SRCS := $(wildcard caddy-c/*.c)
TEST_SRCS := $(wildcard tests/unit/test_*.c)

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(patsubst %.c,$(BUILD)/%.o,$(wildcard engine/*.c)) \
             $(patsubst %.c,$(BUILD)/%.o,$(wildcard storage/*.c)) \
             $(patsubst %.c,$(BUILD)/%.o,$(wildcard certmagic/*.c))
MAIN_OBJS := $(MAIN_SRCS:%.c=$(BUILD)/%.o)
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

# keep test objects between runs (they are intermediate files of a pattern chain)
.SECONDARY:

.PHONY: all deps deps-test test unit asan fuzz fuzz-build run check fmt fmt-check clean bench

all: $(BIN)/caddy-c

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/libcaddyc.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BIN)/caddy-c: $(MAIN_OBJS) $(BUILD)/libcaddyc.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $(MAIN_OBJS) $(BUILD)/libcaddyc.a $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libcaddyc.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(BUILD)/libcaddyc.a $(LIBS)
# the encode tests check brotli output with the library's decoder
$(BUILD)/tests/test_encode: LIBS += -lbrotlidec

# Every test program and script prints "N passed, N failed"; tests/run.sh adds them up.
test: deps-test
	@$(MAKE) --no-print-directory all unit-bins
	@BUILD=$(BUILD) BIN=$(BIN) FUZZ_SECONDS=$${FUZZ_SECONDS:-60} tests/run.sh

# helper programs that integration tests drive (tests/unit/<name>.c, not run by run.sh)
unit-bins: $(TEST_BINS) $(BUILD)/tests/acme_probe

# Sanitizer build and run of the whole suite (separate object dir; fuzzing is already
# sanitized, so it is not repeated here). Reports of every process, including servers
# started by integration tests, go to build-asan/reports: run.sh fails on any.
asan: deps-test
	@$(MAKE) --no-print-directory BUILD=build-asan BIN=build-asan/bin OPT=-O1 \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    all unit-bins
	@rm -rf build-asan/reports && mkdir -p build-asan/reports
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:log_path=$(CURDIR)/build-asan/reports/asan \
	    UBSAN_OPTIONS=print_stacktrace=1:log_path=$(CURDIR)/build-asan/reports/ubsan \
	    SANITIZER_REPORTS=$(CURDIR)/build-asan/reports \
	    BUILD=build-asan BIN=build-asan/bin FUZZ_SECONDS=0 tests/run.sh

# libFuzzer over lexer + parser + adapter + formatter (clang).
FUZZ_BIN = $(BUILD)/fuzz/fuzz_caddyfile
fuzz-build: $(FUZZ_BIN)
# handlers reach the worker loop (engine/loop.c), so the whole library is linked
FUZZ_SRCS = $(LIB_SRCS) $(wildcard engine/*.c storage/*.c certmagic/*.c)
$(FUZZ_BIN): tests/fuzz/fuzz_caddyfile.c $(FUZZ_SRCS)
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -O1 -g -I. -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=all -o $@ tests/fuzz/fuzz_caddyfile.c $(FUZZ_SRCS) $(LIBS)

fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_BIN) $${FUZZ_SECONDS:-60}

run: deps all
	$(BIN)/caddy-c run --config examples/Caddyfile

bench: all
	bench/adapt_sites.sh

# Include rules of docs/architecture: handlers/ never see the HTTP engine, caddyfile/
# and core/ stay library-free.
check:
	@! grep -rn 'microhttpd.h' --include='*.[ch]' handlers caddyfile core || \
	    { echo "include rule: microhttpd.h outside engine/"; exit 1; }
	@! grep -rnE '#include <(sqlite3|wolfssl|curl|jansson|microhttpd)' --include='*.[ch]' core caddyfile || \
	    { echo "include rule: core/ and caddyfile/ use libc only"; exit 1; }
	@! grep -rln --include='*.[ch]' --exclude-dir=build --exclude-dir=build-asan \
	    '#include <sqlite3.h>' . | grep -vx './storage/sqlite.c' || \
	    { echo "include rule: <sqlite3.h> only in storage/sqlite.c"; exit 1; }
	@! grep -rn '#include "../certmagic/' --include='*.[ch]' engine | grep -v 'certmagic/certmagic.h"' || \
	    { echo "include rule: engine/ sees certmagic only through certmagic.h (lookups)"; exit 1; }
	@! grep -rnE '#include "../(engine|caddy-c)/' --include='*.[ch]' core caddyfile handlers certmagic storage || \
	    { echo "include rule: only caddy-c/ includes engine/ and caddy-c/"; exit 1; }
	@echo "include rules ok"

fmt:
	clang-format -i $$(git ls-files '*.c' '*.h')

fmt-check:
	@clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
