//! Experiment storage and lifecycle operations. Every change runs in one
//! transaction together with its audit entry and its flag rule change.

use chrono::{NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::audit;
use super::checklist::{GuardrailPolicy, LaunchContext, run_checklist, weights_problem};
use super::flag_link;
use super::model::{
    Arm, Audience, CheckStatus, Checklist, DEFAULT_DECISION_DAYS, Definition, Experiment, Phase,
    Status, Transition, phase_salt, validate_assignment,
};
use crate::db::schema::{experiment_phases, experiments};
use crate::db::{DbConnection, write_transaction};
use crate::domain_error::DomainError;
use verdict_core::FieldError;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = experiments, treat_none_as_null = true)]
struct ExperimentRow {
    key: String,
    owner: String,
    environment: String,
    flag_key: String,
    layer: Option<String>,
    status: String,
    definition: String,
    current_phase: i32,
    launched_without_guardrail: bool,
    checklist: Option<String>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    started_at: Option<NaiveDateTime>,
    stopped_at: Option<NaiveDateTime>,
    decided_at: Option<NaiveDateTime>,
    archived_at: Option<NaiveDateTime>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = experiment_phases)]
struct PhaseRow {
    experiment_key: String,
    phase: i32,
    salt: String,
    allocation: f64,
    arms: String,
    audience: String,
    reason: String,
    started_by: String,
    started_at: NaiveDateTime,
    ended_at: Option<NaiveDateTime>,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> DomainError {
    DomainError::from(diesel::result::Error::DeserializationError(
        format!("stored {what} is unreadable: {e}").into(),
    ))
}

fn to_json<T: Serialize>(what: &str, value: &T) -> Result<String, DomainError> {
    serde_json::to_string(value).map_err(|e| corrupt(what, e))
}

impl ExperimentRow {
    fn from_experiment(e: &Experiment) -> Result<Self, DomainError> {
        Ok(Self {
            key: e.key.clone(),
            owner: e.definition.owner.clone(),
            environment: e.definition.environment.clone(),
            flag_key: e.definition.flag.clone(),
            layer: e.definition.layer.clone(),
            status: e.status.as_str().to_owned(),
            definition: to_json("definition", &e.definition)?,
            current_phase: i32::try_from(e.current_phase).map_err(|e| corrupt("phase", e))?,
            launched_without_guardrail: e.launched_without_guardrail,
            checklist: e
                .checklist
                .as_ref()
                .map(|c| to_json("checklist", c))
                .transpose()?,
            created_at: e.created_at,
            updated_at: e.updated_at,
            started_at: e.started_at,
            stopped_at: e.stopped_at,
            decided_at: e.decided_at,
            archived_at: e.archived_at,
        })
    }

    fn into_experiment(self) -> Result<Experiment, DomainError> {
        let definition: Definition = serde_json::from_str(&self.definition)
            .map_err(|e| corrupt(&format!("definition of {}", self.key), e))?;
        Ok(Experiment {
            status: Status::parse(&self.status).ok_or_else(|| corrupt("status", &self.status))?,
            current_phase: u32::try_from(self.current_phase).map_err(|e| corrupt("phase", e))?,
            launched_without_guardrail: self.launched_without_guardrail,
            checklist: self
                .checklist
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| corrupt("checklist", e))?,
            created_at: self.created_at,
            updated_at: self.updated_at,
            started_at: self.started_at,
            stopped_at: self.stopped_at,
            decided_at: self.decided_at,
            archived_at: self.archived_at,
            key: self.key,
            definition,
        })
    }
}

impl PhaseRow {
    fn into_phase(self) -> Result<Phase, DomainError> {
        Ok(Phase {
            number: u32::try_from(self.phase).map_err(|e| corrupt("phase", e))?,
            salt: self.salt,
            allocation: self.allocation,
            arms: serde_json::from_str(&self.arms).map_err(|e| corrupt("phase arms", e))?,
            audience: serde_json::from_str(&self.audience)
                .map_err(|e| corrupt("phase audience", e))?,
            reason: self.reason,
            started_by: self.started_by,
            started_at: self.started_at,
            ended_at: self.ended_at,
        })
    }
}

fn not_found(key: &str) -> DomainError {
    DomainError::NotFound(format!("no experiment `{key}`"))
}

