# libbitcask: build and install like a C library.
#
#   make                                  release build: library, header, `bitcask` tool
#   make install [PREFIX=/usr/local] [DESTDIR=] [STRIP=]   strips what it installs; STRIP= does not
#   make uninstall [PREFIX=/usr/local] [DESTDIR=]
#   make test-install                     tests/install.sh (installs into a temporary prefix)
#
# Installed files (LIBDIR defaults to PREFIX/lib):
#   LIBDIR/libbitcask.so.X.Y.Z            the shared library (SONAME libbitcask.so.X)
#   LIBDIR/libbitcask.so.X -> libbitcask.so.X.Y.Z     what programs load at run time
#   LIBDIR/libbitcask.so   -> libbitcask.so.X.Y.Z     what -lbitcask finds at link time
#   LIBDIR/libbitcask.a
#   LIBDIR/pkgconfig/bitcask.pc
#   INCLUDEDIR/bitcask.h
#   BINDIR/bitcask                        the command-line tool
#   BINDIR/bitcaskd                       the Redis-protocol server (built with Go, libbitcask linked in)
#
# After installing into a system directory, run `ldconfig` (as root) so the loader's cache
# knows the new library; programs using a copy in any other PREFIX need an rpath (or
# LD_LIBRARY_PATH): docs/CLI.md gives the commands.
#
# The release build keeps debug info (for profiling), so `make install` strips what it
# installs: the shared library and the tool with --strip-unneeded, the static library with
# --strip-debug. `make install STRIP=` installs them as built, debug info included (the
# unstripped copies also stay in target/release and cli/target/release).

PREFIX     ?= /usr/local
DESTDIR    ?=
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

CARGO      ?= cargo
# Reproducible builds from the committed lock files. `make CARGO_FLAGS=` to let cargo
# update them (e.g. after changing the library's dependencies: cli/Cargo.lock lists them too).
CARGO_FLAGS ?= --locked
INSTALL    ?= install
STRIP      ?= strip

# The version, from the [package] table of Cargo.toml (the single source of truth: the
# header's BC_VERSION_* macros, bc_version() and the SONAME are all generated from it).
VERSION := $(shell awk -F'"' '/^\[/ { pkg = ($$0 == "[package]") } pkg && /^version *=/ { print $$2; exit }' Cargo.toml)
MAJOR   := $(word 1,$(subst ., ,$(VERSION)))
ifeq ($(VERSION),)
$(error could not read the version from Cargo.toml)
endif

SONAME   := libbitcask.so.$(MAJOR)
REALNAME := libbitcask.so.$(VERSION)

LIB_SO  := target/release/libbitcask.so
LIB_A   := target/release/libbitcask.a
HEADER  := include/bitcask.h
CLI_BIN := cli/target/release/bitcask
SERVER_BIN := target/release/bitcaskd
GO      ?= go
PC      := target/bitcask.pc

.PHONY: all lib cli server install uninstall test-install clean version

all: lib cli server $(PC)

# cargo decides what is stale; these always ask it.
lib:
	$(CARGO) build --release $(CARGO_FLAGS)

cli:
	$(CARGO) build --release $(CARGO_FLAGS) --manifest-path cli/Cargo.toml

# `make install` after `make` does not run cargo again (so `sudo make install` needs no
# toolchain); it builds only what is missing.
$(LIB_SO) $(LIB_A):
	$(CARGO) build --release $(CARGO_FLAGS)

$(HEADER): | $(LIB_SO)

$(CLI_BIN):
	$(CARGO) build --release $(CARGO_FLAGS) --manifest-path cli/Cargo.toml

# bitcaskd links target/release/libbitcask.a statically (bindings/go's default), so the
# installed binary needs no libbitcask.so at run time.
server: | $(LIB_A)
	cd server && $(GO) build -o ../$(SERVER_BIN) .

$(SERVER_BIN): | $(LIB_A)
	cd server && $(GO) build -o ../$(SERVER_BIN) .

# Regenerated on every make and install (cheap), because PREFIX and LIBDIR go into it.
.PHONY: $(PC)
$(PC): bitcask.pc.in Cargo.toml
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' $< > $@

install: $(LIB_SO) $(LIB_A) $(HEADER) $(CLI_BIN) $(SERVER_BIN) $(PC)
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGCONFIGDIR)
	$(INSTALL) -m 0755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/$(REALNAME)
	ln -sf $(REALNAME) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(REALNAME) $(DESTDIR)$(LIBDIR)/libbitcask.so
	$(INSTALL) -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/libbitcask.a
	$(INSTALL) -m 0644 $(HEADER) $(DESTDIR)$(INCLUDEDIR)/bitcask.h
	$(INSTALL) -m 0644 $(PC) $(DESTDIR)$(PKGCONFIGDIR)/bitcask.pc
	$(INSTALL) -m 0755 $(CLI_BIN) $(DESTDIR)$(BINDIR)/bitcask
	$(INSTALL) -m 0755 $(SERVER_BIN) $(DESTDIR)$(BINDIR)/bitcaskd
ifneq ($(strip $(STRIP)),)
	$(STRIP) --strip-unneeded $(DESTDIR)$(LIBDIR)/$(REALNAME) $(DESTDIR)$(BINDIR)/bitcask \
	    $(DESTDIR)$(BINDIR)/bitcaskd
	$(STRIP) --strip-debug $(DESTDIR)$(LIBDIR)/libbitcask.a
endif

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/$(REALNAME) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	      $(DESTDIR)$(LIBDIR)/libbitcask.so $(DESTDIR)$(LIBDIR)/libbitcask.a \
	      $(DESTDIR)$(INCLUDEDIR)/bitcask.h $(DESTDIR)$(PKGCONFIGDIR)/bitcask.pc \
	      $(DESTDIR)$(BINDIR)/bitcask $(DESTDIR)$(BINDIR)/bitcaskd

test-install:
	bash tests/install.sh

version:
	@echo $(VERSION)

clean:
	$(CARGO) clean
	$(CARGO) clean --manifest-path cli/Cargo.toml
