//! CUPED regression adjustment (Deng et al. 2013) for mean/binomial and ratio metrics.
//!
//! `theta` is estimated once per comparison from control and treatment pooled:
//! * mean/binomial (gbstats 0.8.0 `compute_theta`): `θ = cov(y, x) / var(x)` over the
//!   joint sample; if the pooled pre or post variance is zero, θ = 0 and the
//!   unadjusted statistics are used;
//! * ratio (gbstats' `RegressionAdjustedRatioStatistic`): with per-arm covariance
//!   matrix `Λ` of `(m, d, m_pre, d_pre)`, `g = (1/d̄, −m̄/d̄²)` and
//!   `h = (1/d̄_pre, −m̄_pre/d̄_pre²)`,
//!   `θ = Σ_arms gᵀ Λ_{post,pre} h / Σ_arms hᵀ Λ_pre h`; the adjusted arm mean is
//!   `m̄/d̄ − θ m̄_pre/d̄_pre` with per-unit variance `∇ᵀ Λ ∇`, `∇ = (g, −θ h)`;
//!   when an arm has no pre-period denominator at all (no activity before
//!   exposure), θ = 0 as for a covariate without variance.

use crate::error::{Result, StatsError};
use crate::moments::{
    ArmStatistic, Component, POST_PRE, PRE, PRE_DENOMINATOR, PRE_NUMERATOR, RATIO_CROSS, check_n,
    component, covariance, field, post_component, ratio_components, ratio_statistic,
};
use crate::types::{ArmData, MetricSpec, MetricType};

/// CUPED-adjusted control and treatment statistics.
pub(crate) fn cuped_pair(
    metric: &MetricSpec,
    control: &ArmData,
    treatment: &ArmData,
) -> Result<(ArmStatistic, ArmStatistic)> {
    check_n(control)?;
    check_n(treatment)?;
    match metric.metric_type {
        MetricType::Binomial | MetricType::Mean => mean_pair(metric, control, treatment),
        MetricType::Ratio => ratio_pair(metric, control, treatment),
    }
}

struct MeanParts {
    post: Component,
    pre: Component,
    post_pre: f64,
}

fn mean_parts(metric: &MetricSpec, arm: &ArmData) -> Result<MeanParts> {
    Ok(MeanParts {
        post: post_component(metric, arm)?,
        pre: component(arm, metric.pre_type(), PRE)?,
        post_pre: field(arm, POST_PRE)?,
    })
}

fn mean_adjusted(p: &MeanParts, theta: f64) -> ArmStatistic {
    let cov = covariance(p.post.n, p.post.sum, p.pre.sum, p.post_pre);
    ArmStatistic {
        n: p.post.n,
        mean: p.post.mean() - theta * p.pre.mean(),
        unadjusted_mean: p.post.mean(),
        variance: p.post.variance() + theta * theta * p.pre.variance() - 2.0 * theta * cov,
    }
}

fn mean_pair(
    metric: &MetricSpec,
    control: &ArmData,
    treatment: &ArmData,
) -> Result<(ArmStatistic, ArmStatistic)> {
    let a = mean_parts(metric, control)?;
    let b = mean_parts(metric, treatment)?;
    let post = a.post.join(&b.post);
    let pre = a.pre.join(&b.pre);
    let theta = if pre.variance() == 0.0 || post.variance() == 0.0 {
        0.0
    } else {
        covariance(post.n, post.sum, pre.sum, a.post_pre + b.post_pre) / pre.variance()
    };
    Ok((mean_adjusted(&a, theta), mean_adjusted(&b, theta)))
}

/// Ratio pieces of one arm: means `β = (m̄, d̄, m̄_pre, d̄_pre)` and covariance `Λ`.
struct RatioParts {
    post: (Component, Component, f64),
    beta: [f64; 4],
    lambda: [[f64; 4]; 4],
}

