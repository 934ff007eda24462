//! The explainer: facts in, a grounded explanation (or a typed error) out.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestUserMessage, CreateChatCompletionRequest, ResponseFormat,
};
use tokio::sync::Semaphore;

use crate::cache::{self, DiskCache};
use crate::facts::FactSheet;
use crate::grounding::{self, Explanation, Rejection};
use crate::{LlmConfig, LlmError, Redactor};

const INSTRUCTIONS: &str = "You explain PostgreSQL performance findings to a developer. \
Use only the numbered facts you are given; do not add knowledge, guesses or numbers of your own. \
Answer with a JSON object and nothing else: \
{\"sentences\": [{\"text\": \"...\", \"facts\": [\"F1\"]}]}. \
Every sentence cites, in \"facts\", the ids of the facts it rests on, at least one. \
Every number in a sentence must appear, written the same way, in a fact it cites. \
Write at most 4 short sentences.";

/// Explains findings and recommendations with a model, within a request
/// budget, a concurrency cap and a timeout, checking every request with a
/// [`Redactor`] and every answer with [`grounding::check`].
#[derive(Debug)]
pub struct Explainer {
    client: Client<OpenAIConfig>,
    config: LlmConfig,
    redactor: Redactor,
    cache: Option<DiskCache>,
    requests: AtomicUsize,
    in_flight: Semaphore,
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
        let openai = OpenAIConfig::new()
            .with_api_base(config.base_url.trim_end_matches('/'))
            .with_api_key(config.api_key.clone().unwrap_or_default());
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|error| LlmError::Transport(error.to_string()))?;
        let client = Client::with_config(openai)
            .with_http_service(async_openai::middleware::ReqwestService::new(http));
        Ok(Explainer {
            client,
            cache: config.cache.clone().map(DiskCache::new),
            in_flight: Semaphore::new(config.max_concurrency.max(1)),
            requests: AtomicUsize::new(0),
            redactor,
            config,
        })
    }

    /// How many HTTP requests this explainer has made (cache hits excluded).
    pub fn requests_made(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
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
        let key = cache::key(&self.config.model, &prompt);
        if let Some(cached) = self.cache.as_ref().and_then(|cache| cache.get(&key))
            && let Ok(mut explanation) = grounding::check(&cached, facts)
        {
            explanation.from_cache = true;
            return Ok(Some(explanation));
        }
        let mut messages = vec![
            ChatCompletionRequestMessage::from(ChatCompletionRequestSystemMessage {
                content: INSTRUCTIONS.into(),
                name: None,
            }),
            ChatCompletionRequestMessage::from(ChatCompletionRequestUserMessage {
                content: prompt.into(),
                name: None,
            }),
        ];
        for attempt in 0..2 {
            let answer = self.send(messages.clone()).await?;
            match grounding::check(&answer, facts) {
                Ok(explanation) => {
                    if let Some(cache) = &self.cache {
                        // Best effort: a full disk must not lose the answer.
                        let _ = cache.put(&key, &answer);
                    }
                    return Ok(Some(explanation));
                }
                Err(rejection @ Rejection::Malformed(_)) => {
                    return Err(LlmError::MalformedAnswer(rejection));
                }
                Err(rejection) if attempt == 0 => {
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
                Err(_) => {}
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
        response
            .choices
            .into_iter()
            .next()
            .and_then(|choice| choice.message.content)
            .ok_or_else(|| LlmError::MalformedResponse("the response holds no message".into()))
    }
}
