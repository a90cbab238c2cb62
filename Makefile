# fundwatch: plain GNU make with pkg-config.
#   make            build build/fundwatch
#   make test       build and run every test (unit, end-to-end, policy, daemon)
#   make asan       the same suite under AddressSanitizer + UBSan (build-asan/)
#   make run        set up a working folder from examples/ and run fundwatch on it
#   make bench      benchmarks, each beside a baseline measured in the same run
#   make install    PREFIX=/usr/local DESTDIR= (binary, unit, config, policies,
#                   man pages, completion, docs; docs/operations.md)
#   make deb        the Debian package, in build/deb/ (debian/)
# Missing Debian packages are installed first (apt-get update once, then
# apt-get install -y); set FW_NO_APT=1 to only list them.

BUILD   ?= build
PREFIX  ?= /usr/local
CC      ?= cc
SAN     ?=
V       ?=

DEB_PKGS = pkg-config gettext liblua5.4-dev libuv1-dev libyaml-dev libsqlite3-dev \
           libjson-c-dev libssl-dev libsystemd-dev libhttp-parser-dev \
           libxlsxwriter-dev zlib1g-dev libzip-dev libexpat1-dev libfreexl-dev
# zlib1g-dev: Debian's xlsxwriter.pc says -lz without depending on it.
PKGS     = lua5.4 libuv yaml-0.1 sqlite3 json-c libcrypto libsystemd xlsxwriter \
           libzip expat freexl

WARN = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
       -Wmissing-prototypes -Wold-style-definition -Wpointer-arith -Wvla \
       -Wundef -Wimplicit-fallthrough -Wno-unused-parameter

OPT = -O2
ifneq ($(SAN),)
OPT = -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
      -fno-sanitize-recover=undefined
endif

# The version is debian/changelog's; a build from git adds the commit.
VERSION := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
FW_GIT_HASH ?= $(shell git describe --always --dirty --exclude='*' 2>/dev/null)
FULL_VERSION = $(VERSION)$(if $(FW_GIT_HASH), (git $(FW_GIT_HASH)))
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhttp_parser -lm

# Where `make install` puts things. The config is read from SYSCONFDIR
# whatever the PREFIX (/etc/fundwatch/fundwatch.yaml, as the package does).
BINDIR     ?= $(PREFIX)/bin
LOCALEDIR  ?= $(PREFIX)/share/locale
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/fundwatch
COMPDIR    ?= $(PREFIX)/share/bash-completion/completions
UNITDIR    ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
SYSCONFDIR ?= /etc

CPPFLAGS += -DFW_LOCALEDIR='"$(LOCALEDIR)"' -DFW_SYSCONFDIR='"$(SYSCONFDIR)"'
CPPFLAGS += -Iinclude -Idaemon -D_GNU_SOURCE -DFW_VERSION='"$(FULL_VERSION)"'
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

.PHONY: all test asan run run-reset bench fuzz fuzz-build install clean deps pot man deb FORCE
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

# The objects that use the settings above are rebuilt when one changes (a
# new commit, another PREFIX): the stamp is rewritten only then.
SETTINGS     = $(BUILD)/settings.stamp
SETTINGS_OBJ = $(patsubst %.c,$(BUILD)/%.o,$(shell grep -lE \
               'FW_(VERSION|LOCALEDIR|SYSCONFDIR|SYSTEM_CONFIG)|fw_cmd_default_config' daemon/*.c daemon/*/*.c))
$(SETTINGS_OBJ): $(SETTINGS)
$(SETTINGS): FORCE
	@mkdir -p $(@D)
	@echo '$(FULL_VERSION) $(LOCALEDIR) $(SYSCONFDIR)' >$@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(BUILD)/locale/%/LC_MESSAGES/fundwatch.mo: po/%.po | deps
	@mkdir -p $(@D)
	$(Q)msgfmt --check -o $@ $<

