//! Compiling a [`Ruleset`] into an immutable, fast-to-evaluate form.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::bucket::{UnitBuf, bucket_with_seed, salt_seed, split_ranges, unit_bytes};
use crate::condition::CompiledCondition;
use crate::condition_table::{ConditionId, ConditionTable};
use crate::context::Context;
use crate::evaluate::{ErrorCode, Evaluation};
use crate::model::{
    BucketRange, Condition, ExperimentRef, Flag, Layer, Ruleset, Serve, Split, Variant,
};
use crate::validate::{flag_issues, validate_layer};

/// A non-fatal compile diagnostic.
/// JSON: `{ "flag": "cta_copy", "message": "rules[0].segments[0]: unknown segment `vip`" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// Affected flag key; empty for ruleset-level problems (e.g. a layer
    /// naming an unknown flag, a duplicate segment key).
    pub flag: String,
    /// What is wrong and what was done about it.
    pub message: String,
}

/// A compiled split: seed and variant bucket ranges.
pub(crate) struct CompiledSplit {
    pub(crate) seed: u64,
    /// Non-empty ranges with the index of the variant they serve.
    pub(crate) ranges: Vec<(BucketRange, usize)>,
    pub(crate) experiment: Option<ExperimentRef>,
}

pub(crate) enum CompiledServe {
    Variant(usize),
    Split(CompiledSplit),
}

pub(crate) struct CompiledRule {
    pub(crate) id: String,
    /// The rule's own conditions followed by those of its segments.
    pub(crate) conditions: Vec<ConditionId>,
    pub(crate) serve: CompiledServe,
}

/// Layer membership check for one flag.
#[derive(Clone)]
pub(crate) struct LayerGate {
    seed: u64,
    bucket_by: String,
    holdout: Option<BucketRange>,
    range: BucketRange,
}

pub(crate) enum GateResult {
    In,
    Out,
    MissingUnit,
}

impl LayerGate {
    pub(crate) fn admits(&self, ctx: &Context) -> GateResult {
        let mut buf: UnitBuf = [0; 20];
        let Some(unit) = ctx
            .get(&self.bucket_by)
            .and_then(|v| unit_bytes(v, &mut buf))
        else {
            return GateResult::MissingUnit;
        };
        let b = bucket_with_seed(unit, self.seed);
        if self.holdout.is_some_and(|h| h.contains(b)) || !self.range.contains(b) {
            GateResult::Out
        } else {
            GateResult::In
        }
    }
}

pub(crate) struct LiveFlag {
    pub(crate) enabled: bool,
    pub(crate) rules: Vec<CompiledRule>,
    pub(crate) fallthrough: CompiledServe,
    pub(crate) layer: Option<LayerGate>,
}

pub(crate) enum Body {
    Live(LiveFlag),
    Broken(ErrorCode),
}

pub(crate) struct CompiledFlag {
    /// Position of the definition in the source ruleset's `flags`.
    pub(crate) source: usize,
    pub(crate) key: String,
    pub(crate) version: u64,
    pub(crate) variants: Vec<Variant>,
    pub(crate) default: Option<usize>,
    pub(crate) bucket_by: String,
    pub(crate) body: Body,
}

/// An environment's ruleset compiled for evaluation. Immutable and `Sync`:
/// share it behind an `Arc` and swap it on change.
pub struct CompiledRuleset {
    source: Ruleset,
    conditions: ConditionTable,
    flags: Vec<CompiledFlag>,
    index: HashMap<String, usize>,
}

impl std::fmt::Debug for CompiledRuleset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledRuleset")
            .field("environment", &self.source.environment)
            .field("flags", &self.flags.len())
            .finish()
    }
}

struct CompiledSegment {
    conditions: Vec<ConditionId>,
    warnings: Vec<String>,
}

impl CompiledRuleset {
    /// Compiles a ruleset. Never fails: invalid flags evaluate to their
    /// default variant (or null) with `Reason::Error`, invalid conditions
    /// never match; each problem yields a [`Warning`].
    pub fn compile(ruleset: Ruleset) -> (CompiledRuleset, Vec<Warning>) {
        let mut warnings = Vec::new();
        let mut conditions = ConditionTable::default();
        let segments = compile_segments(&ruleset.segments, &mut conditions, &mut warnings);
        let gates = compile_layers(&ruleset, &mut warnings);

        let mut flags = Vec::with_capacity(ruleset.flags.len());
        let mut index = HashMap::with_capacity(ruleset.flags.len());
        for (position, flag) in ruleset.flags.iter().enumerate() {
            if index.contains_key(&flag.key) {
                warnings.push(Warning {
                    flag: flag.key.clone(),
                    message: "duplicate flag key: only the first definition is used".into(),
                });
                continue;
            }
            let gate = gates.get(flag.key.as_str());
            let compiled = compile_flag(
                (position, flag),
                &segments,
                gate,
                &mut conditions,
                &mut warnings,
            );
            index.insert(flag.key.clone(), flags.len());
            flags.push(compiled);
        }
        (
            CompiledRuleset {
                source: ruleset,
                conditions,
                flags,
                index,
            },
            warnings,
        )
    }

