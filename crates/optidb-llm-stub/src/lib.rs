//! Test support: a local OpenAI-compatible chat completions server on
//! 127.0.0.1 that answers what a test tells it to and records every request
//! it receives (method, path, headers, body), so a test can inspect exactly
//! what optidb sent.
//!
//! Owns: nothing of optidb's behaviour. It is a dev-dependency only;
//! production code talks to it over HTTP like to any endpoint and never
//! knows it is a stub.
//!
//! Must not: be a dependency of any library or binary target.
//!
//! The server runs on plain threads (one per connection), so it serves
//! tests on any async runtime, and a spawned `optidb` binary alike.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

/// One request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `POST`, …
    pub method: String,
    /// The path with its query string, e.g. `/v1/chat/completions`.
    pub path: String,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body, as text.
    pub body: String,
}

impl Request {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The chat messages' contents, joined by newlines (empty when the body
    /// is not a chat request).
    pub fn prompt(&self) -> String {
        let Ok(body) = serde_json::from_str::<serde_json::Value>(&self.body) else {
            return String::new();
        };
        body["messages"]
            .as_array()
            .map(|messages| {
                messages
                    .iter()
                    .filter_map(|message| message["content"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }
}

/// What the server answers to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// HTTP 200 with a chat completion whose message content is this.
    Content(String),
    /// This status and raw body.
    Status(u16, String),
    /// No answer for this long (then the connection is closed).
    Hang(Duration),
}

/// A JSON answer in optidb's grounded format: sentences with the ids of
/// the facts each cites.
pub fn sentences(sentences: &[(&str, &[&str])]) -> String {
    let sentences: Vec<serde_json::Value> = sentences
        .iter()
        .map(|(text, facts)| serde_json::json!({ "text": text, "facts": facts }))
        .collect();
    serde_json::json!({ "sentences": sentences }).to_string()
}

type Responder = dyn Fn(&Request) -> Reply + Send + Sync;

/// A running stub server; stopped when dropped.
pub struct StubServer {
    base_url: String,
    requests: Arc<Mutex<Vec<Request>>>,
    stopping: Arc<AtomicBool>,
    address: std::net::SocketAddr,
}

impl StubServer {
    /// Starts a server answering each request with `responder`'s reply.
    pub fn start(
        responder: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stopping = Arc::new(AtomicBool::new(false));
        let responder: Arc<Responder> = Arc::new(responder);
        {
            let requests = Arc::clone(&requests);
            let stopping = Arc::clone(&stopping);
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let requests = Arc::clone(&requests);
                    let responder = Arc::clone(&responder);
                    thread::spawn(move || serve(stream, &requests, &*responder));
                }
            });
        }
        Ok(StubServer {
            base_url: format!("http://{address}/v1"),
            requests,
            stopping,
            address,
        })
    }

    /// Starts a server answering with `replies` in order; the last one
    /// repeats. Panics on an empty list (a test's mistake).
    pub fn scripted(replies: Vec<Reply>) -> io::Result<Self> {
        assert!(!replies.is_empty(), "a scripted stub needs a reply");
        let served = Mutex::new(0usize);
        Self::start(move |_| {
            let mut served = served.lock().unwrap_or_else(PoisonError::into_inner);
            let reply = replies[(*served).min(replies.len() - 1)].clone();
            *served += 1;
            reply
        })
    }

    /// The base URL to configure, e.g. `http://127.0.0.1:41234/v1`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for StubServer {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.address);
    }
}

fn serve(stream: TcpStream, requests: &Mutex<Vec<Request>>, responder: &Responder) {
    let Ok(request) = read_request(&stream) else {
        return;
    };
    requests
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(request.clone());
    let (status, body) = match responder(&request) {
        Reply::Content(content) => (200, completion(&content)),
        Reply::Status(status, body) => (status, body),
        Reply::Hang(duration) => {
            thread::sleep(duration);
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    };
    let response = format!(
        "HTTP/1.1 {status} Stub\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = stream;
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
}

fn read_request(stream: &TcpStream) -> io::Result<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_string());
            if name == "content-length" {
                length = value.parse().unwrap_or(0);
            }
            headers.push((name, value));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Request {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// A chat completion response holding `content`.
fn completion(content: &str) -> String {
    serde_json::json!({
        "id": "chatcmpl-stub", "object": "chat.completion", "created": 0, "model": "stub",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn records_requests_and_answers_in_order() {
        let stub = StubServer::scripted(vec![
            Reply::Content("first".into()),
            Reply::Status(500, "{}".into()),
        ])
        .unwrap();
        let address = stub
            .base_url()
            .trim_start_matches("http://")
            .trim_end_matches("/v1")
            .to_string();
        let post = |body: &str| {
            let mut stream = TcpStream::connect(&address).unwrap();
            write!(
                stream,
                "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nApi-Key: k\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).unwrap();
            response
        };
        assert!(post(r#"{"messages":[{"content":"hello"}]}"#).contains("\"first\""));
        assert!(post("{}").starts_with("HTTP/1.1 500"));
        assert!(
            post("{}").starts_with("HTTP/1.1 500"),
            "the last reply repeats"
        );
        let requests = stub.requests();
        assert_eq!(requests.len(), 3);
        assert_eq!(requests[0].path, "/v1/chat/completions");
        assert_eq!(requests[0].header("api-key"), Some("k"));
        assert_eq!(requests[0].prompt(), "hello");
    }
}
