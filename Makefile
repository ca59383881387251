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
DEFINES := -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DSNITCH_VERSION='"$(VERSION)"'
ALL_CFLAGS := -std=gnu11 $(WARNINGS) $(DEFINES) -Ilib -I$(O) -I. -I/usr/include/postgresql -I/usr/include/mariadb -MMD -MP $(CFLAGS)
LDFLAGS ?=

# A sanitizer build (ASan + UBSan) of the library and its unit tests.
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all

LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o)
LIB := $(O)/libsnitch.a
SAN_LIB_OBJS := $(LIB_SRCS:%.c=$(O)/san/%.o)
SAN_LIB := $(O)/san/libsnitch.a

# A tool is a folder cmd/<tool>/ with a main.c; tools not built yet have none.
TOOLS := $(sort $(notdir $(patsubst %/main.c,%,$(wildcard cmd/*/main.c))))
BINS := $(TOOLS:%=$(BIN)/%)

LDLIBS_snitch-hash := -lcrypto -lpthread
LDLIBS_snitch-trace := -lbpf -lelf -lz
LDLIBS_snitch-resolve := -lcares
LDLIBS_snitch-store := -lsqlite3 -lcrypto -lpthread
LDLIBS_snitch-remote := -lpq -lmariadb -lpthread
LDLIBS_snitch-notify := -lsystemd

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/san/%)
TEST_HELPER_SRCS := $(wildcard tests/bin/*.c)
TEST_HELPERS := $(TEST_HELPER_SRCS:tests/bin/%.c=$(O)/tests/%) $(O)/tests/dnsq-static

# --- BPF: %.bpf.c -> %.bpf.o -> %.skel.h, against this kernel's BTF -----
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(BPF_SRCS:bpf/%.bpf.c=$(O)/bpf/%.bpf.o)
SKELS := $(BPF_SRCS:bpf/%.bpf.c=$(O)/bpf/%.skel.h)
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
BPF_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' \
	-e 's/ppc64le/powerpc/' -e 's/riscv64/riscv/' -e 's/s390x/s390/')

.PHONY: all test unit bats fuzz deps run install uninstall clean help bench
.DELETE_ON_ERROR:
.SUFFIXES:
.SECONDARY:

all: $(BINS)

help:
	@echo 'make            build every tool into $(BIN)/'
	@echo 'make deps       install the Debian packages the project needs'
	@echo 'make test       install what is missing, build, run every test'
	@echo 'make run        install what is missing, build, run the monitor'
	@echo 'make install    install under $$(DESTDIR)$$(PREFIX) (now $(DESTDIR)$(PREFIX))'
	@echo 'make uninstall  remove what make install put there'
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

define tool_rule
$(1)_OBJS := $$(patsubst %.c,$(O)/%.o,$$(wildcard cmd/$(1)/*.c))
$(BIN)/$(1): $$($(1)_OBJS) $(LIB) | $(BIN)
	$$(call msg,LINK,$$@)
	$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$($(1)_OBJS) $(LIB) $$(LDLIBS_$(1))
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rule,$(t))))

# The tracer's objects include the skeletons, which must exist first.
$(snitch-trace_OBJS): $(SKELS)

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

$(SAN_LIB): $(SAN_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(O)/san/test_%: $(O)/san/tests/unit/test_%.o $(SAN_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ -lcrypto -lpthread

LDLIBS_trafficgen := -luring
LDLIBS_connburst := -lpthread

# The same DNS client, static against musl: a resolver that is not glibc's.
$(O)/tests/dnsq-static: tests/bin/dnsq.c
	$(call msg,MUSL,$@)
	$(Q)mkdir -p $(@D)
	$(Q)musl-gcc -static -O2 -Wall -o $@ $<

$(O)/tests/%: tests/bin/%.c $(LIB)
	$(call msg,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) -lcrypto -lpthread $(LDLIBS_$*)

# Coverage-guided fuzzing of the record library (clang's libFuzzer).
FUZZ_SECONDS ?= 20
$(O)/fuzz/fuzz_record: tests/fuzz/fuzz_record.c $(LIB_SRCS) $(wildcard lib/*.h)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -std=gnu11 $(DEFINES) -Ilib -g -O1 \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ tests/fuzz/fuzz_record.c $(LIB_SRCS) -lcrypto -lpthread

fuzz: $(O)/fuzz/fuzz_record
	$(Q)scripts/test.sh fuzz

deps:
	$(Q)scripts/deps.sh

unit: $(UNIT_BINS)
	$(Q)for t in $(UNIT_BINS); do $$t || exit 1; done

bats: all $(TEST_HELPERS)
	$(Q)scripts/test.sh bats

test: deps
	$(Q)$(MAKE) --no-print-directory all $(UNIT_BINS) $(TEST_HELPERS) $(O)/fuzz/fuzz_record
	$(Q)scripts/test.sh all

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/run.sh

bench: all $(TEST_HELPERS)
	$(Q)for b in bench/*.sh; do $$b || exit 1; done

# Manual pages, made from each tool's --help by help2man.
MAN_DESC_snitch := run and supervise the snitch network monitor
MAN_DESC_snitch-trace := trace the network traffic of every process with BPF
MAN_DESC_snitch-resolve := name the executable, ancestry, user, container and domain of snitch records
MAN_DESC_snitch-hash := sha256 of executables, cached, watched for changes
MAN_DESC_snitch-store := log snitch records in SQLite and CSV
MAN_DESC_snitch-remote := copy the rows snitch-store logged to PostgreSQL or MariaDB
MAN_DESC_snitch-notify := notify the desktop of new and changed executables, and log them
MANS := $(TOOLS:%=$(O)/man/%.1)

$(O)/man/%.1: $(BIN)/%
	$(call msg,MAN,$@)
	$(Q)mkdir -p $(@D)
	@command -v help2man >/dev/null || { echo "make: help2man is missing: run 'sudo make deps'" >&2; exit 1; }
	$(Q)help2man --no-info --no-discard-stderr -N -n "$(MAN_DESC_$*)" \
		--version-string=$(VERSION) $(BIN)/$* > $@

INSTALLED = $(TOOLS:%=$(BINDIR)/%) $(TOOLS:%=$(MANDIR)/man1/%.1) $(UNITDIR)/snitch.service \
	$(DOCDIR)/README.md $(patsubst %,$(DOCDIR)/%,$(wildcard docs/*.md))

# The unit runs the installed snitch; the configuration is written only
# when there is none, so that an upgrade keeps the administrator's.
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
	$(Q)$(BIN)/snitch systemd --unit - --config $(SYSCONFDIR)/snitch/snitch.conf | \
		sed -e 's|$(CURDIR)/$(BIN)/snitch|$(BINDIR)/snitch|g' \
		    -e 's|^Documentation=.*|Documentation=man:snitch(1) file://$(DOCDIR)/README.md|' \
		> $(DESTDIR)$(UNITDIR)/snitch.service
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
