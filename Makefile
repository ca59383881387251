# snitch: per-executable network monitor. `make help` lists the targets.

VERSION := 0.1.0

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/snitch
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
DESTDIR ?=

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
LLVM_STRIP ?= llvm-strip
BATS ?= bats

O := build
BIN := bin

# Quiet by default; V=1 shows every command.
ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS ?= -O2 -g
WARNINGS := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral \
	-Wmissing-prototypes -Wstrict-prototypes -Wvla
# snitch's default --stop-timeout-s; the unit gives it 10 s more.
STOP_TIMEOUT_S := 30
DEFINES := -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DSNITCH_VERSION='"$(VERSION)"' \
	-DSNITCH_STOP_TIMEOUT_S=$(STOP_TIMEOUT_S)
# TOOL_CFLAGS: set per tool below (pkg-config's flags of the libraries it uses)
ALL_CFLAGS = -std=gnu11 $(WARNINGS) $(DEFINES) -Ilib -I$(O) -I. $(TOOL_CFLAGS) -MMD -MP $(CFLAGS)
LDFLAGS ?=

# Library flags come from pkg-config, asked once and only when a recipe
# needs them, so that `make deps` and `make help` work before the
# libraries are installed. $(call pkg,--cflags|--libs,PACKAGE...)
PKG_CONFIG ?= pkg-config
pkg = $(if $(strip $(2)),$(call pkg_once,$(1),$(strip $(2))))
pkg_once = $(if $(filter undefined,$(origin pkg$(1)$(subst $(space),+,$(2)))),$(eval \
	pkg$(1)$(subst $(space),+,$(2)) := $$(call pkg_ask,$(1),$(2))))$(pkg$(1)$(subst $(space),+,$(2)))
pkg_ask = $(call pkg_check,$(shell $(PKG_CONFIG) $(1) $(2) 2>/dev/null; echo " pkg-config-status=$$?"),$(2))
pkg_check = $(if $(filter pkg-config-status=0,$(1)),$(filter-out pkg-config-status=%,$(1)),$(error \
	pkg-config cannot find $(2): run 'sudo make deps'))
space := $(subst ,, )

# A sanitizer build (ASan + UBSan) of the archives and the unit tests.
# At -O1 GCC's truncation analysis flags bounded messages (snprintf into
# a fixed buffer, cut on purpose) that it does not at -O2, where the
# warning stays an error.
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all -Wno-format-truncation

# lib/: the code two or more tools share, one archive.
LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o)
LIB := $(O)/libsnitch.a
SAN_LIB_OBJS := $(LIB_SRCS:%.c=$(O)/san/%.o)
SAN_LIB := $(O)/san/libsnitch.a
# make test SANITIZE=1 (or make bats SANITIZE=1): the tools themselves
# built so, into $(SAN_BIN), and the bats suites run against them; any
# sanitizer report fails the run (scripts/test.sh).
SAN_BIN := $(O)/san/bin

# query/: the query core (query/query.h), one archive, for the tools that
# read the log (QUERY_USERS) and their tests.
QUERY_SRCS := $(wildcard query/*.c)
QUERY_LIB := $(O)/libsnitchquery.a
SAN_QUERY_LIB := $(O)/san/libsnitchquery.a
QUERY_USERS := snitch-query snitch-web snitch-tui
$(O)/query/%.o $(O)/san/query/%.o $(O)/san/tests/unit/query/%.o: TOOL_CFLAGS = $(call pkg,--cflags,sqlite3) -Iquery -Itests/unit

# A tool is a folder cmd/<tool>/ with a main.c; tools not built yet have
# none. Its other files make its archive, $(O)/<tool>.a, which the tool
# and its unit tests link: code with one user lives in its tool's folder.
TOOLS := $(sort $(notdir $(patsubst %/main.c,%,$(wildcard cmd/*/main.c))))
BINS := $(TOOLS:%=$(BIN)/%)
SAN_BINS := $(TOOLS:%=$(SAN_BIN)/%)
ifeq ($(SANITIZE),1)
TEST_BINS := $(SAN_BINS)
TEST_ENV = SNITCH_BIN=$(CURDIR)/$(SAN_BIN) SNITCH_SAN_REPORTS=$(CURDIR)/$(O)/san/reports
else
TEST_BINS := $(BINS)
TEST_ENV =
endif

