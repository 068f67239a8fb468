//! Fisher's exact test on a 2x2 table, two-sided, as `scipy.stats.fisher_exact`.
//!
//! Given the margins of `[[a, b], [c, d]]` (rows = arms, columns = converted /
//! not converted), the top-left cell is hypergeometric. The two-sided p-value
//! is the total probability of the tables that are no more likely than the
//! observed one, where "no more likely" allows scipy's relative slack
//! ([`TIE_TOLERANCE`]) so that tables whose probabilities are equal in exact
//! arithmetic all count: mirror images, the two modes of a bimodal case, and
//! coincidences such as `[[0, 3], [6, 8]]` and `[[2, 1], [4, 10]]`.
//!
//! That slack is far below what ln-gamma of large counts can resolve: at
//! 20 000 units `ln Γ` ≈ 1.8e5 is only good to ~3e-11 absolute, thousands of
//! times the tolerance, so the two modes of a bimodal table such as
//! `[[1634, 1320], [2834, 2287]]` stop looking tied and the p-value drops from
//! 1 to 0.98. So the
//! log-probabilities are built relative to the mode, one neighbour at a time,
//! from the exact integer ratio of adjacent tables: near the mode each step is
//! `ln_1p` of an exactly computed small difference, mirror-image steps are
//! bit-identical, and nothing overflows or underflows for large counts.

use crate::error::{Result, StatsError};

/// Relative tolerance under which another table counts as exactly as likely as
/// the observed one: scipy ≥ 1.9 uses `1 + 1e-14` (before 1.9 it was 1e-4).
pub const TIE_TOLERANCE: f64 = 1e-14;

/// Largest table accepted (ten billion units, beyond any real experiment): the
/// walk visits O(√units) tables, so this bounds the worst case (a far-tail
/// table) at about 0.15 s in a release build.
pub const MAX_UNITS: u64 = 10_000_000_000;

/// Tables more than e^60 less likely than the observed one (or than the mode)
/// change the p-value by less than 1e-20 relative and are not visited.
const TAIL_CUT: f64 = 60.0;

/// Two-sided Fisher exact p-value of `[[a, b], [c, d]]`, equal to
/// `scipy.stats.fisher_exact(table).pvalue`.
///
/// A zero row or column margin leaves a single possible table, so the p-value
/// is 1 (as in scipy); a p-value below the smallest `f64` is 0. Tables whose
/// cells or margins overflow, or with more than [`MAX_UNITS`] units, are
/// rejected with [`StatsError::InvalidInput`].
pub fn fisher_exact(table: [[u64; 2]; 2]) -> Result<f64> {
    let a = table[0][0];
    let Some((n1, n2, k, total)) = margins(table) else {
        return Err(StatsError::InvalidInput(format!(
            "Fisher table {table:?} overflows"
        )));
    };
    if total > MAX_UNITS {
        return Err(StatsError::InvalidInput(format!(
            "Fisher table has {total} units, more than the {MAX_UNITS} supported"
        )));
    }
    if n1 == 0 || n2 == 0 || k == 0 || k == total {
        return Ok(1.0);
    }
    let h = Hypergeom::new(n1, n2, k);

    // ln P(a) − ln P(mode), walking from the mode towards `a`.
    let mut l_obs = 0.0;
    if a != h.mode {
        // Beyond this, p ≤ (support size) · P(a) / P(mode) < 2^-1075 rounds to 0.
        let zero_below = -746.0 - libm::log((h.hi - h.lo + 1) as f64);
        for (x, l) in h.walk(a > h.mode) {
            if l < zero_below {
                return Ok(0.0);
            }
            if x == a {
                l_obs = l;
                break;
            }
        }
    }
    // Observed table (within tolerance) as likely as the mode: every table
    // counts. scipy returns exactly 1 here too.
    if l_obs >= libm::log1p(-TIE_TOLERANCE) {
        return Ok(1.0);
    }

    let tie = libm::log1p(TIE_TOLERANCE);
    let cut = l_obs - TAIL_CUT;
    // Σ P(x)/P(mode) over all tables, and Σ P(x)/P(a) over the counted ones
    // (the mode itself is never counted once P(a) < P(mode)).
    let (mut all, mut counted) = (1.0, 0.0);
    for up in [true, false] {
        for (_, l) in h.walk(up) {
            if l < cut {
                break;
            }
            all += libm::exp(l);
            if l - l_obs <= tie {
                counted += libm::exp(l - l_obs);
            }
        }
    }
    Ok(libm::exp(l_obs + libm::log(counted / all)).min(1.0))
}

