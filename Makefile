# rogatory — build, test and install.
#
#   make            build rogatoryd, rogatoryctl and rogatory-console into build/
#   make test       check/install Debian dependencies, build, run unit + integration tests
#   make asan       the same tests under AddressSanitizer + UBSan (build-asan/)
#   make valgrind   the unit tests under valgrind memcheck (errors and definite leaks fail)
#   make analyze    cppcheck + clang-tidy over proto/ daemon/ ctl/; any finding fails
#   make bench      throughput, latency and memory against this machine's limits
#                   (RELEASE=1 build in build-bench/; writes bench/results/latest.json)
#   make chaos      kill -9 and crash points under load, then no loss, no duplicate
#                   (tests/chaos/chaos.sh; CHAOS_ROUNDS=20, at most CHAOS_SECONDS=300)
#   make install    install under $(DESTDIR)$(PREFIX)
#
# Sources are found by wildcard: a new daemon/foo.c or tests/unit/test_foo.c needs no
# edit here. Generated protobuf-c code goes to $(BUILD)/gen and is never committed.

PREFIX    ?= /usr/local
DESTDIR   ?=
BUILD     ?= build
SANITIZE  ?=
# RELEASE=1 compiles out the test-only hooks (ROGATORY_CRASH_AT crash points).
RELEASE   ?=

CC        ?= cc
PKGS      := libssl libcrypto libevent libevent_openssl libevent_pthreads libprotobuf-c \
             sqlite3 inih jansson
GEN       := $(BUILD)/gen
OBJ       := $(BUILD)/obj

WARN      := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
             -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
ifeq ($(SANITIZE),)
HARDEN_CC := -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fstack-clash-protection -fPIE
HARDEN_LD := -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack
else
HARDEN_CC := -O1 -fno-omit-frame-pointer -fsanitize=$(SANITIZE) -fno-sanitize-recover=all \
             -fstack-protector-strong -fPIE
HARDEN_LD := -fsanitize=$(SANITIZE) -pie -Wl,-z,relro,-z,now
endif
ifeq ($(RELEASE),)
HOOKS     := -DROGATORY_TEST_HOOKS=1
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
CPPFLAGS  += -D_GNU_SOURCE -Iproto -Idaemon -Itests/support -I$(GEN) -Iconsole $(HOOKS)
CFLAGS    ?= -g
CFLAGS    += -std=c11 $(WARN) $(HARDEN_CC) $(PKG_CFLAGS)
LDFLAGS   += $(HARDEN_LD)

