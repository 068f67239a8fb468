#!/usr/bin/env bash
# Generates TypeScript types from openapi/openapi.json (openapi-typescript),
# type-checks a client written against them (openapi-fetch, strict tsc) and
# runs it against a real Verdict on the demo data: record a decision, list it,
# read it with its frozen results. CI runs this; it needs Node.js, npm and a
# built target/debug/verdict.
set -euo pipefail
cd "$(dirname "$0")"
root="$(cd ../.. && pwd)"
work="$root/target/ts-client"
rm -rf "$work" generated dist && mkdir -p "$work"
npm ci --no-audit --no-fund --loglevel=error
npm run --silent generate
npm run --silent build

export DATABASE_URL="sqlite://$work/demo.db" VERDICT_JWT_SECRET=ts-client-check RUST_LOG=warn
bin="$root/target/debug/verdict"
"$bin" seed --demo --simulate-users 500 >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --bind "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.1
done
PM_TOKEN=$("$bin" token --role pm --subject ts-check) \
ANALYST_TOKEN=$("$bin" token --role analyst --subject ts-check) \
BASE_URL="http://127.0.0.1:$port" npm run --silent check
