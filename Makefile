# fleetprof — one entry point: make, make test, make run, make deps, make bench.
#
# Sources are found by pattern, in every subfolder, so adding a module needs no Makefile change:
#   shared/*.c               -> $(B)/libshared.a   (both programs and the tests)
#   server/**/*.c            -> $(B)/libserver.a   (all but server/main.c) + $(B)/fleetprof-server
#   agent/**/*.c             -> $(B)/libagent.a    (all but agent/main.c) + $(B)/fleetprof-agent
#   agent/**/X.bpf.c         -> $(B)/**/X.bpf.o -> $(B)/**/X.skel.h  (never committed); the program
#                               and its user space share agent/**/X.h
#   tests/unit/test_*.c      -> $(B)/tests/test_*  test_server_* link libserver, test_agent_* libagent,
#                               any other only libshared (plus tests/unit/*.c helpers that are not tests)
#   tests/fuzz/fuzz_*.c      -> $(B)/fuzz/fuzz_*   (clang libFuzzer, `make fuzz`): fuzz_server_* with
#                               the server's sources, fuzz_agent_* with the agent's, others shared/ only
# Includes: -Ishared -Iagent -Iserver, so a header in a subfolder is included by its path below
# the program's folder ("sample/sampler.h"); a header beside the including file by its name.
#
# `make` only builds and never installs packages; `make deps` installs what Debian (and npm)
# provide, and `make test` and `make run` call it first.
# SAN=1 builds with ASan+UBSan into build/san; `make test` uses that build.

SAN ?= 0
# B (the build directory) may be overridden, e.g. `make B=build/mine`, to keep builds apart.
ifeq ($(SAN),1)
B ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
B ?= build
SANFLAGS :=
endif

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
PKGS := libmicrohttpd jansson libcurl libbpf libelf zlib sqlite3

WARN := -Wall -Wextra -Werror -Wvla -Wstrict-prototypes -Wformat=2
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) -fno-omit-frame-pointer \
	-Ishared -Iserver -Iagent -I$(B) -MMD -MP
LDLIBS := -lmicrohttpd -ljansson -lcurl -lbpf -lelf -lsqlite3 -lz -luuid -ldl -lpthread -lm
ALL_LDFLAGS := -Wl,--as-needed $(LDFLAGS) $(SANFLAGS)

ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

