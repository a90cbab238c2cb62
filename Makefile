# fundwatch: plain GNU make with pkg-config.
#   make            build build/fundwatch
#   make test       build and run every test (unit, end-to-end, policy, daemon)
#   make asan       the same suite under AddressSanitizer + UBSan (build-asan/)
#   make run        set up a working folder from examples/ and run fundwatch on it
#   make bench      benchmarks, each beside a baseline measured in the same run
#   make install    PREFIX=/usr/local DESTDIR=
# Missing Debian packages are installed first (apt-get update once, then
# apt-get install -y); set FW_NO_APT=1 to only list them.

BUILD   ?= build
PREFIX  ?= /usr/local
CC      ?= cc
SAN     ?=
V       ?=

DEB_PKGS = pkg-config gettext liblua5.4-dev libuv1-dev libyaml-dev libsqlite3-dev \
           libjson-c-dev libssl-dev libsystemd-dev libhttp-parser-dev \
           libxlsxwriter-dev zlib1g-dev
# zlib1g-dev: Debian's xlsxwriter.pc says -lz without depending on it.
PKGS     = lua5.4 libuv yaml-0.1 sqlite3 json-c libcrypto libsystemd xlsxwriter

WARN = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
       -Wmissing-prototypes -Wold-style-definition -Wpointer-arith -Wvla \
       -Wundef -Wimplicit-fallthrough -Wno-unused-parameter

OPT = -O2
ifneq ($(SAN),)
OPT = -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
      -fno-sanitize-recover=undefined
endif

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhttp_parser -lm

LOCALEDIR ?= $(PREFIX)/share/locale
CPPFLAGS += -DFW_LOCALEDIR='"$(LOCALEDIR)"'
CPPFLAGS += -Iinclude -Idaemon -D_GNU_SOURCE -DFW_VERSION='"$(VERSION)"'
CFLAGS   += -std=c11 $(OPT) -g $(WARN) $(PKG_CFLAGS) -MMD -MP
LDFLAGS  += $(if $(SAN),-fsanitize=address$(comma)undefined)
comma := ,
# V=1 prints whole compiler lines
Q = $(if $(V),,@echo '  CC    $@';)

RULES_SRC  = $(wildcard rules/*.c)
# daemon/ is the service core; daemon/cmd/, daemon/store/ and daemon/http/
# are its rooms (README.md, "Layout").
DAEMON_SRC = $(filter-out daemon/cmd/main.c,$(wildcard daemon/*.c daemon/*/*.c))
UNIT_SRC   = $(wildcard tests/unit/test_*.c)

RULES_OBJ  = $(RULES_SRC:%.c=$(BUILD)/%.o)
# The dashboard's files (daemon/http/dash/) become C arrays at build time,
# written by a small program of our own (dash/embed.c, compiled with $(CC)).
DASH_FILES = $(sort $(wildcard daemon/http/dash/*.html daemon/http/dash/*.css \
               daemon/http/dash/*.js daemon/http/dash/*.svg))
DASH_C     = $(BUILD)/daemon/http/dash_assets.c
DAEMON_OBJ = $(DAEMON_SRC:%.c=$(BUILD)/%.o) $(DASH_C:%.c=%.o)
UNIT_OBJ   = $(UNIT_SRC:%.c=$(BUILD)/%.o) $(BUILD)/tests/unit/runner.o

BIN  = $(BUILD)/fundwatch

# Translations (GNU gettext): po/LANG.po → build/locale/LANG/LC_MESSAGES/
# fundwatch.mo, found beside the binary (daemon/i18n.c). `make pot` collects
# every _() and N_() message into po/fundwatch.pot and merges it into the
# .po files; the test suite fails on a message without a translation.
LINGUAS  = zh_CN
I18N_SRC = $(sort $(wildcard rules/*.c daemon/*.c daemon/*/*.c))
MO       = $(LINGUAS:%=$(BUILD)/locale/%/LC_MESSAGES/fundwatch.mo)
UNIT = $(BUILD)/test-unit

.PHONY: all test asan run bench fuzz fuzz-build install clean deps pot
.DEFAULT_GOAL := all

all: $(BIN) $(MO)

# Installs what is missing, once; a no-op (a few dpkg-query calls) after.
deps:
	@missing=""; for p in $(DEB_PKGS) $(EXTRA_DEB); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' \
	    || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ -n "$(FW_NO_APT)" ] || [ "$$(id -u)" != 0 ]; then \
	    echo "missing Debian packages:$$missing (apt-get install -y$$missing)"; exit 1; fi; \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	fi

