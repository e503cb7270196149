#!/usr/bin/env bash
# bench/server/run.sh — server benchmarks: heartbeats (wrk), ingest, 24 h flame graph query.
# Builds the optimized server (no sanitizers) into $FLEETPROF_BUILD (default build) unless it is
# there, runs bench/server/bench.py and writes the "Server" section of bench/RESULTS.md.
#   FLEETPROF_BUILD   build directory (default build)
#   BENCH_ARGS        extra bench.py arguments, e.g. "--only hb" or "--query-stacks 500"
#   BENCH_NO_WRITE=1  print the results without touching bench/RESULTS.md
set -euo pipefail
cd "$(dirname "$0")/../.."
export FLEETPROF_BUILD=${FLEETPROF_BUILD:-build}
export FLEETPROF_ROOT=$PWD
command -v wrk >/dev/null || { echo "wrk is missing: make deps (Debian package wrk)"; exit 1; }
make --no-print-directory B="$FLEETPROF_BUILD" "$FLEETPROF_BUILD/fleetprof-server"
out=()
[ "${BENCH_NO_WRITE:-0}" = 1 ] || out=(--results bench/RESULTS.md)
# shellcheck disable=SC2086
exec /usr/bin/python3 bench/server/bench.py "${out[@]}" ${BENCH_ARGS:-}
