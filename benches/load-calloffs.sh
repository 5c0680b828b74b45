#!/usr/bin/env bash
# Load test of call-offs (POST /vertraege/<id>/abrufe, the buyer's order form) against the release
# server on loopback, on SQLite and PostgreSQL, with the bare-transaction baseline of the same run.
#
# Per backend:
#   1. fresh demo database (serve --demo), the first contract's maxima lifted (examples/calloff_load.rs)
#   2. baseline: the same guarded UPDATE + INSERT in a loop (min), and every write a call-off makes
#      (full), through the app's pool and write_tx; on PostgreSQL also pgbench with the same statements
#      and calloff::place itself in a loop in process (the service without HTTP, session and page)
#   3. closed loop: oha, C connections for DUR seconds -> maximum call-off throughput
#   4. fixed rate (oha -q with latency correction, i.e. without coordinated omission) at 70 % of the
#      maximum call-off throughput of step 3 and at the fixed RATES -> p50/p99 per rate
#   5. breach check: only 300 units left, 1000 call-offs with 32 connections -> exactly 300 placed,
#      running total = maximum, stored lines = running total; server log free of "database is locked"
#      and of 500s
#
# Needs: oha (cargo install oha --locked), jq, curl; pgbench and psql for PostgreSQL.
# Usage: benches/load-calloffs.sh [sqlite|postgres|both]      (default: both)
#   env: DUR=10 (seconds per run), C=16 (connections, closed loop), RATES="2000 1000 500 250",
#        POOL=8 (BUENDEL_POOL_SIZE), PG_URL=postgres://postgres@127.0.0.1:5432/test,
#        PERF=1 (perf profile of the server during the closed-loop run, report in PERF_OUT=/tmp)
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-both}
DUR=${DUR:-10}
C=${C:-16}
RATES=${RATES:-"2000 1000 500 250"}
POOL=${POOL:-8}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
PORT=${PORT:-8078}
for tool in oha jq curl; do
  command -v $tool >/dev/null || { echo "$tool fehlt (oha: cargo install oha --locked; jq/curl: apt-get install)" >&2; exit 1; }
done
cargo build --release -q --bin buendel --example calloff_load
helper=./target/release/examples/calloff_load
work=$(mktemp -d)
server=
schema=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  [ -n "$schema" ] && psql -q "$PG_URL" -c "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
base="http://127.0.0.1:$PORT"

# oha's JSON summary as one line: requests/s, p50, p99 (ms), status counts, errors
summary() {
  jq -r '"\(.summary.requestsPerSec | floor) req/s  p50 \(.latencyPercentiles.p50 * 1000 * 100 | round / 100) ms  p99 \(.latencyPercentiles.p99 * 1000 * 100 | round / 100) ms  max \(.summary.slowest * 1000 * 100 | round / 100) ms  status \(.statusCodeDistribution | tostring)  errors \(.errorDistribution | tostring)"' "$1"
}