SHARED_SRC := $(wildcard shared/*.c)
SERVER_SRC := $(filter-out server/main.c,$(shell find server -name '*.c' | sort))
AGENT_SRC  := $(filter-out agent/main.c %.bpf.c,$(shell find agent -name '*.c' | sort))
BPF_SRC    := $(shell find agent -name '*.bpf.c' | sort)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_HELP  := $(filter-out tests/unit/test_%,$(wildcard tests/unit/*.c))
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)

SHARED_OBJ := $(SHARED_SRC:%.c=$(B)/obj/%.o)
SERVER_OBJ := $(SERVER_SRC:%.c=$(B)/obj/%.o)
AGENT_OBJ  := $(AGENT_SRC:%.c=$(B)/obj/%.o)
UNIT_HELP_OBJ := $(UNIT_HELP:%.c=$(B)/obj/%.o)
SKELS      := $(patsubst agent/%.bpf.c,$(B)/%.skel.h,$(BPF_SRC))
UNIT_BIN   := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
UNIT_OBJ   := $(UNIT_SRC:%.c=$(B)/obj/%.o)
ALL_OBJ    := $(SHARED_OBJ) $(SERVER_OBJ) $(AGENT_OBJ) $(UNIT_HELP_OBJ) $(UNIT_OBJ) \
	$(B)/obj/server/main.o $(B)/obj/agent/main.o

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-6s %s\n' $(1) $(2);
endif

.DELETE_ON_ERROR:
.SUFFIXES:
# test objects are intermediates of the unit binaries: keep them, so a rebuild relinks only
.SECONDARY: $(UNIT_OBJ)
.PHONY: all deps deps-check test run bench fuzz clean install install-server install-agent deb

all: $(B)/fleetprof-server $(B)/fleetprof-agent $(UNIT_BIN) $(B)/tests/workloads

# ---- dependencies -------------------------------------------------------------------------------
# Debian packages the build, the tests and the benchmarks need. `make deps` installs what is missing;
# every build target checks first (cheap: dpkg -s) and installs only when something is absent.
DEB_PKGS := build-essential pkg-config clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev \
	libmicrohttpd-dev libsqlite3-dev libjansson-dev libcurl4-openssl-dev uuid-dev \
	libgnutls28-dev libclang-rt-14-dev python3 sqlite3 curl wrk procps util-linux iproute2 \
	nodejs chromium linux-perf \
	debhelper lintian mmdebstrap systemd man-db groff-base python3-seccomp podman runc

deps:
	$(Q)missing=$$(for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "all Debian packages present"; fi
	$(Q)sh tests/browser/setup.sh
	$(Q)sh tests/deploy/setup.sh

# Says what is missing, installs nothing (for targets that need the tools but must not install).
deps-check:
	$(Q)missing=$$(for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "missing Debian packages (run make deps):" $$missing >&2; exit 1; fi

# ---- C ------------------------------------------------------------------------------------------
$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

# agent objects may include generated BPF skeletons, and the HTML flame graph the dashboard's
# page and renderer (web/ is the one copy; the header is generated, never committed)
$(AGENT_OBJ) $(B)/obj/agent/main.o: | $(SKELS) $(B)/gen/flamegraph_page.h
WEB_EMBED := web/export-template.html web/js/flame.js
$(B)/gen/flamegraph_page.h: $(WEB_EMBED)
	@mkdir -p $(dir $@)
	$(call msg,GEN,$@)
	$(Q)for f in $(WEB_EMBED); do echo "static const unsigned char fp_$$(basename $$f | tr -c 'a-z0-9\n' _)[] = {"; \
		od -An -v -tx1 $$f | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; echo "};"; done > $@

$(B)/libshared.a: $(SHARED_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(B)/libserver.a: $(SERVER_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(B)/libagent.a: $(AGENT_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/fleetprof-server: $(B)/obj/server/main.o $(B)/libserver.a $(B)/libshared.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/fleetprof-agent: $(B)/obj/agent/main.o $(B)/libagent.a $(B)/libshared.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

define unit_link
	@mkdir -p $(dir $@)
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(UNIT_HELP_OBJ) -Wl,--start-group $(1) -Wl,--end-group $(LDLIBS)
endef
$(B)/tests/test_server_%: $(B)/obj/tests/unit/test_server_%.o $(UNIT_HELP_OBJ) $(B)/libserver.a $(B)/libshared.a
	$(call unit_link,$(B)/libserver.a $(B)/libshared.a)
$(B)/tests/test_agent_%: $(B)/obj/tests/unit/test_agent_%.o $(UNIT_HELP_OBJ) $(B)/libagent.a $(B)/libshared.a
	$(call unit_link,$(B)/libagent.a $(B)/libshared.a)
$(B)/tests/test_%: $(B)/obj/tests/unit/test_%.o $(UNIT_HELP_OBJ) $(B)/libshared.a
	$(call unit_link,$(B)/libshared.a)

# ---- BPF (CO-RE) --------------------------------------------------------------------------------
$(B)/vmlinux.h:
	@mkdir -p $(B)
	$(call msg,BTF,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

BPF_OBJ := $(patsubst agent/%.bpf.c,$(B)/%.bpf.o,$(BPF_SRC))
.SECONDARY: $(BPF_OBJ)
$(BPF_OBJ): $(B)/%.bpf.o: agent/%.bpf.c agent/%.h $(B)/vmlinux.h
	@mkdir -p $(dir $@)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(B) -Iagent -I$(dir $<) \
		-MMD -MP -MF $@.d -MT $@ -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(SKELS): $(B)/%.skel.h: $(B)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# ---- test workloads (ground truth; built without sanitizers, with frame pointers) ---------------
WL_SRC := $(wildcard tests/workloads/*.c tests/workloads/*.h tests/workloads/lib/*.c)
$(B)/tests/workloads: $(WL_SRC) tests/workloads/build.sh
	@mkdir -p $@
	$(call msg,WL,$@)
	$(Q)sh tests/workloads/build.sh $@ && touch $@

# ---- install and packages -----------------------------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=staging dir]: both programs (to sbin: they are
# daemons run by root), share/fleetprof/{web,schema}, the systemd units (their /usr/local paths
# rewritten for PREFIX), the sysusers.d entry of the server's user, a man page per program, the
# example settings in $(DOCDIR)/examples and, when not there yet, in $(SYSCONFDIR)/fleetprof
# (an existing file is never overwritten). install-server and install-agent do one program each.
# Units go where systemd looks for a prefix (/usr/local/lib/systemd/system); Debian packages
# set UNITDIR=/lib/systemd/system.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share/fleetprof
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/fleetprof
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
SYSCONFDIR ?= /etc
INSTALL ?= install
FP_UNIT_SED := sed -e 's|/usr/local/sbin/|$(SBINDIR)/|g' -e 's|/usr/local/share/fleetprof/|$(DATADIR)/|g'

# $(1): deploy/ example, $(2): its name in $(SYSCONFDIR)/fleetprof, $(3): mode there
define fp_install_conf
	$(Q)$(INSTALL) -D -m 0644 deploy/$(1) $(DESTDIR)$(DOCDIR)/examples/$(1)
	$(Q)if [ -e $(DESTDIR)$(SYSCONFDIR)/fleetprof/$(2) ]; then \
		echo "  keep   $(DESTDIR)$(SYSCONFDIR)/fleetprof/$(2) (exists)"; \
	else $(INSTALL) -D -m $(3) deploy/$(1) $(DESTDIR)$(SYSCONFDIR)/fleetprof/$(2); fi
endef

install: install-server install-agent

install-server: $(B)/fleetprof-server
	$(call msg,INSTALL,'$(DESTDIR)$(SBINDIR)/fleetprof-server')
	$(Q)$(INSTALL) -D -m 0755 $(B)/fleetprof-server $(DESTDIR)$(SBINDIR)/fleetprof-server
	$(Q)for f in $$(find web schema -type f | LC_ALL=C sort); do \
		$(INSTALL) -D -m 0644 $$f $(DESTDIR)$(DATADIR)/$$f || exit 1; done
	$(Q)$(INSTALL) -d $(DESTDIR)$(UNITDIR)
	$(Q)$(FP_UNIT_SED) deploy/fleetprof-server.service > $(DESTDIR)$(UNITDIR)/fleetprof-server.service
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/fleetprof-server.service
	$(Q)$(INSTALL) -D -m 0644 deploy/sysusers-fleetprof.conf $(DESTDIR)$(SYSUSERSDIR)/fleetprof.conf
	$(Q)$(INSTALL) -D -m 0644 docs/man/fleetprof-server.8 $(DESTDIR)$(MANDIR)/man8/fleetprof-server.8
	$(call fp_install_conf,server.env.example,server.env,0600)

install-agent: $(B)/fleetprof-agent
	$(call msg,INSTALL,'$(DESTDIR)$(SBINDIR)/fleetprof-agent')
	$(Q)$(INSTALL) -D -m 0755 $(B)/fleetprof-agent $(DESTDIR)$(SBINDIR)/fleetprof-agent
	$(Q)$(INSTALL) -d $(DESTDIR)$(UNITDIR)
	$(Q)$(FP_UNIT_SED) deploy/fleetprof-agent.service > $(DESTDIR)$(UNITDIR)/fleetprof-agent.service
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/fleetprof-agent.service
	$(Q)$(INSTALL) -D -m 0644 docs/man/fleetprof-agent.8 $(DESTDIR)$(MANDIR)/man8/fleetprof-agent.8
	$(call fp_install_conf,agent.conf.example,agent.conf,0600)

# make deb [DEB_VERSION=x] [DEB_OUTDIR=dir]: fleetprof-server and fleetprof-agent .debs in
# build/deb, built with debhelper from packaging/debian in a copy of the tree (see
# packaging/build-deb.sh).
DEB_OUTDIR ?= build/deb
deb:
	$(Q)DEB_VERSION="$(DEB_VERSION)" packaging/build-deb.sh $(DEB_OUTDIR)

# ---- entry points -------------------------------------------------------------------------------
# The sanitizer build runs every test; the plain build is there for what sanitizers distort
# (the agent's idle memory).
test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory SAN=1 all
	$(Q)FLEETPROF_BUILD=build/san FLEETPROF_PLAIN_BUILD=build tests/run

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)deploy/run-local.sh

bench: all
	$(Q)bench/run-all.sh

# Each target is built with clang's libFuzzer against the sources of the program it exercises
# (the skeletons come from the plain build). FUZZ_SECONDS=N runs each for N seconds afterwards.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -g -O1 -fsanitize=fuzzer,address,undefined \
	-Ishared -Iagent -Iserver -Ibuild
fuzz: deps-check
	$(Q)$(MAKE) --no-print-directory B=build SAN=0 $(patsubst agent/%.bpf.c,build/%.skel.h,$(BPF_SRC)) \
		build/gen/flamegraph_page.h
	$(Q)mkdir -p build/fuzz
	$(Q)for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
		case $$n in fuzz_server_*) src="$(SERVER_SRC)";; fuzz_agent_*) src="$(AGENT_SRC)";; *) src="";; esac; \
		echo "  FUZZ   build/fuzz/$$n"; \
		$(CLANG) $(FUZZ_CFLAGS) $$f $$src $(SHARED_SRC) -o build/fuzz/$$n $(LDLIBS) || exit 1; done
	$(Q)if [ -n "$${FUZZ_SECONDS:-}" ]; then for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
		mkdir -p build/fuzz/corpus-$$n; \
		seeds=tests/fuzz/seeds/$$n; [ -d $$seeds ] || seeds=; \
		echo "  RUN    $$n for $${FUZZ_SECONDS}s"; \
		build/fuzz/$$n -max_total_time=$$FUZZ_SECONDS -print_final_stats=0 \
			build/fuzz/corpus-$$n $$seeds >build/fuzz/$$n.log 2>&1 \
			|| { tail -n 40 build/fuzz/$$n.log; exit 1; }; done; fi

clean:
	rm -rf build

-include $(ALL_OBJ:.o=.d) $(BPF_OBJ:=.d)