/// Row totals, first column total and grand total, unless they overflow.
fn margins([[a, b], [c, d]]: [[u64; 2]; 2]) -> Option<(u64, u64, u64, u64)> {
    let (n1, n2) = (a.checked_add(b)?, c.checked_add(d)?);
    Some((n1, n2, a.checked_add(c)?, n1.checked_add(n2)?))
}

/// [`fisher_exact`] for two binomial arms given as sufficient statistics:
/// units and conversions per arm (control is the first row).
///
/// Counts arrive as `f64` (as in [`crate::ArmData`]), so each must be a finite,
/// non-negative integer, with conversions ≤ units; otherwise
/// [`StatsError::InvalidInput`].
pub fn fisher_exact_binomial(
    control_n: f64,
    control_conversions: f64,
    treatment_n: f64,
    treatment_conversions: f64,
) -> Result<f64> {
    let control = arm_row("control", control_n, control_conversions)?;
    let treatment = arm_row("treatment", treatment_n, treatment_conversions)?;
    fisher_exact([control, treatment])
}

/// `[conversions, n − conversions]` after validation.
fn arm_row(arm: &str, n: f64, conversions: f64) -> Result<[u64; 2]> {
    let count = |what: &str, v: f64| {
        // Integers up to MAX_UNITS are exact in f64, so the cast below is too.
        if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= MAX_UNITS as f64 {
            Ok(v as u64)
        } else {
            Err(StatsError::InvalidInput(format!(
                "{arm} {what} must be a non-negative integer of at most {MAX_UNITS}, got {v}"
            )))
        }
    };
    let n_units = count("n", n)?;
    let converted = count("conversions", conversions)?;
    if converted > n_units {
        return Err(StatsError::InvalidInput(format!(
            "{arm} conversions ({converted}) exceed n ({n_units})"
        )));
    }
    Ok([converted, n_units - converted])
}

/// Hypergeometric law of the top-left cell: row totals `n1`, `n2`, first
/// column total `k`, support `lo..=hi`.
struct Hypergeom {
    n1: u128,
    n2: u128,
    k: u128,
    lo: u64,
    hi: u64,
    mode: u64,
}

impl Hypergeom {
    fn new(n1: u64, n2: u64, k: u64) -> Self {
        let (lo, hi) = (k.saturating_sub(n2), k.min(n1));
        // ⌊(k+1)(n1+1)/(N+2)⌋, scipy's mode (the upper one when there are two),
        // which is the centre of symmetry when rows or columns are balanced.
        let mode = (k as u128 + 1) * (n1 as u128 + 1) / (n1 as u128 + n2 as u128 + 2);
        let mode = u64::try_from(mode).unwrap_or(hi).clamp(lo, hi);
        Self {
            n1: n1.into(),
            n2: n2.into(),
            k: k.into(),
            lo,
            hi,
            mode,
        }
    }

