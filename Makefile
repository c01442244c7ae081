# rpxy in C - build, test and run.
#
#   make              release build: build/rpxy (+ test tools)
#   make FLAVOR=debug debug build in build/debug/
#   make FLAVOR=asan  AddressSanitizer + UBSan build in build/asan/
#   make test         install missing packages, build, run the whole suite
#                     (release, then again under ASan/UBSan, then the fuzzers briefly)
#   make run          build and start the proxy on examples/quickstart.toml
#   make fuzz         run every fuzz target for FUZZ_SECONDS (default 300) each
#   make docs         regenerate docs/config.md and the man pages from the config key table
#   make install      install the binary, man pages, systemd unit, logrotate snippet and
#                     example configs (PREFIX=/usr/local, DESTDIR for staging);
#                     make uninstall removes exactly those files
#   make deb          build/rpxy_<version>_<arch>.deb (dpkg-deb), checked with lintian

FLAVOR ?= release
PKGS   := openssl libnghttp2 libngtcp2 libnghttp3 libcurl jansson

ifeq ($(FLAVOR),release)
  B       := build
  OPT     := -O2 -g
else ifeq ($(FLAVOR),debug)
  B       := build/debug
  OPT     := -O0 -g3
else ifeq ($(FLAVOR),asan)
  B       := build/asan
  CC      := clang
  OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
else ifeq ($(FLAVOR),fuzz)
  B       := build/fuzz
  CC      := clang
  OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
             -fno-sanitize-recover=all
else
  $(error FLAVOR must be release, debug, asan or fuzz)
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unused-parameter
CFLAGS  ?=
CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -Isrc $(PKG_CFLAGS) -MMD -MP
LDFLAGS += $(filter -fsanitize=%,$(OPT))
LDLIBS  += $(PKG_LIBS) -lpthread -lm

VERSION := $(shell cat VERSION)
CFLAGS  += -DRPXY_VERSION='"$(VERSION)"'

LIB_SRC  := $(sort $(shell find src -name '*.c' ! -path src/main.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
TOOL_SRC := $(sort $(wildcard tools/*.c))
TOOLS    := $(patsubst tools/%.c,$(B)/%,$(subst _,-,$(TOOL_SRC)))
UNIT_SRC := $(sort $(shell find tests/unit -name 'test_*.c'))
UNITS    := $(UNIT_SRC:%.c=$(B)/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZERS  := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)

.PHONY: all deps test check unit fuzzers fuzz fuzz-smoke run docs docs-check clean format-check \
        install uninstall deb
all: $(B)/rpxy $(TOOLS) $(UNITS)

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/librpxy.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(B)/rpxy: $(B)/obj/src/main.o $(B)/librpxy.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# tools/toml_decode.c -> build/toml-decode
.SECONDEXPANSION:
$(TOOLS): $(B)/%: $(B)/obj/tools/$$(subst -,_,%).o $(B)/librpxy.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/unit/%: $(B)/obj/tests/unit/%.o $(B)/librpxy.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# libFuzzer targets: make FLAVOR=fuzz fuzzers
fuzzers: $(FUZZERS)
$(B)/fuzz/%: $(B)/obj/tests/fuzz/%.o $(B)/librpxy.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

deps:
	@scripts/install-deps.sh

# The whole suite: what CI runs and README promises.
test: deps
	@scripts/run-tests.sh

# One flavour's checks (unit, toml-test corpus, integration), no install step.
check: all
	@scripts/run-checks.sh $(B)

unit: $(UNITS)
	@scripts/run-unit.sh $(B)

fuzz-smoke:
	@scripts/run-fuzz.sh $${FUZZ_SECONDS:-10}

fuzz:
	@scripts/run-fuzz.sh $${FUZZ_SECONDS:-300}

run: deps all
	@scripts/run-quickstart.sh $(B)

# docs/FILE:OPTION - generated from the binary's own tables; `make test` fails when they drift.
GENERATED_DOCS := config.md:--dump-config-reference man/rpxy.8:--dump-man \
                  man/rpxy.toml.5:--dump-config-man

docs: $(B)/rpxy
	@mkdir -p docs/man
	@for d in $(GENERATED_DOCS); do $(B)/rpxy $${d#*:} > docs/$${d%%:*} || exit 1; done

docs-check: $(B)/rpxy
	@for d in $(GENERATED_DOCS); do \
	  $(B)/rpxy $${d#*:} | diff -u docs/$${d%%:*} - \
	    || { echo "docs/$${d%%:*} is stale: run 'make docs'"; exit 1; }; \
	done

# Installation (paths as in the GNU conventions; SYSCONFDIR is /etc, where
# logrotate and the unit look, whatever the prefix).
PREFIX       ?= /usr/local
SBINDIR      ?= $(PREFIX)/sbin
MANDIR       ?= $(PREFIX)/share/man
DOCDIR       ?= $(PREFIX)/share/doc/rpxy
SYSCONFDIR   ?= /etc
UNITDIR      ?= $(PREFIX)/lib/systemd/system
LOGROTATEDIR ?= $(SYSCONFDIR)/logrotate.d
INSTALLED := $(SBINDIR)/rpxy $(MANDIR)/man8/rpxy.8 $(MANDIR)/man5/rpxy.toml.5 \
             $(DOCDIR)/config-example.toml $(DOCDIR)/config.toml $(UNITDIR)/rpxy.service \
             $(LOGROTATEDIR)/rpxy

install: $(B)/rpxy
	install -D -m 0755 $(B)/rpxy $(DESTDIR)$(SBINDIR)/rpxy
	install -D -m 0644 docs/man/rpxy.8 $(DESTDIR)$(MANDIR)/man8/rpxy.8
	install -D -m 0644 docs/man/rpxy.toml.5 $(DESTDIR)$(MANDIR)/man5/rpxy.toml.5
	install -D -m 0644 config-example.toml $(DESTDIR)$(DOCDIR)/config-example.toml
	install -D -m 0644 dist/config.toml $(DESTDIR)$(DOCDIR)/config.toml
	install -d $(DESTDIR)$(UNITDIR)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	  dist/rpxy.service.in > $(DESTDIR)$(UNITDIR)/rpxy.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/rpxy.service
	install -D -m 0644 dist/rpxy.logrotate $(DESTDIR)$(LOGROTATEDIR)/rpxy

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null

deb: $(B)/rpxy
	@rm -rf $(B)/deb-root
	@$(MAKE) -s --no-print-directory install DESTDIR=$(abspath $(B))/deb-root PREFIX=/usr \
	  UNITDIR=/lib/systemd/system >/dev/null
	@scripts/make-deb.sh $(B)/deb-root $(B)

format-check:
	@clang-format --dry-run --Werror $(shell find src tools tests -name '*.[ch]')

clean:
	rm -rf build

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
