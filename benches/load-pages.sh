#!/usr/bin/env bash
# Load test of the release server on loopback: /health and a logged-in buyer's start page,
# wrk with 2 threads and 32 connections for 10 s each. Needs wrk (apt-get install wrk).
# Usage: benches/load-pages.sh   (builds the release binary, uses a fresh demo database)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk fehlt: apt-get install wrk" >&2; exit 1; }
cargo build --release -q
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
BUENDEL_SECRET_KEY=$(openssl rand -base64 64 | tr -d '\n') BUENDEL_DATA_DIR="$work/data" \
  DATABASE_URL="${DATABASE_URL:-$work/data/buendel.db}" BUENDEL_PORT=8077 \
  ./target/release/buendel serve --demo > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 50); do curl -sf http://127.0.0.1:8077/health >/dev/null && break; sleep 0.2; done
jar="$work/jar"
token=$(curl -s -c "$jar" -b "$jar" http://127.0.0.1:8077/anmelden | grep -o 'name="_csrf" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"//')
curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "email=einkauf@darmstadt.example" \
  --data-urlencode "password=Demo-Passwort-2026" --data-urlencode "_csrf=$token" http://127.0.0.1:8077/anmelden
cookies=$(awk '/buendel_/{printf "%s=%s; ", $6, $7}' "$jar")
test "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookies" http://127.0.0.1:8077/)" = 200
echo "== /health";            wrk -t2 -c32 -d10s http://127.0.0.1:8077/health | grep -E "Latency|Requests/sec"
echo "== buyer start page";   wrk -t2 -c32 -d10s -H "Cookie: $cookies" http://127.0.0.1:8077/ | grep -E "Latency|Requests/sec|Non-2xx"
