#!/bin/sh
# tests/browser/setup.sh — make the browser tests runnable; idempotent and quiet when done already.
#   - Debian's Chromium at /usr/bin/chromium (apt-get, only when missing; never a downloaded browser)
#   - playwright-core at the version pinned in package.json/package-lock.json (npm ci, only when
#     node_modules is missing or holds another version)
set -eu
cd "$(dirname "$0")"

if [ ! -x /usr/bin/chromium ]; then
	echo "setup: installing Debian's chromium"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

want=$(sed -n 's/.*"playwright-core": *"\([^"]*\)".*/\1/p' package.json | head -n 1)
have=""
if [ -f node_modules/playwright-core/package.json ]; then
	have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' node_modules/playwright-core/package.json | head -n 1)
fi
if [ "$have" != "$want" ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	echo "setup: npm ci (playwright-core $want, had '${have:-none}')"
	npm ci --no-audit --no-fund --loglevel=error
fi
