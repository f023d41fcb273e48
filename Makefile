# SPDX-License-Identifier: GPL-2.0-only
#
# sluice: the XDP program, the agent (sluiced, sluicectl) and the tests.
# Plain make, as the kernel and xdp-tools do: quiet by default, V=1 shows the
# commands. `make deps` installs the Debian packages; `make check` runs the
# tests (unit plain and under ASan/UBSan, then the integration scripts);
# `make bench` runs the benchmarks. The kernel module builds through Kbuild
# with `make kmod`.

V ?= 0
ifeq ($(V),1)
Q =
msg = @true
else
Q = @
msg = @printf '  %-8s %s\n' $(1) $(2);
endif

CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH_INC := /usr/include/$(shell $(CC) -dumpmachine)

# SAN=1 builds into build/san with AddressSanitizer and UBSan.
SAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build/san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
BIN = $(BUILD)/agent
else
BUILD ?= build
SANFLAGS =
BIN = agent
endif

CFLAGS ?= -O2 -g
SLUICE_CFLAGS = -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
	-Iinclude -Iagent -Ibpf -I/usr/include/postgresql -MMD -MP $(SANFLAGS)
LDLIBS = -lbpf -losipparser2 -losip2 -lsqlite3 -lnftnl -lmnl -ljansson -lmicrohttpd -lsrtp2 -lpq -lssl -lcrypto \
	-lelf -lz -lm -lpthread
BPF_CFLAGS = -g -O2 -target bpf -mcpu=v3 -Wall -Werror \
	-Iinclude -Ibpf -I$(ARCH_INC) -MMD -MP

# Debian packages: to build, to test, to benchmark.
DEPS = make gcc clang llvm pkg-config libbpf-dev bpftool libelf-dev \
	zlib1g-dev libosip2-dev libsqlite3-dev libmnl-dev libnftnl-dev \
	libcmocka-dev libssl-dev libsrtp2-dev libmicrohttpd-dev libjansson-dev libpq-dev postgresql iproute2 nftables conntrack perl sip-tester sipsak sqlite3 kamailio curl jq prometheus chromium \
	tcpdump ethtool kmod iputils-ping libclang-rt-14-dev sipvicious baresip-core \
	linux-headers-amd64 linux-image-amd64 qemu-system-x86 busybox-static cpio
BENCH_DEPS = rtpengine-daemon kamailio kamailio-sqlite-modules kamailio-tls-modules bc

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJ := bpf/sluice.bpf.o
SKEL := bpf/sluice.skel.h

