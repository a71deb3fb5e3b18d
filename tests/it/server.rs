//! A small OpenAI-compatible embeddings server on 127.0.0.1 for tests and the endpoint bench:
//! a real HTTP server (tiny_http) whose answers a test scripts per request.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub model: String,
    pub inputs: Vec<String>,
    pub authorization: Option<String>,
}

/// An answer: status, extra headers, body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn json(status: u16, body: String) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body,
        }
    }
}

type Handler = dyn Fn(usize, &Seen) -> Answer + Send + Sync;

pub struct TestServer {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    server: Arc<tiny_http::Server>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Serve with `threads` worker threads; `handler(request_number, request)` answers.
    pub fn start(
        threads: usize,
        handler: impl Fn(usize, &Seen) -> Answer + Send + Sync + 'static,
    ) -> TestServer {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1"));
        let port = server.server_addr().to_ip().expect("ip").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let counter = Arc::new(AtomicUsize::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        let workers = (0..threads)
            .map(|_| {
                let (server, seen, counter, handler) = (
                    server.clone(),
                    seen.clone(),
                    counter.clone(),
                    handler.clone(),
                );
                std::thread::spawn(move || {
                    while let Ok(mut req) = server.recv() {
                        let mut body = String::new();
                        let _ = req.as_reader().read_to_string(&mut body);
                        let json: serde_json::Value =
                            serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
                        let s = Seen {
                            path: req.url().to_string(),
                            model: json["model"].as_str().unwrap_or("").to_string(),
                            inputs: json["input"]
                                .as_array()
                                .map(|a| {
                                    a.iter()
                                        .map(|v| v.as_str().unwrap_or("").to_string())
                                        .collect()
                                })
                                .unwrap_or_default(),
                            authorization: req
                                .headers()
                                .iter()
                                .find(|h| h.field.equiv("Authorization"))
                                .map(|h| h.value.to_string()),
                        };
                        let n = counter.fetch_add(1, Ordering::SeqCst);
                        let answer = handler(n, &s);
                        seen.lock().unwrap().push(s);
                        let mut resp = tiny_http::Response::from_string(answer.body)
                            .with_status_code(answer.status)
                            .with_header(
                                tiny_http::Header::from_bytes("Content-Type", "application/json")
                                    .unwrap(),
                            );
                        for (k, v) in answer.headers {
                            resp.add_header(
                                tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap(),
                            );
                        }
                        let _ = req.respond(resp);
                    }
                })
            })
            .collect();
        TestServer {
            url: format!("http://127.0.0.1:{port}"),
            seen,
            server,
            workers,
        }
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        for _ in 0..self.workers.len() {
            self.server.unblock();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// A deterministic 4-d vector of a text: [chars, words, vowels, 1].
pub fn fake_embedding(t: &str) -> Vec<f32> {
    vec![
        t.chars().count() as f32,
        t.split_whitespace().count() as f32,
        t.chars().filter(|c| "aeiou".contains(*c)).count() as f32,
        1.0,
    ]
}

/// A well-formed answer for `inputs`, items in reverse order (clients must sort by index).
pub fn embeddings_answer(inputs: &[String], delay: Duration) -> Answer {
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
    let data: Vec<serde_json::Value> = inputs
        .iter()
        .enumerate()
        .rev()
        .map(|(i, t)| serde_json::json!({"object": "embedding", "index": i, "embedding": fake_embedding(t)}))
        .collect();
    Answer::json(
        200,
        serde_json::json!({"object": "list", "data": data, "model": "fake"}).to_string(),
    )
}