/// The experiment `key`.
pub fn get(conn: &mut DbConnection, key: &str) -> Result<Experiment, DomainError> {
    experiments::table
        .find(key)
        .select(ExperimentRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| not_found(key))?
        .into_experiment()
}

/// The phases of experiment `key`, oldest first.
pub fn phases(conn: &mut DbConnection, key: &str) -> Result<Vec<Phase>, DomainError> {
    experiment_phases::table
        .filter(experiment_phases::experiment_key.eq(key))
        .order(experiment_phases::phase)
        .select(PhaseRow::as_select())
        .load(conn)?
        .into_iter()
        .map(PhaseRow::into_phase)
        .collect()
}

/// Filters for [`list`]; every set field must match.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Lifecycle state.
    pub status: Option<Status>,
    /// Owner.
    pub owner: Option<String>,
    /// Environment.
    pub environment: Option<String>,
    /// Flag.
    pub flag: Option<String>,
    /// Created at or after.
    pub created_from: Option<NaiveDateTime>,
    /// Created before.
    pub created_to: Option<NaiveDateTime>,
    /// Launched at or after.
    pub started_from: Option<NaiveDateTime>,
    /// Launched before.
    pub started_to: Option<NaiveDateTime>,
}

/// Experiments matching `filter`, newest first.
pub fn list(conn: &mut DbConnection, filter: &ListFilter) -> Result<Vec<Experiment>, DomainError> {
    let mut query = experiments::table
        .select(ExperimentRow::as_select())
        .order((experiments::created_at.desc(), experiments::key))
        .into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(experiments::status.eq(status.as_str()));
    }
    if let Some(owner) = &filter.owner {
        query = query.filter(experiments::owner.eq(owner.clone()));
    }
    if let Some(environment) = &filter.environment {
        query = query.filter(experiments::environment.eq(environment.clone()));
    }
    if let Some(flag) = &filter.flag {
        query = query.filter(experiments::flag_key.eq(flag.clone()));
    }
    if let Some(t) = filter.created_from {
        query = query.filter(experiments::created_at.ge(t));
    }
    if let Some(t) = filter.created_to {
        query = query.filter(experiments::created_at.lt(t));
    }
    if let Some(t) = filter.started_from {
        query = query.filter(experiments::started_at.ge(t));
    }
    if let Some(t) = filter.started_to {
        query = query.filter(experiments::started_at.lt(t));
    }
    query
        .load(conn)?
        .into_iter()
        .map(ExperimentRow::into_experiment)
        .collect()
}