PROTOS     := proto/rogatory.proto proto/control.proto
GEN_SRCS   := $(patsubst proto/%.proto,$(GEN)/%.pb-c.c,$(PROTOS))
GEN_HDRS   := $(GEN_SRCS:.c=.h)
# SKIP="a.c b.c": leave files out (for building one module while another is mid-edit).
SKIP      ?=
LIB_SRCS   := $(filter-out daemon/main.c $(SKIP),$(wildcard proto/*.c daemon/*.c))
# proto/rogatory.proto as bytes: the schema an evidence bundle carries (daemon/bundle.c).
GEN_SCHEMA := $(GEN)/rogatory_proto.c
LIB_OBJS   := $(patsubst %.c,$(OBJ)/%.o,$(LIB_SRCS)) \
              $(patsubst $(GEN)/%.c,$(OBJ)/gen/%.o,$(GEN_SRCS) $(GEN_SCHEMA))
CTL_SRCS   := $(filter-out $(SKIP),$(wildcard ctl/*.c))
# rogatory-console (console/): its modules in $(CONSOLE_LIB) (the unit tests link them),
# main.c apart; the files of console/www/ embedded as bytes ($(GEN_ASSETS)).
CONSOLE_SRCS := $(filter-out $(SKIP),$(wildcard console/*.c))
CONSOLE_WWW  := $(shell find console/www -type f 2>/dev/null | LC_ALL=C sort)
GEN_ASSETS   := $(GEN)/console_assets.c
CONSOLE_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(filter-out console/main.c,$(CONSOLE_SRCS))) \
                $(OBJ)/gen/console_assets.o
CONSOLE_LIB  := $(BUILD)/libconsole.a
SUPPORT_SRCS := $(filter-out $(SKIP),$(wildcard tests/support/*.c))
UNIT_SRCS  := $(filter-out $(SKIP),$(wildcard tests/unit/*.c))
INTEG_SRCS := $(filter-out $(SKIP),$(wildcard tests/integration/*.c))
LIB        := $(BUILD)/librogatory.a

DAEMON     := $(BUILD)/rogatoryd
CTL        := $(BUILD)/rogatoryctl
CONSOLE    := $(BUILD)/rogatory-console
UNIT_BIN   := $(BUILD)/tests/unit
INTEG_BIN  := $(BUILD)/tests/integration
TEST_TOOLS := $(patsubst tests/helpers/%.c,$(BUILD)/tests/%,$(wildcard tests/helpers/*.c))
# libFuzzer harnesses, one per parser: tests/fuzz/fuzz_<target>.c (see `fuzz` below).
FUZZ_SRCS    := $(filter-out $(SKIP),$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRCS))
FUZZ_REPLAY  := $(patsubst %,$(BUILD)/tests/fuzz-%,$(FUZZ_TARGETS))
FUZZ_BINS    := $(patsubst %,$(BUILD)/fuzz/fuzz-%,$(FUZZ_TARGETS))
FUZZ_SECONDS ?= 60
FUZZ_BUILD   ?= build-fuzz

# Criterion: unit tests in parallel; integration tests one at a time (real daemons, ports).
UNIT_ARGS  ?= --jobs 2
INTEG_ARGS ?= --jobs 1
TEST_ENV    = ROGATORY_SRC=$(CURDIR) ROGATORY_BUILD=$(abspath $(BUILD))

.PHONY: all deps deps-check test unit integration asan install clean demo demo-stop bench
# Generated sources and objects are kept (not deleted as intermediates).
.SECONDARY:
.DEFAULT_GOAL := all

all: $(DAEMON) $(CTL) $(CONSOLE)

deps:
	@scripts/deps.sh install

deps-check:
	@scripts/deps.sh ensure

$(GEN)/%.pb-c.c $(GEN)/%.pb-c.h: proto/%.proto
	@mkdir -p $(GEN)
	protoc-c --proto_path=proto --c_out=$(GEN) $<

$(GEN_SCHEMA): proto/rogatory.proto
	@mkdir -p $(GEN)
	{ printf '#include <stddef.h>\nconst unsigned char rogatory_proto_text[] = {\n'; \
	  od -An -v -tx1 $< | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  printf '};\nconst size_t rogatory_proto_text_len = sizeof(rogatory_proto_text);\n'; \
	} > $@.tmp && mv $@.tmp $@

# console/www/ as C arrays: {name under www/, bytes, length}; a NUL after each (not
# counted) so that an empty file is still an array.
# The list itself is a prerequisite (rewritten only when it changes): a file removed from
# console/www/ leaves the table too.
CONSOLE_WWW_LIST := $(GEN)/console_www.list
$(shell mkdir -p $(GEN) && { echo '$(CONSOLE_WWW)' | cmp -s - $(CONSOLE_WWW_LIST) || \
    echo '$(CONSOLE_WWW)' > $(CONSOLE_WWW_LIST); })
$(GEN_ASSETS): $(CONSOLE_WWW) $(CONSOLE_WWW_LIST) Makefile
	@mkdir -p $(GEN)
	@for f in $(CONSOLE_WWW); do case "$$f" in *[!A-Za-z0-9/._-]*) \
	    echo "console/www: $$f: file names are [A-Za-z0-9._-]" >&2; exit 1;; esac; done
	@echo "embed console/www ($(words $(CONSOLE_WWW)) files) -> $@"
	@{ printf '#include "console.h"\n'; i=0; for f in $(CONSOLE_WWW); do \
	    printf 'static const unsigned char a%d[] = {\n' $$i; \
	    od -An -v -tx1 $$f | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	    printf '0};\n'; i=$$((i+1)); done; \
	  printf 'const struct console_asset console_assets[] = {\n'; i=0; \
	  for f in $(CONSOLE_WWW); do \
	    printf '\t{"%s", a%d, sizeof(a%d) - 1},\n' "$${f#console/www/}" $$i $$i; i=$$((i+1)); \
	  done; printf '\t{NULL, NULL, 0}\n};\nconst size_t console_assets_count = %d;\n' $$i; \
	} > $@.tmp && mv $@.tmp $@

# Every object may include a generated header: generate first.
$(OBJ)/%.o: %.c $(GEN_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# Generated code is not ours to warn about (protoc-c output trips -Wmissing-prototypes).
$(OBJ)/gen/%.o: $(GEN)/%.c $(GEN_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(filter-out -Werror -Wmissing-prototypes,$(CFLAGS)) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(DAEMON): $(OBJ)/daemon/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(CTL): $(patsubst %.c,$(OBJ)/%.o,$(CTL_SRCS)) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(CONSOLE_LIB): $(CONSOLE_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(CONSOLE): $(OBJ)/console/main.o $(CONSOLE_LIB) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: $(OBJ)/tests/helpers/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(UNIT_BIN): $(patsubst %.c,$(OBJ)/%.o,$(UNIT_SRCS) $(SUPPORT_SRCS)) $(CONSOLE_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcriterion

$(INTEG_BIN): $(patsubst %.c,$(OBJ)/%.o,$(INTEG_SRCS) $(SUPPORT_SRCS)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcriterion

unit: deps-check all $(TEST_TOOLS) $(UNIT_BIN)
	$(TEST_ENV) $(UNIT_BIN) $(UNIT_ARGS)
	$(MAKE) --no-print-directory fuzz-replay

integration: deps-check all $(TEST_TOOLS) $(INTEG_BIN)
	$(if $(INTEG_SRCS),$(TEST_ENV) $(INTEG_BIN) $(INTEG_ARGS),@echo "no integration tests")

test: deps-check
	$(MAKE) unit
	$(MAKE) integration

asan: deps-check
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(MAKE) BUILD=build-asan SANITIZE=address,undefined test

# Memcheck and static analysis; their tools come from `scripts/deps.sh ensure-analysis`
# (valgrind, cppcheck, clang-tidy), which `make test` never needs.
# `make valgrind`: tests/valgrind.sh runs $(UNIT_BIN) under memcheck, following
# Criterion's per-test processes; suppressions (third-party only) in tests/valgrind.supp.
# `make analyze`: cppcheck (tests/cppcheck.cfg, tests/cppcheck.supp) and clang-tidy
# (.clang-tidy, ctl/.clang-tidy) over ANALYZE_DIRS (console/ too); any finding fails. clang-tidy reads
# $(BUILD)/compile_commands.json, written from this Makefile's flags less HARDEN_CC
# (FORTIFY's wrappers are not the code we wrote); $(GEN) is on its include path and
# never reported.
ANALYZE_DIRS  ?= proto daemon ctl console
ANALYZE_SRCS   = $(filter $(addsuffix /%,$(ANALYZE_DIRS)),$(LIB_SRCS) daemon/main.c $(CTL_SRCS) \
                 $(CONSOLE_SRCS))
COMPDB_SRCS    = $(sort $(LIB_SRCS) daemon/main.c $(CTL_SRCS) $(CONSOLE_SRCS) $(SUPPORT_SRCS) $(UNIT_SRCS) \
                 $(INTEG_SRCS) $(filter-out $(SKIP),$(wildcard tests/helpers/*.c tests/fuzz/*.c)))
CLANG_TIDY    ?= clang-tidy
VALGRIND_ARGS ?= --jobs 2
.PHONY: valgrind analyze compile-db deps-analysis
deps-analysis:
	@scripts/deps.sh ensure-analysis

valgrind: deps-check deps-analysis all $(TEST_TOOLS) $(UNIT_BIN)
	$(TEST_ENV) tests/valgrind.sh $(BUILD)/valgrind $(UNIT_BIN) $(VALGRIND_ARGS)

compile-db: $(BUILD)/compile_commands.json

$(BUILD)/compile_commands.json: Makefile $(GEN_HDRS)
	@{ printf '['; sep=''; for f in $(COMPDB_SRCS); do \
	    printf '%s\n{"directory": "%s", "file": "%s", "command": "%s -c -o /dev/null %s"}' \
	        "$$sep" "$(CURDIR)" "$$f" \
	        "$(strip $(CC) $(CPPFLAGS) $(filter-out $(HARDEN_CC),$(CFLAGS)))" "$$f"; \
	    sep=','; \
	done; printf '\n]\n'; } > $@.tmp && mv $@.tmp $@

analyze: deps-check deps-analysis $(BUILD)/compile_commands.json
	cppcheck -q -j2 --std=c11 --enable=warning,style,performance,portability \
	    --error-exitcode=1 --inline-suppr --suppressions-list=tests/cppcheck.supp \
	    --library=posix,gnu,openssl,sqlite3,tests/cppcheck.cfg \
	    --template='{file}:{line}: {severity}({id}): {message}' \
	    $(filter -D% -I%,$(CPPFLAGS)) $(ANALYZE_SRCS)
	@echo "clang-tidy: $(words $(ANALYZE_SRCS)) files"
	@printf '%s\n' $(ANALYZE_SRCS) | xargs -P2 -n2 $(CLANG_TIDY) -p $(BUILD) --quiet \
	    > $(BUILD)/clang-tidy.log 2>&1; rc=$$?; \
	    grep -v '^[0-9]* warnings\? generated\.$$' $(BUILD)/clang-tidy.log; \
	    if [ $$rc -ne 0 ]; then echo "clang-tidy: findings (above)" >&2; exit 1; fi

# Fuzzing. `make fuzz` builds every harness with clang and libFuzzer in $(FUZZ_BUILD)/
# (its own librogatory, -fsanitize=fuzzer-no-link,address,undefined) and runs each for
# FUZZ_SECONDS on a copy of its corpus; a finding fails it, the reproducer stays in
# $(FUZZ_BUILD)/fuzz/<target>/artifacts/. `make fuzz-replay` (run by `make unit`) builds
# the same harnesses with the normal compiler and a plain driver and replays
# tests/fuzz/corpus/<target> and tests/fuzz/regress/<target>; clang is not needed there.
.PHONY: fuzz fuzz-build fuzz-replay
fuzz: deps-check
	@command -v clang >/dev/null 2>&1 || { echo "fuzz: clang and libclang-rt-14-dev" \
	    "are needed (make deps)" >&2; exit 1; }
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang SANITIZE=fuzzer-no-link,address,undefined fuzz-build
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-build: $(FUZZ_BINS)

$(FUZZ_BINS): $(BUILD)/fuzz/fuzz-%: $(OBJ)/tests/fuzz/fuzz_%.o $(OBJ)/tests/fuzz/fuzz.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

$(FUZZ_REPLAY): $(BUILD)/tests/fuzz-%: $(OBJ)/tests/fuzz/fuzz_%.o $(OBJ)/tests/fuzz/fuzz.o \
    $(OBJ)/tests/fuzz/driver.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

fuzz-replay: $(FUZZ_REPLAY)
	@for t in $(FUZZ_TARGETS); do \
	    $(BUILD)/tests/fuzz-$$t tests/fuzz/corpus/$$t tests/fuzz/regress/$$t || exit 1; \
	done

# Benchmark (bench/): two real daemons, the machine's limits measured in the same run
# (bench/limits), 200 light peers (bench/manypeers); the table is printed and written to
# BENCH_OUT. Built with RELEASE=1 (normal optimised, hardened flags, no sanitizer, test
# hooks compiled out) in its own BENCH_BUILD so that build/ keeps the test build.
# BENCH_QUICK=1 for a short run.
BENCH_BUILD ?= build-bench
BENCH_OUT   ?= bench/results/latest.json
BENCH_BINS  := $(BUILD)/bench/bench $(BUILD)/bench/limits $(BUILD)/bench/manypeers \
               $(BUILD)/tests/faultproxy
.PHONY: bench-build
bench: deps-check
	$(MAKE) --no-print-directory BUILD=$(BENCH_BUILD) RELEASE=1 bench-build
	@mkdir -p $(dir $(BENCH_OUT))
	$(BENCH_BUILD)/bench/bench $(CURDIR) $(abspath $(BENCH_BUILD)) $(BENCH_OUT)

bench-build: all $(BENCH_BINS)

$(BUILD)/bench/bench: $(OBJ)/bench/bench.o $(OBJ)/bench/benchscale.o $(OBJ)/bench/benchattach.o \
                  $(OBJ)/bench/benchconsole.o $(OBJ)/bench/benchprof.o $(OBJ)/bench/peers.o $(OBJ)/bench/benchlib.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/bench/limits $(BUILD)/bench/manypeers: $(BUILD)/bench/%: $(OBJ)/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The chaos run: two daemons under load, SIGKILL at random moments and at every crash
# point, restarts, then a checker (see tests/chaos/chaos.sh). Needs the test hooks, so
# not with RELEASE=1. Bounded by CHAOS_SECONDS, settling and checking included.
CHAOS_ROUNDS  ?= 20
CHAOS_SECONDS ?= 300
.PHONY: chaos
chaos: deps-check all
	@test -z "$(RELEASE)" || { echo "chaos: needs the crash points; not with RELEASE=1" >&2; exit 2; }
	CHAOS_ROUNDS=$(CHAOS_ROUNDS) CHAOS_SECONDS=$(CHAOS_SECONDS) BUILD=$(abspath $(BUILD)) \
	    tests/chaos/chaos.sh

# A three-authority network on loopback with a real request (see scripts/demo.sh).
demo: deps-check all
	@scripts/demo.sh start

demo-stop:
	@scripts/demo.sh stop

# The manual pages (man/, mdoc; rogatoryd.conf.5's key reference is generated from the
# config table and held equal to it by the unit tests) go to $(PREFIX)/share/man; the
# systemd unit and the logrotate file to $(PREFIX)/share/rogatory, for the
# administrator to copy into /etc.
MANDIR ?= $(PREFIX)/share/man
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/rogatory \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(DAEMON) $(DESTDIR)$(PREFIX)/sbin/rogatoryd
	install -m 0755 $(CTL) $(DESTDIR)$(PREFIX)/bin/rogatoryctl
	install -m 0755 $(CONSOLE) $(DESTDIR)$(PREFIX)/sbin/rogatory-console
	install -m 0755 pki/rogatory-pki $(DESTDIR)$(PREFIX)/bin/rogatory-pki
	install -m 0644 configs/rogatoryd.conf.example configs/directory.conf.example \
	    configs/rogatoryd.service configs/rogatoryd.logrotate \
	    configs/rogatory-console.conf.example configs/rogatory-console.service \
	    $(DESTDIR)$(PREFIX)/share/rogatory/
	install -m 0644 man/rogatoryd.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/rogatoryd.8 man/rogatoryctl.8 man/rogatory-pki.8 man/rogatory-console.8 \
	    $(DESTDIR)$(MANDIR)/man8/

clean:
	rm -rf build build-asan build-fuzz build-bench

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)
