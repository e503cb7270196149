#!/usr/bin/env bash
# bench/sym/run.sh — symbolizer lookups/s, cold and warm, on libc and a big C++ library
# (libLLVM, ~110 MB, .dynsym only), side by side with addr2line (binutils) naming the same
# addresses. Builds the bench from the symbolizer sources with -O2 (no sanitizers).
#   bench/sym/run.sh [LIB...]     default LIB: the largest libLLVM-*.so.1 found
set -eu
cd "$(dirname "$0")/../.."
out=$(mktemp -d /tmp/fp-bench-sym.XXXXXX)
trap 'rm -rf "$out"' EXIT
libs=("$@")
if [ ${#libs[@]} -eq 0 ]; then
	big=$(ls -S /usr/lib/*/libLLVM-*.so.1 /usr/lib/llvm-*/lib/libLLVM-*.so.1 2>/dev/null | head -1 || true)
	[ -n "$big" ] && libs=("$big")
fi
cc -std=c11 -D_GNU_SOURCE -O2 -g -Iagent -Ishared -o "$out/bench_sym" bench/sym/bench_sym.c \
	agent/sym/*.c shared/log.c shared/timeutil.c shared/collapsed.c \
	shared/buf.c -lelf -lstdc++ -ldl
echo "== fleetprof symbolizer (200000 random addresses per object, this process) =="
BENCH_OUT=$out "$out/bench_sym" "${libs[@]}"
echo "== peer: addr2line -f -C (20000 of the same addresses, one process per object) =="
if command -v addr2line >/dev/null; then
	for f in "$out"/*.addrs; do
		lib=$(basename "$f" .addrs)
		path=$(ls /usr/lib/x86_64-linux-gnu/"$lib" /lib/x86_64-linux-gnu/"$lib" "${libs[@]}" 2>/dev/null \
			| grep "/$lib\$" | head -1)
		n=$(wc -l <"$f")
		s=$(date +%s.%N)
		addr2line -f -C -e "$path" <"$f" >/dev/null
		e=$(date +%s.%N)
		awk -v n="$n" -v s="$s" -v e="$e" -v l="$lib" \
			'BEGIN { printf "%-22s %d addresses in %.2f s: %.0f lookups/s (cold+warm)\n", l, n, e-s, n/(e-s) }'
	done
else
	echo "addr2line not installed (binutils)"
fi
