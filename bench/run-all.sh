#!/usr/bin/env bash
# bench/run-all.sh — runs every bench/*/run.sh it finds, in name order, and reports which failed.
# Benchmarks are not tests: they print numbers and record them in bench/RESULTS.md.
set -u
cd "$(dirname "$0")/.."
failed=()
for r in bench/*/run.sh; do
	[ -f "$r" ] || continue
	echo "=== $r"
	bash "$r" || failed+=("$r")
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "failed: ${failed[*]}"
	exit 1
fi
echo "all benchmarks ran"