$(BUILD)/%.o: %.c | deps
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/dash-embed: daemon/http/dash/embed.c
	@mkdir -p $(@D)
	$(Q)$(CC) -O1 -o $@ $<

$(DASH_C): $(BUILD)/dash-embed $(DASH_FILES)
	@mkdir -p $(@D)
	@$(BUILD)/dash-embed $@ daemon/http/dash $(notdir $(DASH_FILES))

$(DASH_C:%.c=%.o): $(DASH_C)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BIN): $(BUILD)/daemon/cmd/main.o $(DAEMON_OBJ) $(RULES_OBJ)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/locale/%/LC_MESSAGES/fundwatch.mo: po/%.po | deps
	@mkdir -p $(@D)
	$(Q)msgfmt --check -o $@ $<

pot: | deps
	@xgettext --language=C --from-code=UTF-8 -k_ -kN_ --add-comments=TRANSLATORS: \
	  --package-name=fundwatch --msgid-bugs-address=fundwatch --no-location --sort-output \
	  -o po/fundwatch.pot $(I18N_SRC)
	@for l in $(LINGUAS); do msgmerge --quiet --update --backup=none --no-location \
	  --sort-output po/$$l.po po/fundwatch.pot; done

# The one test list, collected from every TEST_IMPL(name).
$(BUILD)/tests/unit/test-list.h: $(UNIT_SRC)
	@mkdir -p $(@D)
	@grep -ho 'TEST_IMPL([A-Za-z0-9_]*)' $(UNIT_SRC) | \
	  sed 's/TEST_IMPL/TEST_ENTRY/' > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/unit/runner.o: $(BUILD)/tests/unit/test-list.h
$(BUILD)/tests/unit/runner.o: CPPFLAGS += -I$(BUILD)/tests/unit
$(BUILD)/tests/unit/%.o: CPPFLAGS += -Itests/unit -Idaemon -Irules

$(UNIT): $(UNIT_OBJ) $(DAEMON_OBJ) $(RULES_OBJ)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The daemon tests read the store with sqlite3, drive the API with curl and
# check /metrics with promtool (Prometheus's own parser, package prometheus);
# the report tests read workbooks back with python3-openpyxl and convert them
# with LibreOffice headless (libreoffice-calc-nogui).
# The dashboard's test drives Debian's headless Chromium (chromium) and
# needs a Chinese font for its screenshots (fonts-wqy-microhei, 5 MB).
TEST_DEB = sqlite3 curl prometheus python3-openpyxl libreoffice-calc-nogui \
           chromium fonts-wqy-microhei

# Outside `make asan` (its build is already sanitized) the fuzz targets are
# built too and each runs FUZZ_SMOKE seconds as a suite of the run.
test: $(BIN) $(UNIT) $(MO)
	@$(MAKE) --no-print-directory deps EXTRA_DEB="$(TEST_DEB)"
	@$(if $(SAN),,$(MAKE) --no-print-directory fuzz-build)
	@FW_BIN=$(abspath $(BIN)) FW_UNIT=$(abspath $(UNIT)) \
	  FW_SHOTS=$(abspath $(BUILD))/dashboard \
	  FW_I18N_SRC="$(I18N_SRC)" \
	  $(if $(SAN),,FW_FUZZ_BUILD=$(FUZZ_BUILD) FW_FUZZ="$(FUZZ_TARGETS)" FW_FUZZ_SMOKE=$(FUZZ_SMOKE)) \
	  tests/run

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 test

