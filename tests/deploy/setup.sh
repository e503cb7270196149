#!/bin/sh
# tests/deploy/setup.sh — the npm packages validate.mjs uses, at the versions pinned in
# package.json/package-lock.json (npm ci, only when node_modules is missing or stale); idempotent
# and quiet when done already. `make deps` runs it.
set -eu
cd "$(dirname "$0")"
stale=0
for p in kubernetes-models @kubernetes/client-node yaml; do
	want=$(sed -n "s|.*\"$p\": *\"\\([^\"]*\\)\".*|\\1|p" package.json | head -n 1)
	have=""
	if [ -f "node_modules/$p/package.json" ]; then
		have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "node_modules/$p/package.json" | head -n 1)
	fi
	[ "$have" = "$want" ] || stale=1
done
if [ "$stale" = 1 ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	echo "setup: npm ci (Kubernetes schemas for tests/deploy/validate.mjs)"
	npm ci --no-audit --no-fund --loglevel=error
fi
