//! Definition validation with JSON-path field errors, for the management API.

use std::collections::HashSet;

use crate::FieldError;
use crate::bucket::BUCKETS;
use crate::condition::CompiledCondition;
use crate::model::{BucketRange, Condition, Flag, Layer, Segment, Serve};

/// Tolerance on the sum of split weights (which must equal 100).
pub const WEIGHT_SUM_TOLERANCE: f64 = 1e-9;

/// A field error plus whether it makes the whole flag unusable (vs. only
/// disabling one condition).
pub(crate) struct Issue {
    pub(crate) error: FieldError,
    pub(crate) fatal: bool,
}

#[derive(Default)]
struct Issues(Vec<Issue>);

impl Issues {
    fn fatal(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.push(field.into(), message.into(), true);
    }

    fn minor(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.push(field.into(), message.into(), false);
    }

    fn push(&mut self, field: String, message: String, fatal: bool) {
        self.0.push(Issue {
            error: FieldError { field, message },
            fatal,
        });
    }

    fn into_errors(self) -> Vec<FieldError> {
        self.0.into_iter().map(|i| i.error).collect()
    }
}

/// Whether `s` is a slug: 1–64 chars of `[a-z0-9_-]`, starting alphanumeric.
pub fn is_slug(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-')
}

const SLUG_MESSAGE: &str = "must be 1-64 characters of [a-z0-9_-] starting with a letter or digit";

/// Validates a flag; `segment_exists` tells whether a segment key is defined
/// in the flag's environment. Returns every problem found (empty = valid).
pub fn validate_flag(flag: &Flag, segment_exists: impl Fn(&str) -> bool) -> Vec<FieldError> {
    flag_issues(flag, &segment_exists)
        .into_iter()
        .map(|i| i.error)
        .collect()
}

/// Validates a segment (key slug and condition operands).
pub fn validate_segment(segment: &Segment) -> Vec<FieldError> {
    let mut out = Issues::default();
    if !is_slug(&segment.key) {
        out.fatal("key", SLUG_MESSAGE);
    }
    conditions(&segment.conditions, "conditions", &mut out);
    out.into_errors()
}

/// Validates a layer: key slug, ranges inside `0..10000` with `start < end`,
/// members' ranges disjoint from each other and from the holdout, no flag
/// listed twice.
pub fn validate_layer(layer: &Layer) -> Vec<FieldError> {
    let mut out = Issues::default();
    if !is_slug(&layer.key) {
        out.fatal("key", SLUG_MESSAGE);
    }
    if layer.bucket_by.is_empty() {
        out.fatal("bucket_by", "must not be empty");
    }
    if let Some(h) = &layer.holdout {
        range(h, "holdout", &mut out);
    }
    let mut seen = HashSet::new();
    for (i, m) in layer.members.iter().enumerate() {
        if m.flag.is_empty() {
            out.fatal(format!("members[{i}].flag"), "must not be empty");
        } else if !seen.insert(m.flag.as_str()) {
            out.fatal(
                format!("members[{i}].flag"),
                format!("flag `{}` is listed more than once", m.flag),
            );
        }
        let field = format!("members[{i}].range");
        range(&m.range, &field, &mut out);
        if let Some(h) = &layer.holdout
            && m.range.overlaps(h)
        {
            out.fatal(&field, "overlaps the holdout");
        }
        for (j, other) in layer.members[..i].iter().enumerate() {
            if m.range.overlaps(&other.range) {
                out.fatal(&field, format!("overlaps members[{j}].range"));
            }
        }
    }
    out.into_errors()
}

fn range(r: &BucketRange, field: &str, out: &mut Issues) {
    if r.start >= r.end || r.end > BUCKETS {
        out.fatal(
            field,
            format!(
                "must satisfy 0 <= start < end <= {BUCKETS} (got {}..{})",
                r.start, r.end
            ),
        );
    }
}

