//! The explainer against a local OpenAI-compatible stub server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use optidb_llm::{CacheConfig, Explainer, FactSheet, LlmConfig, LlmError, Redactor, facts};
use optidb_llm_stub::{Reply, StubServer as Stub};
use optidb_model::{
    Evidence, Finding, Fix, IndexKeySpec, IndexSpec, Severity, Snapshot, Statement,
};

/// The raw statement of the test workload: its constants must never leave.
const RAW_SQL: &str = "SELECT * FROM users WHERE email = 'alice@example.com' AND id = 987654321";
const LITERALS: [&str; 2] = ["alice@example.com", "987654321"];

fn start(replies: Vec<Reply>) -> Stub {
    Stub::scripted(replies).unwrap()
}

fn answer(sentences: &[(&str, &[&str])]) -> Reply {
    Reply::Content(optidb_llm_stub::sentences(sentences))
}

fn bodies(stub: &Stub) -> Vec<String> {
    stub.requests().into_iter().map(|r| r.body).collect()
}

fn config(stub: &Stub, cache: Option<CacheConfig>) -> LlmConfig {
    let mut config = LlmConfig::from_lookup(|name| match name {
        "OPTIDB_LLM_MODEL" => Some("stub-model".into()),
        "OPTIDB_LLM_BASE_URL" => Some(stub.base_url().to_string()),
        "OPENAI_API_KEY" => Some("sk-test".into()),
        _ => None,
    })
    .unwrap()
    .unwrap();
    config.timeout = Duration::from_millis(500);
    config.cache = cache;
    config
}

/// A finding on the test workload; F2 is `rows_scanned_per_call = 120000 rows`.
fn workload_facts() -> FactSheet {
    let snapshot = Snapshot {
        statements: vec![Statement {
            queryid: 7,
            query: RAW_SQL.into(),
            calls: 42,
            ..Statement::default()
        }],
        ..Snapshot::default()
    };
    let finding = Finding {
        code: "OPT001".into(),
        rule: "missing-index".into(),
        severity: Severity::Warning,
        title: "users scanned".into(),
        statements: vec![7],
        tables: vec!["public.users".into()],
        indexes: vec![],
        evidence: vec![Evidence::new("rows_scanned_per_call", 120000.0, "rows")],
        fix: Fix::CreateIndex(IndexSpec {
            schema: "public".into(),
            table: "users".into(),
            method: "btree".into(),
            keys: vec![IndexKeySpec::column("email")],
            include: vec![],
            predicate: None,
        }),
    };
    facts::finding_facts(&finding, &snapshot)
}

fn redactor() -> Redactor {
    let mut redactor = Redactor::new();
    redactor.forbid_literals_of(RAW_SQL);
    redactor.forbid_dsn("postgres://app:hunter22@db.internal.example/shop");
    redactor
}

fn assert_no_literals(stub: &Stub) {
    for body in bodies(stub) {
        for literal in LITERALS {
            assert!(!body.contains(literal), "{literal} was sent: {body}");
        }
        assert!(
            body.contains("email = $1"),
            "the normalized statement is sent: {body}"
        );
    }
}

const GOOD: &[(&str, &[&str])] = &[
    (
        "Each call scans 120,000 rows of public.users.",
        &["F2", "F3"],
    ),
    (
        "An index on email lets it read only the matching rows.",
        &["F4", "F5"],
    ),
];

#[tokio::test]
async fn a_grounded_answer_comes_back_with_its_citations() {
    let stub = start(vec![answer(GOOD)]);
    let explainer = Explainer::new(config(&stub, None), redactor()).unwrap();
    let explanation = explainer.explain(&workload_facts()).await.unwrap().unwrap();
    assert_eq!(explanation.sentences.len(), 2);
    assert_eq!(explanation.sentences[0].facts, ["F2", "F3"]);
    assert!(!explanation.from_cache);
    assert_eq!(stub.requests().len(), 1);
    assert!(
        stub.requests()[0]
            .body
            .contains("\"response_format\":{\"type\":\"json_object\"}")
    );
    assert_no_literals(&stub);
}

