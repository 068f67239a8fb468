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
tmp=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

export VERDICT_JWT_SECRET=bench-secret DATABASE_URL="sqlite://$tmp/bench.db" RUST_LOG=warn
target/release/verdict serve --bind 127.0.0.1:18080 --workers 1 >"$tmp/verdict.log" 2>&1 &
pids+=($!)
target/release/examples/hello_world 127.0.0.1:18090 1 &
pids+=($!)
for _ in $(seq 1 100); do
  curl -sf http://127.0.0.1:18080/healthz >/dev/null && curl -sf http://127.0.0.1:18090/ >/dev/null && break
  sleep 0.1
done
PM=$(target/release/verdict token --role pm --subject bench)
TOKEN=$(target/release/verdict token --role sdk --subject bench)
export TOKEN
python3 bench/seed_flags.py http://127.0.0.1:18080 "$PM" 50
flags=$(curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"context":{"user_id":"1"}}' http://127.0.0.1:18080/api/v1/evaluate | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["flags"]))')
echo "flags evaluated per request: $flags"

measure() { # url [script] -> "req/s p99_ms"
  local out
  if [ -n "${2:-}" ]; then
    out=$(wrk -t1 -c"$connections" -d"$duration" --latency -s "$2" "$1")
  else
    out=$(wrk -t1 -c"$connections" -d"$duration" --latency "$1")
  fi
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")
  if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx responses: $out" >&2; exit 1; fi
  echo "$rps $p99"
}

printf 'run  hello_rps  hello_p99_ms  evaluate_rps  evaluate_p99_ms  ratio\n'
: >"$tmp/results"
for run in $(seq 1 "$runs"); do
  read -r h_rps h_p99 < <(measure http://127.0.0.1:18090/)
  read -r e_rps e_p99 < <(measure http://127.0.0.1:18080/api/v1/evaluate bench/evaluate.lua)
  ratio=$(python3 -c "print(f'{$e_rps/$h_rps:.3f}')")
  printf '%s  %s  %s  %s  %s  %s\n' "$run" "$h_rps" "$h_p99" "$e_rps" "$e_p99" "$ratio"
  echo "$h_rps $h_p99 $e_rps $e_p99 $ratio" >>"$tmp/results"
done
python3 - "$tmp/results" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
cols = list(zip(*rows))
names = ["hello_rps", "hello_p99_ms", "evaluate_rps", "evaluate_p99_ms", "ratio"]
print("median  " + "  ".join(f"{n}={statistics.median(c):.3f}" for n, c in zip(names, cols)))
PY
grep -i "dropped" "$tmp/verdict.log" || true