# A working folder from examples/: the config, the column map, the
# reference policies (or the sample ones while policies/ is missing) and a
# spool holding the example feeds; then the daemon in the foreground, its
# clock at the examples' year end (RUN_NOW= for today), so that its outbox
# holds what examples/expected.jsonl holds.
RUN_DIR ?= $(BUILD)/run
RUN_NOW ?= 2024-12-31
run: $(BIN)
	@mkdir -p $(RUN_DIR)/spool/incoming
	@cp examples/fundwatch.yaml examples/columns.yaml $(RUN_DIR)/
	@rm -rf $(RUN_DIR)/policies && if [ -d policies ]; then \
	  cp -r policies $(RUN_DIR)/policies; else \
	  cp -r examples/policies $(RUN_DIR)/policies; rm -rf $(RUN_DIR)/policies/feeds; fi
	@for f in examples/feeds/*; do cp "$$f" "$(RUN_DIR)/spool/incoming/.$$(basename $$f)"; \
	  mv "$(RUN_DIR)/spool/incoming/.$$(basename $$f)" "$(RUN_DIR)/spool/incoming/$$(basename $$f)"; done
	@echo "fundwatch: working folder $(RUN_DIR): findings go to $(RUN_DIR)/outbox.jsonl; Ctrl-C stops"
	$(BIN) run -c $(RUN_DIR)/fundwatch.yaml $(if $(RUN_NOW),--now $(RUN_NOW))

# Coverage-guided fuzzing (libFuzzer, Debian's clang, ASan + UBSan): each
# target of tests/fuzz/ runs FUZZ_SECONDS on a corpus grown in build-fuzz/
# from the seeds in tests/fuzz/corpus/NAME; a crash leaves its input in
# build-fuzz/ and stops. `make test` runs each target for FUZZ_SMOKE seconds.
FUZZ_BUILD   = build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SMOKE   ?= 3
FUZZ_TARGETS = csv ndjson money config columns policy pattern
FUZZ_DEB     = clang libclang-rt-14-dev
FUZZ_BIN     = $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz-%)
FUZZ_OBJ     = $(filter-out $(FUZZ_BUILD)/daemon/cmd/main.o,$(DAEMON_SRC:%.c=$(FUZZ_BUILD)/%.o)) \
               $(FUZZ_BUILD)/daemon/http/dash_assets.o $(RULES_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_FLAGS   = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
               -fno-omit-frame-pointer

ifeq ($(BUILD),$(FUZZ_BUILD))
CC  = clang
OPT = -O1 $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link
# gcc's build holds the warnings to -Werror; clang's own warnings on code
# gcc takes (a "fall through" comment, & on bools) do not stop the fuzzers
WARN := $(filter-out -Werror,$(WARN)) -Wno-implicit-fallthrough
endif

$(FUZZ_BUILD)/tests/fuzz/%.o: CPPFLAGS += -Idaemon -Irules
$(FUZZ_BUILD)/tests/fuzz/fuzz_reader_ndjson.o: tests/fuzz/fuzz_reader.c | deps
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -DFUZZ_FORMAT=FW_FMT_NDJSON -c -o $@ $<
$(FUZZ_BUILD)/tests/fuzz/fuzz_config_columns.o: tests/fuzz/fuzz_config.c | deps
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -DFUZZ_COLUMNS -c -o $@ $<

$(FUZZ_BUILD)/fuzz-csv: $(FUZZ_BUILD)/tests/fuzz/fuzz_reader.o
$(FUZZ_BUILD)/fuzz-ndjson: $(FUZZ_BUILD)/tests/fuzz/fuzz_reader_ndjson.o
$(FUZZ_BUILD)/fuzz-money: $(FUZZ_BUILD)/tests/fuzz/fuzz_money.o
$(FUZZ_BUILD)/fuzz-config: $(FUZZ_BUILD)/tests/fuzz/fuzz_config.o
$(FUZZ_BUILD)/fuzz-columns: $(FUZZ_BUILD)/tests/fuzz/fuzz_config_columns.o
$(FUZZ_BUILD)/fuzz-policy: $(FUZZ_BUILD)/tests/fuzz/fuzz_policy.o
$(FUZZ_BUILD)/fuzz-pattern: $(FUZZ_BUILD)/tests/fuzz/fuzz_pattern.o
$(FUZZ_BIN): $(FUZZ_OBJ)
	$(Q)$(CC) -fsanitize=fuzzer $(FUZZ_FLAGS) -o $@ $^ $(PKG_LIBS)

fuzz-build:
	@$(MAKE) --no-print-directory deps EXTRA_DEB="$(FUZZ_DEB)"
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) $(FUZZ_BIN)

# FUZZ_ONLY=NAME runs one target.
fuzz: fuzz-build
	@for t in $(or $(FUZZ_ONLY),$(FUZZ_TARGETS)); do \
	  tests/fuzz/run.sh $(FUZZ_BUILD) $$t $(FUZZ_SECONDS) || exit 1; done

# The store's benchmark program: the daemon's store path beside plain SQLite.
BENCH_STORE = $(BUILD)/bench-store
$(BUILD)/tests/bench/%.o: CPPFLAGS += -Idaemon
$(BENCH_STORE): $(BUILD)/tests/bench/store_bench.o $(DAEMON_OBJ) $(RULES_OBJ)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

bench: $(BIN) $(BENCH_STORE)
	@for b in tests/bench/*.sh; do [ -e "$$b" ] || continue; \
	  FW_BIN=$(abspath $(BIN)) FW_BENCH_STORE=$(abspath $(BENCH_STORE)) \
	  bash "$$b" || exit 1; done

install: $(BIN) $(MO)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/fundwatch
	@for l in $(LINGUAS); do \
	  install -d $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES; \
	  install -m 644 $(BUILD)/locale/$$l/LC_MESSAGES/fundwatch.mo \
	    $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES/fundwatch.mo; done

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
