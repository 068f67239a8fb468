#!/usr/bin/env python3
"""Creates N flags with targeting rules and weighted splits (plus one segment)
on a running Verdict, for the evaluation load benchmark.

usage: seed_flags.py BASE_URL PM_TOKEN [N=50]
"""
import json
import os
import sys
import urllib.request


def post(base, token, path, body):
    req = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req) as res:
        if res.status != 201:
            raise SystemExit(f"{path}: HTTP {res.status}")


def flag(i):
    variants = [{"key": f"v{j}", "value": f"copy {i}/{j}"} for j in range(3)]
    split = {"split": {"rollout": 90.0, "weights": [
        {"variant": "v0", "weight": 34.0}, {"variant": "v1", "weight": 33.0}, {"variant": "v2", "weight": 33.0}]}}
    rules = [
        {"id": "vip", "segments": ["vip_users"], "serve": {"variant": "v2"}},
        {"id": "new_app", "conditions": [
            {"attribute": "app_version", "op": "semver_gte", "value": "2.5.0"},
            {"attribute": "language", "op": "eq", "value": "ru"}], "serve": split},
        {"id": "heavy", "conditions": [{"attribute": "portfolio_size", "op": "gt", "value": 15}],
         "serve": {"variant": "v1"}},
    ]
    if os.environ.get("EXPERIMENT_FLAGS", "1") != "0" and i % 12 == 0:
        split = dict(split)
        split["split"] = dict(split["split"], experiment={"key": f"exp_{i}", "phase": 1})
    return {
        "key": f"flag_{i:02d}", "value_type": "string", "variants": variants,
        "default_variant": "v0",
        "environments": {"production": {"enabled": True, "rules": rules, "fallthrough": split}},
    }


def main():
    base, token = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    post(base, token, "/api/v1/segments",
         {"key": "vip_users", "conditions": [{"attribute": "tier", "op": "in", "value": ["vip"]}]})
    for i in range(count):
        post(base, token, "/api/v1/flags", flag(i))
    print(f"created {count} flags")


if __name__ == "__main__":
    main()
