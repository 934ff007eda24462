//! What can go wrong talking to the model.

use std::time::Duration;

use crate::grounding::Rejection;

/// Why no explanation came back. Every variant means the same thing to the
/// caller: say so once and use the template rationale.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The configuration cannot work.
    #[error("the LLM configuration is unusable: {0}")]
    Config(String),
    /// The request body contained a string the [`crate::Redactor`] forbids
    /// (a literal from the workload or part of the DSN). Nothing was sent.
    #[error(
        "refused to send the request: it contains forbidden text #{index} (a literal or a credential); \
         the facts given to the explainer must come from normalized SQL only"
    )]
    Redaction {
        /// Which forbidden string matched (its position in the redactor's
        /// list; the string itself is never shown).
        index: usize,
    },
    /// The run used up its request budget.
    #[error(
        "the LLM request budget of {max} requests for this run is used up; raise it to explain more"
    )]
    BudgetExhausted {
        /// The budget.
        max: usize,
    },
    /// The endpoint did not answer in time.
    #[error(
        "the LLM endpoint did not answer within {0:?}; raise the timeout or check OPTIDB_LLM_BASE_URL"
    )]
    Timeout(Duration),
    /// The endpoint answered with an error status.
    #[error(
        "the LLM endpoint answered HTTP {status}: {message}; check OPTIDB_LLM_BASE_URL, OPTIDB_LLM_MODEL and OPENAI_API_KEY"
    )]
    Api {
        /// The HTTP status code.
        status: u16,
        /// The endpoint's message.
        message: String,
    },
    /// The endpoint could not be reached.
    #[error("cannot reach the LLM endpoint: {0}; check OPTIDB_LLM_BASE_URL and the network")]
    Transport(String),
    /// The endpoint's response was not a chat completion.
    #[error(
        "the LLM endpoint's response is not a chat completion: {0}; is OPTIDB_LLM_BASE_URL an OpenAI-compatible API?"
    )]
    MalformedResponse(String),
    /// The model's answer was not the JSON asked for.
    #[error("the model's answer is not the JSON asked for ({0}); try another model")]
    MalformedAnswer(Rejection),
    /// The request could not be built.
    #[error("cannot build the LLM request: {0}")]
    Request(String),
}

impl From<async_openai::error::OpenAIError> for LlmError {
    fn from(error: async_openai::error::OpenAIError) -> Self {
        use async_openai::error::OpenAIError;
        match error {
            OpenAIError::ApiError(api) => LlmError::Api {
                status: api.status_code.as_u16(),
                message: api.api_error.message,
            },
            OpenAIError::Reqwest(error) => LlmError::Transport(error.to_string()),
            OpenAIError::JSONDeserialize(error, _) => {
                LlmError::MalformedResponse(error.to_string())
            }
            OpenAIError::InvalidArgument(message) => LlmError::Request(message),
            other => LlmError::Transport(other.to_string()),
        }
    }
}
