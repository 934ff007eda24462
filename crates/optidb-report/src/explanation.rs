//! What a model said, as shown: explanations with their citations
//! (`optidb scan --explain`), one statement explained with a verified
//! rewrite or a simulated index (`optidb explain`), and answers to a
//! question (`optidb ask`).
//!
//! Every sentence carries the ids of the facts it rests on, and the cited
//! facts are listed with it, so a reader can check each claim.

use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Document, FindingEntry, SCHEMA_VERSION, SimulationEntry, StatementDetail, TableStyle};

/// A model's explanation, grounded in numbered facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExplanationEntry {
    /// The model that wrote it.
    pub model: String,
    /// Whether it came from the response cache.
    pub cached: bool,
    /// Its sentences, each citing facts.
    pub sentences: Vec<CitedSentence>,
    /// The facts the sentences cite, in id order.
    pub facts: Vec<FactEntry>,
}

/// One sentence and the ids of the facts it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CitedSentence {
    /// What it says.
    pub text: String,
    /// Fact ids, e.g. `["F1", "F3"]`.
    pub facts: Vec<String>,
}

/// One numbered fact, as the model was given it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FactEntry {
    /// Its id, `F1`, `F2`, …
    pub id: String,
    /// What it says.
    pub text: String,
}

impl ExplanationEntry {
    /// An explanation of `sentences` (text, cited ids) keeping, of `facts`
    /// (id, text), those cited.
    pub fn new(
        model: &str,
        cached: bool,
        sentences: impl IntoIterator<Item = (String, Vec<String>)>,
        facts: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        let sentences: Vec<CitedSentence> = sentences
            .into_iter()
            .map(|(text, facts)| CitedSentence { text, facts })
            .collect();
        let facts = facts
            .into_iter()
            .filter(|(id, _)| sentences.iter().any(|s| s.facts.contains(id)))
            .map(|(id, text)| FactEntry { id, text })
            .collect();
        ExplanationEntry {
            model: model.to_string(),
            cached,
            sentences,
            facts,
        }
    }

    /// The sentences with their citations, then the cited facts, each line
    /// starting with `indent`.
    pub fn render(&self, indent: &str) -> String {
        let mut out = String::new();
        for sentence in &self.sentences {
            let _ = writeln!(
                out,
                "{indent}{} [{}]",
                sentence.text,
                sentence.facts.join(", ")
            );
        }
        for fact in &self.facts {
            let _ = writeln!(out, "{indent}  {}: {}", fact.id, fact.text);
        }
        let _ = writeln!(
            out,
            "{indent}({}{}; every sentence checked against the facts it cites)",
            self.model,
            if self.cached { ", cached" } else { "" }
        );
        out
    }
}

/// `optidb explain`: one statement, its findings, a model's explanation,
/// and what the model proposed once verified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExplainReport {
    /// [`SCHEMA_VERSION`] of this document.
    pub schema_version: u32,
    /// The statement in full, with its plan.
    pub detail: StatementDetail,
    /// The findings that name it.
    pub findings: Vec<FindingEntry>,
    /// The model's explanation; `None` when the model is off or failed
    /// (see `notes`).
    pub explanation: Option<ExplanationEntry>,
    /// A rewrite the model proposed, shown only because it was verified.
    pub rewrite: Option<RewriteEntry>,
    /// An index the model proposed, with its what-if simulation.
    pub index: Option<ProposedIndexEntry>,
    /// What was not shown, and why (an unverified rewrite, the model off…).
    pub notes: Vec<String>,
}

/// A verified rewrite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RewriteEntry {
    /// The rewritten statement.
    pub sql: String,
    /// The evidence in one line: `same results on 5 parameter sets (627
    /// rows), cost −99%, …`.
    pub evidence: String,
    /// Parameter sets both returned the same rows for.
    pub parameter_sets: usize,
    /// Rows compared over those sets.
    pub rows_compared: u64,
    /// The statement's plan cost on the sandbox copy, over the sets.
    pub cost_before: Option<f64>,
    /// The rewrite's.
    pub cost_after: Option<f64>,
    /// The statement's median execution time on the copy, ms.
    pub median_ms_before: Option<f64>,
    /// The rewrite's.
    pub median_ms_after: Option<f64>,
}

