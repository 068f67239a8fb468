#!/usr/bin/env bash
# Load benchmark: POST /api/v1/evaluate (50 flags with targeting and splits,
# random users) against a bare actix-web hello-world measured in the same run,
# alternating, so the ratio survives a shared, noisy machine.
#
# usage: bench/load.sh [runs=5] [duration=10s] [connections=16]
# needs: wrk (apt-get install wrk), python3
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
duration=${2:-10s}
connections=${3:-16}

cargo build --release -q --bin verdict --example hello_world
source bench/lib.sh

export VERDICT_JWT_SECRET=bench-secret DATABASE_URL="sqlite://$tmp/bench.db" RUST_LOG=warn
target/release/verdict serve --bind 127.0.0.1:18080 --workers 1 >"$tmp/verdict.log" 2>&1 &
pids+=($!)
target/release/examples/hello_world 127.0.0.1:18090 1 &
pids+=($!)
wait_ready http://127.0.0.1:18080/healthz http://127.0.0.1:18090/
PM=$(target/release/verdict token --role pm --subject bench)
TOKEN=$(target/release/verdict token --role sdk --subject bench)
export TOKEN
python3 bench/seed_flags.py http://127.0.0.1:18080 "$PM" 50
flags=$(curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"context":{"user_id":"1"}}' http://127.0.0.1:18080/api/v1/evaluate | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["flags"]))')
echo "flags evaluated per request: $flags"

printf 'run  hello_rps  hello_p99_ms  evaluate_rps  evaluate_p99_ms  ratio\n'
: >"$tmp/results"
for run in $(seq 1 "$runs"); do
  read -r h_rps h_p99 < <(measure http://127.0.0.1:18090/)
  read -r e_rps e_p99 < <(measure http://127.0.0.1:18080/api/v1/evaluate bench/client.lua)
  ratio=$(python3 -c "print(f'{$e_rps/$h_rps:.3f}')")
  printf '%s  %s  %s  %s  %s  %s\n' "$run" "$h_rps" "$h_p99" "$e_rps" "$e_p99" "$ratio"
  echo "$h_rps $h_p99 $e_rps $e_p99 $ratio" >>"$tmp/results"
done
medians "$tmp/results" hello_rps hello_p99_ms evaluate_rps evaluate_p99_ms ratio
grep -i "dropped" "$tmp/verdict.log" || true
