//! Deterministic bucketing: the stable hashing contract (see the crate docs).

use serde_json::Value;
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::model::BucketRange;

/// Number of buckets; bucket ranges are basis points over `0..BUCKETS`.
pub const BUCKETS: u32 = 10_000;

/// Hash seed derived from a salt: `xxh3_64(salt as UTF-8, seed 0)`.
pub fn salt_seed(salt: &str) -> u64 {
    xxh3_64(salt.as_bytes())
}

/// Bucket of raw unit bytes under a precomputed seed:
/// `xxh3_64_with_seed(unit, seed) % 10000`.
pub fn bucket_with_seed(unit: &[u8], seed: u64) -> u32 {
    // The remainder is < 10_000, so the narrowing is lossless.
    (xxh3_64_with_seed(unit, seed) % u64::from(BUCKETS)) as u32
}

/// Bucket (`0..10000`) of `unit` under `salt`.
pub fn bucket(salt: &str, unit: &str) -> u32 {
    bucket_with_seed(unit.as_bytes(), salt_seed(salt))
}

/// Scratch space for rendering integer units without allocating.
pub(crate) type UnitBuf = [u8; 20];

/// The bytes hashed for a bucketing attribute value: strings as-is
/// (non-empty), integers in decimal; anything else is `None` (missing).
pub(crate) fn unit_bytes<'a>(value: &'a Value, buf: &'a mut UnitBuf) -> Option<&'a [u8]> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.as_bytes()),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Some(write_decimal(u, false, buf))
            } else {
                n.as_i64()
                    .map(|i| write_decimal(i.unsigned_abs(), i < 0, buf))
            }
        }
        _ => None,
    }
}

/// The unit string for a bucketing attribute value, or `None` if the value
/// cannot be a bucketing unit (see the crate docs).
pub fn unit_string(value: &Value) -> Option<String> {
    let mut buf = [0u8; 20];
    unit_bytes(value, &mut buf).map(|b| String::from_utf8_lossy(b).into_owned())
}

fn write_decimal(mut n: u64, negative: bool, buf: &mut UnitBuf) -> &[u8] {
    // u64::MAX has 20 digits; a negative i64 has at most 19 digits plus '-'.
    let mut pos = buf.len();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if negative {
        pos -= 1;
        buf[pos] = b'-';
    }
    &buf[pos..]
}

/// Bucket ranges of a split (one per weight, in order).
///
/// With rollout `r` and weights `w_i` (percent), `C_i = w_0 + … + w_{i-1}`
/// (f64, summed left to right):
/// * `start_i = round(100 · C_i)`
/// * `end_i = min(start_i + round(r · w_i), start_{i+1})`, with `start_n = 10000`
///
/// where `round` is IEEE-754 f64 round-half-away-from-zero, clamped to
/// `0..=10000`. Because `start_i` does not depend on `r` and `end_i` is
/// non-decreasing in `r`, raising the rollout never moves a unit out of the
/// split or to another variant.
pub fn split_ranges(rollout: f64, weights: &[f64]) -> Vec<BucketRange> {
    let mut starts = Vec::with_capacity(weights.len() + 1);
    let mut cumulative = 0.0f64;
    for w in weights {
        starts.push(to_bp(100.0 * cumulative));
        cumulative += w;
    }
    starts.push(BUCKETS);
    weights
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let start = starts[i];
            let next = starts[i + 1].max(start);
            let end = start.saturating_add(to_bp(rollout * w)).min(next);
            BucketRange { start, end }
        })
        .collect()
}

/// Rounds to the nearest basis point, clamped to `0..=10000` (NaN → 0).
fn to_bp(x: f64) -> u32 {
    let r = x.round();
    if r.is_nan() || r <= 0.0 {
        0
    } else if r >= f64::from(BUCKETS) {
        BUCKETS
    } else {
        r as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unit_rendering() {
        let cases = [
            (json!("abc"), Some("abc")),
            (json!(""), None),
            (json!(42), Some("42")),
            (json!(0), Some("0")),
            (json!(-7), Some("-7")),
            (json!(u64::MAX), Some("18446744073709551615")),
            (json!(i64::MIN), Some("-9223372036854775808")),
            (json!(1.5), None),
            (json!(true), None),
            (json!(null), None),
            (json!([1]), None),
            (json!({"a": 1}), None),
        ];
        for (value, expected) in cases {
            assert_eq!(unit_string(&value).as_deref(), expected, "{value}");
        }
    }

    #[test]
    fn ranges_full_rollout() {
        let r = split_ranges(100.0, &[50.0, 50.0]);
        assert_eq!(
            r,
            vec![
                BucketRange {
                    start: 0,
                    end: 5000
                },
                BucketRange {
                    start: 5000,
                    end: 10000
                }
            ]
        );
        let r = split_ranges(100.0, &[33.33, 33.33, 33.34]);
        assert_eq!(
            r[0],
            BucketRange {
                start: 0,
                end: 3333
            }
        );
        assert_eq!(
            r[1],
            BucketRange {
                start: 3333,
                end: 6666
            }
        );
        assert_eq!(
            r[2],
            BucketRange {
                start: 6666,
                end: 10000
            }
        );
    }

    #[test]
    fn ranges_partial_rollout() {
        let r = split_ranges(10.0, &[50.0, 50.0]);
        assert_eq!(r[0], BucketRange { start: 0, end: 500 });
        assert_eq!(
            r[1],
            BucketRange {
                start: 5000,
                end: 5500
            }
        );
        let r = split_ranges(0.0, &[50.0, 50.0]);
        assert!(r.iter().all(|x| x.start == x.end));
        let r = split_ranges(f64::NAN, &[f64::NAN, 200.0]);
        assert_eq!(r.len(), 2);
    }
}
