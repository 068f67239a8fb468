#!/usr/bin/env bash
# Creates the bot's demo experiments in a Verdict service.
# Usage: VERDICT_URL=http://127.0.0.1:8080 PM_TOKEN=... bot/demo/seed.sh
set -euo pipefail
url="${VERDICT_URL:-http://127.0.0.1:8080}"
: "${PM_TOKEN:?set PM_TOKEN to a token with the pm role}"
here="$(cd "$(dirname "$0")" && pwd)"
count=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$here/flags.json")
for i in $(seq 0 $((count - 1))); do
  body=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))[int(sys.argv[2])]))' "$here/flags.json" "$i")
  key=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["key"])' "$body")
  status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url/api/v1/flags" \
    -H "Authorization: Bearer $PM_TOKEN" -H 'Content-Type: application/json' -d "$body")
  echo "$key: HTTP $status"
done
