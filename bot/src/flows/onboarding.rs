//! `/start` and the three-question ICP questionnaire.

use serde_json::json;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use super::{HandlerResult, Turn, menu};
use crate::questionnaire::{Answers, Currency, UseCase};
use crate::session::Step;

const GREETING: &str = "👋 Welcome to Verdict Portfolio — your crypto portfolio, digests and alerts right in Telegram.";
const Q_USE_CASE: &str = "1/3 · What will you use the bot for?";
const Q_EXPERIENCE: &str = "2/3 · Have you used a portfolio tracker before?";
const Q_CURRENCY: &str = "3/3 · Which currency should we show prices in?";

/// `/start`: greets, records `bot_start`, then onboards new users or shows
/// the menu to returning ones.
pub(super) async fn start(turn: &mut Turn, param: &str) -> HandlerResult {
    let mut props = json!({});
    if !param.is_empty() {
        props["start_param"] = param.chars().take(64).collect::<String>().into();
    }
    turn.track("bot_start", None, props);
    turn.say(GREETING).await?;
    if turn.session.profile.icp.is_none() {
        ask_use_case(turn).await
    } else {
        menu::show(turn).await
    }
}

/// Starts (or restarts) the questionnaire; records `questionnaire_started`
/// once the first question is out (`retake`: the user already has a
/// segment).
pub(super) async fn ask_use_case(turn: &mut Turn) -> HandlerResult {
    turn.save(Step::AskUseCase).await;
    send_question(turn, &Step::AskUseCase).await?;
    let retake = turn.session.profile.icp.is_some();
    turn.track("questionnaire_started", None, json!({"retake": retake}));
    Ok(())
}

/// Repeats the pending question after a free-text reply.
pub(super) async fn repeat_question(turn: &Turn) -> HandlerResult {
    turn.say("Please pick one of the options 👇").await?;
    send_question(turn, &turn.session.step).await
}

async fn send_question(turn: &Turn, step: &Step) -> HandlerResult {
    let button = |label: &str, data: String| vec![InlineKeyboardButton::callback(label, data)];
    match step {
        Step::AskUseCase => {
            let rows = UseCase::OPTIONS
                .iter()
                .map(|(u, label)| button(label, format!("q:use:{}", u.code())));
            turn.ask(Q_USE_CASE, InlineKeyboardMarkup::new(rows)).await
        }
        Step::AskExperience { .. } => {
            let row = vec![
                InlineKeyboardButton::callback("Yes", "q:exp:yes"),
                InlineKeyboardButton::callback("No, first time", "q:exp:no"),
            ];
            turn.ask(Q_EXPERIENCE, InlineKeyboardMarkup::new([row]))
                .await
        }
        Step::AskCurrency { .. } => {
            let row = Currency::OPTIONS
                .iter()
                .map(|(c, label)| {
                    InlineKeyboardButton::callback(*label, format!("q:cur:{}", c.code()))
                })
                .collect::<Vec<_>>();
            turn.ask(Q_CURRENCY, InlineKeyboardMarkup::new([row])).await
        }
        Step::Idle | Step::AwaitImport => Ok(()),
    }
}

/// A questionnaire button (`q:use:…`, `q:exp:…`, `q:cur:…`). Buttons of a
/// question that is no longer pending are ignored.
pub(super) async fn answer(turn: &mut Turn, data: &str) -> HandlerResult {
    let (question, value) = data.split_once(':').unwrap_or((data, ""));
    let next = match (&turn.session.step, question) {
        (Step::AskUseCase, "use") => {
            UseCase::from_code(value).map(|use_case| Step::AskExperience { use_case })
        }
        (Step::AskExperience { use_case }, "exp") => match value {
            "yes" | "no" => Some(Step::AskCurrency {
                use_case: *use_case,
                experienced: value == "yes",
            }),
            _ => None,
        },
        (
            Step::AskCurrency {
                use_case,
                experienced,
            },
            "cur",
        ) => {
            let Some(currency) = Currency::from_code(value) else {
                return Ok(());
            };
            let answers = Answers {
                use_case: *use_case,
                experienced: *experienced,
                currency,
            };
            return complete(turn, answers).await;
        }
        _ => None,
    };
    match next {
        Some(step) => {
            turn.save(step.clone()).await;
            send_question(turn, &step).await
        }
        None => Ok(()),
    }
}

async fn complete(turn: &mut Turn, answers: Answers) -> HandlerResult {
    let segment = answers.segment();
    turn.session.profile.icp = Some(segment);
    turn.session.profile.currency = Some(answers.currency);
    turn.save(Step::Idle).await;
    turn.track(
        "questionnaire_completed",
        None,
        json!({
            "use_case": answers.use_case.code(),
            "experienced": answers.experienced,
            "currency": answers.currency.code(),
        }),
    );
    turn.say("Thanks! Your feed is tuned to you.").await?;
    menu::show(turn).await
}
