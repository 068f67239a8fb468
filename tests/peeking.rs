//! A/A simulation of daily peeking through the real statistics engine and the
//! real recommendation (`results::assemble`): over 14 daily looks at an
//! experiment with no true effect, the share ever recommended `ship` stays at
//! or under alpha for every engine, because a fixed-horizon engine's primary
//! metric only decides once the planned sample is reached (or the decision
//! date passes). The same simulation with the planned sample reached from
//! the first look shows how far above alpha acting on any look goes.
//! Seeded, so deterministic.

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use verdict::experiments::{
    AnalysisSettings, Arm, Audience, Definition, Engine, Experiment, Status,
};
use verdict::metrics_catalog::semantics::metric_spec;
use verdict::metrics_catalog::{Direction, Metric, MetricDefinition};
use verdict::results::{
    Action, ArmExposure, MetricData, MetricInput, MetricRole, SnapshotSource, assemble,
};
use verdict_stats::{ArmData, PowerBaseline, n_per_arm};

const REPLICATIONS: usize = 1000;
const LOOKS: i64 = 14;
const RATE: f64 = 0.1;
const ALPHA: f64 = 0.05;

fn launch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("date")
}

fn experiment(engine: Engine, mde: f64) -> Experiment {
    let arms = ["control", "treatment"].map(|variant| Arm {
        variant: variant.into(),
        weight: 50.0,
    });
    Experiment {
        key: "aa".into(),
        definition: Definition {
            name: "A/A".into(),
            owner: "sim".into(),
            hypothesis: "no effect".into(),
            environment: "production".into(),
            flag: "aa".into(),
            arms: arms.to_vec(),
            audience: Audience::default(),
            allocation: 100.0,
            layer: None,
            primary_metric: Some("converted".into()),
            secondary_metrics: Vec::new(),
            guardrails: Vec::new(),
            analysis: AnalysisSettings {
                engine,
                alpha: ALPHA,
                ..AnalysisSettings::default()
            },
            minimum_detectable_effect: Some(mde),
            // Half a day before the last look, so the last look always
            // decides, whatever the planned sample.
            target_decision_at: Some(launch() + TimeDelta::hours(LOOKS * 24 - 12)),
            dimensions: Vec::new(),
        },
        status: Status::Running,
        current_phase: 1,
        launched_without_guardrail: true,
        checklist: None,
        created_at: launch(),
        updated_at: launch(),
        started_at: Some(launch()),
        stopped_at: None,
        decided_at: None,
        archived_at: None,
    }
}

fn converted() -> Metric {
    Metric {
        key: "converted".into(),
        name: "Converted".into(),
        description: String::new(),
        direction: Direction::HigherIsBetter,
        definition: MetricDefinition::Conversion {
            event: "purchase".into(),
            filters: Vec::new(),
            window_hours: None,
        },
        data_source: None,
        created_at: launch(),
        updated_at: launch(),
    }
}

/// Shares of `REPLICATIONS` A/A experiments recommended `ship` at some look,
/// and recommended `ship` or `roll_back` (decided on the primary metric).
fn ever_decided(engine: Engine, mde: f64, units_per_day: u64, seed: u64) -> (f64, f64) {
    let exp = experiment(engine, mde);
    let metric = converted();
    let spec = metric_spec(&metric, false);
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut shipped, mut decided) = (0, 0);
    for _ in 0..REPLICATIONS {
        let mut ever = (false, false);
        let (mut n, mut conversions) = (0u64, [0u64; 2]);
        for day in 1..=LOOKS {
            n += units_per_day;
            for c in &mut conversions {
                *c += (0..units_per_day).filter(|_| rng.random_bool(RATE)).count() as u64;
            }
            let arms: Vec<ArmExposure> = ["control", "treatment"]
                .iter()
                .map(|v| ArmExposure {
                    variant: (*v).into(),
                    weight: 50.0,
                    units: n,
                })
                .collect();
            let data = ["control", "treatment"]
                .iter()
                .zip(conversions)
                .map(|(v, c)| ArmData {
                    name: (*v).into(),
                    n: n as f64,
                    sum: Some(c as f64),
                    sum_squares: Some(c as f64),
                    ..ArmData::default()
                })
                .collect();
            let input = MetricInput::Data(MetricData {
                role: MetricRole::Primary,
                metric: metric.clone(),
                spec: spec.clone(),
                arms: data,
                steps: None,
            });
            let results = assemble(
                &exp,
                1,
                arms,
                Some(launch()),
                vec![input],
                launch() + TimeDelta::days(day),
                SnapshotSource::Manual,
            );
            let action = results.recommendation.action;
            ever.0 |= action == Action::Ship;
            ever.1 |= matches!(action, Action::Ship | Action::RollBack);
        }
        shipped += usize::from(ever.0);
        decided += usize::from(ever.1);
    }
    let share = |k: usize| k as f64 / REPLICATIONS as f64;
    (share(shipped), share(decided))
}

#[test]
fn daily_peeking_ships_an_aa_test_at_most_alpha_of_the_time() {
    // Plan the sample to be reached on the last look: 2 × n per arm over
    // 14 days' traffic.
    let mde = 0.2;
    let n = n_per_arm(PowerBaseline::Rate(RATE), mde, ALPHA, 0.8).expect("plan");
    let units_per_day = (n as f64 / (LOOKS as f64 - 0.5)).ceil() as u64;
    // A tiny planned sample (a huge MDE) is reached at the first look: the
    // primary metric then decides at every look, as without the rule.
    let every_look = 3.0;
    let mut table = Vec::new();
    for (i, engine) in [Engine::Frequentist, Engine::Bayesian, Engine::Sequential]
        .into_iter()
        .enumerate()
    {
        let seed = 0xaa00 + i as u64;
        let (ship, decided) = ever_decided(engine, mde, units_per_day, seed);
        let (ship_every, decided_every) = ever_decided(engine, every_look, units_per_day, seed);
        println!(
            "{engine:?}: ever shipped {ship:.3} (shipped or rolled back {decided:.3}) when the \
             primary decides at the planned sample; {ship_every:.3} ({decided_every:.3}) when it \
             decides at every look ({REPLICATIONS} A/A experiments, {LOOKS} daily looks, \
             {units_per_day} units per arm per day)"
        );
        assert!(ship <= ALPHA, "{engine:?}: ever shipped {ship} > {ALPHA}");
        table.push((engine, ship, decided_every));
    }
    let (_, _, frequentist_every_look) = table[0];
    assert!(
        frequentist_every_look > 2.0 * ALPHA,
        "peeking at a fixed-horizon test inflates false decisions: {frequentist_every_look}"
    );
    let (_, _, sequential_every_look) = table[2];
    assert!(
        sequential_every_look <= ALPHA,
        "the sequential engine may stop early: {sequential_every_look}"
    );
}
