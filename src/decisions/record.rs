//! Recording a decision: checks, the lifecycle move to `decided`, the frozen
//! results, the optional action on the flag, the audit entry and the webhook.

use chrono::{SubsecRound, Utc};
use serde_json::json;
use verdict_core::Serve;

use super::{Decision, NewDecision, Outcome, store};
use crate::audit::{self, Change};
use crate::db::{DbConnection, write_transaction};
use crate::domain_error::DomainError;
use crate::experiments::{self, Experiment, Status, Transition};
use crate::flags::{FlagDefinition, FlagWriteError, set_flag_environment};
use crate::results::compat::Frozen;
use crate::results::{ExperimentResults, ResultsError};
use crate::webhooks::{Event, enqueue};
use verdict_core::FieldError;

/// Appends a decision for `new.experiment_key` in one transaction. The first
/// decision moves a running or stopped experiment to `decided` (stopping it
/// first, which removes its flag rule); a correction (`supersedes`) appends to
/// an already decided experiment. Queues the `decision.recorded` webhook in the
/// same transaction (delivered when a webhook is configured).
pub fn record(
    conn: &mut DbConnection,
    actor: &str,
    new: NewDecision,
) -> Result<Decision, DomainError> {
    // Outside the decision's transaction: computing fresh results reads the
    // ingestion watermark in a transaction of its own (on SQLite an immediate
    // one, which cannot nest).
    let evidence = evidence(conn, &new.experiment_key)?;
    write_transaction(conn, |conn| {
        let experiment = experiments::get(conn, &new.experiment_key)?;
        check(&experiment, &new)?;
        match new.supersedes {
            Some(id) => check_correction(conn, &experiment, id)?,
            None => check_first(conn, &experiment)?,
        }
        if experiment.status == Status::Running {
            experiments::transition(conn, actor, &experiment.key, Transition::Stop)?;
        }
        if experiment.status != Status::Decided {
            experiments::transition(conn, actor, &experiment.key, Transition::Decide)?;
        }
        let Some(results) = evidence else {
            return Err(DomainError::Conflict(format!(
                "`{}` has not been launched: there are no results to decide on",
                experiment.key
            )));
        };
        let results_snapshot = Frozen::Results(Box::new(results));
        let action_taken = if new.apply {
            Some(act_on_flag(conn, actor, &experiment, &new)?)
        } else {
            None
        };
        let decision = store::insert(
            conn,
            &Decision {
                id: 0,
                experiment_key: new.experiment_key,
                outcome: new.outcome,
                variant: new.variant,
                rationale: new.rationale,
                links: new.links,
                author: actor.to_owned(),
                created_at: Utc::now().trunc_subsecs(6),
                supersedes: new.supersedes,
                results_snapshot,
                action_taken,
            },
        )?;
        let summary = json!({
            "id": decision.id,
            "experiment": decision.experiment_key,
            "outcome": decision.outcome,
            "variant": decision.variant,
            "rationale": decision.rationale,
            "author": decision.author,
            "supersedes": decision.supersedes,
            "action_taken": decision.action_taken,
        });
        audit::record(
            conn,
            Change {
                actor,
                entity_type: "decision",
                entity_key: &decision.experiment_key,
                action: "create",
                before: None,
                after: Some(summary.to_string()),
            },
        )?;
        enqueue(conn, Event::DecisionRecorded, &summary)?;
        Ok(decision)
    })
}

