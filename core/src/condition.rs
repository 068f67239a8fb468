//! Compiled conditions and their matching semantics (see [`Operator`]).

use std::cmp::Ordering;
use std::collections::HashSet;

use serde_json::{Number, Value};

use crate::context::Context;
use crate::model::{Condition, Operator};

/// Above this many strings an `in` list is matched through a hash set.
const SET_THRESHOLD: usize = 8;

/// A number normalised for exact integer and float comparison.
#[derive(Debug, Clone, Copy)]
enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    fn of(n: &Number) -> Option<Num> {
        if let Some(i) = n.as_i64() {
            Some(Num::Int(i128::from(i)))
        } else if let Some(u) = n.as_u64() {
            Some(Num::Int(i128::from(u)))
        } else {
            n.as_f64().map(Num::Float)
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            // Precision loss for huge integers is accepted for mixed comparisons.
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    fn cmp(self, other: Num) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }
}

/// A scalar operand of `eq` / `neq` / `in` / `not_in`.
#[derive(Debug, Clone)]
enum Scalar {
    Str(String),
    Num(Num),
    Bool(bool),
}

impl Scalar {
    fn of(v: &Value) -> Option<Scalar> {
        match v {
            Value::String(s) => Some(Scalar::Str(s.clone())),
            Value::Number(n) => Num::of(n).map(Scalar::Num),
            Value::Bool(b) => Some(Scalar::Bool(*b)),
            _ => None,
        }
    }

    fn matches(&self, v: &Value) -> bool {
        match (self, v) {
            (Scalar::Str(a), Value::String(b)) => a == b,
            (Scalar::Bool(a), Value::Bool(b)) => a == b,
            (Scalar::Num(a), Value::Number(b)) => {
                Num::of(b).and_then(|b| a.cmp(b)) == Some(Ordering::Equal)
            }
            _ => false,
        }
    }
}

/// The operand list of `in` / `not_in`.
#[derive(Debug, Clone)]
struct ScalarSet {
    strings: Vec<String>,
    string_set: Option<HashSet<String>>,
    numbers: Vec<Num>,
    bools: [bool; 2],
}

impl ScalarSet {
    fn of(values: &[Value]) -> Option<ScalarSet> {
        let mut set = ScalarSet {
            strings: Vec::new(),
            string_set: None,
            numbers: Vec::new(),
            bools: [false; 2],
        };
        for v in values {
            match Scalar::of(v)? {
                Scalar::Str(s) => set.strings.push(s),
                Scalar::Num(n) => set.numbers.push(n),
                Scalar::Bool(b) => set.bools[usize::from(b)] = true,
            }
        }
        if set.strings.len() > SET_THRESHOLD {
            set.string_set = Some(std::mem::take(&mut set.strings).into_iter().collect());
        }
        Some(set)
    }

    fn contains(&self, v: &Value) -> bool {
        match v {
            Value::String(s) => match &self.string_set {
                Some(set) => set.contains(s.as_str()),
                None => self.strings.iter().any(|x| x == s),
            },
            Value::Number(n) => Num::of(n).is_some_and(|n| {
                self.numbers
                    .iter()
                    .any(|x| x.cmp(n) == Some(Ordering::Equal))
            }),
            Value::Bool(b) => self.bools[usize::from(*b)],
            _ => false,
        }
    }
}

/// Which orderings satisfy a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Cmp {
    fn accepts(self, ord: Ordering) -> bool {
        match self {
            Cmp::Eq => ord == Ordering::Equal,
            Cmp::Gt => ord == Ordering::Greater,
            Cmp::Gte => ord != Ordering::Less,
            Cmp::Lt => ord == Ordering::Less,
            Cmp::Lte => ord != Ordering::Greater,
        }
    }
}

#[derive(Debug, Clone)]
enum Test {
    /// An invalid condition: never matches.
    Never,
    Exists,
    NotExists,
    Eq(Scalar),
    Neq(Scalar),
    In(ScalarSet),
    NotIn(ScalarSet),
    Contains(String),
    StartsWith(String),
    EndsWith(String),
    Number(Num, Cmp),
    Semver(semver::Version, Cmp),
    /// Unix seconds; `true` = attribute must be before, `false` = after.
    Time(f64, bool),
}

/// A condition with its operand parsed once at compile time.
#[derive(Debug, Clone)]
pub(crate) struct CompiledCondition {
    attribute: String,
    test: Test,
}

impl CompiledCondition {
    /// Compiles a condition, or explains why its `value` is invalid for its operator.
    pub(crate) fn compile(cond: &Condition) -> Result<Self, String> {
        let test = compile_test(cond.op, &cond.value)?;
        Ok(Self {
            attribute: cond.attribute.clone(),
            test,
        })
    }

