#!/usr/bin/env bash
# A/B load benchmark: two `verdict` builds, each on its own fresh SQLite
# database seeded with the same 50 flags, measured alternately with the same
# wrk workload as bench/load.sh; prints B's throughput over A's per pair, so a
# change is judged against the build before it in the same run.
#
# usage: bench/ab.sh PATH_TO_VERDICT_A PATH_TO_VERDICT_B [runs=5] [duration=10s] [connections=16]
# e.g.:  git stash; cargo build --release --bin verdict; cp target/release/verdict /tmp/verdict-a
#        git stash pop; cargo build --release --bin verdict
#        bench/ab.sh /tmp/verdict-a target/release/verdict
# needs: wrk (apt-get install wrk), python3
set -euo pipefail
cd "$(dirname "$0")/.."
a_bin=$1
b_bin=$2
runs=${3:-5}
duration=${4:-10s}
connections=${5:-16}

tmp=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

export VERDICT_JWT_SECRET=bench-secret RUST_LOG=warn
DATABASE_URL="sqlite://$tmp/a.db" "$a_bin" serve --bind 127.0.0.1:18081 --workers 1 >"$tmp/a.log" 2>&1 &
pids+=($!)
DATABASE_URL="sqlite://$tmp/b.db" "$b_bin" serve --bind 127.0.0.1:18082 --workers 1 >"$tmp/b.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  curl -sf http://127.0.0.1:18081/healthz >/dev/null && curl -sf http://127.0.0.1:18082/healthz >/dev/null && break
  sleep 0.1
done
PM=$(DATABASE_URL="sqlite://$tmp/a.db" "$a_bin" token --role pm --subject bench)
TOKEN=$(DATABASE_URL="sqlite://$tmp/a.db" "$a_bin" token --role sdk --subject bench)
export TOKEN
python3 bench/seed_flags.py http://127.0.0.1:18081 "$PM" 50
python3 bench/seed_flags.py http://127.0.0.1:18082 "$PM" 50

measure() { # base url -> req/s
  local out
  out=$(wrk -t1 -c"$connections" -d"$duration" -s bench/evaluate.lua "$1/api/v1/evaluate")
  if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx responses: $out" >&2; exit 1; fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}

printf 'run  a_rps  b_rps  b/a\n'
: >"$tmp/results"
for run in $(seq 1 "$runs"); do
  a=$(measure http://127.0.0.1:18081)
  b=$(measure http://127.0.0.1:18082)
  speedup=$(python3 -c "print(f'{$b/$a:.3f}')")
  printf '%s  %s  %s  %s\n' "$run" "$a" "$b" "$speedup"
  echo "$speedup" >>"$tmp/results"
done
python3 -c "import statistics,sys; print('median b/a', statistics.median(float(l) for l in open(sys.argv[1])))" "$tmp/results"
