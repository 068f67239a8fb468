//! What a metric's value is for one exposed unit, said once.
//!
//! The SQL builder (both backends, the direct and the incremental path) and
//! the in-memory reference the tests check it against both translate this
//! description, never a metric definition directly, so a rule changes in one
//! place. Times are offsets `dt = ts − t0` in seconds from the unit's first
//! exposure in the phase `t0`; no event after the data cut-off counts.

use verdict_stats::{MetricSpec, MetricType};

use super::model::{EventSelector, Metric, MetricDefinition, PropertyFilter};

/// Events of one name that pass every filter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Matcher<'a> {
    /// Event name.
    pub event: &'a str,
    /// Property filters, ANDed.
    pub filters: &'a [PropertyFilter],
}

impl<'a> From<&'a EventSelector> for Matcher<'a> {
    fn from(s: &'a EventSelector) -> Self {
        Self {
            event: &s.event,
            filters: &s.filters,
        }
    }
}

/// Seconds in a day.
pub const DAY_SECS: f64 = 86_400.0;

/// When an event counts, by its offset `dt` from the first exposure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Period {
    /// `0 ≤ dt`, and `dt < within` when bounded (a conversion window).
    Post {
        /// Window length in seconds.
        within: Option<f64>,
    },
    /// `−secs ≤ dt < 0`: the CUPED pre-period.
    Pre {
        /// Length in seconds.
        secs: f64,
    },
    /// `from ≤ dt < to` (a retention window).
    Between {
        /// Start in seconds.
        from: f64,
        /// End in seconds (exclusive).
        to: f64,
    },
}

impl Period {
    /// Whether an event at offset `dt` falls in the period.
    pub fn contains(self, dt: f64) -> bool {
        match self {
            Self::Post { within } => dt >= 0.0 && within.is_none_or(|w| dt < w),
            Self::Pre { secs } => dt >= -secs && dt < 0.0,
            Self::Between { from, to } => dt >= from && dt < to,
        }
    }

    /// The earliest offset counted.
    pub fn start(self) -> f64 {
        match self {
            Self::Post { .. } => 0.0,
            Self::Pre { secs } => -secs,
            Self::Between { from, .. } => from,
        }
    }
}

/// How the matching events of one term fold into a number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fold {
    /// 1 when any event matches, else 0.
    Any,
    /// The number of matching events.
    Count,
    /// Σ value, an event without a value counting as `missing`.
    Sum {
        /// The value of an event that has none.
        missing: f64,
    },
    /// The mean of the values present; without any, the term has no value.
    Mean,
}

/// One term of a unit's value: events matching any of `events` within
/// `period`, folded, with a sign (a refund counts against revenue).
#[derive(Debug, Clone, PartialEq)]
pub struct Term<'a> {
    /// An event matching any one of these counts.
    pub events: Vec<Matcher<'a>>,
    /// When events count.
    pub period: Period,
    /// How they fold.
    pub fold: Fold,
    /// `1` or `−1`.
    pub sign: f64,
}

/// A value made of terms, summed.
pub type Terms<'a> = Vec<Term<'a>>;

/// How a unit's value is made.
#[derive(Debug, Clone, PartialEq)]
pub enum Recipe<'a> {
    /// Sums of folded terms: the value, a ratio's denominator, and their
    /// CUPED pre-period counterparts (a pre-period term without a value is 0).
    Terms {
        /// The value (a ratio's numerator).
        value: Terms<'a>,
        /// A ratio's denominator.
        denominator: Option<Terms<'a>>,
        /// The pre-period value, with CUPED.
        pre_value: Option<Terms<'a>>,
        /// The pre-period denominator, with CUPED on a ratio.
        pre_denominator: Option<Terms<'a>>,
    },
    /// NPS: the latest answer after exposure (by time, then event id) with a
    /// value, scored +100 (9–10), 0 (7–8) or −100 (below 7).
    LatestScore {
        /// The survey event.
        event: &'a str,
    },
    /// A funnel: step 1 is reached at the earliest matching event with
    /// `0 ≤ dt ≤ window`, step j at the earliest one at or after step j − 1
    /// with `dt ≤ window`. The value is 1 when the last step is reached, and
    /// the unit's denominator (`d`) is the number of steps it reached.
    Sequence {
        /// The steps, in order.
        steps: Vec<Matcher<'a>>,
        /// The window after first exposure, in seconds (inclusive).
        window: f64,
    },
}

/// Everything about a metric's per-unit value and how units are summed.
#[derive(Debug, Clone, PartialEq)]
pub struct Semantics<'a> {
    /// How the value is made.
    pub recipe: Recipe<'a>,
    /// Units without a value (a mean without events, NPS without an answer)
    /// are left out instead of counting as 0.
    pub excludes_missing: bool,
    /// Cap the value at this percentile (0–100, `percentile_disc`: the
    /// smallest value whose cumulative share reaches it) of the counted units.
    pub winsorize_percentile: Option<f64>,
    /// A unit counts only once this long (seconds) has passed since its first
    /// exposure (retention: its window has ended).
    pub matures_after: Option<f64>,
}

impl Semantics<'_> {
    /// The earliest offset any term reads: how far before the first
    /// exposure events are needed.
    pub fn earliest_offset(&self) -> f64 {
        match &self.recipe {
            Recipe::Terms {
                value,
                denominator,
                pre_value,
                pre_denominator,
            } => [
                Some(value),
                denominator.as_ref(),
                pre_value.as_ref(),
                pre_denominator.as_ref(),
            ]
            .into_iter()
            .flatten()
            .flatten()
            .map(|t| t.period.start())
            .fold(0.0, f64::min),
            Recipe::LatestScore { .. } | Recipe::Sequence { .. } => 0.0,
        }
    }
}