AGENT_SRCS := $(sort $(wildcard agent/*/*.c))
AGENT_OBJS := $(AGENT_SRCS:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libsluice.a
PROGS := $(BIN)/sluiced $(BIN)/sluicectl

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c tests/bpf/test_*.c))
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)

# Test peers of our own (RTP sender / checker); they share no project code.
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
TOOL_BINS := $(TOOL_SRCS:%.c=$(BUILD)/%)

.PHONY: all deps node-deps check check-unit check-integration check-docs bench bench-ng bench-sip bench-kmod clean run \
	demo kmod kmod-clean kmod-dkms bench-deps bench-srtp fuzz fuzz-bins unit-bins
.DEFAULT_GOAL := all

all: $(BPF_OBJ) $(SKEL) $(PROGS)

bpf/%.bpf.o: bpf/%.bpf.c
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

bpf/%.skel.h: bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(*F) > $@.tmp && mv $@.tmp $@

$(BUILD)/%.o: %.c | $(SKEL)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(SLUICE_CFLAGS) -c $< -o $@

$(LIB): $(AGENT_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN)/%: $(BUILD)/agent/%.o $(LIB)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/tools/srtpio: TOOL_LIBS = -lsrtp2 -lssl -lcrypto
$(BUILD)/tests/tools/%: tests/tools/%.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(SLUICE_CFLAGS) $< -o $@ $(TOOL_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $^ -o $@ $(LDLIBS) -lcmocka

# Installs only what is missing, so a second run does nothing.
deps: node-deps
	@missing=$$(for p in $(DEPS) $(EXTRA_DEPS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# The browser test's driver, from npm with the machine's node 20 (never
	@# Debian's npm package), into tests/web/node_modules at the locked version.
	@if [ -d tests/web/node_modules/playwright-core ]; then :; \
	elif command -v npm >/dev/null && node --version 2>/dev/null | grep -q '^v2[0-9]'; then \
		echo "deps: playwright-core into tests/web/node_modules (npm ci)"; \
		npm ci --prefix tests/web --no-audit --no-fund --loglevel=error || \
			echo "deps: npm ci failed: the browser test (53) will skip"; \
	else echo "deps: no node 20 with npm: the browser test (53) will skip"; fi

# The WebSocket test's peers (tests/node: the npm ws client, JsSIP), with
# the machine's node and its own npm (never Debian's npm package), into
# tests/node/node_modules as package-lock.json pins them; skipped without npm.
node-deps:
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "deps: no npm: tests/integration/64-sip-ws.t will skip"; \
	elif [ ! tests/node/node_modules/.package-lock.json -nt tests/node/package-lock.json ]; then \
		echo "deps: npm ci in tests/node"; \
		(cd tests/node && npm ci --no-audit --no-fund --loglevel=error) || \
			echo "deps: npm ci failed: tests/integration/64-sip-ws.t will skip"; \
	fi

bench-deps:
	@$(MAKE) --no-print-directory deps EXTRA_DEPS="$(BENCH_DEPS)"

unit-bins: $(UNIT_BINS) $(TOOL_BINS)

check: deps
	@$(MAKE) --no-print-directory all unit-bins
	@$(MAKE) --no-print-directory SAN=1 all unit-bins
	@$(MAKE) --no-print-directory kmod
	@tests/run-unit.sh $(UNIT_BINS:$(BUILD)/%=build/%) \
		$(UNIT_BINS:$(BUILD)/%=build/san/%)
	@$(MAKE) --no-print-directory fuzz-bins
	$(call run-fuzz,$(FUZZ_CHECK_TIME))
	@SLUICE_BIN=build/san/agent prove -f tests/integration/

check-unit: deps
	@$(MAKE) --no-print-directory all unit-bins
	@tests/run-unit.sh $(UNIT_BINS)

check-integration: deps all
	@prove -f tests/integration/

# The manual against the code (configuration keys, MML commands, links);
# part of check-integration and check too. Needs neither root nor a build.
check-docs:
	@prove tests/integration/05-docs.t

# libFuzzer targets (tests/fuzz/fuzz_NAME.c, seeds in tests/fuzz/corpus/NAME):
# the agent's sources built again with clang and the sanitizers. `make fuzz`
# runs each for FUZZ_TIME seconds; `make check` for FUZZ_CHECK_TIME.
FUZZ_TIME ?= 300
FUZZ_CHECK_TIME ?= 10
FUZZ_DIR := build/fuzz
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_DIR)/%)
FUZZ_FLAGS := -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJS := $(AGENT_SRCS:%.c=$(FUZZ_DIR)/%.o)

$(FUZZ_DIR)/agent/%.o: agent/%.c | $(SKEL)
	@mkdir -p $(@D)
	$(call msg,FUZZCC,$@)
	$(Q)$(CLANG) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(SLUICE_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS)
	$(call msg,FUZZLD,$@)
	$(Q)$(CLANG) $(FUZZ_FLAGS) -fsanitize=fuzzer $(SLUICE_CFLAGS) $^ -o $@ $(LDLIBS)

fuzz-bins: $(FUZZ_BINS)

# run-fuzz SECONDS: every target, new inputs into a scratch dir, not the seeds.
define run-fuzz
	@for f in $(FUZZ_BINS); do \
		n=$${f##*/fuzz_}; out=$$(mktemp -d); \
		echo "fuzz: $$n for $(1)s"; \
		$$f -max_total_time=$(1) -print_final_stats=0 \
			-artifact_prefix=$(FUZZ_DIR)/crash-$$n- $$out tests/fuzz/corpus/$$n \
			>$$out.log 2>&1 || { tail -40 $$out.log; rm -rf $$out $$out.log; exit 1; }; \
		grep -E '^#[0-9]+.*DONE' $$out.log | tail -1; \
		rm -rf $$out $$out.log; \
	done; echo "fuzz: $(words $(FUZZ_BINS)) targets, no crash"
endef

fuzz: deps all fuzz-bins
	$(call run-fuzz,$(FUZZ_TIME))

# The benchmark's generator and sink (XDP, live frames) and its driver.
BENCH_DIR := build/bench
BENCH_BINS := $(BENCH_DIR)/rtpgen $(BENCH_DIR)/sessions $(BENCH_DIR)/ngbench \
	$(BENCH_DIR)/refrelay $(BENCH_DIR)/xdpcost $(BENCH_DIR)/tlsreg

$(BENCH_DIR)/bench.bpf.o: tests/bench/bench.bpf.c
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BENCH_DIR)/bench.skel.h: $(BENCH_DIR)/bench.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name bench > $@.tmp && mv $@.tmp $@

