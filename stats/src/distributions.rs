//! Accurate special functions: normal, Student-t and chi-square tails and quantiles.
//!
//! The Student-t routines are written here (instead of using `statrs::StudentsT`)
//! because the engine must agree with scipy to ~1e-12 even for Welch degrees of
//! freedom in the millions, where the generic incomplete-beta prefactor loses
//! precision, and `libm::erfc` is used because `statrs`' `erfc` is only
//! accurate to ~1e-10 relative. All functions are total: invalid arguments yield `NaN`, which
//! callers turn into explicit errors.

use libm::erfc;
use statrs::function::erf::erfc_inv;
use statrs::function::gamma::{gamma_ur, ln_gamma};

const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// Standard normal density.
pub fn norm_pdf(x: f64) -> f64 {
    (-0.5 * x * x - LN_SQRT_2PI).exp()
}

/// Standard normal CDF `Φ(x)`.
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Standard normal survival function `1 − Φ(x)`, accurate in the upper tail.
pub fn norm_sf(x: f64) -> f64 {
    0.5 * erfc(x / std::f64::consts::SQRT_2)
}

/// Standard normal quantile `Φ⁻¹(p)`; `NaN` outside `(0, 1)`.
pub fn norm_ppf(p: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) {
        return f64::NAN;
    }
    let x = -std::f64::consts::SQRT_2 * erfc_inv(2.0 * p);
    // One Newton step against the accurate CDF polishes the rational approximation.
    let err = if x > 0.0 {
        (1.0 - p) - norm_sf(x)
    } else {
        norm_cdf(x) - p
    };
    let step = err / norm_pdf(x);
    if step.is_finite() { x - step } else { x }
}

/// Chi-square survival function with `df` degrees of freedom.
pub fn chi2_sf(x: f64, df: f64) -> f64 {
    if !(x.is_finite() && df.is_finite() && df > 0.0) {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    gamma_ur(0.5 * df, 0.5 * x)
}

/// Stirling series remainder `ln Γ(z) − [(z − ½) ln z − z + ½ ln 2π]` for `z ≥ 10`.
fn stirling_correction(z: f64) -> f64 {
    let z2 = z * z;
    (1.0 / 12.0
        - (1.0 / 360.0 - (1.0 / 1260.0 - (1.0 / 1680.0 - 1.0 / (1188.0 * z2)) / z2) / z2) / z2)
        / z
}

/// `ln Γ(a + b) − ln Γ(a)`, computed without cancellation for large `a`.
fn ln_gamma_ratio(a: f64, b: f64) -> f64 {
    if a < 10.0 {
        return ln_gamma(a + b) - ln_gamma(a);
    }
    let ab = a + b;
    (a - 0.5) * (b / a).ln_1p() + b * ab.ln() - b + stirling_correction(ab) - stirling_correction(a)
}

/// Continued fraction for the incomplete beta (modified Lentz), valid when
/// `x < (a + 1) / (a + b + 2)`.
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPS: f64 = 1e-16;
    let qab = a + b;
    let qap = a + 1.0;
    let qam = a - 1.0;
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..100_000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() <= EPS {
            break;
        }
    }
    h
}

/// Regularized incomplete beta `I_x(a, b)` for `a = ν/2`, `b = ½`, taking both
/// `x` and `y = 1 − x` (each computed accurately by the caller).
fn t_beta(a: f64, x: f64, y: f64) -> f64 {
    let b = 0.5;
    if x <= 0.0 {
        return 0.0;
    }
    if y <= 0.0 {
        return 1.0;
    }
    // ln of x^a y^b / (a B(a, b))
    let ln_beta_ab = ln_gamma(b) - ln_gamma_ratio(a, b); // ln B(a, b) = lnΓ(a) + lnΓ(b) − lnΓ(a+b)
    let ln_front = |ln_x: f64, ln_y: f64| a * ln_x + b * ln_y - ln_beta_ab;
    let ln_x = if y < 0.5 { (-y).ln_1p() } else { x.ln() };
    let ln_y = if x < 0.5 { (-x).ln_1p() } else { y.ln() };
    if x < (a + 1.0) / (a + b + 2.0) {
        (ln_front(ln_x, ln_y)).exp() * beta_cf(a, b, x) / a
    } else {
        1.0 - (ln_front(ln_x, ln_y)).exp() * beta_cf(b, a, y) / b
    }
}

