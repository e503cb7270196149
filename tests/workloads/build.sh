#!/bin/sh
# Builds the ground-truth workloads into $1: no sanitizers, frame pointers kept (leaf functions
# too), so the profiler under test sees ordinary production-like binaries. Variants of split.c:
#   split        non-PIE executable
#   split_pie    PIE executable
#   split_lib    hot functions in libsplithot.so (next to it, found through $ORIGIN rpath)
#   split_strip  PIE, stripped: .symtab gone, names only in .dynsym (-rdynamic exports them)
# Every other tests/workloads/*.c is built as one plain executable of the same name.
set -e
out=$1
src_dir=$(dirname "$0")
mkdir -p "$out"
CFLAGS="-O1 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -fno-optimize-sibling-calls -fno-inline"
for src in "$src_dir"/*.c; do
	[ -f "$src" ] || continue
	name=$(basename "$src" .c)
	[ "$name" = split ] && continue
	cc $CFLAGS -o "$out/$name" "$src" -lm -lpthread
done
if [ -f "$src_dir/split.c" ]; then
	cc $CFLAGS -no-pie -o "$out/split" "$src_dir/split.c" -lpthread
	cc $CFLAGS -fPIE -pie -o "$out/split_pie" "$src_dir/split.c" -lpthread
	cc $CFLAGS -fPIC -shared -o "$out/libsplithot.so" "$src_dir/lib/splithot.c"
	cc $CFLAGS -fPIE -pie -DSPLIT_LIB -o "$out/split_lib" "$src_dir/split.c" \
		-L"$out" -lsplithot -Wl,-rpath,'$ORIGIN' -lpthread
	cc $CFLAGS -fPIE -pie -rdynamic -o "$out/split_strip" "$src_dir/split.c" -lpthread
	strip --strip-all "$out/split_strip"
fi
