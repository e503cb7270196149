#!/usr/bin/env bash
# bench/web/run.sh — the dashboard's flame graph (web/js/flame.js, the renderer the agent's HTML
# file embeds too) with 100,000 distinct stacks in Debian's Chromium: parse + build + lay out +
# draw + paint, zooms, search. Writes the "Dashboard" section of bench/RESULTS.md.
#   BENCH_RUNS=N      full renders to take the median of (default 5)
#   BENCH_NO_WRITE=1  print the results without touching bench/RESULTS.md
set -euo pipefail
cd "$(dirname "$0")/../.."
sh tests/browser/setup.sh
out=()
[ "${BENCH_NO_WRITE:-0}" = 1 ] || out=(--results bench/RESULTS.md)
exec node bench/web/bench.mjs --runs "${BENCH_RUNS:-5}" "${out[@]}"
