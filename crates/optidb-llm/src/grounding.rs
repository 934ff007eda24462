//! Grounding: an answer is kept only if everything it says is cited from
//! the facts, and every number it uses is among the facts it cites.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::facts::FactSheet;

/// An accepted answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// Its sentences, each citing the facts it rests on.
    pub sentences: Vec<Sentence>,
    /// Whether it came from the cache rather than the endpoint.
    #[serde(skip)]
    pub from_cache: bool,
}

/// One sentence of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sentence {
    /// What it says.
    pub text: String,
    /// The ids of the facts it rests on, e.g. `["F1", "F3"]`.
    pub facts: Vec<String>,
}

/// Why an answer was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Not `{"sentences": [{"text": …, "facts": […]}]}`; the parser's message.
    Malformed(String),
    /// No sentences at all.
    Empty,
    /// A sentence cites no fact.
    Uncited {
        /// The sentence's position, from 1.
        sentence: usize,
    },
    /// A sentence cites a fact that does not exist.
    UnknownFact {
        /// The sentence's position, from 1.
        sentence: usize,
        /// The id cited.
        id: String,
    },
    /// A sentence uses a number that none of its cited facts holds.
    UngroundedNumber {
        /// The sentence's position, from 1.
        sentence: usize,
        /// The number, as written.
        number: String,
    },
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Malformed(reason) => write!(
                f,
                "not the JSON object {{\"sentences\": [{{\"text\": ..., \"facts\": [...]}}]}}: {reason}"
            ),
            Rejection::Empty => write!(f, "the answer has no sentences"),
            Rejection::Uncited { sentence } => {
                write!(f, "sentence {sentence} cites no fact")
            }
            Rejection::UnknownFact { sentence, id } => {
                write!(
                    f,
                    "sentence {sentence} cites {id}, which is not one of the facts"
                )
            }
            Rejection::UngroundedNumber { sentence, number } => write!(
                f,
                "sentence {sentence} uses the number {number}, which none of its cited facts holds"
            ),
        }
    }
}

impl std::error::Error for Rejection {}

/// Parses the model's answer and accepts it only if every sentence cites at
/// least one fact, every cited fact exists, and every number in a sentence
/// appears in the facts it cites.
pub fn check(answer: &str, facts: &FactSheet) -> Result<Explanation, Rejection> {
    #[derive(Deserialize)]
    struct Answer {
        sentences: Vec<Sentence>,
    }
    let answer: Answer = parse(answer)?;
    if answer.sentences.is_empty() {
        return Err(Rejection::Empty);
    }
    check_sentences(&answer.sentences, facts)?;
    Ok(Explanation {
        sentences: answer.sentences,
        from_cache: false,
    })
}

/// An accepted answer to a question about the workload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// Whether the facts answer the question. When they do not, the
    /// sentences (possibly none) say what the facts do cover.
    pub answered: bool,
    /// The answer, each sentence citing its facts.
    pub sentences: Vec<Sentence>,
    /// Whether it came from the cache rather than the endpoint.
    #[serde(skip)]
    pub from_cache: bool,
}

/// Accepts `{"answered": true|false, "sentences": [...]}` when its
/// sentences are grounded; an answered question needs a sentence.
pub fn check_answer(answer: &str, facts: &FactSheet) -> Result<Answer, Rejection> {
    let mut answer: Answer = parse(answer)?;
    if answer.answered && answer.sentences.is_empty() {
        return Err(Rejection::Empty);
    }
    check_sentences(&answer.sentences, facts)?;
    answer.from_cache = false;
    Ok(answer)
}

/// An accepted proposal for one statement: an explanation, and possibly a
/// rewritten statement or an index, both still unverified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// Why the statement is slow and what the proposal changes.
    pub sentences: Vec<Sentence>,
    /// A rewritten statement, with the same `$n` parameters. Unverified:
    /// never show it before the sandbox check passes.
    #[serde(default)]
    pub rewrite: Option<String>,
    /// A `CREATE INDEX` statement. Unverified: cost it with the what-if
    /// simulation before showing it.
    #[serde(default)]
    pub index: Option<String>,
    /// Whether it came from the cache rather than the endpoint.
    #[serde(skip)]
    pub from_cache: bool,
}