    /// `(x, ln P(x) − ln P(mode))` for the tables on one side of the mode, from
    /// the nearest outwards (decreasing, as the law is unimodal).
    fn walk(&self, up: bool) -> impl Iterator<Item = (u64, f64)> + '_ {
        let mut x = self.mode;
        let mut sum = Neumaier::default();
        std::iter::from_fn(move || {
            let at = u128::from(x);
            // P(x±1)/P(x) = num/den, both exact (≤ N² < 2^67).
            let (num, den) = if up {
                if x >= self.hi {
                    return None;
                }
                x += 1;
                (
                    (self.n1 - at) * (self.k - at),
                    (at + 1) * (at + 1 + self.n2 - self.k),
                )
            } else {
                if x <= self.lo {
                    return None;
                }
                x -= 1;
                (
                    at * (self.n2 + at - self.k),
                    (self.n1 - at + 1) * (self.k - at + 1),
                )
            };
            // ln(num/den) via the exact difference: precise where num ≈ den.
            let diff = num as i128 - den as i128;
            sum.add(libm::log1p(diff as f64 / den as f64));
            Some((x, sum.value()))
        })
    }
}

/// Compensated running sum, so thousands of steps keep ~1 ulp of accuracy.
#[derive(Default)]
struct Neumaier {
    sum: f64,
    carry: f64,
}

impl Neumaier {
    fn add(&mut self, v: f64) {
        let t = self.sum + v;
        self.carry += if self.sum.abs() >= v.abs() {
            (self.sum - t) + v
        } else {
            (v - t) + self.sum
        };
        self.sum = t;
    }

