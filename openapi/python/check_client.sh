#!/usr/bin/env bash
# Generates a Python client from openapi/openapi.json with openapi-python-client
# and uses it, against a real Verdict on the demo data, to list decisions and
# read one. CI runs this; it needs python3 and a built `target/debug/verdict`.
set -euo pipefail
cd "$(dirname "$0")/../.."
work="$PWD/target/python-client"
rm -rf "$work" && mkdir -p "$work"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q -r openapi/python/requirements.txt
PATH="$work/venv/bin:$PATH" "$work/venv/bin/openapi-python-client" generate \
  --path openapi/openapi.json --meta none --output-path "$work/verdict_client" >/dev/null

export DATABASE_URL="sqlite://$work/demo.db" VERDICT_JWT_SECRET=python-client-check RUST_LOG=warn
bin=target/debug/verdict
"$bin" seed --demo --simulate-users 500 >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --bind "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.1
done
PM_TOKEN=$("$bin" token --role pm --subject python-check) \
ANALYST_TOKEN=$("$bin" token --role analyst --subject python-check) \
BASE_URL="http://127.0.0.1:$port" PYTHONPATH="$work" \
  "$work/venv/bin/python" openapi/python/check_client.py
