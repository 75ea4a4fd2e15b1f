# Coffer: plain Makefile. `make` builds build/coffer-fcgi, build/coffer-admin
# and the C unit tests; see README.md for the other targets.

CC      ?= cc
BUILD   ?= build
PKGS    := fcgi libpq json-c libargon2 libcrypto zlib libmagic
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# The highest migration number: /readyz reports not-ready until the
# database schema is at this version.
SCHEMA_VERSION := $(shell ls migrations | sed -n 's/^\([0-9][0-9][0-9]\)_.*\.sql$$/\1/p' | sort | tail -n 1 | sed 's/^0*//')

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wno-format-nonliteral -Wvla
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) -Ilib -Ifcgi \
             $(PKG_CFLAGS) -DCOFFER_SCHEMA_VERSION=$(SCHEMA_VERSION) -MMD -MP
LDLIBS  = $(PKG_LIBS) $(EXTRA_LDFLAGS)

LIB_SRC  := $(wildcard lib/*.c)
FCGI_SRC := $(filter-out fcgi/main.c fcgi/admin.c,$(wildcard fcgi/*.c))
TEST_SRC := $(wildcard t/unit/test-*.c)
FUZZ_SRC := $(wildcard t/fuzz/fuzz-*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
FCGI_OBJ := $(FCGI_SRC:%.c=$(BUILD)/%.o)
TESTS    := $(TEST_SRC:t/unit/%.c=$(BUILD)/t/%)

# keep unit-test objects (make would delete them as intermediates)
.SECONDARY:

.PHONY: all clean test asan asan-test fuzz fuzz-build bench compdb clang

all: $(BUILD)/coffer-fcgi $(BUILD)/coffer-admin $(TESTS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# COFFER_SCHEMA_VERSION comes from migrations/: recompile its users when one is added
$(BUILD)/fcgi/health.o $(BUILD)/fcgi/admin.o: $(wildcard migrations/*.sql)

$(BUILD)/libcoffer.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/coffer-fcgi: $(BUILD)/fcgi/main.o $(FCGI_OBJ) $(BUILD)/libcoffer.a
	$(CC) $(CFLAGS) $(EXTRA_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/coffer-admin: $(BUILD)/fcgi/admin.o $(BUILD)/libcoffer.a
	$(CC) $(CFLAGS) $(EXTRA_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/t/%: $(BUILD)/t/unit/%.o $(BUILD)/libcoffer.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(EXTRA_CFLAGS) -o $@ $^ $(LDLIBS)

# The whole suite (C unit tests + Perl integration tests against a real stack).
test:
	scripts/test

# Sanitizer build and suite: ASan + UBSan, any report fails the run.
asan:
	$(MAKE) BUILD=build-asan CC=clang \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  CFLAGS="-O1 -g"

asan-test:
	COFFER_BUILD=build-asan scripts/test

# Fuzz targets (libFuzzer, clang): build them all, then run each for
# FUZZ_SECONDS (default 20) on its seed corpus.
FUZZ_SECONDS ?= 20
FUZZ_BINS := $(FUZZ_SRC:t/fuzz/%.c=build-fuzz/%)
FUZZ_LIB_SRC := $(LIB_SRC)

fuzz-build:
	@mkdir -p build-fuzz
	@for f in $(FUZZ_SRC); do \
	  n=$$(basename $$f .c); \
	  echo "clang fuzz $$n"; \
	  clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
	    -Ilib -It/fuzz $(PKG_CFLAGS) -DCOFFER_SCHEMA_VERSION=$(SCHEMA_VERSION) \
	    $$f $(FUZZ_LIB_SRC) -o build-fuzz/$$n $(PKG_LIBS) || exit 1; \
	done

fuzz: fuzz-build
	@for f in $(FUZZ_BINS); do \
	  n=$$(basename $$f); mkdir -p build-fuzz/corpus/$$n; \
	  echo "== $$n ($(FUZZ_SECONDS)s)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 -artifact_prefix=build-fuzz/$$n- \
	    build-fuzz/corpus/$$n t/fuzz/seeds/$$n > build-fuzz/$$n.log 2>&1; rc=$$?; \
	  tail -n 3 build-fuzz/$$n.log; [ $$rc -eq 0 ] || { echo "$$n FAILED: see build-fuzz/$$n.log"; exit 1; }; \
	done

bench: all
	bench/run

clang:
	$(MAKE) BUILD=build-clang CC=clang

compdb:
	$(MAKE) clean && bear -- $(MAKE) all

clean:
	rm -rf build build-asan build-clang build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
