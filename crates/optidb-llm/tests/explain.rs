//! The explainer against a local OpenAI-compatible stub server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use optidb_llm::{CacheConfig, Explainer, FactSheet, LlmConfig, LlmError, Redactor, facts};
use optidb_model::{
    Evidence, Finding, Fix, IndexKeySpec, IndexSpec, Severity, Snapshot, Statement,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The raw statement of the test workload: its constants must never leave.
const RAW_SQL: &str = "SELECT * FROM users WHERE email = 'alice@example.com' AND id = 987654321";
const LITERALS: [&str; 2] = ["alice@example.com", "987654321"];

/// What the stub answers, in order; the last one repeats.
#[derive(Clone)]
enum Reply {
    /// HTTP 200 with a chat completion whose message is this content.
    Content(String),
    /// This status and raw body.
    Raw(u16, String),
    /// Never answer in time.
    Hang,
}

struct Stub {
    base_url: String,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl Stub {
    async fn start(replies: Vec<Reply>) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&bodies);
        tokio::spawn(async move {
            let mut served = 0;
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let reply = replies[served.min(replies.len() - 1)].clone();
                served += 1;
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    let Some(body) = read_request(&mut socket).await else {
                        return;
                    };
                    seen.lock().unwrap().push(body);
                    let (status, body) = match reply {
                        Reply::Content(content) => (200, completion(&content)),
                        Reply::Raw(status, body) => (status, body),
                        Reply::Hang => {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                            return;
                        }
                    };
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Stub { base_url, bodies }
    }

    fn requests(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buffer);
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            if buffer.len() >= end + 4 + length {
                return Some(String::from_utf8_lossy(&buffer[end + 4..end + 4 + length]).into());
            }
        }
    }
}

fn completion(content: &str) -> String {
    serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "stub",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
                     "message": {"role": "assistant", "content": content}}]
    })
    .to_string()
}

fn answer(sentences: &[(&str, &[&str])]) -> Reply {
    let sentences: Vec<_> = sentences
        .iter()
        .map(|(text, facts)| serde_json::json!({"text": text, "facts": facts}))
        .collect();
    Reply::Content(serde_json::json!({ "sentences": sentences }).to_string())
}

fn config(stub: &Stub, cache: Option<CacheConfig>) -> LlmConfig {
    let mut config = LlmConfig::from_lookup(|name| match name {
        "OPTIDB_LLM_MODEL" => Some("stub-model".into()),
        "OPTIDB_LLM_BASE_URL" => Some(stub.base_url.clone()),
        "OPENAI_API_KEY" => Some("sk-test".into()),
        _ => None,
    })
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
    for body in stub.requests() {
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
    let stub = Stub::start(vec![answer(GOOD)]).await;
    let explainer = Explainer::new(config(&stub, None), redactor()).unwrap();
    let explanation = explainer.explain(&workload_facts()).await.unwrap().unwrap();
    assert_eq!(explanation.sentences.len(), 2);
    assert_eq!(explanation.sentences[0].facts, ["F2", "F3"]);
    assert!(!explanation.from_cache);
    assert_eq!(stub.requests().len(), 1);
    assert!(stub.requests()[0].contains("\"response_format\":{\"type\":\"json_object\"}"));
    assert_no_literals(&stub);
}

#[tokio::test]
async fn an_unknown_fact_is_retried_once_then_dropped() {
    let stub = Stub::start(vec![answer(&[("Users is big.", &["F99"])])]).await;
    let explainer = Explainer::new(config(&stub, None), redactor()).unwrap();
    assert_eq!(explainer.explain(&workload_facts()).await.unwrap(), None);
    let requests = stub.requests();
    assert_eq!(requests.len(), 2, "one retry, no more");
    assert!(requests[1].contains("cites F99, which is not one of the facts"));
    assert_no_literals(&stub);
}

#[tokio::test]
async fn a_retry_can_succeed() {
    let stub = Stub::start(vec![answer(&[("It scans 5 rows.", &["F2"])]), answer(GOOD)]).await;
    let explainer = Explainer::new(config(&stub, None), redactor()).unwrap();
    let explanation = explainer.explain(&workload_facts()).await.unwrap();
    assert!(explanation.is_some());
    assert_eq!(stub.requests().len(), 2);
    assert!(stub.requests()[1].contains("uses the number 5"));
}

#[tokio::test]
async fn a_number_not_among_the_facts_is_rejected() {
    let stub = Stub::start(vec![answer(&[("Each call scans 150,000 rows.", &["F2"])])]).await;
    let explainer = Explainer::new(config(&stub, None), redactor()).unwrap();
    assert_eq!(explainer.explain(&workload_facts()).await.unwrap(), None);
    assert_eq!(stub.requests().len(), 2);
}

#[tokio::test]
async fn http_errors_timeouts_and_malformed_json_are_errors() {
    let stub = Stub::start(vec![Reply::Raw(500, "upstream exploded".into())]).await;
    let result = Explainer::new(config(&stub, None), redactor())
        .unwrap()
        .explain(&workload_facts())
        .await;
    assert!(
        matches!(result, Err(LlmError::Api { status: 500, .. })),
        "{result:?}"
    );

    let stub = Stub::start(vec![Reply::Hang]).await;
    let result = Explainer::new(config(&stub, None), redactor())
        .unwrap()
        .explain(&workload_facts())
        .await;
    assert!(matches!(result, Err(LlmError::Timeout(_))), "{result:?}");

    let stub = Stub::start(vec![Reply::Raw(200, "{not json".into())]).await;
    let result = Explainer::new(config(&stub, None), redactor())
        .unwrap()
        .explain(&workload_facts())
        .await;
    assert!(
        matches!(result, Err(LlmError::MalformedResponse(_))),
        "{result:?}"
    );

    let stub = Stub::start(vec![Reply::Content("Sure! Here is why…".into())]).await;
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
    let stub = Stub::start(vec![answer(GOOD)]).await;
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
    let stub = Stub::start(vec![answer(&[("Users is big.", &["F99"])])]).await;
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
    let stub = Stub::start(vec![answer(GOOD)]).await;
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
