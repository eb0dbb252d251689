# gfs2-fencing: build, man pages, install from source, packages.
#
#   make                  release binaries and man pages
#   make install          installs packaging/install.list under DESTDIR, with /usr as PREFIX
#                         (after make; it builds nothing)
#   make deb / make rpm   target/packages/*.deb, *.rpm (cargo-deb, cargo-generate-rpm:
#                         cargo install --locked cargo-deb@3.8.0 cargo-generate-rpm@0.21.1)
#
# packaging/install.list is the one list of what is installed; the packages are checked
# against it (crates/xtask/tests/install.rs, packaging/test-packages.sh).

PREFIX ?= /usr
DESTDIR ?=
CARGO ?= cargo
PACKAGES := target/packages
BINS := fence_gfs2_recorder fence_watcher gfs2-fencing

.PHONY: all build man install deb rpm clean-packages

all: build man

build:
	$(CARGO) build --release --locked -p fence-gfs2-recorder -p fence-watcher -p gfs2-fencing-ctl

# The pages, gzipped as both distributions ship them (gzip -n: no name or time stamp, so the
# packages are reproducible).
man:
	$(CARGO) run --quiet --locked -p xtask -- man target/man >/dev/null
	gzip -9nf target/man/*.5 target/man/*.8

# Every line of the list: mode, destination (/usr replaced by PREFIX), source, [config]. A
# configuration file that exists already is kept, as the packages keep it. The unit names the
# binaries by path, so it follows PREFIX. Pacemaker looks for fence agents only in /usr/sbin:
# with another PREFIX, link $(PREFIX)/sbin/fence_gfs2_recorder there.
# It builds nothing (run `make` first, as yourself: root often has no cargo).
install:
	@grep -v '^#' packaging/install.list | while read -r mode dest src flag; do \
		[ -n "$$mode" ] || continue; \
		[ -e "$$src" ] || { echo "$$src is missing: run make first" >&2; exit 1; }; \
		case "$$dest" in /usr/*) dest="$(PREFIX)$${dest#/usr}";; esac; \
		target="$(DESTDIR)$$dest"; \
		if [ "$$flag" = config ] && [ -e "$$target" ]; then \
			echo "kept $$target (exists)"; continue; \
		fi; \
		case "$$src" in target/release/*) strip=-s;; *) strip=;; esac; \
		install -D $$strip -m "$$mode" "$$src" "$$target" || exit 1; \
		case "$$dest" in *.service) sed -i "s|/usr/sbin/|$(PREFIX)/sbin/|g" "$$target";; esac; \
		echo "$$target"; \
	done

deb: all
	mkdir -p $(PACKAGES)
	$(CARGO) deb --locked -p gfs2-fencing-ctl --no-build --output $(PACKAGES)/

# cargo-generate-rpm packages what it is given: the binaries are stripped copies (cargo-deb
# strips its own).
rpm: all
	mkdir -p $(PACKAGES)/sbin
	for b in $(BINS); do install -s -m 0755 target/release/$$b $(PACKAGES)/sbin/$$b; done
	$(CARGO) generate-rpm -p crates/ctl -o $(PACKAGES)/

clean-packages:
	rm -rf $(PACKAGES) target/man