#[tokio::test]
async fn an_unknown_fact_is_retried_once_then_dropped() {
    let stub = start(vec![answer(&[("Users is big.", &["F99"])])]);
    let explainer = Explainer::new(config(&stub, None), redactor()).unwrap();
    assert_eq!(explainer.explain(&workload_facts()).await.unwrap(), None);
    let requests = stub.requests();
    assert_eq!(requests.len(), 2, "one retry, no more");
    assert!(
        requests[1]
            .body
            .contains("cites F99, which is not one of the facts")
    );
    assert_no_literals(&stub);
}

#[tokio::test]
async fn a_retry_can_succeed() {
    let stub = start(vec![answer(&[("It scans 5 rows.", &["F2"])]), answer(GOOD)]);
    let explainer = Explainer::new(config(&stub, None), redactor()).unwrap();
    let explanation = explainer.explain(&workload_facts()).await.unwrap();
    assert!(explanation.is_some());
    assert_eq!(stub.requests().len(), 2);
    assert!(stub.requests()[1].body.contains("uses the number 5"));
}

#[tokio::test]
async fn a_number_not_among_the_facts_is_rejected() {
    let stub = start(vec![answer(&[("Each call scans 150,000 rows.", &["F2"])])]);
    let explainer = Explainer::new(config(&stub, None), redactor()).unwrap();
    assert_eq!(explainer.explain(&workload_facts()).await.unwrap(), None);
    assert_eq!(stub.requests().len(), 2);
}

