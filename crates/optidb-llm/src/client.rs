//! The explainer: facts in, a grounded explanation (or a typed error) out.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use async_openai::Client;
use async_openai::config::{AzureConfig, Config, OpenAIConfig};
use async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestUserMessage, CreateChatCompletionRequest, ResponseFormat,
};
use tokio::sync::Semaphore;

use crate::cache::{self, DiskCache};
use crate::facts::FactSheet;
use crate::grounding::{self, Answer, Explanation, Proposal, Rejection};
use crate::{LlmConfig, LlmError, Redactor};

/// The rules every answer follows, whatever the task.
const GROUNDING: &str = "Use only the numbered facts you are given; do not add knowledge, guesses or numbers of your own. \
Every sentence cites, in \"facts\", the ids of the facts it rests on, at least one. \
Every number in a sentence must appear, written the same way, in a fact it cites. \
Answer with a JSON object and nothing else.";

const EXPLAIN: &str = "You explain PostgreSQL performance findings to a developer. \
Answer as {\"sentences\": [{\"text\": \"...\", \"facts\": [\"F1\"]}]}, at most 4 short sentences.";

const ASK: &str = "You answer a developer's question about a PostgreSQL workload from the facts of one snapshot. \
Answer as {\"answered\": true, \"sentences\": [{\"text\": \"...\", \"facts\": [\"F1\"]}]}, at most 5 short sentences. \
If the facts do not answer the question, set \"answered\" to false and either give no sentences or say, citing facts, what they do show.";

const PROPOSE: &str = "You help speed up one PostgreSQL statement, described by the facts. \
Explain why it is slow, and propose, if you can, a rewritten statement and/or one index. \
A rewrite must return exactly the same rows for every parameter value (same columns in the same order, same row order where the statement orders them), \
read the same tables and take the same $n parameters; it is verified on a copy of the data before anyone sees it. \
Answer as {\"sentences\": [{\"text\": \"...\", \"facts\": [\"F1\"]}], \"rewrite\": \"SELECT ...\" or null, \"index\": \"CREATE INDEX ...\" or null}, at most 4 short sentences.";

/// Explains findings and recommendations with a model, within a request
/// budget, a concurrency cap and a timeout, checking every request with a
/// [`Redactor`] and every answer with [`grounding::check`].
pub struct Explainer {
    client: Client<Box<dyn Config>>,
    config: LlmConfig,
    redactor: Redactor,
    cache: Option<DiskCache>,
    requests: AtomicUsize,
    prompt_tokens: AtomicU64,
    completion_tokens: AtomicU64,
    in_flight: Semaphore,
}

impl std::fmt::Debug for Explainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client holds the API key: show the configuration, which hides it.
        f.debug_struct("Explainer")
            .field("config", &self.config)
            .field("requests", &self.requests_made())
            .finish_non_exhaustive()
    }
}