    /// Evaluates `flag_key` for `ctx`; `None` if the flag does not exist.
    pub fn evaluate(&self, flag_key: &str, ctx: &Context) -> Option<Evaluation<'_>> {
        let i = *self.index.get(flag_key)?;
        let mut outcomes = self.conditions.forgetting();
        self.flags.get(i).map(|f| f.evaluate(ctx, &mut outcomes))
    }

    /// Evaluates every flag, in ruleset order (duplicates dropped): one
    /// evaluation per entry of [`CompiledRuleset::flags`]. A condition shared
    /// by several flags is tested once.
    pub fn evaluate_all<'a>(&'a self, ctx: &'a Context) -> impl Iterator<Item = Evaluation<'a>> {
        let mut outcomes = self.conditions.remembering();
        self.flags
            .iter()
            .map(move |f| f.evaluate(ctx, &mut outcomes))
    }

    /// The definitions of the evaluated flags, in evaluation order (a
    /// duplicate key's later definitions are left out).
    pub fn flags(&self) -> impl Iterator<Item = &Flag> {
        self.flags
            .iter()
            .filter_map(|f| self.source.flags.get(f.source))
    }

    /// Flag keys in ruleset order.
    pub fn flag_keys(&self) -> impl Iterator<Item = &str> {
        self.flags.iter().map(|f| f.key.as_str())
    }

    /// Whether `flag_key` exists.
    pub fn contains(&self, flag_key: &str) -> bool {
        self.index.contains_key(flag_key)
    }

    /// Number of (distinct) flags.
    pub fn len(&self) -> usize {
        self.flags.len()
    }

    /// Whether there are no flags.
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }

    /// Environment key of the source ruleset.
    pub fn environment(&self) -> &str {
        &self.source.environment
    }

    /// The ruleset this was compiled from (e.g. to serve it to SDKs).
    pub fn source(&self) -> &Ruleset {
        &self.source
    }
}

fn compile_conditions(
    conds: &[Condition],
    prefix: &str,
    table: &mut ConditionTable,
    warnings: &mut Vec<String>,
) -> Vec<ConditionId> {
    conds
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let compiled = CompiledCondition::compile(c).unwrap_or_else(|msg| {
                warnings.push(format!(
                    "{prefix}[{i}].value: {msg}; the condition never matches"
                ));
                CompiledCondition::never(c)
            });
            table.intern(c, compiled)
        })
        .collect()
}

fn compile_segments(
    segments: &[crate::model::Segment],
    table: &mut ConditionTable,
    warnings: &mut Vec<Warning>,
) -> HashMap<String, CompiledSegment> {
    let mut out: HashMap<String, CompiledSegment> = HashMap::new();
    for s in segments {
        if out.contains_key(&s.key) {
            warnings.push(Warning {
                flag: String::new(),
                message: format!(
                    "segment `{}` defined more than once: only the first definition is used",
                    s.key
                ),
            });
            continue;
        }
        let mut seg_warnings = Vec::new();
        let conditions = compile_conditions(
            &s.conditions,
            &format!("segment `{}`: conditions", s.key),
            table,
            &mut seg_warnings,
        );
        out.insert(
            s.key.clone(),
            CompiledSegment {
                conditions,
                warnings: seg_warnings,
            },
        );
    }
    out
}

/// A flag's layer membership: a gate, or an error if the layer is unusable.
type Membership = Result<LayerGate, String>;

fn compile_layers<'a>(
    ruleset: &'a Ruleset,
    warnings: &mut Vec<Warning>,
) -> HashMap<&'a str, Membership> {
    let mut out: HashMap<&str, Membership> = HashMap::new();
    let mut seen_layers = std::collections::HashSet::new();
    for layer in &ruleset.layers {
        if !seen_layers.insert(layer.key.as_str()) {
            warnings.push(Warning {
                flag: String::new(),
                message: format!("layer `{}` defined more than once", layer.key),
            });
        }
        let errors = validate_layer(layer);
        let problem = (!errors.is_empty()).then(|| {
            let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
            format!("layer `{}` is invalid ({})", layer.key, list.join("; "))
        });
        for m in &layer.members {
            if !ruleset.flags.iter().any(|f| f.key == m.flag) {
                warnings.push(Warning {
                    flag: String::new(),
                    message: format!("layer `{}` lists unknown flag `{}`", layer.key, m.flag),
                });
                continue;
            }
            let membership = match (&problem, out.get(m.flag.as_str())) {
                (_, Some(_)) => Err(format!(
                    "flag is a member of more than one layer entry (layer `{}`)",
                    layer.key
                )),
                (Some(p), None) => Err(p.clone()),
                (None, None) => Ok(gate(layer, m.range)),
            };
            out.insert(m.flag.as_str(), membership);
        }
    }
    out
}