#[tokio::test]
async fn http_errors_timeouts_and_malformed_json_are_errors() {
    let stub = start(vec![Reply::Status(500, "upstream exploded".into())]);
    let result = Explainer::new(config(&stub, None), redactor())
        .unwrap()
        .explain(&workload_facts())
        .await;
    assert!(
        matches!(result, Err(LlmError::Api { status: 500, .. })),
        "{result:?}"
    );

    let stub = start(vec![Reply::Hang(Duration::from_secs(5))]);
    let result = Explainer::new(config(&stub, None), redactor())
        .unwrap()
        .explain(&workload_facts())
        .await;
    assert!(matches!(result, Err(LlmError::Timeout(_))), "{result:?}");

    let stub = start(vec![Reply::Status(200, "{not json".into())]);
    let result = Explainer::new(config(&stub, None), redactor())
        .unwrap()
        .explain(&workload_facts())
        .await;
    assert!(
        matches!(result, Err(LlmError::MalformedResponse(_))),
        "{result:?}"
    );

    let stub = start(vec![Reply::Content("Sure! Here is why…".into())]);
    let result = Explainer::new(config(&stub, None), redactor())
        .unwrap()
        .explain(&workload_facts())
        .await;
    assert!(
        matches!(result, Err(LlmError::MalformedAnswer(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn the_cache_serves_an_identical_request_without_http() {
    let dir = tempfile::tempdir().unwrap();
    let cache = CacheConfig {
        dir: dir.path().join("llm"),
        ttl: Duration::from_secs(3600),
        max_bytes: 1 << 20,
    };
    let stub = start(vec![answer(GOOD)]);
    let first = Explainer::new(config(&stub, Some(cache.clone())), redactor())
        .unwrap()
        .explain(&workload_facts())
        .await
        .unwrap()
        .unwrap();
    let explainer = Explainer::new(config(&stub, Some(cache)), redactor()).unwrap();
    let second = explainer.explain(&workload_facts()).await.unwrap().unwrap();
    assert_eq!(
        stub.requests().len(),
        1,
        "the second answer came from the cache"
    );
    assert_eq!(explainer.requests_made(), 0);
    assert!(second.from_cache);
    assert_eq!(first.sentences, second.sentences);
}

#[tokio::test]
async fn the_budget_caps_requests_retries_included() {
    let stub = start(vec![answer(&[("Users is big.", &["F99"])])]);
    let mut config = config(&stub, None);
    config.max_requests = 1;
    let explainer = Explainer::new(config, redactor()).unwrap();
    let result = explainer.explain(&workload_facts()).await;
    assert!(
        matches!(result, Err(LlmError::BudgetExhausted { max: 1 })),
        "{result:?}"
    );
    assert_eq!(stub.requests().len(), 1);
}

#[tokio::test]
async fn a_request_holding_a_literal_is_never_sent() {
    let stub = start(vec![answer(GOOD)]);
    let mut leaky = workload_facts();
    leaky.push(format!("statement: {RAW_SQL}"));
    let result = Explainer::new(config(&stub, None), redactor())
        .unwrap()
        .explain(&leaky)
        .await;
    assert!(
        matches!(result, Err(LlmError::Redaction { .. })),
        "{result:?}"
    );
    assert!(stub.requests().is_empty());
}

#[tokio::test]
async fn questions_are_answered_from_the_facts_or_not_at_all() {
    let stub = start(vec![
        Reply::Content(
            r#"{"answered": true, "sentences": [{"text": "Each call scans 120000 rows.", "facts": ["F2"]}]}"#
                .into(),
        ),
        Reply::Content(r#"{"answered": false, "sentences": []}"#.into()),
    ]);
    let explainer = Explainer::new(config(&stub, None), redactor()).unwrap();
    let facts = workload_facts();
    let answer = explainer
        .ask("why is the login slow?", &facts)
        .await
        .unwrap()
        .unwrap();
    assert!(answer.answered);
    assert_eq!(answer.sentences[0].facts, ["F2"]);
    let answer = explainer
        .ask("what is the weather?", &facts)
        .await
        .unwrap()
        .unwrap();
    assert!(!answer.answered);
    let requests = stub.requests();
    assert!(
        requests[0]
            .prompt()
            .contains("Question: why is the login slow?")
    );
    assert!(requests[0].prompt().contains("\"answered\""));
    assert_no_literals(&stub);
}

#[tokio::test]
async fn proposals_come_back_unverified_with_their_sql() {
    let stub = start(vec![Reply::Content(
        serde_json::json!({
            "sentences": [{"text": "Each call scans 120000 rows.", "facts": ["F2"]}],
            "rewrite": null,
            "index": "CREATE INDEX ON users (email)"
        })
        .to_string(),
    )]);
    let explainer = Explainer::new(config(&stub, None), redactor()).unwrap();
    let proposal = explainer.propose(&workload_facts()).await.unwrap().unwrap();
    assert_eq!(proposal.rewrite, None);
    assert_eq!(
        proposal.index.as_deref(),
        Some("CREATE INDEX ON users (email)")
    );
    assert!(stub.requests()[0].prompt().contains("same $n parameters"));
}

#[tokio::test]
async fn azure_openai_gets_its_deployment_path_version_and_key_header() {
    let stub = start(vec![answer(GOOD)]);
    let base = stub.base_url().trim_end_matches("/v1").to_string();
    let config = LlmConfig::from_lookup(|name| match name {
        "OPTIDB_LLM_MODEL" => Some("gpt4o-prod".into()),
        "OPTIDB_LLM_BASE_URL" => Some(base.clone()),
        "OPTIDB_LLM_API_VERSION" => Some("2024-10-21".into()),
        "OPENAI_API_KEY" => Some("azure-key".into()),
        _ => None,
    })
    .unwrap()
    .unwrap();
    let explainer = Explainer::new(config, redactor()).unwrap();
    assert!(
        explainer
            .explain(&workload_facts())
            .await
            .unwrap()
            .is_some()
    );
    let request = &stub.requests()[0];
    assert_eq!(
        request.path,
        "/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(request.header("api-key"), Some("azure-key"));
    assert_eq!(request.header("authorization"), None);
}

#[tokio::test]
async fn openai_gets_a_bearer_token_and_token_counts_are_kept() {
    let stub = start(vec![answer(GOOD)]);
    let explainer = Explainer::new(config(&stub, None), redactor()).unwrap();
    explainer.explain(&workload_facts()).await.unwrap();
    let request = &stub.requests()[0];
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(request.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(explainer.tokens_used(), (100, 20));
}