pot: | deps
	@xgettext --language=C --from-code=UTF-8 -k_ -kN_ -kconfig_problem:3 \
	  --flag=config_problem:3:c-format --add-comments=TRANSLATORS: \
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
# check /metrics with promtool, Prometheus's own parser. promtool comes from
# Debian's prometheus package unpacked into build/tools, not installed:
# installing it would also enable and start a Prometheus server on :9090.
# The report tests read workbooks back with python3-openpyxl and convert
# them with LibreOffice headless (libreoffice-calc-nogui), which the workbook
# feed tests (tests/daemon/workbooks.sh) use to make their fixtures.
# The dashboard's test drives Debian's headless Chromium (chromium) and
# needs a Chinese font for its screenshots (fonts-wqy-microhei, 5 MB). The
# outbox rotation test runs the package's logrotate snippet (logrotate).
TEST_DEB = sqlite3 curl python3-openpyxl libreoffice-calc-nogui \
           chromium fonts-wqy-microhei logrotate
PROMTOOL = build/tools/usr/bin/promtool

# Outside `make asan` (its build is already sanitized) the fuzz targets are
# built too and each runs FUZZ_SMOKE seconds as a suite of the run.
test: $(BIN) $(UNIT) $(MO)
	@$(MAKE) --no-print-directory deps EXTRA_DEB="$(TEST_DEB)"
	@$(if $(SAN),,$(MAKE) --no-print-directory fuzz-build)
	@command -v promtool >/dev/null || $(MAKE) --no-print-directory $(PROMTOOL)
	@PATH="$$PATH:$(abspath $(dir $(PROMTOOL)))" FW_BIN=$(abspath $(BIN)) \
	  FW_UNIT=$(abspath $(UNIT)) FW_SHOTS=$(abspath $(BUILD))/dashboard \
	  FW_I18N_SRC="$(I18N_SRC)" \
	  $(if $(SAN),,FW_FUZZ_BUILD=$(FUZZ_BUILD) FW_FUZZ="$(FUZZ_TARGETS)" FW_FUZZ_SMOKE=$(FUZZ_SMOKE)) \
	  tests/run

$(PROMTOOL):
	@if [ -n "$(FW_NO_APT)" ]; then echo "promtool is missing (make test unpacks" \
	  "it from the prometheus package with apt-get download)"; exit 1; fi
	@echo "unpacking promtool from Debian's prometheus package into build/tools (not installed)"
	@rm -rf build/tools && mkdir -p build/tools/dl && cd build/tools/dl && \
	  { apt-get download prometheus >/dev/null 2>&1 || { apt-get update -qq && \
	    apt-get download prometheus >/dev/null 2>&1; }; } && \
	  dpkg-deb --fsys-tarfile prometheus_*.deb | tar -xf - -C .. ./usr/bin/promtool
	@rm -rf build/tools/dl && test -x $@

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 test

# A working folder from examples/ (examples/run.sh): made the first time
# (the config, the column map, the reference policies, the example feeds in
# its spool) and kept afterwards, edits and store included; run-reset
# removes it. The daemon's clock is at the examples' year end (RUN_NOW= for
# today), so that its outbox holds what examples/expected.jsonl holds.
RUN_DIR ?= $(BUILD)/run
RUN_NOW ?= 2024-12-31
run: $(BIN) $(MO)
	@FW_BIN=$(abspath $(BIN)) RUN_DIR=$(RUN_DIR) RUN_NOW=$(RUN_NOW) examples/run.sh

run-reset:
	rm -rf $(RUN_DIR)

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
	@mkdir -p $(BUILD)/bench && : >$(BUILD)/bench/figures.tsv; failed=""; \
	for b in tests/bench/*.sh; do case $$b in */lib.sh|*/table.sh) continue ;; esac; \
	  echo "== $$b"; \
	  FW_BIN=$(abspath $(BIN)) FW_BENCH_STORE=$(abspath $(BENCH_STORE)) \
	  FW_BENCH_FIGURES=$(abspath $(BUILD))/bench/figures.tsv \
	  bash "$$b" || failed="$$failed $$b"; done; \
	bash tests/bench/table.sh $(BUILD)/bench/figures.tsv; \
	if [ -n "$$failed" ]; then echo "bench failed:$$failed"; exit 1; fi

# The unit and the installed config, with this install's paths put in.
# The config is examples/fundwatch.yaml with the state in /var/lib/fundwatch,
# the policies and the token file in SYSCONFDIR/fundwatch (dist/config.sed).
SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
            -e 's|@DOCDIR@|$(DOCDIR)|g'
$(BUILD)/dist/fundwatch.service: dist/fundwatch.service.in FORCE
	@mkdir -p $(@D)
	@$(SUBST) $< >$@.tmp && { cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@; }