fn gate(layer: &Layer, range: BucketRange) -> LayerGate {
    LayerGate {
        seed: salt_seed(layer.effective_salt()),
        bucket_by: layer.bucket_by.clone(),
        holdout: layer.holdout,
        range,
    }
}

fn compile_flag(
    (source, flag): (usize, &Flag),
    segments: &HashMap<String, CompiledSegment>,
    membership: Option<&Membership>,
    table: &mut ConditionTable,
    warnings: &mut Vec<Warning>,
) -> CompiledFlag {
    let warn = |warnings: &mut Vec<Warning>, message: String| {
        warnings.push(Warning {
            flag: flag.key.clone(),
            message,
        })
    };
    let default = flag
        .variants
        .iter()
        .position(|v| v.key == flag.default_variant);
    let mut compiled = CompiledFlag {
        source,
        key: flag.key.clone(),
        version: flag.version,
        variants: flag.variants.clone(),
        default,
        bucket_by: flag.bucket_by.clone(),
        body: Body::Broken(ErrorCode::ParseError),
    };

    let issues = flag_issues(flag, &|s| segments.contains_key(s));
    let mut fatal = false;
    for issue in issues {
        fatal |= issue.fatal;
        let suffix = if issue.fatal {
            "; the flag serves its default variant with reason ERROR"
        } else {
            "; the condition never matches"
        };
        warn(warnings, format!("{}{suffix}", issue.error));
    }
    if fatal {
        return compiled;
    }

    let layer = match membership {
        None => None,
        Some(Ok(g)) => Some(g.clone()),
        Some(Err(msg)) => {
            warn(
                warnings,
                format!("{msg}; the flag serves its default variant with reason ERROR"),
            );
            compiled.body = Body::Broken(ErrorCode::General);
            return compiled;
        }
    };

    let variant_index = |key: &str| flag.variants.iter().position(|v| v.key == key);
    let flag_seed = salt_seed(flag.effective_salt());
    let compile_serve = |serve: &Serve| -> CompiledServe {
        match serve {
            Serve::Variant(v) => CompiledServe::Variant(variant_index(v).unwrap_or(0)),
            Serve::Split(split) => {
                CompiledServe::Split(compile_split(split, flag_seed, &variant_index))
            }
        }
    };

    let mut rules = Vec::with_capacity(flag.rules.len());
    let mut sink = Vec::new();
    let mut reported_segments = std::collections::HashSet::new();
    for (i, rule) in flag.rules.iter().enumerate() {
        // Condition warnings were already reported through `flag_issues`.
        let mut conditions = compile_conditions(&rule.conditions, "", table, &mut sink);
        for s in &rule.segments {
            if let Some(seg) = segments.get(s) {
                conditions.extend(seg.conditions.iter().copied());
                if reported_segments.insert(s.as_str()) {
                    for w in &seg.warnings {
                        warn(warnings, format!("rules[{i}] uses {w}"));
                    }
                }
            }
        }
        rules.push(CompiledRule {
            id: rule.id.clone(),
            conditions,
            serve: compile_serve(&rule.serve),
        });
    }
    compiled.body = Body::Live(LiveFlag {
        enabled: flag.enabled,
        rules,
        fallthrough: compile_serve(&flag.fallthrough),
        layer,
    });
    compiled
}

fn compile_split(
    split: &Split,
    flag_seed: u64,
    variant_index: &dyn Fn(&str) -> Option<usize>,
) -> CompiledSplit {
    let seed = match split.salt.as_deref() {
        Some(s) if !s.is_empty() => salt_seed(s),
        _ => flag_seed,
    };
    let weights: Vec<f64> = split.weights.iter().map(|w| w.weight).collect();
    let ranges = split_ranges(split.rollout, &weights)
        .into_iter()
        .zip(&split.weights)
        .filter(|(r, _)| r.start < r.end)
        .filter_map(|(r, w)| variant_index(&w.variant).map(|i| (r, i)))
        .collect();
    CompiledSplit {
        seed,
        ranges,
        experiment: split.experiment.clone(),
    }
}
