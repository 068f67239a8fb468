#!/usr/bin/env bash
# Checks the service against its OpenAPI document with schemathesis
# (`--checks all`): on the demo data, on the backend given as $1 (`sqlite` or
# `postgres`), once with an admin token and once with an sdk token. Fails on
# any failure of any kind. Needs python3, curl and a built target/debug/verdict
# (PostgreSQL at 127.0.0.1:5432 for `postgres`).
set -euo pipefail
cd "$(dirname "$0")/../.."
backend=${1:?usage: run.sh sqlite|postgres}
examples=${SCHEMATHESIS_EXAMPLES:-40}
work="$PWD/target/schemathesis/$backend"
rm -rf "$work" && mkdir -p "$work"
venv="$PWD/target/schemathesis/venv"
[ -x "$venv/bin/schemathesis" ] || {
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r openapi/schemathesis/requirements.txt
}

case "$backend" in
  sqlite) export DATABASE_URL="sqlite://$work/verdict.db" ;;
  postgres)
    db="verdict_schemathesis_$$"
    psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
    ;;
  *) echo "unknown backend $backend" >&2; exit 2 ;;
esac
export VERDICT_JWT_SECRET=schemathesis-check RUST_LOG=warn
bin=target/debug/verdict
"$bin" seed --demo --simulate-users 500 >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --bind "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  if [ "$backend" = postgres ]; then
    psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  fi
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.1
done

status=0
for role in admin sdk; do
  token=$("$bin" token --role "$role" --subject "schemathesis-$role")
  echo "--- schemathesis on $backend as $role"
  "$venv/bin/schemathesis" --config-file openapi/schemathesis/schemathesis.toml run \
    "http://127.0.0.1:$port/openapi.json" \
    --checks all --max-examples "$examples" --seed 20261201 \
    --header "Authorization: Bearer $token" \
    --report junit --report-dir "$work/$role" || status=1
done
if grep -q "panicked" "$work/server.log"; then
  echo "the service panicked during the run:" >&2
  grep -A5 panicked "$work/server.log" >&2
  status=1
fi
exit $status
