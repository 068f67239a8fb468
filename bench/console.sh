#!/usr/bin/env bash
# Console pages at the demo's size on SQLite: `verdict seed --demo
# --simulate-users 10000` (with its daily snapshots), a pm session signed in
# through the login form, then wrk on every page (2 connections: people, not
# a load test), several runs; prints req/s, p50 and p99 latency per page and
# their medians.
#
# usage: bench/console.sh [runs=3] [duration=5s]
# needs: wrk (apt-get install wrk), curl, python3
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
duration=${2:-5s}
connections=2

cargo build --release -q --bin verdict
source bench/lib.sh

export VERDICT_JWT_SECRET=bench-secret DATABASE_URL="sqlite://$tmp/console.db" RUST_LOG=warn
target/release/verdict seed --demo --simulate-users 10000 >/dev/null 2>"$tmp/seed.log"
target/release/verdict serve --bind 127.0.0.1:18081 --workers 2 >"$tmp/verdict.log" 2>&1 &
pids+=($!)
wait_ready http://127.0.0.1:18081/healthz
PM=$(target/release/verdict token --role pm --subject bench)
curl -sf -c "$tmp/jar" http://127.0.0.1:18081/ui/login >/dev/null
csrf=$(awk '$6 == "verdict_csrf" {print $7}' "$tmp/jar")
curl -sf -b "$tmp/jar" -c "$tmp/jar" -o /dev/null -d "csrf=$csrf" --data-urlencode "token=$PM" \
  http://127.0.0.1:18081/ui/login
session=$(awk '$6 == "verdict_session" {print $7}' "$tmp/jar")
decision=$(curl -sf -b "$tmp/jar" -c "$tmp/jar" -o /dev/null -w '%{redirect_url}' \
  -d "csrf=$csrf&outcome=iterate&rationale=bench" http://127.0.0.1:18081/ui/experiments/import_hint/decisions)

pages=(/ui /ui/experiments/cta_copy /ui/experiments/vip_paywall_copy
  "/ui/experiments/cta_copy?dimension=icp_segment" /ui/decisions "${decision#http://127.0.0.1:18081}"
  /ui/reports/okr /ui/flags)
printf '%-48s %10s %8s %8s\n' page req/s p50_ms p99_ms
for page in "${pages[@]}"; do
  : >"$tmp/rows"
  for _ in $(seq 1 "$runs"); do
    out=$(wrk -t1 -c"$connections" -d"$duration" --latency -H "Cookie: verdict_session=$session" \
      "http://127.0.0.1:18081$page")
    grep -q "Non-2xx" <<<"$out" && { echo "$page: non-2xx responses" >&2; exit 1; }
    awk '/Requests\/sec/ {r=$2}
         $1 == "50%" || $1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; p[$1]=v}
         END {print r, p["50%"], p["99%"]}' <<<"$out" >>"$tmp/rows"
  done
  python3 - "$tmp/rows" "$page" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
rps, p50, p99 = (statistics.median(c) for c in zip(*rows))
print(f"{sys.argv[2]:<48} {rps:10.0f} {p50:8.2f} {p99:8.2f}")
PY
done
