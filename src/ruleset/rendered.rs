//! Each flag's evaluation entry, rendered to JSON once per snapshot, in both
//! wire shapes: `POST /api/v1/evaluate`'s and OFREP bulk's.
//!
//! A native entry is `{"key":…,"value":…,"variant":…,"reason":…,"version":…,
//! "error_code":…,"rule_id":…}`; an OFREP one `{"key":…,"value":…,"reason":…,
//! "variant":…,"metadata":{"flagVersion":…,"ruleId":…}}`. Everything but the
//! reason, error and rule is fixed by the served variant, so the snapshot
//! keeps, per flag, those parts for each variant and each rule id as JSON;
//! serving an evaluation then copies a handful of byte strings. The output is
//! byte-identical to serde_json serializing `FlagEvaluation` and
//! `OfrepBulkItem` (tested in `api::evaluate_body` and `api::ofrep_body`).

use serde_json::Value;
use verdict_core::{CompiledRuleset, ErrorCode, Evaluation, Flag};

/// Pre-rendered entry pieces of every flag, in evaluation order.
pub struct RenderedFlags {
    flags: Vec<RenderedFlag>,
}

struct RenderedFlag {
    /// Per variant: `{"key":K,"value":V,"variant":VK,"reason":`.
    heads: Vec<Vec<u8>>,
    /// `,"version":N,"error_code":`.
    version: Vec<u8>,
    /// Per rule: its id as a JSON string.
    rules: Vec<Vec<u8>>,
    /// Per variant: OFREP's `{"key":K,"value":V,"reason":`.
    ofrep_heads: Vec<Vec<u8>>,
    /// Per variant: OFREP's `,"variant":VK,"metadata":{"flagVersion":N`.
    ofrep_tails: Vec<Vec<u8>>,
}

impl RenderedFlags {
    /// Renders the pieces of every flag `compiled` evaluates.
    pub fn new(compiled: &CompiledRuleset) -> Self {
        Self {
            flags: compiled.flags().map(RenderedFlag::new).collect(),
        }
    }

    /// Appends the entry of `e`, the evaluation of the flag at `position` in
    /// evaluation order.
    pub fn write(&self, position: usize, e: &Evaluation<'_>, out: &mut Vec<u8>) {
        let flag = self.flags.get(position);
        match flag.and_then(|f| e.variant_index.and_then(|i| f.heads.get(i))) {
            Some(head) => out.extend_from_slice(head),
            None => write_head(out, e.flag_key, e.value, e.variant),
        }
        write_json_str(out, e.reason.as_ofrep_str());
        match flag {
            Some(f) => out.extend_from_slice(&f.version),
            None => write_version(out, e.flag_version),
        }
        write_opt_str(out, e.error.map(|c| c.as_ofrep_str()));
        out.extend_from_slice(b",\"rule_id\":");
        match flag.and_then(|f| e.rule_index.and_then(|i| f.rules.get(i))) {
            Some(rule) => out.extend_from_slice(rule),
            None => write_opt_str(out, e.rule_id),
        }
        out.push(b'}');
    }

    /// Appends the OFREP bulk entry of `e`, the evaluation of the flag at
    /// `position` in evaluation order.
    pub fn write_ofrep(&self, position: usize, e: &Evaluation<'_>, out: &mut Vec<u8>) {
        if let Some(code) = e.error {
            out.extend_from_slice(b"{\"key\":");
            write_json_str(out, e.flag_key);
            out.extend_from_slice(b",\"errorCode\":");
            write_json_str(out, code.as_ofrep_str());
            out.extend_from_slice(b",\"errorDetails\":");
            write_json_str(out, ofrep_error_details(code));
            out.push(b'}');
            return;
        }
        let flag = self.flags.get(position);
        let variant = flag.and_then(|f| {
            e.variant_index
                .and_then(|i| Some((f.ofrep_heads.get(i)?, f.ofrep_tails.get(i)?)))
        });
        match variant {
            Some((head, _)) => out.extend_from_slice(head),
            None => write_ofrep_head(out, e.flag_key, e.value),
        }
        write_json_str(out, e.reason.as_ofrep_str());
        match variant {
            Some((_, tail)) => out.extend_from_slice(tail),
            None => write_ofrep_tail(out, e.variant, e.flag_version),
        }
        if let Some(rule) = e.rule_id {
            out.extend_from_slice(b",\"ruleId\":");
            match flag.and_then(|f| e.rule_index.and_then(|i| f.rules.get(i))) {
                Some(rendered) => out.extend_from_slice(rendered),
                None => write_json_str(out, rule),
            }
        }
        out.extend_from_slice(b"}}");
    }
}

/// What OFREP says about a flag that failed to evaluate.
pub fn ofrep_error_details(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::TargetingKeyMissing => {
            "the context lacks the flag's bucketing attribute (`targetingKey` maps to `user_id`)"
        }
        ErrorCode::ParseError => "the flag's definition is invalid",
        ErrorCode::General => "the flag's layer configuration is invalid",
    }
}

impl RenderedFlag {
    fn new(flag: &Flag) -> Self {
        Self {
            heads: flag
                .variants
                .iter()
                .map(|v| rendered(|out| write_head(out, &flag.key, &v.value, Some(&v.key))))
                .collect(),
            version: rendered(|out| write_version(out, flag.version)),
            rules: flag
                .rules
                .iter()
                .map(|r| rendered(|out| write_json_str(out, &r.id)))
                .collect(),
            ofrep_heads: flag
                .variants
                .iter()
                .map(|v| rendered(|out| write_ofrep_head(out, &flag.key, &v.value)))
                .collect(),
            ofrep_tails: flag
                .variants
                .iter()
                .map(|v| rendered(|out| write_ofrep_tail(out, Some(&v.key), flag.version)))
                .collect(),
        }
    }
}

/// The bytes `write` appends to an empty buffer.
fn rendered(write: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    write(&mut out);
    out
}

fn write_head(out: &mut Vec<u8>, key: &str, value: &Value, variant: Option<&str>) {
    out.extend_from_slice(b"{\"key\":");
    write_json_str(out, key);
    out.extend_from_slice(b",\"value\":");
    write_value(out, value);
    out.extend_from_slice(b",\"variant\":");
    write_opt_str(out, variant);
    out.extend_from_slice(b",\"reason\":");
}

fn write_ofrep_head(out: &mut Vec<u8>, key: &str, value: &Value) {
    out.extend_from_slice(b"{\"key\":");
    write_json_str(out, key);
    out.extend_from_slice(b",\"value\":");
    write_value(out, value);
    out.extend_from_slice(b",\"reason\":");
}

fn write_ofrep_tail(out: &mut Vec<u8>, variant: Option<&str>, version: u64) {
    if let Some(variant) = variant {
        out.extend_from_slice(b",\"variant\":");
        write_json_str(out, variant);
    }
    out.extend_from_slice(b",\"metadata\":{\"flagVersion\":");
    out.extend_from_slice(itoa::Buffer::new().format(version).as_bytes());
}

fn write_value(out: &mut Vec<u8>, value: &Value) {
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.extend_from_slice(b"null");
    }
}

fn write_version(out: &mut Vec<u8>, version: u64) {
    out.extend_from_slice(b",\"version\":");
    out.extend_from_slice(itoa::Buffer::new().format(version).as_bytes());
    out.extend_from_slice(b",\"error_code\":");
}

fn write_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => write_json_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// A JSON string: copied as is when nothing needs escaping, else escaped by
/// serde_json.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else if serde_json::to_writer(&mut *out, s).is_err() {
        out.extend_from_slice(b"null");
    }
}