# The libraries each tool links, by pkg-config name; LDLIBS_<tool> for
# the rest.
PKGS_snitch := libseccomp
PKGS_snitch-hash := libcrypto libseccomp
PKGS_snitch-trace := libbpf libseccomp
PKGS_snitch-resolve := libcares libcrypto libseccomp
PKGS_snitch-store := sqlite3 libcrypto $(PKGS_lib_geoip) libmaxminddb libseccomp
PKGS_snitch-remote := libpq libmariadb libseccomp
PKGS_snitch-notify := libsystemd libseccomp
PKGS_snitch-metrics := libmicrohttpd libseccomp
PKGS_snitch-top := ncursesw libmaxminddb
PKGS_snitch-vt := libcurl libcrypto libseccomp
PKGS_snitch-query := sqlite3
PKGS_snitch-web := libmicrohttpd sqlite3 libseccomp
PKGS_snitch-tui := ncursesw sqlite3 libmaxminddb
# the live tab reads the feed through snitch top's model (cmd/snitch-top/model.c)
LDLIBS_snitch-tui = $(O)/snitch-top.a $(LIB)
LDLIBS_snitch-hash := -lpthread
LDLIBS_snitch-store := -lpthread
LDLIBS_snitch-remote := -lpthread
LDLIBS_snitch-metrics := -lpthread
LDLIBS_snitch-vt := -lpthread

# lib/ files that call a library, and that library: a tool whose code
# calls them names it in its PKGS_<tool> (the archive brings in only the
# objects a tool refers to); lib's unit test of that file, test_<file>,
# links it too, and the fuzz targets that compile all of lib/ leave it out.
PKGS_lib_geoip := libmaxminddb
PKGS_test_geoip := $(PKGS_lib_geoip)
LIB_PKG_SRCS := lib/geoip.c lib/privs.c
# lib/privs.c (each stage's user, capabilities and seccomp filter)
PKGS_lib_privs := libseccomp
$(O)/lib/privs.o $(O)/san/lib/privs.o: TOOL_CFLAGS = $(call pkg,--cflags,$(PKGS_lib_privs))
$(O)/lib/geoip.o $(O)/san/lib/geoip.o: TOOL_CFLAGS = $(call pkg,--cflags,$(PKGS_lib_geoip))