/// Student-t upper tail `P(T > t)` with `df` degrees of freedom.
pub fn t_sf(t: f64, df: f64) -> f64 {
    if !(t.is_finite() && df.is_finite() && df > 0.0) {
        if df == f64::INFINITY && t.is_finite() {
            return norm_sf(t);
        }
        return f64::NAN;
    }
    if df > LARGE_DF {
        return t_sf_asymptotic(t, df);
    }
    let t2 = t * t;
    // x = df / (df + t²), y = t² / (df + t²)
    let (x, y) = if t2 < df {
        let r = t2 / df;
        (1.0 / (1.0 + r), r / (1.0 + r))
    } else {
        let r = df / t2;
        (r / (1.0 + r), 1.0 / (1.0 + r))
    };
    let tail = 0.5 * t_beta(0.5 * df, x, y);
    if t >= 0.0 { tail } else { 1.0 - tail }
}

/// Above this many degrees of freedom the second-order expansion in `1/ν` is
/// more accurate than the continued fraction (truncation error < 1e-15).
const LARGE_DF: f64 = 1e5;

/// `P(T > t)` from `F(t) = Φ(t) − φ(t)[(t³+t)/(4ν) + (3t⁷−7t⁵−5t³−3t)/(96ν²)] + O(ν⁻³)`.
fn t_sf_asymptotic(t: f64, df: f64) -> f64 {
    let t2 = t * t;
    let g1 = (t2 * t + t) / 4.0;
    let g2 = (((3.0 * t2 - 7.0) * t2 - 5.0) * t2 - 3.0) * t / 96.0;
    norm_sf(t) + norm_pdf(t) * (g1 / df + g2 / (df * df))
}

/// Student-t CDF `P(T ≤ t)`.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    t_sf(-t, df)
}

/// Student-t density.
pub fn t_pdf(t: f64, df: f64) -> f64 {
    let ln_norm = ln_gamma_ratio(0.5 * df, 0.5) - 0.5 * (df * std::f64::consts::PI).ln();
    (ln_norm - 0.5 * (df + 1.0) * (t * t / df).ln_1p()).exp()
}

/// Upper-tail Student-t quantile: the `t > 0` with `P(T > t) = q`, for `q ∈ (0, ½]`.
/// Equals scipy's `t.ppf(1 − q, df)`.
pub fn t_isf(q: f64, df: f64) -> f64 {
    if !(q > 0.0 && q <= 0.5 && df > 0.0 && !df.is_nan()) {
        return f64::NAN;
    }
    if q == 0.5 {
        return 0.0;
    }
    let z = -norm_ppf(q);
    if df == f64::INFINITY {
        return z;
    }
    // Cornish–Fisher start, then safeguarded Newton on the monotone tail.
    let z2 = z * z;
    let mut t = z
        + (z2 * z + z) / (4.0 * df)
        + (5.0 * z2 * z2 * z + 16.0 * z2 * z + 3.0 * z) / (96.0 * df * df);
    if !t.is_finite() || t <= 0.0 {
        t = z.max(1e-3);
    }
    let (mut lo, mut hi) = (0.0_f64, f64::INFINITY);
    for _ in 0..200 {
        let f = t_sf(t, df) - q;
        if f > 0.0 {
            lo = t;
        } else {
            hi = t;
        }
        let step = f / t_pdf(t, df);
        let mut next = t + step;
        if !(next > lo && next < hi && next.is_finite()) {
            next = if hi.is_finite() {
                0.5 * (lo + hi)
            } else {
                2.0 * t.max(1.0)
            };
        }
        if (next - t).abs() <= 1e-15 * t.abs() {
            return next;
        }
        t = next;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile_round_trip() {
        for p in [1e-10, 0.001, 0.025, 0.3, 0.5, 0.9, 0.975] {
            let x = norm_ppf(p);
            assert!((norm_cdf(x) - p).abs() < 1e-15 + 1e-13 * p);
        }
        assert!(norm_ppf(0.0).is_nan());
    }

    #[test]
    fn t_quantile_inverts_tail() {
        for df in [1.0, 2.5, 10.0, 1e3, 1e6, 1e9] {
            for q in [1e-8, 0.005, 0.025, 0.2, 0.5] {
                let t = t_isf(q, df);
                assert!((t_sf(t, df) - q).abs() <= 1e-12 * q, "df={df} q={q}");
            }
        }
    }

    #[test]
    fn t_known_values() {
        // t(1) is Cauchy: P(T > 1) = 1/4.
        assert!((t_sf(1.0, 1.0) - 0.25).abs() < 1e-15);
        // t(2): P(T > t) = ½ (1 − t / sqrt(2 + t²)).
        let t: f64 = 1.3;
        let exact = 0.5 * (1.0 - t / (2.0 + t * t).sqrt());
        assert!((t_sf(t, 2.0) - exact).abs() < 1e-15);
        assert!(t_sf(f64::NAN, 3.0).is_nan());
    }
}
