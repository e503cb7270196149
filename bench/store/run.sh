#!/usr/bin/env bash
# bench/store/run.sh — benchmark the store alone (no HTTP): heartbeats, 2,000-stack ingest, and
# the 24-hour flamegraph query over 10 hosts uploading every minute (14,400 profiles).
#
#   bench/store/run.sh [hosts minutes]     defaults 10 1440; e.g. `bench/store/run.sh 10 120`
#
# Builds an optimized (non-sanitizer) library set in build/bench-store, then the bench binary.
# The database lives in a temp dir that is removed at exit. Results: bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=build/bench-store
make -s B="$B" "$B/libserver.a" "$B/libshared.a"
cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Ishared -Iserver \
	bench/store/bench_store.c "$B/libserver.a" "$B/libshared.a" \
	-ljansson -lsqlite3 -luuid -lz -lpthread -lm -o "$B/bench_store"
dir=$(mktemp -d /tmp/fp-bench-store-XXXXXX)
trap 'rm -rf "$dir"' EXIT
FLEETPROF_ROOT=$PWD "$B/bench_store" "$dir" "$@"
du -sh "$dir" | sed 's/^/database size: /'