    fn value(&self) -> f64 {
        self.sum + self.carry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scipy's documented examples and a few hand-checked values.
    #[test]
    fn known_values() {
        let cases: &[([[u64; 2]; 2], f64)] = &[
            ([[8, 2], [1, 5]], 0.034965034965034975),
            ([[6, 2], [1, 4]], 0.10256410256410257),
            ([[3, 3], [3, 3]], 1.0),
            // Only the two extreme tables: 2 / C(10, 5).
            ([[0, 5], [5, 0]], 2.0 / 252.0),
            // The lower of two equally likely modes: every table counts.
            ([[1634, 1320], [2834, 2287]], 1.0),
            // x = 14 is 8.4e-8 more likely than x = 20, so it does not count
            // (with a 1e-7 slack, or scipy < 1.9's 1e-4, it would: 0.394).
            ([[20, 38], [40, 106]], 0.31361807548372905),
        ];
        for (table, want) in cases {
            let got = fisher_exact(*table).expect("computes");
            assert!((got - want).abs() < 1e-15, "{table:?}: {got} vs {want}");
        }
    }

    /// 23 million units, p ~ 6e-178: a 40-digit mpmath sum gives
    /// 6.1262127126241154e-178 (scipy 1.17.1 says 6.1262127318e-178, 3e-9 off).
    #[test]
    fn far_tail_of_a_huge_table() {
        let p = fisher_exact([[5_829_225, 5_692_693], [5_760_959, 5_760_959]]).expect("computes");
        let exact = 6.126_212_712_624_115e-178;
        assert!(((p - exact) / exact).abs() < 1e-12, "{p:e}");
    }

    #[test]
    fn symmetric_under_row_and_column_swaps() {
        let tables: &[[[u64; 2]; 2]] = &[
            [[1, 9], [11, 3]],
            [[0, 3], [6, 8]],
            [[7, 0], [2, 9]],
            [[12, 5], [4, 15]],
            [[120, 880], [150, 850]],
            [[1634, 1320], [2834, 2287]],
            [[1200, 8800], [1290, 8710]],
            [[40, 1], [2, 37]],
        ];
        for &[[a, b], [c, d]] in tables {
            let p = fisher_exact([[a, b], [c, d]]).expect("computes");
            assert!((0.0..=1.0).contains(&p));
            for swapped in [
                [[c, d], [a, b]], // rows
                [[b, a], [d, c]], // columns
                [[d, c], [b, a]], // both
                [[a, c], [b, d]], // transpose
            ] {
                let q = fisher_exact(swapped).expect("computes");
                assert!(
                    (p - q).abs() <= 1e-13 * p.max(1e-300),
                    "{:?} vs {swapped:?}: {p} vs {q}",
                    [[a, b], [c, d]]
                );
            }
        }
    }

    #[test]
    fn degenerate_margins_give_one() {
        let tables: &[[[u64; 2]; 2]] = &[
            [[0, 0], [0, 0]],
            [[0, 0], [3, 4]],
            [[5, 7], [0, 0]],
            [[0, 3], [0, 5]],
            [[4, 0], [6, 0]],
            [[9, 0], [0, 0]],
            [[0, 0], [0, MAX_UNITS]],
        ];
        for table in tables {
            assert_eq!(fisher_exact(*table), Ok(1.0), "{table:?}");
        }
        assert_eq!(fisher_exact_binomial(0.0, 0.0, 10.0, 3.0), Ok(1.0));
        assert_eq!(fisher_exact_binomial(10.0, 0.0, 20.0, 0.0), Ok(1.0));
    }

    #[test]
    fn extreme_tables_are_finite() {
        let tables: &[[[u64; 2]; 2]] = &[
            [[100_000, 0], [0, 100_000]],
            [[0, 400_000_000], [400_000_000, 0]],
            [
                [2_500_000_000, 2_500_000_000],
                [2_500_000_000, 2_500_000_000],
            ],
        ];
        for table in tables {
            let p = fisher_exact(*table).expect("computes");
            assert!((0.0..=1.0).contains(&p), "{table:?}: {p}");
        }
        assert_eq!(fisher_exact([[100_000, 0], [0, 100_000]]), Ok(0.0));
    }

    #[test]
    fn invalid_inputs_are_errors() {
        let tables: &[[[u64; 2]; 2]] = &[
            [[u64::MAX, 1], [0, 0]],
            [[0, 0], [u64::MAX, u64::MAX]],
            [[u64::MAX / 2 + 1, 0], [u64::MAX / 2 + 1, 0]],
            [[MAX_UNITS, 0], [1, 0]],
        ];
        for table in tables {
            assert!(
                matches!(fisher_exact(*table), Err(StatsError::InvalidInput(_))),
                "{table:?}"
            );
        }
        // (control n, control conversions, treatment n, treatment conversions, message part)
        let arms: &[(f64, f64, f64, f64, &str)] = &[
            (-1.0, 0.0, 10.0, 1.0, "control n"),
            (10.0, -2.0, 10.0, 1.0, "control conversions"),
            (10.0, 2.5, 10.0, 1.0, "control conversions"),
            (10.5, 2.0, 10.0, 1.0, "control n"),
            (
                10.0,
                11.0,
                10.0,
                1.0,
                "control conversions (11) exceed n (10)",
            ),
            (10.0, 1.0, f64::NAN, 1.0, "treatment n"),
            (10.0, 1.0, f64::INFINITY, 1.0, "treatment n"),
            (10.0, 1.0, 10.0, f64::NAN, "treatment conversions"),
            (
                10.0,
                1.0,
                3.0,
                4.0,
                "treatment conversions (4) exceed n (3)",
            ),
            (1e13, 1.0, 10.0, 1.0, "control n"),
            (6e9, 1.0, 6e9, 1.0, "units"),
        ];
        for &(cn, cc, tn, tc, part) in arms {
            match fisher_exact_binomial(cn, cc, tn, tc) {
                Err(StatsError::InvalidInput(msg)) => {
                    assert!(msg.contains(part), "{msg:?} should mention {part:?}")
                }
                other => panic!("({cn}, {cc}, {tn}, {tc}) gave {other:?}"),
            }
        }
    }

    #[test]
    fn binomial_arms_build_the_table() {
        let direct = fisher_exact([[120, 880], [150, 850]]).expect("computes");
        let arms = fisher_exact_binomial(1000.0, 120.0, 1000.0, 150.0).expect("computes");
        assert_eq!(direct, arms);
    }
}
