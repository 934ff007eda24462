//! The LLM as the commands use it: configured from the environment and the
//! flags, never sent a literal or a connection secret, and failing soft —
//! the first reason it is not used is said once (on stderr, and in the
//! report's warnings) and the template rationale stands.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use optidb_llm::{Answer, Explainer, FactSheet, LlmConfig, LlmError, Proposal, Redactor, Sentence};
use optidb_model::Snapshot;
use optidb_report::ExplanationEntry;

use crate::cli::{LlmArgs, SourceArgs};
use crate::output::Output;

/// The environment variables a whole DSN can come from.
const CONNECTION_VARIABLES: [&str; 1] = ["DATABASE_URL"];
/// libpq variables holding a host or a password.
const SECRET_VARIABLES: [&str; 3] = ["PGHOST", "PGHOSTADDR", "PGPASSWORD"];

/// The model for one run, or why there is none.
pub struct Llm {
    explainer: Option<Explainer>,
    /// Why the model is off, or its first failure: said once.
    fallback: Mutex<Option<String>>,
    said: AtomicBool,
}

impl Llm {
    /// The model the environment configures, with the flags' limits, and a
    /// redactor forbidding every literal of `snapshot`'s statements and the
    /// connection's hosts and passwords.
    pub fn open(args: &LlmArgs, source: &SourceArgs, snapshot: &Snapshot) -> Llm {
        let config = match LlmConfig::from_lookup(|name| std::env::var(name).ok()) {
            Ok(Some(config)) => config,
            Ok(None) => {
                return Llm::off(
                    "no LLM is configured: set OPTIDB_LLM_MODEL (and OPTIDB_LLM_BASE_URL, OPENAI_API_KEY as the README shows for OpenAI, Azure OpenAI or Ollama)".into(),
                );
            }
            Err(error) => return Llm::off(error.to_string()),
        };
        let config = LlmConfig {
            max_requests: args.llm_budget,
            timeout: Duration::from_secs(args.llm_timeout.max(1)),
            cache: if args.no_cache { None } else { config.cache },
            ..config
        };
        match Explainer::new(config, redactor(source, snapshot)) {
            Ok(explainer) => Llm {
                explainer: Some(explainer),
                fallback: Mutex::new(None),
                said: AtomicBool::new(false),
            },
            Err(error) => Llm::off(error.to_string()),
        }
    }

    fn off(reason: String) -> Llm {
        Llm {
            explainer: None,
            fallback: Mutex::new(Some(reason)),
            said: AtomicBool::new(false),
        }
    }

    /// Why the model is off, when it is.
    pub fn off_reason(&self) -> Option<String> {
        match self.explainer {
            Some(_) => None,
            None => self.fallback_note(),
        }
    }

    /// The model's name ("" when off).
    pub fn model(&self) -> &str {
        self.explainer.as_ref().map_or("", Explainer::model)
    }

    /// What to add to a report's warnings: why the model was not used (or
    /// not for everything), if it was not.
    pub fn fallback_note(&self) -> Option<String> {
        self.fallback
            .lock()
            .ok()
            .and_then(|fallback| fallback.clone())
            .map(|reason| format!("LLM: {reason}; the template rationale stands"))
    }

    /// Says on stderr, the first time only, why the model was not used.
    pub fn say_once(&self, output: &Output) {
        let Some(note) = self.fallback_note() else {
            return;
        };
        if !self.said.swap(true, Ordering::SeqCst) {
            output.hint(&format!("note: {note}"));
        }
    }

    /// Keeps the first failure, and says it.
    fn failed(&self, output: &Output, reason: String) {
        if let Ok(mut fallback) = self.fallback.lock()
            && fallback.is_none()
        {
            *fallback = Some(reason);
        }
        self.say_once(output);
    }

    fn answered<T>(&self, output: &Output, result: Result<Option<T>, LlmError>) -> Option<T> {
        match result {
            Ok(Some(answer)) => Some(answer),
            Ok(None) => {
                self.failed(
                    output,
                    "an answer was dropped: twice it cited facts that do not exist or numbers they do not hold".into(),
                );
                None
            }
            Err(error) => {
                self.failed(output, error.to_string());
                None
            }
        }
    }

    /// The model's explanation of `facts`, grounded, or `None` (said once).
    pub async fn explain(&self, facts: &FactSheet, output: &Output) -> Option<ExplanationEntry> {
        let Some(explainer) = &self.explainer else {
            self.say_once(output);
            return None;
        };
        let explanation = self.answered(output, explainer.explain(facts).await)?;
        Some(entry(
            self.model(),
            explanation.from_cache,
            &explanation.sentences,
            facts,
        ))
    }

    /// The model's explanation of one statement with a proposed rewrite or
    /// index (unverified), or `None` (said once).
    pub async fn propose(&self, facts: &FactSheet, output: &Output) -> Option<Proposal> {
        let Some(explainer) = &self.explainer else {
            self.say_once(output);
            return None;
        };
        self.answered(output, explainer.propose(facts).await)
    }

    /// The model's answer to `question` from `facts`; errors are the
    /// caller's to report (a question has no template answer).
    pub async fn ask(&self, question: &str, facts: &FactSheet) -> Result<Option<Answer>, LlmError> {
        match &self.explainer {
            Some(explainer) => explainer.ask(question, facts).await,
            None => Ok(None),
        }
    }
}

/// An explanation as reports show it: the sentences and the facts they cite.
pub fn entry(
    model: &str,
    cached: bool,
    sentences: &[Sentence],
    facts: &FactSheet,
) -> ExplanationEntry {
    ExplanationEntry::new(
        model,
        cached,
        sentences
            .iter()
            .map(|sentence| (sentence.text.clone(), sentence.facts.clone())),
        facts
            .facts()
            .iter()
            .map(|fact| (fact.id.clone(), fact.text.clone())),
    )
}

/// What no request may carry: the literals of every statement in the
/// snapshot (pg_stat_statements normalizes most, not utility statements),
/// the DSN given and the hosts and passwords of the connection variables.
fn redactor(source: &SourceArgs, snapshot: &Snapshot) -> Redactor {
    let mut redactor = Redactor::new();
    for statement in &snapshot.statements {
        redactor.forbid_literals_of(&statement.query);
    }
    if let Some(dsn) = &source.dsn {
        redactor.forbid_dsn(dsn);
    }
    for name in CONNECTION_VARIABLES {
        if let Ok(value) = std::env::var(name) {
            redactor.forbid_dsn(&value);
        }
    }
    for name in SECRET_VARIABLES {
        if let Ok(value) = std::env::var(name) {
            for part in value.split(',') {
                redactor.forbid(part);
            }
        }
    }
    redactor
}