/// NPS points of a 0–10 score.
pub fn nps_points(score: f64) -> f64 {
    if score >= 9.0 {
        100.0
    } else if score >= 7.0 {
        0.0
    } else {
        -100.0
    }
}

/// The statistics engine's description of `metric` (CUPED when `cuped`): a
/// 0/1 value per unit is binomial, a ratio of sums a ratio, anything else a mean.
pub fn metric_spec(metric: &Metric, cuped: bool) -> MetricSpec {
    let metric_type = match metric.definition {
        MetricDefinition::Conversion { .. }
        | MetricDefinition::Retention { .. }
        | MetricDefinition::Funnel { .. } => MetricType::Binomial,
        MetricDefinition::Ratio { .. } => MetricType::Ratio,
        _ => MetricType::Mean,
    };
    MetricSpec {
        metric_type,
        numerator: None,
        denominator: None,
        cuped,
        pre: None,
        inverse: metric.direction.inverse(),
    }
}

/// Whether CUPED can adjust the metric: NPS answers and funnels have no
/// pre-period value.
pub fn supports_cuped(def: &MetricDefinition) -> bool {
    !matches!(
        def,
        MetricDefinition::Nps { .. } | MetricDefinition::Funnel { .. }
    )
}

fn term<'a>(events: Vec<Matcher<'a>>, period: Period, fold: Fold) -> Term<'a> {
    Term {
        events,
        period,
        fold,
        sign: 1.0,
    }
}

impl MetricDefinition {
    /// The metric's per-unit semantics; `pre_period_secs` adds the CUPED
    /// pre-period values.
    pub fn semantics<'a>(&'a self, pre_period_secs: Option<f64>) -> Semantics<'a> {
        let post = Period::Post { within: None };
        let pre = pre_period_secs.map(|secs| Period::Pre { secs });
        let plain = |recipe| Semantics {
            recipe,
            excludes_missing: false,
            winsorize_percentile: None,
            matures_after: None,
        };
        let one = |event: &'a str, filters: &'a [PropertyFilter]| vec![Matcher { event, filters }];
        let single = |events: Vec<Matcher<'a>>, fold| {
            let value = vec![term(events.clone(), post, fold)];
            let pre_value = pre.map(|p| vec![term(events, p, fold)]);
            Recipe::Terms {
                value,
                denominator: None,
                pre_value,
                pre_denominator: None,
            }
        };
        match self {
            Self::Conversion {
                event,
                filters,
                window_hours,
            } => {
                let events = one(event, filters);
                let within = window_hours.map(|h| f64::from(h) * 3600.0);
                plain(Recipe::Terms {
                    value: vec![term(events.clone(), Period::Post { within }, Fold::Any)],
                    denominator: None,
                    pre_value: pre.map(|p| vec![term(events, p, Fold::Any)]),
                    pre_denominator: None,
                })
            }
            Self::Count { event, filters } => plain(single(one(event, filters), Fold::Count)),
            Self::Sum {
                event,
                filters,
                subtract,
                winsorize_percentile,
            } => {
                let sum = Fold::Sum { missing: 0.0 };
                let net = |p| {
                    let mut terms = vec![term(one(event, filters), p, sum)];
                    if let Some(s) = subtract {
                        terms.push(Term {
                            sign: -1.0,
                            ..term(vec![s.into()], p, sum)
                        });
                    }
                    terms
                };
                Semantics {
                    winsorize_percentile: *winsorize_percentile,
                    ..plain(Recipe::Terms {
                        value: net(post),
                        denominator: None,
                        pre_value: pre.map(net),
                        pre_denominator: None,
                    })
                }
            }
            Self::Mean {
                event,
                filters,
                winsorize_percentile,
            } => Semantics {
                excludes_missing: true,
                winsorize_percentile: *winsorize_percentile,
                ..plain(single(one(event, filters), Fold::Mean))
            },
            Self::Ratio {
                numerator,
                denominator,
            } => {
                let sum = Fold::Sum { missing: 1.0 };
                let part = |s: &'a EventSelector, p| vec![term(vec![s.into()], p, sum)];
                plain(Recipe::Terms {
                    value: part(numerator, post),
                    denominator: Some(part(denominator, post)),
                    pre_value: pre.map(|p| part(numerator, p)),
                    pre_denominator: pre.map(|p| part(denominator, p)),
                })
            }
            Self::Retention {
                events,
                from_day,
                to_day,
            } => {
                let activity: Vec<Matcher<'a>> = events
                    .iter()
                    .map(|e| Matcher {
                        event: e,
                        filters: &[],
                    })
                    .collect();
                let window = Period::Between {
                    from: f64::from(*from_day) * DAY_SECS,
                    to: f64::from(*to_day) * DAY_SECS,
                };
                Semantics {
                    matures_after: Some(f64::from(*to_day) * DAY_SECS),
                    ..plain(Recipe::Terms {
                        value: vec![term(activity.clone(), window, Fold::Any)],
                        denominator: None,
                        pre_value: pre.map(|p| vec![term(activity, p, Fold::Any)]),
                        pre_denominator: None,
                    })
                }
            }
            Self::Nps { event } => Semantics {
                excludes_missing: true,
                ..plain(Recipe::LatestScore { event })
            },
            Self::Funnel {
                steps,
                window_hours,
            } => plain(Recipe::Sequence {
                steps: steps.iter().map(Matcher::from).collect(),
                window: f64::from(*window_hours) * 3600.0,
            }),
        }
    }
}

/// Whether `filters` all hold for an event's `properties` (a JSON object).
pub fn filters_match(
    filters: &[PropertyFilter],
    properties: &serde_json::Map<String, serde_json::Value>,
) -> bool {
    filters.iter().all(|f| f.matches(properties))
}