# Unit tests: tests/unit/test_*.c test lib/ and link its archive;
# tests/unit/<tool>/test_*.c test a tool's code and link its archive too.
UNIT_SRCS := $(wildcard tests/unit/test_*.c tests/unit/*/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/san/unit/%)
TEST_HELPER_SRCS := $(wildcard tests/bin/*.c)
TEST_HELPERS := $(TEST_HELPER_SRCS:tests/bin/%.c=$(O)/tests/%) $(O)/tests/dnsq-static

# --- BPF: %.bpf.c -> %.bpf.o -> %.skel.h, against this kernel's BTF -----
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(BPF_SRCS:bpf/%.bpf.c=$(O)/bpf/%.bpf.o)
SKELS := $(BPF_SRCS:bpf/%.bpf.c=$(O)/bpf/%.skel.h)
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
BPF_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' \
	-e 's/ppc64le/powerpc/' -e 's/riscv64/riscv/' -e 's/s390x/s390/')

.PHONY: all test unit bats fuzz deps run install uninstall clean help bench image screenshots
.DELETE_ON_ERROR:
.SUFFIXES:
.SECONDARY:

all: $(BINS)

help:
	@echo 'make            build every tool into $(BIN)/'
	@echo 'make deps       install every Debian package the project needs (make test'"'"'s)'
	@echo '                and the country database (scripts/geoip.sh)'
	@echo 'make test       install what is missing, build, run every test'
	@echo '                (SANITIZE=1: the tools built with ASan and UBSan, in $(SAN_BIN)/)'
	@echo 'make fuzz       run each libFuzzer target FUZZ_S seconds (now $(FUZZ_SECONDS))'
	@echo 'make run        install what building and running need, build, run the monitor'
	@echo '                (no database server, X server or test tool)'
	@echo 'make install    install under $$(DESTDIR)$$(PREFIX) (now $(DESTDIR)$(PREFIX))'
	@echo 'make uninstall  remove what make install put there'
	@echo 'make image      an OCI image from Debian packages (mmdebstrap, podman; root)'
	@echo 'make screenshots  docs/screenshots/*.png of the web UI, snitch top and tui, from a fixture'
	@echo 'make clean      remove $(O)/ and $(BIN)/'
	@echo 'V=1             show the full commands'

$(BIN) $(O):
	$(Q)mkdir -p $@

$(O)/%.o: %.c
	$(call msg,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# Per tool: its objects, its archive (also built with the sanitizers,
# for its unit tests), its link.
define tool_rule
$(1)_SRCS := $$(filter-out cmd/$(1)/main.c,$$(wildcard cmd/$(1)/*.c))
$(1)_OBJS := $$($(1)_SRCS:%.c=$(O)/%.o)
$(O)/cmd/$(1)/%.o $(O)/san/cmd/$(1)/%.o: TOOL_CFLAGS = $$(call pkg,--cflags,$$(PKGS_$(1)))
$(O)/san/tests/unit/$(1)/%.o: TOOL_CFLAGS = $$(call pkg,--cflags,$$(PKGS_$(1))) -Icmd/$(1) -Itests/unit
$(O)/$(1).a: $$($(1)_OBJS)
	$$(call msg,AR,$$@)
	$(Q)rm -f $$@ && $$(AR) rcs $$@ $$^
$(O)/san/$(1).a: $$($(1)_SRCS:%.c=$(O)/san/%.o)
	$$(call msg,AR,$$@)
	$(Q)rm -f $$@ && $$(AR) rcs $$@ $$^
$(BIN)/$(1): $(O)/cmd/$(1)/main.o $(O)/$(1).a $(if $(filter $(1),$(QUERY_USERS)),$(QUERY_LIB)) $(LIB) | $(BIN)
	$$(call msg,LINK,$$@)
	$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(call pkg,--libs,$$(PKGS_$(1))) $$(LDLIBS_$(1))
$(SAN_BIN)/$(1): $(O)/san/cmd/$(1)/main.o $(O)/san/$(1).a $(if $(filter $(1),$(QUERY_USERS)),$(SAN_QUERY_LIB)) $(SAN_LIB)
	$$(call msg,LINK-SAN,$$@)
	$(Q)mkdir -p $$(@D)
	$(Q)$$(CC) $$(SAN_FLAGS) $$(LDFLAGS) -o $$@ $$^ $$(call pkg,--libs,$$(PKGS_$(1))) $$(LDLIBS_$(1))
$(O)/san/unit/$(1)/test_%: $(O)/san/tests/unit/$(1)/test_%.o $(O)/san/$(1).a $(SAN_LIB)
	$$(call msg,LINK,$$@)
	$(Q)mkdir -p $$(@D)
	$(Q)$$(CC) $$(SAN_FLAGS) -o $$@ $$^ $$(call pkg,--libs,$$(PKGS_$(1))) $$(LDLIBS_$(1))
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rule,$(t))))
$(BIN)/snitch-tui: $(O)/snitch-top.a
# built with the sanitizers, the same with the sanitizers' archives
$(SAN_BIN)/snitch-tui: $(O)/san/snitch-top.a
$(SAN_BIN)/snitch-tui: LDLIBS_snitch-tui = $(O)/san/snitch-top.a $(SAN_LIB)

# The tracer's objects include the skeletons, which must exist first.
$(O)/cmd/snitch-trace/main.o $(snitch-trace_OBJS) $(O)/san/cmd/snitch-trace/main.o \
	$(snitch-trace_SRCS:%.c=$(O)/san/%.o): $(SKELS) $(O)/syscall_names.h

# The names and numbers of this architecture's system calls, from the
# kernel headers (linux-libc-dev): { "connect", 42 }, ...
$(O)/syscall_names.h: Makefile
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -dM -E -include asm/unistd.h - < /dev/null | \
		sed -n 's/^#define __NR_\([a-z0-9_]*\) \([0-9][0-9]*\)$$/{ "\1", \2 },/p' | sort > $@.tmp
	$(Q)test -s $@.tmp || { echo "make: no system call numbers in <asm/unistd.h>: run 'sudo make deps' (linux-libc-dev)" >&2; rm -f $@.tmp; exit 1; }
	$(Q)mv $@.tmp $@

# The systemd unit's one template, as a C string for snitch systemd.
$(O)/snitch.service.h: systemd/snitch.service.in Makefile
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)sed -e 's/[\\"]/\\&/g' -e 's/^/"/' -e 's/$$/\\n"/' $< > $@

$(O)/cmd/snitch/main.o $(O)/san/cmd/snitch/main.o: $(O)/snitch.service.h

# snitch-web's files, compiled into it (scripts/web-assets.sh): the pages
# from web/, Chart.js from Debian's libjs-chart.js. URL=FILE pairs.
CHARTJS ?= /usr/share/javascript/chart.js/chart.min.js
WEB_FILES := web/index.html web/app.js web/style.css web/icon.svg
WEB_ASSETS := /=web/index.html /explore=web/index.html /executables=web/index.html \
	/static/app.js=web/app.js /static/style.css=web/style.css \
	/static/icon.svg=web/icon.svg /static/chart.min.js=$(CHARTJS)
$(O)/web/assets.c: scripts/web-assets.sh $(WEB_FILES) Makefile
	@test -r $(CHARTJS) || { echo "make: $(CHARTJS) is missing: run 'sudo make deps' (Debian package libjs-chart.js)" >&2; exit 1; }
	$(call msg,GEN,$@)
	$(Q)scripts/web-assets.sh $@ $(WEB_ASSETS)
$(O)/web/assets.o: $(O)/web/assets.c
	$(call msg,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -Icmd/snitch-web -c $< -o $@
$(BIN)/snitch-web $(SAN_BIN)/snitch-web: $(O)/web/assets.o

$(O)/vmlinux.h:
	@test -r $(VMLINUX_BTF) || { echo "make: $(VMLINUX_BTF) is missing: the kernel needs CONFIG_DEBUG_INFO_BTF=y to build the BPF programs" >&2; exit 1; }
	@command -v $(BPFTOOL) >/dev/null || { echo "make: bpftool is missing: run 'sudo make deps' (Debian package bpftool)" >&2; exit 1; }
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(O)/bpf/%.bpf.o: bpf/%.bpf.c $(O)/vmlinux.h Makefile
	@test -n "$(BPF_ARCH)" && test "$(BPF_ARCH)" != "$(shell uname -m)" || { echo "make: unknown architecture '$(shell uname -m)' for BPF (known: x86_64, aarch64, ppc64le, riscv64, s390x)" >&2; exit 1; }
	@command -v $(CLANG) >/dev/null || { echo "make: clang is missing: run 'sudo make deps' (Debian package clang)" >&2; exit 1; }
	$(call msg,BPF,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(BPF_ARCH) -I$(O) -Ibpf \
		-Wall -Werror -MMD -MP -MF $@.d -MT $@ -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(O)/bpf/%.skel.h: $(O)/bpf/%.bpf.o Makefile
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# --- tests ---------------------------------------------------------------
$(O)/san/%.o: %.c
	$(call msg,CC-SAN,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(QUERY_LIB): $(QUERY_SRCS:%.c=$(O)/%.o)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(SAN_QUERY_LIB): $(QUERY_SRCS:%.c=$(O)/san/%.o)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# the query core's unit tests: a fixture database made by each test
$(O)/san/unit/query/test_%: $(O)/san/tests/unit/query/test_%.o $(SAN_QUERY_LIB) $(SAN_LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(call pkg,--libs,sqlite3) -lpthread

$(SAN_LIB): $(SAN_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(O)/san/unit/test_%: $(O)/san/tests/unit/test_%.o $(SAN_LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(call pkg,--libs,$(PKGS_test_$*)) -lpthread

PKGS_trafficgen := liburing
PKGS_geoipq := $(PKGS_lib_geoip)
LDLIBS_connburst := -lpthread
PKGS_privs-probe := libseccomp
LDLIBS_querygen := -lm

# The same DNS client, static against musl: a resolver that is not glibc's.
$(O)/tests/dnsq-static: tests/bin/dnsq.c
	$(call msg,MUSL,$@)
	$(Q)mkdir -p $(@D)
	$(Q)musl-gcc -static -O2 -Wall -o $@ $<

# A QUIC client's first Initial packet: sealed with snitch-resolve's key derivation.
$(O)/tests/quicinit: tests/bin/quicinit.c tests/bin/quicseal.h cmd/snitch-resolve/quic.c $(LIB)
	$(call msg,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -Icmd/snitch-resolve -o $@ tests/bin/quicinit.c cmd/snitch-resolve/quic.c \
		$(LIB) $(call pkg,--libs,libcrypto)

$(O)/tests/%: tests/bin/%.c $(LIB)
	$(call msg,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(call pkg,--cflags,$(PKGS_$*)) -o $@ $< $(LIB) \
		$(call pkg,--libs,$(PKGS_$*)) -lpthread $(LDLIBS_$*)

# Coverage-guided fuzzing (clang's libFuzzer): make fuzz runs each target
# FUZZ_SECONDS (or FUZZ_S) seconds; make test, FUZZ_TEST_SECONDS each.
FUZZ_S ?= 20
FUZZ_SECONDS ?= $(FUZZ_S)
FUZZ_TEST_SECONDS ?= 5
FUZZ_LIB_SRCS := $(filter-out $(LIB_PKG_SRCS),$(LIB_SRCS))
$(O)/fuzz/fuzz_record: tests/fuzz/fuzz_record.c $(LIB_SRCS) $(wildcard lib/*.h)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -std=gnu11 $(DEFINES) -Ilib -g -O1 \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ tests/fuzz/fuzz_record.c $(FUZZ_LIB_SRCS) -lpthread

# The DNS decoder of snitch-resolve, alone, with the c-ares it calls.
$(O)/fuzz/fuzz_dns: tests/fuzz/fuzz_dns.c cmd/snitch-resolve/dnsmsg.c cmd/snitch-resolve/dnsmsg.h $(LIB_SRCS) $(wildcard lib/*.h)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -std=gnu11 $(DEFINES) -Ilib -Icmd/snitch-resolve -g -O1 \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ tests/fuzz/fuzz_dns.c cmd/snitch-resolve/dnsmsg.c $(FUZZ_LIB_SRCS) $(call pkg,--libs,libcares) -lpthread

# snitch-resolve's readers of the container runtimes' and kubelet's files.
$(O)/fuzz/fuzz_names: tests/fuzz/fuzz_names.c cmd/snitch-resolve/names_parse.c cmd/snitch-resolve/names.h $(LIB_SRCS) $(wildcard lib/*.h)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -std=gnu11 $(DEFINES) -Ilib -Icmd/snitch-resolve -g -O1 \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ tests/fuzz/fuzz_names.c cmd/snitch-resolve/names_parse.c $(FUZZ_LIB_SRCS) -lpthread

# snitch-metrics' records into counters, and its label escaping.
METRICS_FUZZ_SRCS := cmd/snitch-metrics/exporter.c cmd/snitch-metrics/registry.c
$(O)/fuzz/fuzz_metrics: tests/fuzz/fuzz_metrics.c $(METRICS_FUZZ_SRCS) cmd/snitch-metrics/metrics.h $(LIB_SRCS) $(wildcard lib/*.h)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -std=gnu11 $(DEFINES) -Ilib -Icmd/snitch-metrics -g -O1 \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ tests/fuzz/fuzz_metrics.c $(METRICS_FUZZ_SRCS) $(FUZZ_LIB_SRCS) -lpthread

# What snitch top and tail show of names, command lines and domains.
$(O)/fuzz/fuzz_termsafe: tests/fuzz/fuzz_termsafe.c tests/fuzz/inert.h $(LIB_SRCS) $(wildcard lib/*.h)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -std=gnu11 $(DEFINES) -Ilib -g -O1 \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ tests/fuzz/fuzz_termsafe.c $(FUZZ_LIB_SRCS) -lpthread

# snitch top's model, fed any lines as the live feed.
$(O)/fuzz/fuzz_top_model: tests/fuzz/fuzz_top_model.c tests/fuzz/inert.h cmd/snitch-top/model.c cmd/snitch-top/model.h $(LIB_SRCS) $(wildcard lib/*.h)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -std=gnu11 $(DEFINES) -Ilib -Icmd/snitch-top -g -O1 \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ tests/fuzz/fuzz_top_model.c cmd/snitch-top/model.c $(FUZZ_LIB_SRCS) -lpthread
# The reading of VirusTotal's answers by snitch-vt, alone.
$(O)/fuzz/fuzz_vt: tests/fuzz/fuzz_vt.c cmd/snitch-vt/vtjson.c cmd/snitch-vt/vt.h $(FUZZ_LIB_SRCS) $(wildcard lib/*.h)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -std=gnu11 $(DEFINES) -Ilib -Icmd/snitch-vt -g -O1 \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ tests/fuzz/fuzz_vt.c cmd/snitch-vt/vtjson.c $(FUZZ_LIB_SRCS) -lpthread

# snitch-web's query-string parser: what anyone reaching its socket sends.
$(O)/fuzz/fuzz_webparams: tests/fuzz/fuzz_webparams.c cmd/snitch-web/params.c cmd/snitch-web/params.h lib/hex.h
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -std=gnu11 $(DEFINES) -Ilib -Icmd/snitch-web -g -O1 \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ tests/fuzz/fuzz_webparams.c cmd/snitch-web/params.c

# The address parser and range labels of lib/geoip.c, with the country
# database that make deps installs when it is there.
$(O)/fuzz/fuzz_geoip: tests/fuzz/fuzz_geoip.c lib/geoip.c lib/geoip.h
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -std=gnu11 $(DEFINES) -Ilib -g -O1 $(call pkg,--cflags,$(PKGS_lib_geoip)) \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ tests/fuzz/fuzz_geoip.c lib/geoip.c $(call pkg,--libs,$(PKGS_lib_geoip))

# What snitch tui shows of the log's keys (command lines, names, paths).
$(O)/fuzz/fuzz_tui_show: tests/fuzz/fuzz_tui_show.c tests/fuzz/inert.h cmd/snitch-tui/show.c cmd/snitch-tui/tui.h $(LIB_SRCS) $(wildcard lib/*.h)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -std=gnu11 $(DEFINES) -Ilib -I. -Icmd/snitch-tui -g -O1 \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ tests/fuzz/fuzz_tui_show.c cmd/snitch-tui/show.c $(FUZZ_LIB_SRCS) -lpthread

# The query core's parsers of times, durations and filters (URL parameters
# of snitch-web), without the database.
$(O)/fuzz/fuzz_query: tests/fuzz/fuzz_query.c $(QUERY_SRCS) query/query.h $(FUZZ_LIB_SRCS) $(wildcard lib/*.h)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -std=gnu11 $(DEFINES) -Ilib -Iquery -I. -g -O1 $(call pkg,--cflags,sqlite3) \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ tests/fuzz/fuzz_query.c $(QUERY_SRCS) $(FUZZ_LIB_SRCS) $(call pkg,--libs,sqlite3) -lpthread

# A tool's parsers, alone: fuzz_<name> compiles tests/fuzz/fuzz_<name>.c
# with the tool files FUZZ_SRCS_<name> names, lib/, and FUZZ_LIBS_<name>.
# snitch run's configuration reader.
FUZZ_SRCS_config := cmd/snitch/config.c
# snitch-store's rows and CSV log.
FUZZ_SRCS_csv := cmd/snitch-store/rows.c
FUZZ_LIBS_csv = $(call pkg,--libs,libcrypto)
# snitch-remote's spool lines, made into statements without a server.
FUZZ_SRCS_spool := cmd/snitch-remote/spool.c
# The command line and cgroup path snitch-resolve reads from /proc.
FUZZ_SRCS_proc := cmd/snitch-resolve/cmdline.c cmd/snitch-resolve/container_parse.c
FUZZ_TOOL_TARGETS := config csv spool proc

define fuzz_tool_rule
$(O)/fuzz/fuzz_$(1): tests/fuzz/fuzz_$(1).c $$(FUZZ_SRCS_$(1)) $$(wildcard $$(sort $$(dir $$(FUZZ_SRCS_$(1))))*.h) $(LIB_SRCS) $(wildcard lib/*.h)
	$$(call msg,FUZZ,$$@)
	$(Q)mkdir -p $$(@D)
	$(Q)$$(CLANG) -std=gnu11 $$(DEFINES) -Ilib $$(addprefix -I,$$(sort $$(dir $$(FUZZ_SRCS_$(1))))) -g -O1 \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $$@ tests/fuzz/fuzz_$(1).c $$(FUZZ_SRCS_$(1)) $$(FUZZ_LIB_SRCS) $$(FUZZ_LIBS_$(1)) -lpthread
endef
$(foreach f,$(FUZZ_TOOL_TARGETS),$(eval $(call fuzz_tool_rule,$(f))))

# The SNI and HTTP Host parser of snitch-resolve, alone; and its QUIC
# Initial reader, with the sealing of tests/bin/quicseal.h.
HELLO_FUZZ_SRCS := cmd/snitch-resolve/hello.c cmd/snitch-resolve/quic.c
$(O)/fuzz/fuzz_hello $(O)/fuzz/fuzz_quic: $(O)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(HELLO_FUZZ_SRCS) \
		cmd/snitch-resolve/hello.h cmd/snitch-resolve/quic.h tests/bin/quicseal.h
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -std=gnu11 $(DEFINES) -Icmd/snitch-resolve -g -O1 \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ $< $(HELLO_FUZZ_SRCS) $(call pkg,--libs,libcrypto)

FUZZ_TARGETS := $(O)/fuzz/fuzz_record $(O)/fuzz/fuzz_dns $(O)/fuzz/fuzz_geoip \
	$(O)/fuzz/fuzz_termsafe $(O)/fuzz/fuzz_top_model $(O)/fuzz/fuzz_metrics \
	$(O)/fuzz/fuzz_names $(O)/fuzz/fuzz_vt $(O)/fuzz/fuzz_query $(O)/fuzz/fuzz_webparams \
	$(O)/fuzz/fuzz_tui_show $(O)/fuzz/fuzz_hello $(O)/fuzz/fuzz_quic \
	$(FUZZ_TOOL_TARGETS:%=$(O)/fuzz/fuzz_%)

fuzz: $(FUZZ_TARGETS)
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/test.sh fuzz

# An OCI image of snitch from Debian's packages, no registry (slow:
# not part of make test). IMAGE=name:tag to name it.
image: all
	$(Q)scripts/image.sh $(IMAGE)

# Two sets (scripts/deps.sh --list run|test): make run installs only what
# building and running need; make test and make deps add the tests'.
# The country database (scripts/geoip.sh) is a run dependency: make deps
# fails without it; make run says so and goes on, as snitch does (it
# records no countries then).
deps:
	$(Q)scripts/deps.sh test
	$(Q)scripts/geoip.sh

unit: $(UNIT_BINS)
	$(Q)for t in $(UNIT_BINS); do $$t || exit 1; done

bats: all $(TEST_BINS) $(TEST_HELPERS)
	$(Q)$(TEST_ENV) scripts/test.sh bats

test: deps
	$(Q)$(MAKE) --no-print-directory all $(TEST_BINS) $(UNIT_BINS) $(TEST_HELPERS) $(FUZZ_TARGETS)
	$(Q)$(TEST_ENV) FUZZ_SECONDS=$(FUZZ_TEST_SECONDS) scripts/test.sh all

run:
	$(Q)scripts/deps.sh run
	$(Q)scripts/geoip.sh || echo "run: no country database: snitch runs without countries" >&2
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/run.sh

# docs/screenshots/*.png (the README's) of snitch-web over a fixture database
screenshots: $(BIN)/snitch-web $(BIN)/snitch-store $(BIN)/snitch-top $(BIN)/snitch-tui
	$(Q)scripts/screenshots.sh

# bench/soak.sh (30 minutes) is run on its own: sudo bench/soak.sh
bench: all $(TEST_HELPERS)
	$(Q)for b in $(filter-out bench/soak.sh,$(wildcard bench/*.sh)); do $$b || exit 1; done

# Manual pages, made from each tool's --help by help2man.
MAN_DESC_snitch := run and supervise the snitch network monitor
MAN_DESC_snitch-trace := trace the network traffic of every process with BPF
MAN_DESC_snitch-resolve := name the executable, ancestry, user, container and domain of snitch records
MAN_DESC_snitch-hash := sha256 of executables, cached, watched for changes
MAN_DESC_snitch-store := log snitch records in SQLite and CSV
MAN_DESC_snitch-remote := copy the rows snitch-store logged to PostgreSQL or MariaDB
MAN_DESC_snitch-metrics := serve Prometheus metrics of the records that flow through it
MAN_DESC_snitch-notify := notify the desktop of new and changed executables, and log them
MAN_DESC_snitch-top := show what a running snitch sees, live, per executable and per connection
MAN_DESC_snitch-vt := ask VirusTotal about every executable in snitch records
MAN_DESC_snitch-query := sums of the connection log by time, executable, domain, address, port...
MAN_DESC_snitch-web := serve the connection log to a browser: charts, grouping, drill-down
MAN_DESC_snitch-tui := browse the connection log in the terminal, grouped, filtered, by time range
MANS := $(TOOLS:%=$(O)/man/%.1)

$(O)/man/%.1: $(BIN)/%
	$(call msg,MAN,$@)
	$(Q)mkdir -p $(@D)
	@command -v help2man >/dev/null || { echo "make: help2man is missing: run 'sudo make deps'" >&2; exit 1; }
	$(Q)help2man --no-info --no-discard-stderr -N -n "$(MAN_DESC_$*)" \
		--version-string=$(VERSION) $(BIN)/$* > $@

INSTALLED = $(TOOLS:%=$(BINDIR)/%) $(TOOLS:%=$(MANDIR)/man1/%.1) $(UNITDIR)/snitch.service \
	$(DOCDIR)/README.md $(patsubst %,$(DOCDIR)/%,$(wildcard docs/*.md))

# The unit (systemd/snitch.service.in, filled in here as snitch systemd
# does) runs the installed snitch; the configuration is written only when
# there is none, so that an upgrade keeps the administrator's.
install: all $(MANS)
	$(Q)install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(DOCDIR)/docs $(DESTDIR)$(SYSCONFDIR)/snitch
	$(Q)for t in $(TOOLS); do \
		echo "  INSTALL  $(DESTDIR)$(BINDIR)/$$t"; \
		install -m 0755 $(BIN)/$$t $(DESTDIR)$(BINDIR)/$$t || exit 1; \
		install -m 0644 $(O)/man/$$t.1 $(DESTDIR)$(MANDIR)/man1/$$t.1 || exit 1; \
	done
	$(Q)install -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	$(Q)install -m 0644 docs/*.md $(DESTDIR)$(DOCDIR)/docs/
	@echo "  INSTALL  $(DESTDIR)$(UNITDIR)/snitch.service"
	$(Q)sed -e 's|@WRITER@|make install|' -e 's|@DOCUMENTATION@|man:snitch(1) file://$(DOCDIR)/README.md|' \
		-e 's|@CONFIG@|$(SYSCONFDIR)/snitch/snitch.conf|' -e 's|@BINDIR@|$(BINDIR)|' \
		-e 's|@CONFIG_OPTION@|$(if $(filter /etc,$(SYSCONFDIR)),, --config $(SYSCONFDIR)/snitch/snitch.conf)|' \
		-e "s|@TIMEOUT_STOP_SEC@|$$(($(STOP_TIMEOUT_S) + 10))|" \
		-e '/@READ_WRITE_PATHS@/d' systemd/snitch.service.in > $(DESTDIR)$(UNITDIR)/snitch.service
	$(Q)! grep -n '@[A-Z_][A-Z_]*@' $(DESTDIR)$(UNITDIR)/snitch.service || \
		{ echo "make: a placeholder of systemd/snitch.service.in is not filled in" >&2; exit 1; }
	$(Q)scripts/group.sh $(if $(DESTDIR),--skip,)
	$(Q)if [ -e $(DESTDIR)$(SYSCONFDIR)/snitch/snitch.conf ]; then \
		echo "  KEEP     $(DESTDIR)$(SYSCONFDIR)/snitch/snitch.conf"; \
	else \
		echo "  INSTALL  $(DESTDIR)$(SYSCONFDIR)/snitch/snitch.conf"; \
		$(BIN)/snitch config > $(DESTDIR)$(SYSCONFDIR)/snitch/snitch.conf || exit 1; \
	fi

# The configuration stays: it may hold the administrator's settings.
uninstall:
	$(Q)for f in $(INSTALLED); do \
		echo "  RM       $(DESTDIR)$$f"; \
		rm -f $(DESTDIR)$$f; \
	done
	$(Q)rm -f $(DESTDIR)$(DOCDIR)/docs/*.md
	$(Q)rmdir $(DESTDIR)$(DOCDIR)/docs $(DESTDIR)$(DOCDIR) 2>/dev/null || true

clean:
	$(call msg,CLEAN,$(O) $(BIN))
	$(Q)rm -rf $(O) $(BIN)

-include $(shell find $(O) -name '*.d' 2>/dev/null)
