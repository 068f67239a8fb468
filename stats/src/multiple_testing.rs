//! Multiple-testing corrections returning adjusted p-values in input order,
//! capped at 1 and monotone, as `statsmodels.stats.multitest.multipletests`.

use crate::error::{Result, StatsError};

fn check(p_values: &[f64]) -> Result<Vec<usize>> {
    if p_values.iter().any(|p| !(0.0..=1.0).contains(p)) {
        return Err(StatsError::InvalidInput(
            "p-values must lie in [0, 1]".into(),
        ));
    }
    let mut order: Vec<usize> = (0..p_values.len()).collect();
    order.sort_by(|&i, &j| p_values[i].total_cmp(&p_values[j]));
    Ok(order)
}

/// Holm–Bonferroni step-down adjustment (family-wise error; used across arms).
pub fn holm(p_values: &[f64]) -> Result<Vec<f64>> {
    let order = check(p_values)?;
    let m = p_values.len() as f64;
    let mut adjusted = vec![0.0; p_values.len()];
    let mut running = 0.0_f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max((m - rank as f64) * p_values[i]);
        adjusted[i] = running.min(1.0);
    }
    Ok(adjusted)
}

/// Benjamini–Hochberg step-up adjustment (false discovery rate; used across metrics).
pub fn benjamini_hochberg(p_values: &[f64]) -> Result<Vec<f64>> {
    let order = check(p_values)?;
    let m = p_values.len() as f64;
    let mut adjusted = vec![0.0; p_values.len()];
    let mut running = f64::INFINITY;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p_values[i] * m / (rank as f64 + 1.0));
        adjusted[i] = running.min(1.0);
    }
    Ok(adjusted)
}