run_backend() {
  local name=$1 url=$2
  echo
  echo "=================== $name  ($(date -u +%FT%TZ), $(nproc) CPUs, pool $POOL)"
  BUENDEL_SECRET_KEY=$(openssl rand -base64 64 | tr -d '\n') BUENDEL_DATA_DIR="$work/data-$name" \
    BUENDEL_MAIL_TRANSPORT=stub BUENDEL_POOL_SIZE=$POOL DATABASE_URL="$url" BUENDEL_PORT=$PORT \
    ./target/release/buendel serve --demo > "$work/server-$name.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.2; done
  curl -sf "$base/health" >/dev/null || { cat "$work/server-$name.log"; exit 1; }
  eval "$($helper prepare "$url")"

  # A buyer logs in; the order form's CSRF token and the cookies go into every request.
  local jar="$work/jar-$name" token cookies csrf body
  token=$(curl -s -c "$jar" -b "$jar" "$base/anmelden" | grep -o 'name="_csrf" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"//')
  curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "email=$BUYER" \
    --data-urlencode "password=Demo-Passwort-2026" --data-urlencode "_csrf=$token" "$base/anmelden"
  csrf=$(curl -s -c "$jar" -b "$jar" "$base/vertraege/$CONTRACT" | grep -o 'name="_csrf" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"//')
  cookies=$(awk '/buendel_/{printf "%s=%s; ", $6, $7}' "$jar")
  body="q_$POSITION=1&delivery_address=Rathaus%2C+Marktplatz+1%2C+64283+Darmstadt&cost_centre=4711&_csrf=$csrf"
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookies" -H 'Content-Type: application/x-www-form-urlencoded' \
    --data "$body" "$base/vertraege/$CONTRACT/abrufe")
  [ "$code" = 303 ] || { echo "a single call-off answered $code, not 303" >&2; tail -20 "$work/server-$name.log"; exit 1; }
  echo "contract $CONTRACT, position $POSITION, buyer $BUYER; baseline on contract $BASE_CONTRACT"
  local -a load=(oha --no-tui --redirect 0 --output-format json -m POST -T application/x-www-form-urlencoded
    -H "Cookie: $cookies" -d "$body" "$base/vertraege/$CONTRACT/abrufe")

  echo "--- baseline (bare transaction in a loop, same database, ${DUR}s each)"
  local b1
  b1=$($helper baseline "$url" min 1 "$DUR"); echo "$b1  [mode threads ops ops/s]"
  $helper baseline "$url" min 4 "$DUR"
  local b2
  b2=$($helper baseline "$url" full 1 "$DUR"); echo "$b2"
  local full_rate=${b2##* }
  if [ "$name" = postgres ]; then
    $helper baseline "$url" full 4 "$DUR"
    cat > "$work/pgbench-min.sql" <<SQL
BEGIN;
UPDATE contract_positions SET called_quantity = called_quantity + 1000 WHERE contract_id = $BASE_CONTRACT AND position_id = $BASE_POSITION AND called_quantity + 1000 <= max_quantity;
INSERT INTO calloffs (number, contract_id, member_id, ordered_by, status, delivery_address, cost_centre, note, total, created_at, document, document_sha256) VALUES ('pgb-' || :client_id || '-' || md5(random()::text || clock_timestamp()::text), $BASE_CONTRACT, $BASE_MEMBER, $BASE_USER, 'placed', 'Rathaus, Marktplatz 1, 64283 Darmstadt', '4711', '', $BASE_TOTAL, now(), '', '');
COMMIT;
SQL
    # The call-off's own transaction, statement for statement as calloff::place sends it.
    cat > "$work/pgbench-full.sql" <<SQL
BEGIN;
SELECT nextval(pg_get_serial_sequence('calloffs', 'id')) AS id \\gset
INSERT INTO calloffs (id, number, contract_id, member_id, ordered_by, status, delivery_address, cost_centre, leitweg_id, note, total, created_at, document, document_sha256) VALUES (:id, 'PGB-' || :id, $BASE_CONTRACT, $BASE_MEMBER, $BASE_USER, 'placed', 'Rathaus, Marktplatz 1, 64283 Darmstadt', '4711', NULL, '', $BASE_TOTAL, now(), repeat('x', $DOCUMENT_BYTES), repeat('0', 64));
INSERT INTO calloff_lines (calloff_id, position_id, quantity, unit_price, line_total, reference_price, reference_source, saving, member_id, contract_id, order_year) VALUES (:id, $BASE_POSITION, 1000, $BASE_PRICE, $BASE_TOTAL, $BASE_PRICE + 10000, 'estimate', 100, $BASE_MEMBER, $BASE_CONTRACT, CAST(EXTRACT(YEAR FROM now() AT TIME ZONE 'Europe/Berlin') AS INTEGER));
INSERT INTO audit_events (stream, seq, actor_user_id, actor_label, action, object_type, object_id, occurred_at, details, prev_hash, hash) VALUES ('pgbench:' || :id, 1, $BASE_USER, 'Baseline', 'calloff.placed', 'calloff', :id, now(), '$DETAILS', repeat('0', 64), repeat('1', 64));
INSERT INTO outbox (recipient, subject, body_text, body_html, status, attempts, next_attempt_at, created_at) VALUES ('vendor@baseline.example', 'Neuer Abruf', repeat('x', $MAIL_TEXT_BYTES), repeat('x', $MAIL_HTML_BYTES), 'pending', 0, now(), now());
UPDATE contract_positions SET called_quantity = called_quantity + 1000 WHERE contract_id = $BASE_CONTRACT AND position_id = $BASE_POSITION AND called_quantity + 1000 <= max_quantity;
UPDATE contracts SET called_value = called_value + $BASE_TOTAL WHERE id = $BASE_CONTRACT AND called_value + $BASE_TOTAL <= max_value RETURNING called_value, max_value, alert_utilisation_at;
UPDATE contract_members SET called_value = called_value + $BASE_TOTAL WHERE contract_id = $BASE_CONTRACT AND member_id = $BASE_MEMBER AND (quota_value IS NULL OR called_value + $BASE_TOTAL <= quota_value);
COMMIT;
SQL
    for script in min full; do
      for clients in 1 8; do
        echo -n "pgbench $script -c $clients: "
        PGOPTIONS="-csearch_path=$schema" pgbench -n -f "$work/pgbench-$script.sql" -c $clients -j $clients -T "$DUR" "$PG_URL" 2>&1 \
          | grep -E "^tps|latency average" | tr '\n' ' '; echo
      done
    done
  fi
  local base_rate=${b1##* }
  echo "--- calloff::place in process (no HTTP), same database, ${DUR}s each"
  $helper place "$url" "$BUYER" 1 "$DUR"
  $helper place "$url" "$BUYER" 4 "$DUR"

  echo "--- warm-up"
  "${load[@]}" -n 500 -c 8 > "$work/warm.json"; summary "$work/warm.json"

  echo "--- closed loop: GET /health (the HTTP floor), $C connections, ${DUR}s"
  oha --no-tui --output-format json -z "${DUR}s" -c "$C" "$base/health" > "$work/health.json"; summary "$work/health.json"
  echo "--- closed loop: maximum call-off throughput, $C connections, ${DUR}s"
  local perf_pid=
  if [ "${PERF:-0}" = 1 ] && command -v perf >/dev/null; then
    perf record -F 999 -g -p "$server" -o "$work/perf-$name.data" -- sleep "$DUR" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  "${load[@]}" -z "${DUR}s" -c "$C" > "$work/closed.json"; summary "$work/closed.json"
  if [ -n "$perf_pid" ]; then
    wait "$perf_pid" || true
    local out="${PERF_OUT:-/tmp}/perf-calloffs-$name.txt"
    { echo "## self time by symbol"
      perf report -i "$work/perf-$name.data" --no-children --sort dso,sym --percent-limit 1 --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -40
      echo "## inclusive time of the server's own functions"
      perf report -i "$work/perf-$name.data" --children --sort sym --percent-limit 0.5 --stdio -g none 2>/dev/null \
        | grep -E '^ +[0-9]' | grep -E 'buendel::|tera::|diesel::|rocket::|hyper::|sqlite3_step|pq|sha2|mi_|memmove' | head -60
    } > "$out" || true
    echo "(perf report: $out)"
  fi

  local max_rate
  max_rate=$(jq '.summary.requestsPerSec | floor' "$work/closed.json")
  echo "ratio to the bare transactions: $(awk -v a="$max_rate" -v b="$base_rate" -v f="$full_rate" \
    'BEGIN { printf "%.2f x min (%s/s), %.2f x full (%s/s)", a / b, b, a / f, f }')"

  echo "--- fixed rate (latency-corrected), ${DUR}s each"
  local target=$(( max_rate * 7 / 10 ))
  for rate in $target $RATES; do
    "${load[@]}" -z "${DUR}s" -c 64 -q "$rate" --latency-correction > "$work/rate.json"
    echo "rate $rate/s$([ "$rate" = "$target" ] && echo " (70 % of the maximum call-off throughput $max_rate/s)"): $(summary "$work/rate.json")"
  done

  echo "--- breach check: 300 units left, 1000 call-offs, 32 connections"
  # Requests a saturated run gave up on may still be running on the server: wait until it is idle.
  local before after
  before=$($helper check "$url" "$CONTRACT" || true); sleep 2; after=$($helper check "$url" "$CONTRACT" || true)
  while [ "$before" != "$after" ]; do before=$after; sleep 2; after=$($helper check "$url" "$CONTRACT" || true); done
  $helper cap "$url" "$CONTRACT" 300
  "${load[@]}" -n 1000 -c 32 > "$work/breach.json"; summary "$work/breach.json"
  local placed
  placed=$(jq '.statusCodeDistribution."303" // 0' "$work/breach.json")
  echo "placed $placed (expected 300)"
  $helper check "$url" "$CONTRACT"
  kill "$server"; wait "$server" 2>/dev/null || true; server=
  local locked errors
  locked=$(grep -c "database is locked" "$work/server-$name.log" || true)
  errors=$(grep -ciE "error|panic" "$work/server-$name.log" || true)
  echo "server log: 'database is locked' $locked times, error/panic lines $errors"
  grep -iE "error|panic" "$work/server-$name.log" | sort | uniq -c | sort -rn | head -5 || true
  [ "$placed" = 300 ] && [ "$locked" = 0 ] || { echo "FAILED on $name" >&2; tail -30 "$work/server-$name.log" >&2; return 1; }
}

status=0
if [ "$which" != postgres ]; then
  run_backend sqlite "$work/data-sqlite/buendel.db" || status=1
fi
if [ "$which" != sqlite ]; then
  if pg_isready -q -d "$PG_URL" 2>/dev/null; then
    schema=load_$(openssl rand -hex 6)
    psql -q "$PG_URL" -c "CREATE SCHEMA $schema"
    sep='?'; case $PG_URL in *\?*) sep='&';; esac
    run_backend postgres "${PG_URL}${sep}options=-csearch_path%3D$schema" || status=1
  else
    echo "PostgreSQL unter $PG_URL nicht erreichbar; nur SQLite gemessen." >&2
  fi
fi
exit $status
