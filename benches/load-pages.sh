#!/usr/bin/env bash
# Load test of the release server on loopback: /health and every main page with a logged-in
# session (start page per role, a demand call, a tender, an evaluation, the contract register, a
# contract's call-off list, the dashboard, the catalogue, the audit log), wrk with 2 threads and
# 32 connections for $DUR seconds each (default 10). Needs wrk (apt-get install wrk).
#
# Usage: benches/load-pages.sh [demo|kdb] [sqlite|postgres]
#   demo: `serve --demo`; kdb: `buendel seed --scale kdb` first (generation time is printed).
#   postgres: a fresh database on $PG (default postgres://postgres@127.0.0.1:5432), dropped after.
#   BIN=path/to/buendel measures that binary instead of building the release one (e.g. a copy
#   built from an earlier commit, for a before/after table on the same data).
# Prints one line per page: page, role, req/s, p50, p99, non-2xx answers.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-demo}
backend=${2:-sqlite}
DUR=${DUR:-10}
PORT=${PORT:-8077}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
command -v wrk >/dev/null || { echo "wrk fehlt: apt-get install wrk" >&2; exit 1; }
if [ -z "${BIN:-}" ]; then
  cargo build --release -q
  BIN=./target/release/buendel
fi
work=$(mktemp -d)
server=
pgdb=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  [ -n "$pgdb" ] && psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $pgdb" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
if [ "$backend" = postgres ]; then
  pgdb="buendel_load_$$"
  psql -q "$PG/postgres" -c "CREATE DATABASE $pgdb" >/dev/null
  url="$PG/$pgdb"
else
  url="$work/data/buendel.db"
  mkdir -p "$work/data"
fi
export BUENDEL_SECRET_KEY=$(openssl rand -base64 64 | tr -d '\n') BUENDEL_DATA_DIR="$work/data" \
  DATABASE_URL="$url" BUENDEL_PORT=$PORT
base=http://127.0.0.1:$PORT
if [ "$data" = kdb ]; then
  /usr/bin/time -f "Erzeugung kdb ($backend): %e s, %M KB" "$BIN" seed --scale kdb
  "$BIN" serve > "$work/server.log" 2>&1 &
else
  "$BIN" serve --demo > "$work/server.log" 2>&1 &
fi
server=$!
for _ in $(seq 1 300); do curl -sf $base/health >/dev/null && break; sleep 0.2; done

# Logs in and prints the session's Cookie header value.
login() {
  local jar="$work/jar-$1" token
  token=$(curl -s -c "$jar" -b "$jar" $base/anmelden | grep -o 'name="_csrf" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"//')
  curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "email=$1" \
    --data-urlencode "password=Demo-Passwort-2026" --data-urlencode "_csrf=$token" $base/anmelden
  awk '/buendel_/{printf "%s=%s; ", $6, $7}' "$jar"
}
buyer=$(login einkauf@darmstadt.example)
# Kassel's buyer orders from the demo's software contract: its call-off list, register and
# dashboard are measured.
orderer=$(login einkauf@kassel.example)
officer=$(login vergabe@buendel.example)
board=$(login vorstand@buendel.example)
vendor=$(login vertrieb@mainbogen-systemhaus.example)

# The demo's objects, found by their links; they exist with the same ids in both data sets.
first_link() { curl -s -H "Cookie: $1" "$base$2" | grep -o "href=\"$3/[0-9]*\"" | grep -o '[0-9]*' | sort -n | head -1; }
call=$(first_link "$officer" /bedarf /bedarf)
# Kassel's first demo contract (the register lists the newest first, generated ones at scale).
contract=
for k in $(seq 1 20); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $orderer" $base/vertraege/$k)" = 200 ]; then
    contract=$k
    break
  fi
done
tender=
for t in $(curl -s -H "Cookie: $officer" $base/ausschreibungen | grep -o 'href="/ausschreibungen/[0-9]*"' | grep -o '[0-9]*' | sort -n); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $officer" $base/ausschreibungen/$t/wertung)" = 200 ]; then
    tender=$t
    break
  fi
done

measure() { # name role cookie path
  local code out
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $3" "$base$4")
  out=$(wrk -t2 -c32 -d"${DUR}s" --latency -H "Cookie: $3" "$base$4")
  printf '%-28s %-8s %10s %10s %10s %8s  (erste Antwort %s)\n' "$1" "$2" \
    "$(echo "$out" | awk '/Requests\/sec/{print $2}')" \
    "$(echo "$out" | awk '$1=="50%"{print $2}')" \
    "$(echo "$out" | awk '$1=="99%"{print $2}')" \
    "$(echo "$out" | awk '/Non-2xx/{print $NF}' | grep . || echo 0)" "$code"
}
echo "== $data auf $backend, wrk -t2 -c32 -d${DUR}s (Bedarf $call, Ausschreibung $tender, Vertrag $contract)"
printf '%-28s %-8s %10s %10s %10s %8s\n' Seite Rolle "req/s" p50 p99 "non-2xx"
measure /health             -       ""         /health
measure "/ (Start)"         buyer   "$buyer"   /
measure "/ (Start)"         officer "$officer" /
measure "/ (Start)"         board   "$board"   /
measure "/ (Start)"         vendor  "$vendor"  /
measure "/bedarf/$call"     officer "$officer" "/bedarf/$call"
measure "/bedarf/$call"     buyer   "$buyer"   "/bedarf/$call"
measure "/ausschreibungen/$tender" officer "$officer" "/ausschreibungen/$tender"
measure "/ausschreibungen/$tender/wertung" officer "$officer" "/ausschreibungen/$tender/wertung"
measure /vertraege          officer "$officer" /vertraege
# The register and the dashboard as Kassel's buyer, whose member has contracts and call-offs in
# both data sets (Darmstadt's are empty on the demo, so the two would not compare).
measure /vertraege          buyer   "$orderer" /vertraege
measure "/vertraege/$contract" buyer "$orderer" "/vertraege/$contract"
measure /auswertung         board   "$board"   /auswertung
measure /auswertung         buyer   "$orderer" /auswertung
measure /katalog            officer "$officer" /katalog
measure /protokoll          board   "$board"   /protokoll
# wrk closing its connections at the end is logged as a warning (broken pipe, reset): not an error.
grep -E ' (ERROR|error)|panicked' "$work/server.log" | grep -v -E 'Connection failed|Broken pipe|Connection reset' | head -5 || true
