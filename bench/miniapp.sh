#!/usr/bin/env bash
# Client routes under load: POST /api/v1/evaluate (native) against POST
# /ofrep/v1/evaluate/flags (OFREP bulk, the web provider's polling route), each
# with an sdk bearer token and with Mini App `tma` initData, alternating in
# every run so the ratios compare like with like on a shared machine. Same 50
# flags and random contexts as bench/load.sh (bench/client.lua).
#
# usage: bench/miniapp.sh [runs=5] [duration=10s] [connections=16] [mini_app_users=5000]
# needs: wrk (apt-get install wrk), python3
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
duration=${2:-10s}
connections=${3:-16}
users=${4:-5000}

cargo build --release -q --bin verdict
source bench/lib.sh

bot_token="123456:bench-only-not-a-real-bot-token"
export VERDICT_JWT_SECRET=bench-secret DATABASE_URL="sqlite://$tmp/bench.db" RUST_LOG=warn
VERDICT_TELEGRAM_BOT_TOKEN=$bot_token target/release/verdict serve --bind 127.0.0.1:18080 --workers 1 >"$tmp/verdict.log" 2>&1 &
pids+=($!)
wait_ready http://127.0.0.1:18080/healthz
PM=$(target/release/verdict token --role pm --subject bench)
TOKEN=$(target/release/verdict token --role sdk --subject bench)
export TOKEN INIT_DATA="$tmp/init_data.txt"
python3 bench/seed_flags.py http://127.0.0.1:18080 "$PM" 50
python3 bench/sign_init_data.py "$bot_token" "$users" >"$INIT_DATA"
for route in native ofrep; do
  for auth in bearer tma; do
    # One request of each kind first: a refused credential aborts here, not mid-run.
    ROUTE=$route AUTH=$auth wrk -t1 -c1 -d1s -s bench/client.lua http://127.0.0.1:18080 | grep -q "Non-2xx" &&
      { echo "$route/$auth: non-2xx responses" >&2; exit 1; }
  done
done

printf 'run  native_rps  ofrep_rps  ofrep/native  native_tma_rps  ofrep_tma_rps  ofrep_tma/native_tma  native_tma/native\n'
: >"$tmp/results"
for run in $(seq 1 "$runs"); do
  read -r n _ < <(ROUTE=native AUTH=bearer measure http://127.0.0.1:18080 bench/client.lua)
  read -r o _ < <(ROUTE=ofrep AUTH=bearer measure http://127.0.0.1:18080 bench/client.lua)
  read -r nt _ < <(ROUTE=native AUTH=tma measure http://127.0.0.1:18080 bench/client.lua)
  read -r ot _ < <(ROUTE=ofrep AUTH=tma measure http://127.0.0.1:18080 bench/client.lua)
  row=$(python3 -c "print(f'$n $o {$o/$n:.3f} $nt $ot {$ot/$nt:.3f} {$nt/$n:.3f}')")
  printf '%s  %s\n' "$run" "$row"
  echo "$row" >>"$tmp/results"
done
medians "$tmp/results" native_rps ofrep_rps ofrep/native native_tma_rps ofrep_tma_rps ofrep_tma/native_tma native_tma/native
grep -i "dropped" "$tmp/verdict.log" || true