fn ratio_parts(metric: &MetricSpec, arm: &ArmData) -> Result<RatioParts> {
    let post = ratio_components(metric, arm)?;
    let (m, d, md) = post;
    let mp = component(arm, metric.pre_type(), PRE_NUMERATOR)?;
    let dp = component(arm, metric.denominator_type(), PRE_DENOMINATOR)?;
    let [m_mp, d_dp, mp_dp, m_dp, d_mp] = RATIO_CROSS.map(|name| field(arm, name));
    let (m_mp, d_dp, mp_dp, m_dp, d_mp) = (m_mp?, d_dp?, mp_dp?, m_dp?, d_mp?);
    if d.mean() == 0.0 {
        return Err(StatsError::ZeroDenominator(arm.name.clone()));
    }
    let n = arm.n;
    let cov = |x: &Component, y: &Component, xy: f64| covariance(n, x.sum, y.sum, xy);
    let c_md = cov(&m, &d, md);
    let c_mmp = cov(&m, &mp, m_mp);
    let c_mdp = cov(&m, &dp, m_dp);
    let c_dmp = cov(&d, &mp, d_mp);
    let c_ddp = cov(&d, &dp, d_dp);
    let c_mpdp = cov(&mp, &dp, mp_dp);
    Ok(RatioParts {
        post,
        beta: [m.mean(), d.mean(), mp.mean(), dp.mean()],
        lambda: [
            [m.variance(), c_md, c_mmp, c_mdp],
            [c_md, d.variance(), c_dmp, c_ddp],
            [c_mmp, c_dmp, mp.variance(), c_mpdp],
            [c_mdp, c_ddp, c_mpdp, dp.variance()],
        ],
    })
}

impl RatioParts {
    fn g(&self) -> [f64; 2] {
        let [m, d, _, _] = self.beta;
        [1.0 / d, -m / (d * d)]
    }
    fn h(&self) -> [f64; 2] {
        let [_, _, mp, dp] = self.beta;
        [1.0 / dp, -mp / (dp * dp)]
    }
    /// `uᵀ Λ[r.., c..] v` for 2-vectors on the given 2×2 block.
    fn quad(&self, u: [f64; 2], r: usize, v: [f64; 2], c: usize) -> f64 {
        let l = &self.lambda;
        u[0] * (l[r][c] * v[0] + l[r][c + 1] * v[1])
            + u[1] * (l[r + 1][c] * v[0] + l[r + 1][c + 1] * v[1])
    }
    fn adjusted(&self, theta: f64) -> ArmStatistic {
        let [m, d, mp, dp] = self.beta;
        let g = self.g();
        let h = self.h();
        let k = [-theta * h[0], -theta * h[1]];
        let variance = self.quad(g, 0, g, 0) + 2.0 * self.quad(g, 0, k, 2) + self.quad(k, 2, k, 2);
        ArmStatistic {
            n: self.post.0.n,
            mean: m / d - theta * mp / dp,
            unadjusted_mean: m / d,
            variance,
        }
    }
}

fn ratio_pair(
    metric: &MetricSpec,
    control: &ArmData,
    treatment: &ArmData,
) -> Result<(ArmStatistic, ArmStatistic)> {
    let a = ratio_parts(metric, control)?;
    let b = ratio_parts(metric, treatment)?;
    // Without a pre-period denominator in an arm (no pre-exposure activity at
    // all) the covariate is undefined there: like a covariate without
    // variance, it adjusts nothing.
    let pre_defined = a.beta[3] != 0.0 && b.beta[3] != 0.0;
    let var_pre = if pre_defined {
        a.quad(a.h(), 2, a.h(), 2) + b.quad(b.h(), 2, b.h(), 2)
    } else {
        0.0
    };
    if var_pre == 0.0 {
        let plain = |p: &RatioParts, arm: &ArmData| {
            let (m, d, md) = &p.post;
            ratio_statistic(arm, m, d, *md)
        };
        return Ok((plain(&a, control)?, plain(&b, treatment)?));
    }
    let cov = a.quad(a.g(), 0, a.h(), 2) + b.quad(b.g(), 0, b.h(), 2);
    let theta = cov / var_pre;
    Ok((a.adjusted(theta), b.adjusted(theta)))
}
