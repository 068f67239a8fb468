//! Always-valid inference: asymptotic confidence sequences of Waudby-Smith et al.
//! (2023), as in gbstats `SequentialTwoSidedTTest`.
//!
//! With `N = n_a + n_b`, effect variance `v` and tuning `τ`:
//! `ρ = sqrt((−2 ln α + ln(−2 ln α + 1)) / τ)` (their eq. 161),
//! half-width `sqrt(vN) · sqrt(2(Nρ² + 1) ln(sqrt(Nρ² + 1)/α) / (Nρ)²)` (eq. 9),
//! p-value `min(1, sqrt(Nρ² + 1) · exp(−ρ² Δ² N / (2 v (Nρ² + 1))))` (eq. 155).

use crate::effect::effect;
use crate::error::{Result, StatsError, check_alpha, finite};
use crate::frequentist::TestResult;
use crate::moments::ArmStatistic;
use crate::types::DifferenceType;

/// Default tuning parameter (the sample size at which the sequence is tightest).
pub const DEFAULT_TUNING: f64 = 5000.0;

/// Sequential test of treatment vs control, valid under continuous peeking.
pub fn sequential_test(
    control: &ArmStatistic,
    treatment: &ArmStatistic,
    difference: DifferenceType,
    alpha: f64,
    tuning: f64,
) -> Result<TestResult> {
    check_alpha(alpha)?;
    if !(tuning.is_finite() && tuning > 0.0) {
        return Err(StatsError::InvalidInput(format!(
            "sequential tuning parameter must be positive, got {tuning}"
        )));
    }
    let e = effect(control, treatment, difference)?;
    let n = control.n + treatment.n;
    let l = -2.0 * alpha.ln();
    let rho2 = (l + (l + 1.0).ln()) / tuning;
    let tr2p1 = n * rho2 + 1.0;
    let s2 = e.variance * n;
    let half = s2.sqrt() * (2.0 * tr2p1 * (tr2p1.sqrt() / alpha).ln() / (n * n * rho2)).sqrt();
    let half = finite(half, "confidence sequence")?;
    let st2 = e.estimate * e.estimate * n / e.variance;
    let ln_p = 0.5 * tr2p1.ln() - rho2 * st2 / (2.0 * tr2p1);
    let p_value = finite(ln_p.exp().min(1.0), "p-value")?;
    Ok(TestResult {
        estimate: e.estimate,
        se: e.variance.sqrt(),
        ci_lower: e.estimate - half,
        ci_upper: e.estimate + half,
        p_value,
        df: None,
    })
}