    /// A condition that never matches (used in place of an invalid one).
    pub(crate) fn never(cond: &Condition) -> Self {
        Self {
            attribute: cond.attribute.clone(),
            test: Test::Never,
        }
    }

    /// Whether the context satisfies this condition.
    pub(crate) fn matches(&self, ctx: &Context) -> bool {
        let attr = ctx.get(&self.attribute);
        let v = match (&self.test, attr) {
            (Test::NotExists, a) => return a.is_none(),
            (_, None) | (Test::Never, _) => return false,
            (_, Some(v)) => v,
        };
        match &self.test {
            Test::Never | Test::NotExists => false,
            Test::Exists => true,
            Test::Eq(s) => s.matches(v),
            Test::Neq(s) => !s.matches(v),
            Test::In(set) => set.contains(v),
            Test::NotIn(set) => !set.contains(v),
            Test::Contains(needle) => match v {
                Value::String(s) => s.contains(needle.as_str()),
                Value::Array(items) => items.iter().any(|x| x.as_str() == Some(needle.as_str())),
                _ => false,
            },
            Test::StartsWith(p) => v.as_str().is_some_and(|s| s.starts_with(p.as_str())),
            Test::EndsWith(p) => v.as_str().is_some_and(|s| s.ends_with(p.as_str())),
            Test::Number(operand, cmp) => match v {
                Value::Number(n) => Num::of(n)
                    .and_then(|n| n.cmp(*operand))
                    .is_some_and(|o| cmp.accepts(o)),
                _ => false,
            },
            Test::Semver(operand, cmp) => v
                .as_str()
                .and_then(parse_semver)
                .is_some_and(|ver| cmp.accepts(ver.cmp_precedence(operand))),
            Test::Time(operand, before) => {
                parse_time(v).is_some_and(|t| if *before { t < *operand } else { t > *operand })
            }
        }
    }
}

fn compile_test(op: Operator, value: &Value) -> Result<Test, String> {
    let name = op.as_str();
    let scalar =
        || Scalar::of(value).ok_or_else(|| format!("`{name}` expects a string, number or boolean"));
    let set = || {
        value
            .as_array()
            .and_then(|a| ScalarSet::of(a))
            .ok_or_else(|| format!("`{name}` expects an array of strings, numbers or booleans"))
    };
    let string = || {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("`{name}` expects a string"))
    };
    let number = |cmp| match value {
        Value::Number(n) => Num::of(n)
            .map(|n| Test::Number(n, cmp))
            .ok_or_else(|| format!("`{name}` expects a number")),
        _ => Err(format!("`{name}` expects a number")),
    };
    let version = |cmp| {
        value
            .as_str()
            .and_then(parse_semver)
            .map(|v| Test::Semver(v, cmp))
            .ok_or_else(|| format!("`{name}` expects a semantic version string like \"1.2.3\""))
    };
    let time = |before| {
        parse_time(value)
            .map(|t| Test::Time(t, before))
            .ok_or_else(|| {
                format!("`{name}` expects an RFC 3339 timestamp string or unix seconds number")
            })
    };
    Ok(match op {
        Operator::Eq => Test::Eq(scalar()?),
        Operator::Neq => Test::Neq(scalar()?),
        Operator::In => Test::In(set()?),
        Operator::NotIn => Test::NotIn(set()?),
        Operator::Contains => Test::Contains(string()?),
        Operator::StartsWith => Test::StartsWith(string()?),
        Operator::EndsWith => Test::EndsWith(string()?),
        Operator::Gt => number(Cmp::Gt)?,
        Operator::Gte => number(Cmp::Gte)?,
        Operator::Lt => number(Cmp::Lt)?,
        Operator::Lte => number(Cmp::Lte)?,
        Operator::SemverEq => version(Cmp::Eq)?,
        Operator::SemverGt => version(Cmp::Gt)?,
        Operator::SemverGte => version(Cmp::Gte)?,
        Operator::SemverLt => version(Cmp::Lt)?,
        Operator::SemverLte => version(Cmp::Lte)?,
        Operator::Exists => Test::Exists,
        Operator::NotExists => Test::NotExists,
        Operator::Before => time(true)?,
        Operator::After => time(false)?,
    })
}

/// Parses a semantic version, accepting an optional leading `v`/`V`.
fn parse_semver(s: &str) -> Option<semver::Version> {
    let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
    semver::Version::parse(s).ok()
}

/// Parses a timestamp: RFC 3339 string or unix seconds (int or float) → unix seconds.
fn parse_time(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()),
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp() as f64 + f64::from(t.timestamp_subsec_nanos()) / 1e9),
        _ => None,
    }
}
