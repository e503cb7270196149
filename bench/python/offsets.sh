#!/bin/sh
# Prints the CPython struct offsets agent/runtime/python/py_offsets.c tables hold, with offsetof() against each
# installed version's own internal headers (pyenv builds ship Include/internal).
set -e
dir=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for inc in /root/.pyenv/versions/3.*/include/python3.*; do
	echo "== $inc"
	cc -o "$tmp/off" "$dir/offsets.c" -I"$inc" 2>/dev/null && "$tmp/off" || echo "(no build)"
done
