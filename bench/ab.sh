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

source bench/lib.sh

export VERDICT_JWT_SECRET=bench-secret RUST_LOG=warn
DATABASE_URL="sqlite://$tmp/a.db" "$a_bin" serve --bind 127.0.0.1:18081 --workers 1 >"$tmp/a.log" 2>&1 &
pids+=($!)
DATABASE_URL="sqlite://$tmp/b.db" "$b_bin" serve --bind 127.0.0.1:18082 --workers 1 >"$tmp/b.log" 2>&1 &
pids+=($!)
wait_ready http://127.0.0.1:18081/healthz http://127.0.0.1:18082/healthz
PM=$(DATABASE_URL="sqlite://$tmp/a.db" "$a_bin" token --role pm --subject bench)
TOKEN=$(DATABASE_URL="sqlite://$tmp/a.db" "$a_bin" token --role sdk --subject bench)
export TOKEN
python3 bench/seed_flags.py http://127.0.0.1:18081 "$PM" 50
python3 bench/seed_flags.py http://127.0.0.1:18082 "$PM" 50

printf 'run  a_rps  b_rps  b/a\n'
: >"$tmp/results"
for run in $(seq 1 "$runs"); do
  read -r a _ < <(measure http://127.0.0.1:18081/api/v1/evaluate bench/client.lua)
  read -r b _ < <(measure http://127.0.0.1:18082/api/v1/evaluate bench/client.lua)
  speedup=$(python3 -c "print(f'{$b/$a:.3f}')")
  printf '%s  %s  %s  %s\n' "$run" "$a" "$b" "$speedup"
  echo "$speedup" >>"$tmp/results"
done
medians "$tmp/results" b/a