/// An index the model proposed, as the what-if simulation costed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProposedIndexEntry {
    /// The `CREATE INDEX` statement.
    pub ddl: String,
    /// Its simulated effect on the statement.
    pub simulation: SimulationEntry,
}

impl Document for ExplainReport {
    fn to_table(&self, style: TableStyle) -> String {
        let mut out = self.detail.to_table(style);
        if !self.findings.is_empty() {
            out.push_str("\nFindings:\n");
            for finding in &self.findings {
                let _ = writeln!(
                    out,
                    "  {} {} ({}): {}",
                    finding.code, finding.rule, finding.severity, finding.title
                );
            }
        }
        if let Some(explanation) = &self.explanation {
            out.push_str("\nExplanation:\n");
            out.push_str(&explanation.render("  "));
        }
        if let Some(rewrite) = &self.rewrite {
            let _ = writeln!(out, "\nVerified rewrite ({}):", rewrite.evidence);
            for line in rewrite.sql.lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
        if let Some(index) = &self.index {
            let effect = match index.simulation.best_improvement {
                Some(best) if best > 0.0 => format!("plan cost −{:.0}%", best * 100.0),
                Some(_) => "no cheaper plan".into(),
                None => index
                    .simulation
                    .skipped
                    .clone()
                    .unwrap_or_else(|| "no plan change".into()),
            };
            let _ = writeln!(
                out,
                "\nProposed index (what-if: {effect}):\n  {}",
                index.ddl
            );
        }
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        out
    }
}

/// `optidb ask`: an answer from the snapshot's facts only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AskReport {
    /// [`SCHEMA_VERSION`] of this document.
    pub schema_version: u32,
    /// The database the facts come from.
    pub database: String,
    /// The question.
    pub question: String,
    /// Whether the facts answer it.
    pub answered: bool,
    /// The answer with its citations (the model's sentences when the facts
    /// do not answer it say what they do show).
    pub answer: ExplanationEntry,
}

impl Document for AskReport {
    fn to_table(&self, _style: TableStyle) -> String {
        let mut out = format!("Q: {}\n", self.question);
        if !self.answered {
            out.push_str(
                "The snapshot's facts do not answer this question (optidb answers only from what it measured).\n",
            );
        }
        out.push_str(&self.answer.render(""));
        out
    }
}

impl AskReport {
    /// An answer to `question` about `database`.
    pub fn new(database: &str, question: &str, answered: bool, answer: ExplanationEntry) -> Self {
        AskReport {
            schema_version: SCHEMA_VERSION,
            database: database.to_string(),
            question: question.to_string(),
            answered,
            answer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explanation() -> ExplanationEntry {
        ExplanationEntry::new(
            "gpt-test",
            false,
            [(
                "Each call scans 120000 rows.".to_string(),
                vec!["F2".to_string()],
            )],
            [
                ("F1".to_string(), "rule missing-index".to_string()),
                (
                    "F2".to_string(),
                    "rows_scanned_per_call = 120000 rows".to_string(),
                ),
            ],
        )
    }

    #[test]
    fn only_cited_facts_are_kept() {
        let entry = explanation();
        assert_eq!(entry.facts.len(), 1);
        assert_eq!(entry.facts[0].id, "F2");
    }

    #[test]
    fn an_answer_renders_with_its_citations() {
        let report = AskReport::new("shop", "why is login slow?", true, explanation());
        insta::assert_snapshot!(report.to_table(TableStyle::plain()), @r"
        Q: why is login slow?
        Each call scans 120000 rows. [F2]
          F2: rows_scanned_per_call = 120000 rows
        (gpt-test; every sentence checked against the facts it cites)
        ");
        let unanswered = AskReport::new(
            "shop",
            "what is the weather?",
            false,
            ExplanationEntry::new("gpt-test", true, [], []),
        );
        assert!(
            unanswered
                .to_table(TableStyle::plain())
                .contains("do not answer this question")
        );
    }
}