impl Explainer {
    /// An explainer for `config`, refusing any request that contains what
    /// `redactor` forbids.
    ///
    /// async-openai's configuration consults `OPENAI_BASE_URL` and
    /// `OPENAI_API_KEY` when built; both are overwritten here from `config`,
    /// so the environment decides nothing. async-openai's own retries (of
    /// rate limits and server errors) are switched off: every HTTP request
    /// counts against the budget, and a failure falls back at once.
    pub fn new(config: LlmConfig, redactor: Redactor) -> Result<Self, LlmError> {
        let base = config.base_url.trim_end_matches('/');
        let key = config.api_key.clone().unwrap_or_default();
        let endpoint: Box<dyn Config> = match &config.api_version {
            Some(version) => Box::new(
                AzureConfig::new()
                    .with_api_base(base)
                    .with_deployment_id(config.model.as_str())
                    .with_api_version(version.as_str())
                    .with_api_key(key),
            ),
            None => Box::new(OpenAIConfig::new().with_api_base(base).with_api_key(key)),
        };
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|error| LlmError::Transport(error.to_string()))?;
        let client = Client::with_config(endpoint)
            .with_http_service(async_openai::middleware::ReqwestService::new(http));
        Ok(Explainer {
            client,
            cache: config.cache.clone().map(DiskCache::new),
            in_flight: Semaphore::new(config.max_concurrency.max(1)),
            requests: AtomicUsize::new(0),
            prompt_tokens: AtomicU64::new(0),
            completion_tokens: AtomicU64::new(0),
            redactor,
            config,
        })
    }

    /// How many HTTP requests this explainer has made (cache hits excluded).
    pub fn requests_made(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Tokens the endpoint reported using so far: (prompt, completion).
    pub fn tokens_used(&self) -> (u64, u64) {
        (
            self.prompt_tokens.load(Ordering::SeqCst),
            self.completion_tokens.load(Ordering::SeqCst),
        )
    }

    /// The model this explainer asks.
    pub fn model(&self) -> &str {
        &self.config.model
    }

    /// Asks the model to explain `facts`. `Ok(None)` when there are no facts
    /// or the model's answers failed the grounding check twice (the answer
    /// is dropped); errors for everything else. Either way the caller falls
    /// back to the template rationale.
    pub async fn explain(&self, facts: &FactSheet) -> Result<Option<Explanation>, LlmError> {
        if facts.is_empty() {
            return Ok(None);
        }
        let prompt = format!(
            "Facts:\n{}\nExplain why this matters and what the fix does.",
            facts.render()
        );
        let found = self
            .complete(EXPLAIN, prompt, |answer| grounding::check(answer, facts))
            .await?;
        Ok(found.map(|(mut explanation, cached)| {
            explanation.from_cache = cached;
            explanation
        }))
    }

    /// Asks the model `question`, to be answered from `facts` alone.
    /// `Ok(None)` when the answers failed the grounding check twice.
    pub async fn ask(&self, question: &str, facts: &FactSheet) -> Result<Option<Answer>, LlmError> {
        let prompt = format!("Facts:\n{}\nQuestion: {}", facts.render(), question.trim());
        let found = self
            .complete(ASK, prompt, |answer| grounding::check_answer(answer, facts))
            .await?;
        Ok(found.map(|(mut answer, cached)| {
            answer.from_cache = cached;
            answer
        }))
    }

    /// Asks the model to explain one statement's `facts` and propose a
    /// rewrite or an index (both unverified: the caller verifies them).
    pub async fn propose(&self, facts: &FactSheet) -> Result<Option<Proposal>, LlmError> {
        if facts.is_empty() {
            return Ok(None);
        }
        let prompt = format!(
            "Facts:\n{}\nExplain why this statement is slow, and propose a rewrite or an index if one would help.",
            facts.render()
        );
        let found = self
            .complete(PROPOSE, prompt, |answer| {
                grounding::check_proposal(answer, facts)
            })
            .await?;
        Ok(found.map(|(mut proposal, cached)| {
            proposal.from_cache = cached;
            proposal
        }))
    }

    /// One task: the cache, else the endpoint with one retry of an answer
    /// `check` rejects. The answer and whether it came from the cache;
    /// `None` when both answers were rejected.
    async fn complete<T>(
        &self,
        task: &str,
        prompt: String,
        check: impl Fn(&str) -> Result<T, Rejection>,
    ) -> Result<Option<(T, bool)>, LlmError> {
        let instructions = format!("{task} {GROUNDING}");
        let key = cache::key(&self.config.model, &format!("{instructions}\n{prompt}"));
        if let Some(cached) = self.cache.as_ref().and_then(|cache| cache.get(&key))
            && let Ok(accepted) = check(&cached)
        {
            return Ok(Some((accepted, true)));
        }
        let mut messages = vec![
            ChatCompletionRequestMessage::from(ChatCompletionRequestSystemMessage {
                content: instructions.into(),
                name: None,
            }),
            ChatCompletionRequestMessage::from(ChatCompletionRequestUserMessage {
                content: prompt.into(),
                name: None,
            }),
        ];
        for attempt in 0..2 {
            let answer = self.send(messages.clone()).await?;
            match check(&answer) {
                Ok(accepted) => {
                    if let Some(cache) = &self.cache {
                        // Best effort: a full disk must not lose the answer.
                        let _ = cache.put(&key, &answer);
                    }
                    return Ok(Some((accepted, false)));
                }
                Err(rejection @ Rejection::Malformed(_)) => {
                    return Err(LlmError::MalformedAnswer(rejection));
                }
                Err(rejection) if attempt == 0 => {
                    tracing::debug!(%rejection, "LLM answer rejected, asking again");
                    messages.push(ChatCompletionRequestMessage::from(
                        ChatCompletionRequestUserMessage {
                            content: format!(
                                "Your answer was rejected: {rejection}. Answer again, citing only the facts listed and only their numbers."
                            )
                            .into(),
                            name: None,
                        },
                    ));
                }
                Err(rejection) => {
                    tracing::debug!(%rejection, "LLM answer rejected twice, dropped");
                }
            }
        }
        Ok(None)
    }

    /// Sends one chat completion request and returns the answer's text.
    async fn send(&self, messages: Vec<ChatCompletionRequestMessage>) -> Result<String, LlmError> {
        let request = CreateChatCompletionRequest {
            model: self.config.model.clone(),
            messages,
            response_format: Some(ResponseFormat::JsonObject),
            temperature: Some(0.0),
            ..CreateChatCompletionRequest::default()
        };
        let body = serde_json::to_string(&request)
            .map_err(|error| LlmError::Request(error.to_string()))?;
        self.redactor.check(&body)?;
        let _permit = self
            .in_flight
            .acquire()
            .await
            .map_err(|error| LlmError::Request(error.to_string()))?;
        let made = self.requests.fetch_add(1, Ordering::SeqCst);
        if made >= self.config.max_requests {
            self.requests.fetch_sub(1, Ordering::SeqCst);
            return Err(LlmError::BudgetExhausted {
                max: self.config.max_requests,
            });
        }
        let response =
            tokio::time::timeout(self.config.timeout, self.client.chat().create(request))
                .await
                .map_err(|_| LlmError::Timeout(self.config.timeout))?
                .map_err(|error| match error {
                    async_openai::error::OpenAIError::Reqwest(error) if error.is_timeout() => {
                        LlmError::Timeout(self.config.timeout)
                    }
                    other => LlmError::from(other),
                })?;
        if let Some(usage) = &response.usage {
            self.prompt_tokens
                .fetch_add(u64::from(usage.prompt_tokens), Ordering::SeqCst);
            self.completion_tokens
                .fetch_add(u64::from(usage.completion_tokens), Ordering::SeqCst);
            tracing::debug!(
                model = %self.config.model,
                prompt_tokens = usage.prompt_tokens,
                completion_tokens = usage.completion_tokens,
                "LLM request"
            );
        }
        response
            .choices
            .into_iter()
            .next()
            .and_then(|choice| choice.message.content)
            .ok_or_else(|| LlmError::MalformedResponse("the response holds no message".into()))
    }
}
