#!/usr/bin/env python3
"""Generate golden bucketing vectors with an independent implementation.

Algorithm (see verdict_core crate docs):
    seed   = XXH3_64(salt_utf8, seed=0)
    bucket = XXH3_64(unit_utf8, seed=seed) % 10000

Requires `pip install xxhash`. Usage:
    python3 core/tests/gen_bucket_vectors.py > core/tests/bucket_vectors.json
"""
import json
import math

import xxhash

SALTS = ["", "cta_copy", "cta_copy_p2", "checkout-layer", "ünïcødé", "a" * 300]
UNITS = ["", "0", "1", "42", "-7", "user-1", "user-2", "alice@example.com",
         "18446744073709551615", "日本語", "x" * 17, "y" * 129, "z" * 241, "w" * 1000]


def bucket(salt: str, unit: str) -> int:
    seed = xxhash.xxh3_64_intdigest(salt.encode("utf-8"))
    return xxhash.xxh3_64_intdigest(unit.encode("utf-8"), seed=seed) % 10000


def round_half_away(x: float) -> int:
    f = math.floor(x)
    return int(f + (1 if x - f >= 0.5 else 0))


def to_bp(x: float) -> int:
    return max(0, min(10000, round_half_away(x)))


def split_ranges(rollout: float, weights: list) -> list:
    starts, cumulative = [], 0.0
    for w in weights:
        starts.append(to_bp(100.0 * cumulative))
        cumulative += w
    starts.append(10000)
    out = []
    for i, w in enumerate(weights):
        start = starts[i]
        nxt = max(starts[i + 1], start)
        out.append((start, min(start + to_bp(rollout * w), nxt)))
    return out


def assign(salt: str, unit: str, rollout: float, weights: list):
    """Index of the variant weight owning the unit's bucket, or None (not in rollout)."""
    b = bucket(salt, unit)
    for i, (start, end) in enumerate(split_ranges(rollout, weights)):
        if start <= b < end:
            return i
    return None


SPLITS = [(100.0, [50.0, 50.0]), (10.0, [50.0, 50.0]), (33.33, [33.33, 33.33, 33.34]),
          (100.0, [10.0, 20.0, 70.0]), (0.5, [100.0]), (72.25, [12.5, 87.5])]


def main() -> None:
    vectors = []
    for salt in SALTS:
        vectors.append({"salt": salt, "seed": str(xxhash.xxh3_64_intdigest(salt.encode("utf-8")))})
    rows = [{"salt": s, "unit": u, "bucket": bucket(s, u)} for s in SALTS for u in UNITS]
    assignments = [
        {"salt": "cta_copy", "unit": f"user-{n}", "rollout": r, "weights": w,
         "ranges": [list(x) for x in split_ranges(r, w)], "variant_index": assign("cta_copy", f"user-{n}", r, w)}
        for (r, w) in SPLITS for n in range(8)
    ]
    print(json.dumps({"xxhash_version": xxhash.VERSION, "seeds": vectors, "buckets": rows,
                      "assignments": assignments},
                     ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
