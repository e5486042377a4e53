# berth build. `make` builds build/; `make SAN=1` builds the ASan+UBSan variant in build-san/.
CC ?= gcc
# The runtime links only what oci/ needs; the image and storage layers add their own.
PKGS := jansson libseccomp libcap
IMAGE_PKGS := sqlite3 nettle
# Loaded on first use (lib/lazy_lib.h), never linked into berthd: only their headers are needed.
LAZY_PKGS := libarchive libcurl ldns libnftables
# The daemon adds its HTTP server.
DAEMON_PKGS := libmicrohttpd
# The network layer: netlink (nftables and the DNS wire format are loaded on first use).
NET_PKGS := libmnl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) $(IMAGE_PKGS) $(DAEMON_PKGS) $(NET_PKGS) $(LAZY_PKGS))
PKG_LIBS := $(shell pkg-config --libs $(PKGS))
IMAGE_LIBS := $(shell pkg-config --libs $(IMAGE_PKGS))
DAEMON_LIBS := $(shell pkg-config --libs $(DAEMON_PKGS)) -lpthread -ldl
NET_LIBS := $(shell pkg-config --libs $(NET_PKGS) sqlite3 jansson)

CFLAGS_BASE := -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -Wjump-misses-init \
	-D_GNU_SOURCE -Isrc $(PKG_CFLAGS) -MMD -MP
ifeq ($(SAN),1)
BUILD := build-san
CFLAGS_OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS_SAN := -fsanitize=address,undefined
else
BUILD := build
CFLAGS_OPT := -O2 -g
LDFLAGS_SAN :=
endif
CFLAGS := $(CFLAGS_BASE) $(CFLAGS_OPT) $(EXTRA_CFLAGS)
LDFLAGS := $(LDFLAGS_SAN) $(EXTRA_LDFLAGS)

LIB_SRC := $(filter-out src/lib/digest.c,$(wildcard src/lib/*.c))
OCI_SRC := $(wildcard src/oci/*.c)
IMAGE_SRC := src/lib/digest.c $(wildcard src/image/*.c src/storage/*.c)
RUNTIME_SRC := $(wildcard src/cmd/berth-runtime/*.c)
ENGINE_SRC := $(wildcard src/engine/*.c)
NET_SRC := $(wildcard src/net/*.c)
API_SRC := $(wildcard src/api/*.c)
BERTHD_SRC := $(wildcard src/cmd/berthd/*.c)
CLI_SRC := $(wildcard src/cli/*.c)
BERTH_SRC := $(wildcard src/cmd/berth/*.c)

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
OCI_OBJ := $(OCI_SRC:%.c=$(BUILD)/%.o)
IMAGE_OBJ := $(IMAGE_SRC:%.c=$(BUILD)/%.o)
RUNTIME_OBJ := $(RUNTIME_SRC:%.c=$(BUILD)/%.o)
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(BUILD)/%.o)
NET_OBJ := $(NET_SRC:%.c=$(BUILD)/%.o)
API_OBJ := $(API_SRC:%.c=$(BUILD)/%.o)
BERTHD_OBJ := $(BERTHD_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
BERTH_OBJ := $(BERTH_SRC:%.c=$(BUILD)/%.o)

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all clean unit check check-san format format-check demo
all: $(BUILD)/berth-runtime $(UNIT_BIN) $(BUILD)/tests/tools/imgtool $(if $(BERTHD_SRC),$(BUILD)/berthd)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/liboci.a: $(OCI_OBJ) $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# image/ and storage/ (over lib/; storage may use image/).
$(BUILD)/libimage.a: $(IMAGE_OBJ)
	@rm -f $@
	ar rcs $@ $^

# engine/ composes the layers below it (images, storage, oci); api/ serves it over HTTP.
$(BUILD)/libengine.a: $(ENGINE_OBJ)
	@rm -f $@
	ar rcs $@ $^

# network/ (over lib/ only): netlink, namespaces, address leases, nftables.
$(BUILD)/libnet.a: $(NET_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libapi.a: $(API_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The init that `--init` runs as PID 1 inside containers: static, so that it runs in any image
# (never sanitized: the sanitizers cannot link statically).
all: $(BUILD)/berth-init
$(BUILD)/berth-init: src/cmd/berth-init/main.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -O2 -static -o $@ $<

# The per-container monitor (engine/monitor.h): the few engine files it needs over oci/. Static, so
# that it loads in no time and each container costs only the monitor's own few pages (berthd runs
# them all from one shared copy); the sanitizers cannot link statically, so SAN=1 links it dynamically.
MONITOR_OBJ := $(BUILD)/src/cmd/berth-monitor/main.o $(addprefix $(BUILD)/src/engine/,monitor.o logs.o exec_run.o)
ifeq ($(SAN),1)
MONITOR_LINK := $(PKG_LIBS)
else
MONITOR_LINK := -static $(PKG_LIBS)
endif
all: $(BUILD)/berth-monitor
$(BUILD)/berth-monitor: $(MONITOR_OBJ) $(BUILD)/liboci.a
	$(CC) $(LDFLAGS) -o $@ $^ $(MONITOR_LINK)

$(BUILD)/berth-runtime: $(RUNTIME_OBJ) $(BUILD)/liboci.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/berthd: $(BERTHD_OBJ) $(BUILD)/libapi.a $(BUILD)/libengine.a $(BUILD)/libnet.a $(BUILD)/libimage.a $(BUILD)/liboci.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(IMAGE_LIBS) $(DAEMON_LIBS) $(NET_LIBS)

# The CLI is an API client: lib/ and jansson (libarchive is loaded by cp when it needs it), never the
# engine (docs/cli.md).
all: $(BUILD)/berth
$(BUILD)/libb.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/berth: $(BERTH_OBJ) $(CLI_OBJ) $(BUILD)/libb.a
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs jansson) -ldl -lm

# Unit tests link every library; the linker takes only what a test uses. libarchive is linked too, for
# the tests that write their tars with it; the code under test still loads it through its table.
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libengine.a $(BUILD)/libnet.a $(BUILD)/libimage.a $(BUILD)/liboci.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libengine.a $(BUILD)/libnet.a $(BUILD)/libimage.a $(BUILD)/liboci.a $(LDFLAGS) \
		$(PKG_LIBS) $(IMAGE_LIBS) $(DAEMON_LIBS) $(NET_LIBS) $(shell pkg-config --libs cmocka libarchive)

# A test driver for image archives (tests/integration/test_image_archives.py), not a product binary.
$(BUILD)/tests/tools/imgtool: tests/tools/imgtool.c $(BUILD)/libimage.a $(BUILD)/liboci.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libimage.a $(BUILD)/liboci.a $(LDFLAGS) $(PKG_LIBS) $(IMAGE_LIBS)

# A test driver for the engine's spec building (tests/integration/test_engine_spec.py), not a product binary.
all: $(BUILD)/tests/tools/spectool
$(BUILD)/tests/tools/spectool: tests/tools/spectool.c $(BUILD)/libengine.a $(BUILD)/libimage.a $(BUILD)/liboci.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libengine.a $(BUILD)/libimage.a $(BUILD)/liboci.a $(LDFLAGS) $(PKG_LIBS) \
		$(IMAGE_LIBS)

unit: all
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; (cd tests/unit && ../../$$t); done

# The README's test command: unit and integration tests, normal and sanitizer builds.
check:
	./scripts/run-tests

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-san

-include $(shell find build build-san -name '*.d' 2>/dev/null)