fn check(experiment: &Experiment, new: &NewDecision) -> Result<(), DomainError> {
    let mut errors = Vec::new();
    if new.rationale.trim().is_empty() {
        errors.push(FieldError::new(
            "rationale",
            "say why: the rationale is required",
        ));
    }
    let arms: Vec<&str> = experiment
        .definition
        .arms
        .iter()
        .map(|a| a.variant.as_str())
        .collect();
    match (new.outcome, new.variant.as_deref()) {
        (Outcome::Ship, None) => {
            errors.push(FieldError::new(
                "variant",
                "`ship` names the variant to ship",
            ));
        }
        (Outcome::Ship, Some(v)) if !arms.contains(&v) => errors.push(FieldError::new(
            "variant",
            format!(
                "`{v}` is not an arm of this experiment ({})",
                arms.join(", ")
            ),
        )),
        (Outcome::Ship, Some(_)) => {}
        (_, Some(_)) => errors.push(FieldError::new("variant", "only `ship` names a variant")),
        (_, None) => {}
    }
    if new.apply && !matches!(new.outcome, Outcome::Ship | Outcome::RollBack) {
        errors.push(FieldError::new(
            "apply",
            "only `ship` and `roll_back` act on the flag",
        ));
    }
    for (i, link) in new.links.iter().enumerate() {
        if link.trim().is_empty() || link.chars().count() > 2048 {
            errors.push(FieldError::new(
                format!("links[{i}]"),
                "must be 1–2048 characters",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Invalid(errors))
    }
}

fn check_first(conn: &mut DbConnection, experiment: &Experiment) -> Result<(), DomainError> {
    match experiment.status {
        Status::Running | Status::Stopped => Ok(()),
        Status::Decided => {
            let latest = store::list(
                conn,
                &store::DecisionFilter {
                    experiment: Some(experiment.key.clone()),
                    limit: 1,
                    ..Default::default()
                },
            )?;
            Err(DomainError::Conflict(match latest.first() {
                Some(d) => format!(
                    "`{}` is already decided (decision {}); record a correction with `supersedes: {}`",
                    experiment.key, d.id, d.id
                ),
                None => format!("`{}` is already decided", experiment.key),
            }))
        }
        other => Err(DomainError::Conflict(format!(
            "`{}` is {}: only running or stopped experiments can be decided",
            experiment.key,
            other.as_str()
        ))),
    }
}

fn check_correction(
    conn: &mut DbConnection,
    experiment: &Experiment,
    id: i64,
) -> Result<(), DomainError> {
    let previous = store::get(conn, id)?.ok_or_else(|| {
        DomainError::invalid("supersedes", format!("decision {id} does not exist"))
    })?;
    if previous.experiment_key != experiment.key {
        return Err(DomainError::invalid(
            "supersedes",
            format!("decision {id} is about `{}`", previous.experiment_key),
        ));
    }
    if let Some(by) = store::superseded_by(conn, id)? {
        return Err(DomainError::Conflict(format!(
            "decision {id} is already corrected by decision {by}; supersede {by} instead"
        )));
    }
    Ok(())
}

/// The results a decision on `key` rests on: the latest stored snapshot, or
/// results computed (and stored) now, so the frozen copy equals what
/// `GET …/results` serves at this moment. `None` for an experiment that was
/// never launched (the decision's checks refuse it).
fn evidence(conn: &mut DbConnection, key: &str) -> Result<Option<ExperimentResults>, DomainError> {
    let experiment = experiments::get(conn, key)?;
    if experiment.current_phase == 0 {
        return Ok(None);
    }
    let results = match crate::results::latest(conn, key, experiment.current_phase) {
        Ok(Some(latest)) => Ok(latest),
        Ok(None) => crate::results::refresh(conn, key, crate::results::Breakdowns::Declared),
        Err(e) => Err(e),
    };
    results.map(Some).map_err(|e| match e {
        ResultsError::Domain(e) => e,
        e @ ResultsError::NotLaunched(_) => DomainError::Conflict(e.to_string()),
    })
}

fn act_on_flag(
    conn: &mut DbConnection,
    actor: &str,
    experiment: &Experiment,
    new: &NewDecision,
) -> Result<String, DomainError> {
    let definition = &experiment.definition;
    let stored = set_flag_environment(
        conn,
        actor,
        &definition.flag,
        &definition.environment,
        |existing, flag| {
            let mut config = existing
                .unwrap_or_else(|| FlagDefinition::initial_environment(&flag.default_variant));
            let variant = match (new.outcome, &new.variant) {
                (Outcome::Ship, Some(variant)) => variant.clone(),
                _ => flag.default_variant.clone(),
            };
            config.enabled = true;
            config.fallthrough = Serve::Variant(variant);
            config
        },
    )
    .map_err(flag_error)?;
    let served = match stored
        .definition
        .environments
        .get(&definition.environment)
        .map(|env| &env.fallthrough)
    {
        Some(Serve::Variant(variant)) => variant.as_str(),
        _ => "?",
    };
    Ok(format!(
        "flag `{}` now serves `{served}` to everyone in {} not matched by an earlier rule",
        definition.flag, definition.environment
    ))
}

fn flag_error(error: FlagWriteError) -> DomainError {
    match error {
        FlagWriteError::Invalid(errors) => DomainError::Invalid(errors),
        FlagWriteError::Conflict(message) => DomainError::Conflict(message),
        FlagWriteError::Definition(e) => match e {
            crate::definitions::DefinitionError::Db(db) => DomainError::Db(db),
            other => DomainError::Conflict(other.to_string()),
        },
    }
}
