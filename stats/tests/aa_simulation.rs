//! A/A simulation: under repeated peeking the sequential engine keeps the
//! false-positive rate near alpha, while re-running a fixed-horizon test at
//! every look inflates it. Seeded, so deterministic.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use verdict_stats::{ArmStatistic, DifferenceType, sequential_test, welch_test};

const EXPERIMENTS: usize = 400;
const LOOKS: usize = 14;
const UNITS_PER_ARM_PER_DAY: usize = 150;
const ALPHA: f64 = 0.05;
const RATE: f64 = 0.1;

fn stat(n: f64, conversions: f64) -> ArmStatistic {
    let p = conversions / n;
    ArmStatistic {
        n,
        mean: p,
        unadjusted_mean: p,
        variance: p * (1.0 - p),
    }
}

#[test]
fn sequential_controls_false_positives_under_peeking() {
    let mut rng = StdRng::seed_from_u64(0x5eed_a11a);
    let (mut seq_fp, mut fixed_fp) = (0usize, 0usize);
    for _ in 0..EXPERIMENTS {
        let (mut ca, mut cb, mut n) = (0.0, 0.0, 0.0);
        let (mut seq_rejected, mut fixed_rejected) = (false, false);
        for _ in 0..LOOKS {
            for _ in 0..UNITS_PER_ARM_PER_DAY {
                ca += f64::from(u8::from(rng.random_bool(RATE)));
                cb += f64::from(u8::from(rng.random_bool(RATE)));
            }
            n += UNITS_PER_ARM_PER_DAY as f64;
            let (a, b) = (stat(n, ca), stat(n, cb));
            if let Ok(r) = sequential_test(&a, &b, DifferenceType::Relative, ALPHA, 5000.0) {
                seq_rejected |= r.p_value < ALPHA;
                // The confidence sequence and the p-value agree on rejection.
                assert_eq!(r.p_value < ALPHA, r.ci_lower > 0.0 || r.ci_upper < 0.0);
            }
            if let Ok(r) = welch_test(&a, &b, DifferenceType::Relative, ALPHA) {
                fixed_rejected |= r.p_value < ALPHA;
            }
        }
        seq_fp += usize::from(seq_rejected);
        fixed_fp += usize::from(fixed_rejected);
    }
    let m = EXPERIMENTS as f64;
    let seq_rate = seq_fp as f64 / m;
    let fixed_rate = fixed_fp as f64 / m;
    let se = (ALPHA * (1.0 - ALPHA) / m).sqrt();
    assert!(
        seq_rate <= ALPHA + 3.0 * se,
        "sequential FPR {seq_rate} exceeds {}",
        ALPHA + 3.0 * se
    );
    assert!(
        fixed_rate > 1.5 * ALPHA,
        "peeking fixed-horizon FPR {fixed_rate} should exceed {}",
        1.5 * ALPHA
    );
    eprintln!("A/A: sequential FPR {seq_rate}, fixed-horizon-with-peeking FPR {fixed_rate}");
}