# The reference relay, and (wide/) the same with its flow in the shape of
# sluice_xdp's, four cache lines (tests/bench/ref.h; REF=build/bench/wide/refrelay
# tests/bench/xdpref.sh).
$(BENCH_DIR)/ref.bpf.o $(BENCH_DIR)/wide/ref.bpf.o: tests/bench/ref.bpf.c tests/bench/ref.h
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(if $(findstring /wide/,$@),-DREF_LINES=4) -c $< -o $@

$(BENCH_DIR)/ref.skel.h: $(BENCH_DIR)/ref.bpf.o
$(BENCH_DIR)/wide/ref.skel.h: $(BENCH_DIR)/wide/ref.bpf.o
$(BENCH_DIR)/ref.skel.h $(BENCH_DIR)/wide/ref.skel.h:
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name ref > $@.tmp && mv $@.tmp $@

$(BENCH_DIR)/refrelay: $(BENCH_DIR)/ref.skel.h
$(BENCH_DIR)/wide/refrelay: $(BENCH_DIR)/wide/ref.skel.h
$(BENCH_DIR)/refrelay $(BENCH_DIR)/wide/refrelay: tests/bench/refrelay.c tests/bench/ref.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(SLUICE_CFLAGS) $(if $(findstring /wide/,$@),-DREF_LINES=4) \
		-I$(@D) $< -o $@ -lbpf -lelf -lz

$(BENCH_DIR)/xdpcost: tests/bench/xdpcost.c tests/bench/ref.h $(BENCH_DIR)/ref.skel.h $(SKEL)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(SLUICE_CFLAGS) -I$(BENCH_DIR) -Itests/bpf $< -o $@ -lbpf -lelf -lz

$(BENCH_DIR)/rtpgen: tests/bench/rtpgen.c $(BENCH_DIR)/bench.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(SLUICE_CFLAGS) -I$(BENCH_DIR) $< -o $@ -lbpf -lelf -lz

$(BENCH_DIR)/ngbench: tests/bench/ngbench.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(SLUICE_CFLAGS) $< -o $@

$(BENCH_DIR)/tlsreg: tests/bench/tlsreg.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(SLUICE_CFLAGS) $< -o $@ -lssl -lcrypto

$(BENCH_DIR)/sessions: tests/bench/sessions.c $(LIB)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(SLUICE_CFLAGS) $^ -o $@ $(LDLIBS)

bench: bench-deps all $(BENCH_BINS) unit-bins
	@tests/bench/run.sh
	@tests/bench/ng.sh
	@tests/bench/sip.sh
	@tests/bench/srtp.sh

# SRTP <-> RTP through the userspace crypto path, beside rtpengine's
# (tests/bench/srtp.sh, about 30 seconds).
bench-srtp: bench-deps all unit-bins
	@tests/bench/srtp.sh

# The NG protocol (tests/bench/ng.sh, about 3 minutes): offer/answer/delete
# cycles per second, and the media of calls set up by Kamailio over NG, each
# against rtpengine driven the same way.
bench-ng: bench-deps all $(BENCH_BINS)
	@tests/bench/ng.sh