/// Accepts `{"sentences": [...], "rewrite": "…"|null, "index": "…"|null}`
/// when its sentences are grounded; blank proposals become `None`.
pub fn check_proposal(answer: &str, facts: &FactSheet) -> Result<Proposal, Rejection> {
    let mut proposal: Proposal = parse(answer)?;
    if proposal.sentences.is_empty() {
        return Err(Rejection::Empty);
    }
    check_sentences(&proposal.sentences, facts)?;
    let blank_to_none = |text: Option<String>| {
        text.map(|text| text.trim().trim_end_matches(';').trim().to_string())
            .filter(|text| !text.is_empty())
    };
    proposal.rewrite = blank_to_none(proposal.rewrite);
    proposal.index = blank_to_none(proposal.index);
    proposal.from_cache = false;
    Ok(proposal)
}

fn parse<T: serde::de::DeserializeOwned>(answer: &str) -> Result<T, Rejection> {
    // Some models wrap JSON in a Markdown fence despite being asked not to.
    let trimmed = answer.trim();
    let unfenced = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|rest| rest.strip_suffix("```"))
        .unwrap_or(trimmed);
    serde_json::from_str(unfenced.trim()).map_err(|error| Rejection::Malformed(error.to_string()))
}

/// Every sentence cites at least one existing fact, and uses only numbers
/// those facts hold.
fn check_sentences(sentences: &[Sentence], facts: &FactSheet) -> Result<(), Rejection> {
    for (index, sentence) in sentences.iter().enumerate() {
        let position = index + 1;
        if sentence.facts.is_empty() {
            return Err(Rejection::Uncited { sentence: position });
        }
        let mut allowed = BTreeSet::new();
        for id in &sentence.facts {
            let fact = facts.get(id).ok_or_else(|| Rejection::UnknownFact {
                sentence: position,
                id: id.clone(),
            })?;
            allowed.extend(
                numbers(&fact.text)
                    .into_iter()
                    .map(|(_, canonical)| canonical),
            );
        }
        if let Some((written, _)) = numbers(&sentence.text)
            .into_iter()
            .find(|(_, canonical)| !allowed.contains(canonical))
        {
            return Err(Rejection::UngroundedNumber {
                sentence: position,
                number: written,
            });
        }
    }
    Ok(())
}

/// The numbers in `text`, as written and in canonical form (no thousands
/// separators, no leading zeros, no trailing fractional zeros). Digits
/// glued to a word (`F1`, `OPT001`, `t2`, `$1`) are part of that word, not
/// numbers.
pub fn numbers(text: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let glued = i > 0 && (chars[i - 1].is_alphanumeric() || matches!(chars[i - 1], '_' | '$'));
        if !chars[i].is_ascii_digit() || glued {
            // Skip the rest of a word so its digits are not read as numbers.
            if chars[i].is_alphanumeric() || matches!(chars[i], '_' | '$') {
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '$'))
                {
                    i += 1;
                }
            } else {
                i += 1;
            }
            continue;
        }
        let start = i;
        let mut integer = String::new();
        while i < chars.len() {
            if chars[i].is_ascii_digit() {
                integer.push(chars[i]);
                i += 1;
            } else if chars[i] == ','
                && i + 3 < chars.len() + 1
                && chars[i + 1..]
                    .iter()
                    .take(3)
                    .filter(|c| c.is_ascii_digit())
                    .count()
                    == 3
                && chars.get(i + 4).is_none_or(|c| !c.is_ascii_digit())
            {
                i += 1;
            } else {
                break;
            }
        }
        let mut fraction = String::new();
        if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                fraction.push(chars[i]);
                i += 1;
            }
        }
        let written: String = chars[start..i].iter().collect();
        found.push((written, canonical(&integer, &fraction)));
    }
    found
}

