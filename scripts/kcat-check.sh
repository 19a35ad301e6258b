#!/usr/bin/env bash
# Acceptance check by hand: `streamcube produce` writes N events to a local broker and kcat (Debian
# package kcat) reads every one back. Usage: scripts/kcat-check.sh [events]   (default 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-100000}
command -v kcat >/dev/null || { echo "kcat is missing: apt-get install kcat" >&2; exit 1; }
dir=$(mktemp -d)
trap 'node bin/streamcube.js kafka stop --data-dir "$dir" >/dev/null; rm -rf "$dir"' EXIT
node bin/streamcube.js kafka start --data-dir "$dir" | tail -1
brokers=127.0.0.1:$(node -e "console.log(JSON.parse(require('fs').readFileSync('$dir/broker.json','utf8')).port)")
prefix="kcat$RANDOM."
KAFKA_BROKERS=$brokers node bin/streamcube.js produce --events "$events" --topic-prefix "$prefix" --encoding "${ENCODING:-json}" 2>/dev/null
total=0
for t in behaviour orders inventory; do
  n=$(kcat -b "$brokers" -C -t "$prefix$t" -e -q -f '%k\n' | wc -l)
  echo "kcat read $n records from $prefix$t"
  total=$((total + n))
done
echo "kcat read $total of $events records"
[ "$total" -eq "$events" ]