/// All issues of a flag, classified as fatal or not.
pub(crate) fn flag_issues(flag: &Flag, segment_exists: &dyn Fn(&str) -> bool) -> Vec<Issue> {
    let mut out = Issues::default();
    if !is_slug(&flag.key) {
        out.fatal("key", SLUG_MESSAGE);
    }
    if flag.bucket_by.is_empty() {
        out.fatal("bucket_by", "must not be empty");
    }
    if flag.variants.is_empty() {
        out.fatal("variants", "at least one variant is required");
    }
    let mut keys = HashSet::new();
    for (i, v) in flag.variants.iter().enumerate() {
        if v.key.is_empty() {
            out.fatal(format!("variants[{i}].key"), "must not be empty");
        } else if !keys.insert(v.key.as_str()) {
            out.fatal(
                format!("variants[{i}].key"),
                format!("duplicate variant key `{}`", v.key),
            );
        }
        if !flag.value_type.accepts(&v.value) {
            out.fatal(
                format!("variants[{i}].value"),
                format!("must be a {} value", flag.value_type.as_str()),
            );
        }
    }
    if !keys.contains(flag.default_variant.as_str()) {
        out.fatal(
            "default_variant",
            format!("unknown variant `{}`", flag.default_variant),
        );
    }
    let mut rule_ids = HashSet::new();
    for (i, rule) in flag.rules.iter().enumerate() {
        let p = format!("rules[{i}]");
        if rule.id.is_empty() {
            out.fatal(format!("{p}.id"), "must not be empty");
        } else if !rule_ids.insert(rule.id.as_str()) {
            out.fatal(
                format!("{p}.id"),
                format!("duplicate rule id `{}`", rule.id),
            );
        }
        conditions(&rule.conditions, &format!("{p}.conditions"), &mut out);
        for (j, s) in rule.segments.iter().enumerate() {
            if !segment_exists(s) {
                out.fatal(
                    format!("{p}.segments[{j}]"),
                    format!("unknown segment `{s}`"),
                );
            }
        }
        serve(&rule.serve, &format!("{p}.serve"), &keys, &mut out);
    }
    serve(&flag.fallthrough, "fallthrough", &keys, &mut out);
    out.0
}

fn conditions(conds: &[Condition], prefix: &str, out: &mut Issues) {
    for (j, c) in conds.iter().enumerate() {
        if c.attribute.is_empty() {
            out.minor(format!("{prefix}[{j}].attribute"), "must not be empty");
        }
        if let Err(msg) = CompiledCondition::compile(c) {
            out.minor(format!("{prefix}[{j}].value"), msg);
        }
    }
}

fn serve(serve: &Serve, prefix: &str, variants: &HashSet<&str>, out: &mut Issues) {
    match serve {
        Serve::Variant(v) => {
            if !variants.contains(v.as_str()) {
                out.fatal(
                    format!("{prefix}.variant"),
                    format!("unknown variant `{v}`"),
                );
            }
        }
        Serve::Split(split) => {
            let p = format!("{prefix}.split");
            if !(0.0..=100.0).contains(&split.rollout) {
                out.fatal(format!("{p}.rollout"), "must be between 0 and 100");
            }
            if split.weights.is_empty() {
                out.fatal(format!("{p}.weights"), "at least one weight is required");
            }
            let mut seen = HashSet::new();
            let mut sum = 0.0;
            let mut sane = true;
            for (k, w) in split.weights.iter().enumerate() {
                if !variants.contains(w.variant.as_str()) {
                    out.fatal(
                        format!("{p}.weights[{k}].variant"),
                        format!("unknown variant `{}`", w.variant),
                    );
                } else if !seen.insert(w.variant.as_str()) {
                    out.fatal(
                        format!("{p}.weights[{k}].variant"),
                        format!("variant `{}` appears more than once", w.variant),
                    );
                }
                if !(0.0..=100.0).contains(&w.weight) {
                    out.fatal(
                        format!("{p}.weights[{k}].weight"),
                        "must be between 0 and 100",
                    );
                    sane = false;
                }
                sum += w.weight;
            }
            if sane && !split.weights.is_empty() && (sum - 100.0).abs() > WEIGHT_SUM_TOLERANCE {
                out.fatal(
                    format!("{p}.weights"),
                    format!("weights must sum to 100 (got {sum})"),
                );
            }
            if let Some(e) = &split.experiment
                && e.key.is_empty()
            {
                out.fatal(format!("{p}.experiment.key"), "must not be empty");
            }
        }
    }
}