# The console's cost (tests/bench/console.sh, about 10 minutes; needs the
# browser test's Chromium and playwright-core): the call benchmark with and
# without a browser on the live calls page, a 1-s scrape and the tracker,
# in alternate windows of one sluiced run.
.PHONY: bench-console
bench-console: bench-deps all
	@tests/bench/console.sh

# SIP only (tests/bench/sip.sh): calls per second through the B2BUA with
# media offloaded, stepped up to the failure point; REGISTER per second
# over UDP and TLS beside Kamailio; 100,000 registrations and 20,000 calls
# at once, memory per each.
bench-sip: bench-deps all $(BENCH_DIR)/tlsreg
	@tests/bench/sip.sh

# The kernel module, through the top-level Kbuild, against KDIR: the running
# kernel's build tree, else the newest Debian linux-headers-*-amd64 tree.
# Kbuild writes its objects beside the sources (kmod/, ignored by git).
KDIR ?= $(or $(wildcard /lib/modules/$(shell uname -r)/build),\
	$(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -1))

kmod:
	@test -n "$(KDIR)" || { echo "kmod: no kernel build tree; install" \
		"linux-headers-amd64 (make deps) or pass KDIR=" >&2; exit 1; }
	$(call msg,KMOD,kmod/sluice.ko)
	$(Q)$(MAKE) --no-print-directory -C $(KDIR) M=$(CURDIR) modules \
		$(if $(filter 1,$(V)),V=1,>/dev/null)

# The module's runtime test boots Debian's kernel under qemu (make check,
# tests/integration/95-kmod-qemu.t); the same guest compares the module's
# forwarding rate with XDP's and plain IP forwarding's.
bench-kmod: deps all kmod build/tests/tools/rtpio
	@mkdir -p build/bench
	@tests/kmod/run-qemu.sh bench >build/bench/kmod-results.md; rc=$$?; \
		cat build/bench/kmod-results.md; exit $$rc

kmod-clean:
	$(Q)$(if $(KDIR),$(MAKE) --no-print-directory -C $(KDIR) M=$(CURDIR) clean >/dev/null,true)

# The module's sources for DKMS under $(DESTDIR)/usr/src/sluice-<version>;
# then `dkms install sluice/<version>` builds it for every installed kernel.
SLUICE_VERSION := $(shell sed -n 's/^\#define SLUICE_VERSION "\(.*\)"/\1/p' agent/version.h)
DKMS_SRC := $(DESTDIR)/usr/src/sluice-$(SLUICE_VERSION)
kmod-dkms:
	$(call msg,DKMS,$(DKMS_SRC))
	$(Q)rm -rf $(DKMS_SRC) && mkdir -p $(DKMS_SRC)/kmod $(DKMS_SRC)/include/sluice $(DKMS_SRC)/bpf
	$(Q)cp Kbuild $(DKMS_SRC)/ && cp kmod/Kbuild $(filter-out %.mod.c,$(wildcard kmod/*.c)) kmod/*.h $(DKMS_SRC)/kmod/
	$(Q)cp include/sluice/*.h $(DKMS_SRC)/include/sluice/
	$(Q)cp bpf/fwd.h bpf/csum.h bpf/rtp_stats.h bpf/portable.h $(DKMS_SRC)/bpf/
	$(Q)sed 's/@VERSION@/$(SLUICE_VERSION)/' kmod/dkms.conf >$(DKMS_SRC)/dkms.conf

# The server in the foreground, with conf/sluice.conf and its state in var/.
# sluiced in the foreground with var/ made ready (scripts/run.sh says what).
run: deps all
	@SLUICE_BIN=$(BIN) scripts/run.sh

# Two phones calling each other through sluiced in namespaces (root).
demo: deps all
	@SLUICE_BIN=$(BIN) scripts/demo.sh

clean:
	rm -rf build bpf/*.o bpf/*.skel.h bpf/*.d agent/sluiced agent/sluicectl

# Objects of the mains are not intermediates to throw away.
.SECONDARY:

-include $(AGENT_OBJS:.o=.d) $(BPF_OBJ:.o=.d) $(UNIT_BINS:=.d) \
	$(PROGS:$(BIN)/%=$(BUILD)/agent/%.d) $(FUZZ_OBJS:.o=.d)