fn canonical(integer: &str, fraction: &str) -> String {
    let integer = integer.trim_start_matches('0');
    let integer = if integer.is_empty() { "0" } else { integer };
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        integer.to_string()
    } else {
        format!("{integer}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet() -> FactSheet {
        let mut sheet = FactSheet::new();
        sheet.push("rule missing-index (OPT001)");
        sheet.push("rows_scanned_per_call = 120000 rows");
        sheet.push("cache_hit_ratio = 0.25 ratio");
        sheet.push("statement: SELECT * FROM orders WHERE email = $1");
        sheet
    }

    fn answer(sentences: &[(&str, &[&str])]) -> String {
        let sentences: Vec<_> = sentences
            .iter()
            .map(|(text, facts)| serde_json::json!({"text": text, "facts": facts}))
            .collect();
        serde_json::json!({ "sentences": sentences }).to_string()
    }

    #[test]
    fn accepts_a_grounded_answer() {
        let text = answer(&[
            (
                "Each call reads 120,000 rows of orders (F1).",
                &["F1", "F2"],
            ),
            ("Only 0.250 of its blocks are cached.", &["F3"]),
            ("The statement filters on email.", &["F4"]),
        ]);
        let explanation = check(&text, &sheet()).unwrap();
        assert_eq!(explanation.sentences.len(), 3);
        assert_eq!(explanation.sentences[0].facts, ["F1", "F2"]);
    }

    #[test]
    fn rejects_an_unknown_fact() {
        let text = answer(&[("Orders is big.", &["F9"])]);
        assert_eq!(
            check(&text, &sheet()),
            Err(Rejection::UnknownFact {
                sentence: 1,
                id: "F9".into()
            })
        );
    }

    #[test]
    fn rejects_an_uncited_sentence() {
        let text = answer(&[("Fine.", &["F1"]), ("Orders is big.", &[])]);
        assert_eq!(
            check(&text, &sheet()),
            Err(Rejection::Uncited { sentence: 2 })
        );
    }

    #[test]
    fn rejects_a_number_not_in_the_cited_facts() {
        let text = answer(&[("Each call reads 150000 rows.", &["F2"])]);
        assert_eq!(
            check(&text, &sheet()),
            Err(Rejection::UngroundedNumber {
                sentence: 1,
                number: "150000".into()
            })
        );
        // A number from another fact does not count: it must be cited.
        let text = answer(&[("Each call reads 120000 rows.", &["F3"])]);
        assert!(matches!(
            check(&text, &sheet()),
            Err(Rejection::UngroundedNumber { .. })
        ));
        // Percentages are new numbers too.
        let text = answer(&[("Only 25% is cached.", &["F3"])]);
        assert!(check(&text, &sheet()).is_err());
    }

    #[test]
    fn rejects_malformed_and_empty_answers() {
        assert!(matches!(
            check("not json", &sheet()),
            Err(Rejection::Malformed(_))
        ));
        assert!(matches!(
            check(r#"{"sentences": [{"text": "x"}]}"#, &sheet()),
            Err(Rejection::Malformed(_))
        ));
        assert_eq!(
            check(r#"{"sentences": []}"#, &sheet()),
            Err(Rejection::Empty)
        );
    }

    #[test]
    fn reads_numbers_like_people_write_them() {
        let canon =
            |text: &str| -> Vec<String> { numbers(text).into_iter().map(|(_, c)| c).collect() };
        assert_eq!(canon("1,234,567 rows and 0.50 ms"), ["1234567", "0.5"]);
        assert_eq!(canon("F1, OPT001, t2, $1 and col_3"), Vec::<String>::new());
        assert_eq!(canon("1,2 and 12,34"), ["1", "2", "12", "34"]);
        assert_eq!(canon("ends with 42."), ["42"]);
        assert_eq!(canon("007"), ["7"]);
    }

    #[test]
    fn unanswered_questions_need_no_sentence() {
        let answer = check_answer(r#"{"answered": false, "sentences": []}"#, &sheet()).unwrap();
        assert!(!answer.answered);
        assert_eq!(
            check_answer(r#"{"answered": true, "sentences": []}"#, &sheet()),
            Err(Rejection::Empty)
        );
        assert!(matches!(
            check_answer(
                r#"{"answered": true, "sentences": [{"text": "It takes 99 ms.", "facts": ["F2"]}]}"#,
                &sheet()
            ),
            Err(Rejection::UngroundedNumber { .. })
        ));
    }

    #[test]
    fn proposals_carry_unverified_sql() {
        let proposal = check_proposal(
            "```json\n{\"sentences\": [{\"text\": \"Join once.\", \"facts\": [\"F1\"]}], \"rewrite\": \"SELECT 1;\", \"index\": \" \"}\n```",
            &sheet(),
        )
        .unwrap();
        assert_eq!(proposal.rewrite.as_deref(), Some("SELECT 1"));
        assert_eq!(proposal.index, None);
    }
}
