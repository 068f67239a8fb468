# Shared by the wrk benchmarks: a scratch directory whose processes die with
# the script, readiness polling, one wrk measurement, medians of a table.
# Source it after `set -euo pipefail`; set `connections` and `duration` first.

tmp=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

# wait_ready URL... : polls each URL until it answers (10 s at most).
wait_ready() {
  for _ in $(seq 1 100); do
    local ok=1 url
    for url in "$@"; do curl -sf "$url" >/dev/null || ok=0; done
    [ "$ok" = 1 ] && return 0
    sleep 0.1
  done
  echo "not ready: $*" >&2
  exit 1
}

# measure URL [script] : prints "req/s p99_ms"; any non-2xx response aborts.
measure() {
  local out rps p99
  if [ -n "${2:-}" ]; then
    out=$(wrk -t1 -c"$connections" -d"$duration" --latency -s "$2" "$1")
  else
    out=$(wrk -t1 -c"$connections" -d"$duration" --latency "$1")
  fi
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")
  if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx responses: $out" >&2; exit 1; fi
  echo "$rps $p99"
}

# medians FILE NAME... : the median of each whitespace-separated column.
medians() {
  local file=$1
  shift
  python3 - "$file" "$@" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
print("median  " + "  ".join(f"{n}={statistics.median(c):.3f}" for n, c in zip(sys.argv[2:], zip(*rows))))
PY
}