$(BUILD)/dist/fundwatch.yaml: examples/fundwatch.yaml dist/config.sed FORCE
	@mkdir -p $(@D)
	@sed -f dist/config.sed $< | $(SUBST) >$@.tmp
	@test "$$(grep -c '^[a-z_]*: /' $@.tmp)" = 6 || \
	  { echo "dist/config.sed no longer matches examples/fundwatch.yaml"; exit 1; }
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

# Man pages from their scdoc sources in docs/man/.
MAN = $(BUILD)/man/fundwatch.1 $(BUILD)/man/fundwatch.yaml.5
man: $(MAN)
$(BUILD)/man/%: docs/man/%.scd
	@$(MAKE) --no-print-directory deps EXTRA_DEB=scdoc
	@mkdir -p $(@D)
	$(Q)scdoc <$< >$@

# Installs what the Debian package holds (debian/rules calls this). Files
# under SYSCONFDIR an operator may have edited are kept when they exist.
ETC = $(DESTDIR)$(SYSCONFDIR)/fundwatch
install: $(BIN) $(MO) $(MAN) $(BUILD)/dist/fundwatch.service $(BUILD)/dist/fundwatch.yaml
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(COMPDIR) \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DOCDIR) $(ETC)
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/fundwatch
	@for l in $(LINGUAS); do \
	  install -d $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES; \
	  install -m 644 $(BUILD)/locale/$$l/LC_MESSAGES/fundwatch.mo \
	    $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES/fundwatch.mo; done
	install -m 644 $(BUILD)/dist/fundwatch.service $(DESTDIR)$(UNITDIR)/fundwatch.service
	install -m 644 dist/fundwatch.bash-completion $(DESTDIR)$(COMPDIR)/fundwatch
	install -m 644 $(BUILD)/man/fundwatch.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(BUILD)/man/fundwatch.yaml.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	install -d $(DESTDIR)$(DOCDIR)/examples/feeds
	install -m 644 examples/feeds/* $(DESTDIR)$(DOCDIR)/examples/feeds/
	@for f in fundwatch.yaml columns.yaml; do \
	  if [ -e $(ETC)/$$f ]; then echo "kept $(ETC)/$$f (exists)"; \
	  else src=examples/$$f; [ $$f = fundwatch.yaml ] && src=$(BUILD)/dist/$$f; \
	    echo "install -m 644 $$src $(ETC)/$$f"; install -m 644 $$src $(ETC)/$$f; fi; done
	@lr=$(DESTDIR)$(SYSCONFDIR)/logrotate.d/fundwatch; if [ -e $$lr ]; then \
	  echo "kept $$lr (exists)"; else echo "install debian/fundwatch.logrotate $$lr"; \
	  install -D -m 644 debian/fundwatch.logrotate $$lr; fi
	@if [ -e $(ETC)/policies ]; then \
	  echo "kept $(ETC)/policies (exists; the shipped ones are in policies/)"; \
	else echo "install policies/ $(ETC)/policies"; \
	  find policies -type f | while read -r f; do \
	    install -D -m 644 "$$f" "$(ETC)/$$f" || exit 1; done; fi

# The Debian package, built from a copy of the working tree (its files in
# git, committed or not) so that the build's clean step leaves this tree
# alone: build/deb/fundwatch_VERSION_ARCH.deb, then lintian on it.
DEB_DIR = build/deb
DEB_TOOLS = dpkg-dev debhelper lintian scdoc
deb:
	@for p in $(DEB_PKGS); do grep -q "^ *$$p,$$" debian/control || { \
	  echo "debian/control: Build-Depends lacks $$p (the Makefile's DEB_PKGS)"; exit 1; }; done
	@$(MAKE) --no-print-directory deps EXTRA_DEB="$(DEB_TOOLS) $(DEB_PKGS)"
	@rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src/fundwatch
	@git ls-files -z -co --exclude-standard | \
	  tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C $(DEB_DIR)/src/fundwatch
	cd $(DEB_DIR)/src/fundwatch && FW_GIT_HASH='$(FW_GIT_HASH)' \
	  dpkg-buildpackage -us -uc -b
	@cp $(DEB_DIR)/src/*.deb $(DEB_DIR)/src/*.changes $(DEB_DIR)/src/*.buildinfo $(DEB_DIR)/
	lintian --fail-on error,warning $(DEB_DIR)/*.changes
	@ls -1 $(DEB_DIR)/*.deb

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)