/// Checks the definition and that every referenced metric is in the catalogue.
fn validate(conn: &mut DbConnection, def: &Definition) -> Result<(), DomainError> {
    let mut errors = def.validate();
    let refs = def.metric_refs();
    let keys: Vec<&str> = refs.iter().map(|(_, k)| *k).collect();
    let known = crate::metrics_catalog::existing_keys(conn, &keys)?;
    for (field, key) in &refs {
        if !known.iter().any(|k| k == key) {
            errors.push(FieldError::new(
                field.clone(),
                format!("metric `{key}` is not in the catalogue"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Invalid(errors))
    }
}

fn save(conn: &mut DbConnection, e: &Experiment) -> Result<(), DomainError> {
    diesel::update(experiments::table.find(&e.key))
        .set(ExperimentRow::from_experiment(e)?)
        .execute(conn)?;
    Ok(())
}

/// Creates draft experiment `key`.
pub fn create(
    conn: &mut DbConnection,
    actor: &str,
    key: &str,
    definition: Definition,
) -> Result<Experiment, DomainError> {
    if !verdict_core::is_slug(key) {
        return Err(DomainError::invalid(
            "key",
            "must be a slug: 1–64 characters of [a-z0-9_-], starting with a letter or digit",
        ));
    }
    write_transaction(conn, |conn| {
        validate(conn, &definition)?;
        let exists = experiments::table
            .find(key)
            .select(experiments::key)
            .first::<String>(conn)
            .optional()?
            .is_some();
        if exists {
            return Err(DomainError::Conflict(format!(
                "experiment `{key}` already exists"
            )));
        }
        let now = Utc::now().naive_utc();
        let experiment = Experiment {
            key: key.to_owned(),
            definition,
            status: Status::Draft,
            current_phase: 0,
            launched_without_guardrail: false,
            checklist: None,
            created_at: now,
            updated_at: now,
            started_at: None,
            stopped_at: None,
            decided_at: None,
            archived_at: None,
        };
        diesel::insert_into(experiments::table)
            .values(ExperimentRow::from_experiment(&experiment)?)
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            "experiment",
            key,
            "create",
            None::<&Experiment>,
            Some(&experiment),
        )?;
        Ok(experiment)
    })
}

/// Replaces the definition of experiment `key`. Drafts may change anything; a
/// running experiment may not change arms, weights, audience, allocation, flag,
/// environment or layer (that needs a new phase); other states are read-only.
pub fn update(
    conn: &mut DbConnection,
    actor: &str,
    key: &str,
    definition: Definition,
) -> Result<Experiment, DomainError> {
    write_transaction(conn, |conn| {
        let before = get(conn, key)?;
        match before.status {
            Status::Draft => {}
            Status::Running => {
                let frozen = definition.frozen_changes(&before.definition);
                if !frozen.is_empty() {
                    return Err(DomainError::Conflict(format!(
                        "{} of a running experiment cannot be edited: that would bias its results. \
                         Start a new phase instead (POST /api/v1/experiments/{key}/phases), which re-salts \
                         assignment and starts a fresh analysis window",
                        frozen.join(", ")
                    )));
                }
            }
            other => {
                return Err(DomainError::Conflict(format!(
                    "experiment `{key}` is {}; only draft and running experiments can be edited",
                    other.as_str()
                )));
            }
        }
        validate(conn, &definition)?;
        let mut after = before.clone();
        after.definition = definition;
        after.updated_at = Utc::now().naive_utc();
        save(conn, &after)?;
        audit::record(
            conn,
            actor,
            "experiment",
            key,
            "update",
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

fn launch_context(
    conn: &mut DbConnection,
    experiment: &Experiment,
    policy: GuardrailPolicy,
) -> Result<LaunchContext, DomainError> {
    let def = &experiment.definition;
    let primary_metric_exists = match &def.primary_metric {
        Some(m) => crate::metrics_catalog::metric_exists(conn, m)?,
        None => false,
    };
    let flag_variants = flag_link::flag_variants(conn, &def.environment, &def.flag)?;
    let running = list(
        conn,
        &ListFilter {
            status: Some(Status::Running),
            environment: Some(def.environment.clone()),
            ..ListFilter::default()
        },
    )?;
    let overlapping = running
        .into_iter()
        .filter(|other| {
            other.key != experiment.key
                && (other.definition.flag == def.flag
                    || (def.layer.is_some() && other.definition.layer == def.layer))
        })
        .map(|other| other.key)
        .collect();
    Ok(LaunchContext {
        policy,
        primary_metric_exists,
        flag_variants,
        overlapping,
    })
}

/// Runs the launch checklist of experiment `key` without launching it.
pub fn preview_checklist(
    conn: &mut DbConnection,
    key: &str,
    policy: GuardrailPolicy,
) -> Result<Checklist, DomainError> {
    let experiment = get(conn, key)?;
    let ctx = launch_context(conn, &experiment, policy)?;
    Ok(run_checklist(&experiment.definition, &ctx))
}

fn require_status(e: &Experiment, transition: &str, allowed: &[Status]) -> Result<(), DomainError> {
    if allowed.contains(&e.status) {
        return Ok(());
    }
    let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
    Err(DomainError::Conflict(format!(
        "cannot {transition} experiment `{}`: it is {}, and {transition} needs {}",
        e.key,
        e.status.as_str(),
        names.join(" or ")
    )))
}

fn insert_phase(
    conn: &mut DbConnection,
    key: &str,
    number: u32,
    def: &Definition,
    reason: &str,
    actor: &str,
    now: NaiveDateTime,
) -> Result<Phase, DomainError> {
    let phase = Phase {
        number,
        salt: phase_salt(key, number),
        allocation: def.allocation,
        arms: def.arms.clone(),
        audience: def.audience.clone(),
        reason: reason.to_owned(),
        started_by: actor.to_owned(),
        started_at: now,
        ended_at: None,
    };
    diesel::insert_into(experiment_phases::table)
        .values(PhaseRow {
            experiment_key: key.to_owned(),
            phase: i32::try_from(number).map_err(|e| corrupt("phase", e))?,
            salt: phase.salt.clone(),
            allocation: phase.allocation,
            arms: to_json("arms", &phase.arms)?,
            audience: to_json("audience", &phase.audience)?,
            reason: phase.reason.clone(),
            started_by: phase.started_by.clone(),
            started_at: now,
            ended_at: None,
        })
        .execute(conn)?;
    Ok(phase)
}

fn end_phase(
    conn: &mut DbConnection,
    key: &str,
    number: u32,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    let number = i32::try_from(number).map_err(|e| corrupt("phase", e))?;
    diesel::update(
        experiment_phases::table
            .filter(experiment_phases::experiment_key.eq(key))
            .filter(experiment_phases::phase.eq(number)),
    )
    .set(experiment_phases::ended_at.eq(Some(now)))
    .execute(conn)?;
    Ok(())
}

/// Launches draft experiment `key`: runs the checklist (every failed item is
/// reported, as `checklist.<item>` fields), starts phase 1 and installs the
/// experiment's rule in its flag. Under [`GuardrailPolicy::Warn`] a launch
/// without a guardrail succeeds and is recorded as such.
pub fn launch(
    conn: &mut DbConnection,
    actor: &str,
    key: &str,
    policy: GuardrailPolicy,
) -> Result<Experiment, DomainError> {
    launch_at(conn, actor, key, policy, Utc::now().naive_utc())
}

/// [`launch`] as of `now`: the demo launches its experiments where its
/// simulated traffic starts.
pub fn launch_at(
    conn: &mut DbConnection,
    actor: &str,
    key: &str,
    policy: GuardrailPolicy,
    now: NaiveDateTime,
) -> Result<Experiment, DomainError> {
    write_transaction(conn, |conn| {
        let before = get(conn, key)?;
        require_status(&before, "launch", Status::allowed_from(Transition::Launch))?;
        let ctx = launch_context(conn, &before, policy)?;
        let checklist = run_checklist(&before.definition, &ctx);
        if !checklist.passed {
            return Err(DomainError::Invalid(
                checklist
                    .items
                    .iter()
                    .filter(|i| i.status == CheckStatus::Failed)
                    .map(|i| FieldError::new(format!("checklist.{}", i.item), i.message.clone()))
                    .collect(),
            ));
        }
        let mut after = before.clone();
        after.status = Status::Running;
        after.current_phase = 1;
        after.launched_without_guardrail = after.definition.guardrails.is_empty();
        after.checklist = Some(checklist);
        after.started_at = Some(now);
        after.updated_at = now;
        if after.definition.target_decision_at.is_none() {
            after.definition.target_decision_at =
                Some(now + TimeDelta::days(DEFAULT_DECISION_DAYS));
        }
        save(conn, &after)?;
        insert_phase(conn, key, 1, &after.definition, "launch", actor, now)?;
        flag_link::install_rule(conn, actor, key, &after.definition, 1)?;
        audit::record(
            conn,
            actor,
            "experiment",
            key,
            "launch",
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// Applies `stop`, `decide` or `archive` to experiment `key`. Stopping ends the
/// current phase and removes the experiment's rule from its flag.
pub fn transition(
    conn: &mut DbConnection,
    actor: &str,
    key: &str,
    transition: Transition,
) -> Result<Experiment, DomainError> {
    write_transaction(conn, |conn| {
        let before = get(conn, key)?;
        if transition == Transition::Launch {
            return Err(DomainError::Conflict(
                "launch runs the checklist: use launch".into(),
            ));
        }
        require_status(
            &before,
            transition.as_str(),
            Status::allowed_from(transition),
        )?;
        let now = Utc::now().naive_utc();
        let mut after = before.clone();
        after.status = transition.target();
        after.updated_at = now;
        match transition {
            Transition::Stop => {
                after.stopped_at = Some(now);
                end_phase(conn, key, before.current_phase, now)?;
                flag_link::remove_rule(conn, actor, key, &before.definition)?;
            }
            Transition::Decide => after.decided_at = Some(now),
            Transition::Archive => after.archived_at = Some(now),
            Transition::Launch => {}
        }
        save(conn, &after)?;
        audit::record(
            conn,
            actor,
            "experiment",
            key,
            transition.as_str(),
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// What a new phase changes; unset fields keep their current value.
#[derive(Debug, Clone, Default)]
pub struct PhaseChange {
    /// New arms and weights.
    pub arms: Option<Vec<Arm>>,
    /// New audience.
    pub audience: Option<Audience>,
    /// New allocation.
    pub allocation: Option<f64>,
    /// New dimensions (recorded with exposures from the new phase on).
    pub dimensions: Option<Vec<String>>,
    /// Why (recorded with the phase).
    pub reason: String,
}

/// Starts a new phase of running experiment `key`: ends the current one,
/// applies `change`, re-salts assignment (`<key>:<phase>`) and rewrites the
/// flag rule. Units' analysis windows restart at their first exposure in the
/// new phase.
pub fn start_phase(
    conn: &mut DbConnection,
    actor: &str,
    key: &str,
    change: PhaseChange,
) -> Result<(Experiment, Phase), DomainError> {
    if change.reason.trim().is_empty() {
        return Err(DomainError::invalid(
            "reason",
            "say why a new phase starts (recorded with it)",
        ));
    }
    write_transaction(conn, |conn| {
        let before = get(conn, key)?;
        if before.status != Status::Running {
            return Err(DomainError::Conflict(format!(
                "experiment `{key}` is {}; phases start only while it is running (a draft is edited directly)",
                before.status.as_str()
            )));
        }
        let mut after = before.clone();
        if let Some(arms) = change.arms {
            after.definition.arms = arms;
        }
        if let Some(audience) = change.audience {
            after.definition.audience = audience;
        }
        if let Some(allocation) = change.allocation {
            after.definition.allocation = allocation;
        }
        if let Some(dimensions) = change.dimensions {
            after.definition.dimensions = dimensions;
        }
        let def = &after.definition;
        let mut errors = validate_assignment(&def.arms, &def.audience, def.allocation);
        errors.extend(
            def.validate()
                .into_iter()
                .filter(|e| e.field.starts_with("dimensions")),
        );
        let variants = flag_link::flag_variants(conn, &def.environment, &def.flag)?;
        if let Some(problem) = weights_problem(def, variants.as_deref()) {
            errors.push(FieldError::new("arms", problem));
        }
        if !errors.is_empty() {
            return Err(DomainError::Invalid(errors));
        }
        let now = Utc::now().naive_utc();
        end_phase(conn, key, before.current_phase, now)?;
        after.current_phase = before.current_phase + 1;
        after.updated_at = now;
        let phase = insert_phase(
            conn,
            key,
            after.current_phase,
            &after.definition,
            change.reason.trim(),
            actor,
            now,
        )?;
        save(conn, &after)?;
        flag_link::install_rule(conn, actor, key, &after.definition, after.current_phase)?;
        audit::record(
            conn,
            actor,
            "experiment",
            key,
            "new_phase",
            Some(&before),
            Some(&after),
        )?;
        Ok((after, phase))
    })
}

/// Keys of non-archived experiments that reference metric `metric`.
pub fn experiments_using_metric(
    conn: &mut DbConnection,
    metric: &str,
) -> Result<Vec<String>, DomainError> {
    Ok(list(conn, &ListFilter::default())?
        .into_iter()
        .filter(|e| {
            e.status != Status::Archived
                && e.definition.metric_refs().iter().any(|(_, m)| *m == metric)
        })
        .map(|e| e.key)
        .collect())
}

/// How many launched experiments documented a guardrail before launch (KR: ≥ 70 %).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardrailCoverage {
    /// Experiments ever launched.
    pub launched: usize,
    /// Of those, launched with at least one guardrail.
    pub with_guardrail: usize,
    /// `with_guardrail / launched` (0 when nothing was launched).
    pub share: f64,
    /// Experiments launched without a guardrail (under policy `warn`).
    pub without_guardrail: Vec<String>,
}

/// Guardrail coverage over every experiment launched since `since` (all when `None`).
pub fn guardrail_coverage(
    conn: &mut DbConnection,
    since: Option<NaiveDateTime>,
) -> Result<GuardrailCoverage, DomainError> {
    let launched: Vec<Experiment> = list(
        conn,
        &ListFilter {
            started_from: since,
            ..ListFilter::default()
        },
    )?
    .into_iter()
    .filter(|e| e.started_at.is_some())
    .collect();
    let without: Vec<String> = launched
        .iter()
        .filter(|e| e.launched_without_guardrail)
        .map(|e| e.key.clone())
        .collect();
    let with_guardrail = launched.len() - without.len();
    Ok(GuardrailCoverage {
        launched: launched.len(),
        with_guardrail,
        share: if launched.is_empty() {
            0.0
        } else {
            with_guardrail as f64 / launched.len() as f64
        },
        without_guardrail: without,
    })
}
