#!/bin/sh
# Builds the ground-truth workloads into $1: no sanitizers, frame pointers kept, so the profiler
# under test sees ordinary production-like binaries. Variants (PIE, stripped, shared library)
# are produced here too; see each workload's header comment for what it proves.
set -e
out=$1
mkdir -p "$out"
for src in $(dirname "$0")/*.c; do
	[ -f "$src" ] || continue
	name=$(basename "$src" .c)
	cc -O1 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls -fno-inline -o "$out/$name" "$src" -lm -lpthread
done
