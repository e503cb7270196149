#!/usr/bin/env bash
# bench/python/run.sh — Python profiling cost per mode (pyperf vs pyspy), optimized build.
set -eu
cd "$(dirname "$0")/../.."
B=${B:-build}
make -s B="$B" "$B/fleetprof-agent"
/usr/bin/python3 bench/python/bench.py "$B"
