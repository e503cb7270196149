#!/bin/sh
# packaging/build-deb.sh [OUTDIR] — what `make deb` runs: builds the fleetprof-server and
# fleetprof-agent packages into OUTDIR (default build/deb) with debhelper, from
# packaging/debian, in a fresh copy of the tree (OUTDIR/fleetprof-VERSION, removed afterwards):
# dpkg-buildpackage writes next to the source directory and cleans it, and neither should touch
# the checkout. The copy holds the files git knows (tracked, and new ones not ignored), or, out
# of a git checkout, everything but build/ and data/.
#
#   DEB_VERSION   package version for this build (default: the top of debian/changelog); an
#                 entry is added to the copy's changelog, e.g. for an upgrade test
#   DEB_BUILD_OPTIONS  passed on (default: parallel=<CPUs>)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-build/deb}
cd "$root"
mkdir -p "$out"
out=$(cd "$out" && pwd)

die() { echo "build-deb: $*" >&2; exit 1; }

# One version for both programs, and the changelog must name it.
version=$(grep -rhs --include='*.h' 'define FLEETPROF_VERSION ' server agent |
	sed 's/.*"\(.*\)".*/\1/' | sort -u)
[ -n "$version" ] || die "no FLEETPROF_VERSION in server/ or agent/"
[ "$(echo "$version" | wc -l)" -eq 1 ] || die "server and agent disagree on the version: $version"
top=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
case "$top" in
"$version" | "$version"[+~-]*) ;;
*) die "packaging/debian/changelog starts at $top, the programs say $version: add an entry" ;;
esac

src=$out/fleetprof-$version
rm -rf "$src"
rm -f "$out"/fleetprof*.deb "$out"/fleetprof*.ddeb "$out"/fleetprof*.changes "$out"/fleetprof*.buildinfo
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf - | tar -xf - -C "$src"
else
	tar --exclude=./build --exclude=./data --exclude=node_modules -cf - . | tar -xf - -C "$src"
fi
rm -rf "$src/debian"
cp -a packaging/debian "$src/debian"

if [ -n "${DEB_VERSION:-}" ] && [ "$DEB_VERSION" != "$top" ]; then
	{
		printf 'fleetprof (%s) unstable; urgency=medium\n\n' "$DEB_VERSION"
		printf '  * Build of %s.\n\n' "$(git describe --always --dirty 2>/dev/null || echo 'this tree')"
		printf ' -- %s  %s\n\n' "$(dpkg-parsechangelog -l packaging/debian/changelog -S Maintainer)" \
			"$(date -R)"
		cat packaging/debian/changelog
	} >"$src/debian/changelog"
fi

export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=$(nproc)}"
(cd "$src" && dpkg-buildpackage -b -us -uc) || die "dpkg-buildpackage failed (see above)"
rm -rf "$src"
ls -1 "$out"/*.deb
