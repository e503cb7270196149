#!/usr/bin/env bash
# bench/agent/run.sh — agent CPU and peak RSS vs perf record + perf script, system-wide with 40
# busy processes at 11 and 99 Hz (20 s each by default). Not a test: prints numbers and writes
# the "Agent" section of bench/RESULTS.md. Needs root and a non-sanitized build.
#   FLEETPROF_BUILD (default build)  BENCH_DURATION (default 20)
set -eu
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 bench/agent/bench.py "${FLEETPROF_BUILD:-build}" "${BENCH_DURATION:-20}"
