//! A small OpenAI-compatible embeddings server on 127.0.0.1 for tests and the endpoint bench:
//! a real HTTP/1.1 server on a TCP socket whose answers a test scripts per request. (tiny_http
//! was tried first; it now and then left a request unanswered under concurrent keep-alive
//! connections, which a throughput bench cannot live with.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub model: String,
    /// The request's `encoding_format` ("" when absent).
    pub encoding_format: String,
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

/// A real HTTP/1.1 server on 127.0.0.1 (keep-alive, Content-Length bodies), a thread per
/// connection, at most `threads` requests handled at once (the server's capacity).
pub struct TestServer {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
    acceptor: Option<std::thread::JoinHandle<()>>,
}

/// A counting semaphore: the server's worker slots.
struct Slots {
    free: Mutex<usize>,
    cv: Condvar,
}

impl Slots {
    fn acquire(&self) {
        let mut f = self.free.lock().unwrap();
        while *f == 0 {
            f = self.cv.wait(f).unwrap();
        }
        *f -= 1;
    }
    fn release(&self) {
        *self.free.lock().unwrap() += 1;
        self.cv.notify_one();
    }
}

/// One request: (path, headers lower-cased, body).
type Request = (String, Vec<(String, String)>, Vec<u8>);

/// Read one request. `None` at end of stream.
fn read_request(r: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).ok()?;
    Some((path, headers, body))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

impl TestServer {
    /// Serve with `threads` worker slots; `handler(request_number, request)` answers.
    pub fn start(
        threads: usize,
        handler: impl Fn(usize, &Seen) -> Answer + Send + Sync + 'static,
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let counter = Arc::new(AtomicUsize::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        let slots = Arc::new(Slots {
            free: Mutex::new(threads.max(1)),
            cv: Condvar::new(),
        });
        let acceptor = {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(conn) = conn else { continue };
                    let _ = conn.set_nodelay(true);
                    let (seen, counter, handler, slots) = (
                        seen.clone(),
                        counter.clone(),
                        handler.clone(),
                        slots.clone(),
                    );
                    std::thread::spawn(move || {
                        let mut writer = conn.try_clone().unwrap();
                        let mut reader = BufReader::new(conn);
                        while let Some((path, headers, body)) = read_request(&mut reader) {
                            let json: serde_json::Value =
                                serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                            let header = |name: &str| {
                                headers
                                    .iter()
                                    .find(|(k, _)| k == name)
                                    .map(|(_, v)| v.clone())
                            };
                            let s = Seen {
                                path,
                                model: json["model"].as_str().unwrap_or("").to_string(),
                                encoding_format: json["encoding_format"]
                                    .as_str()
                                    .unwrap_or("")
                                    .to_string(),
                                inputs: json["input"]
                                    .as_array()
                                    .map(|a| {
                                        a.iter()
                                            .map(|v| v.as_str().unwrap_or("").to_string())
                                            .collect()
                                    })
                                    .unwrap_or_default(),
                                authorization: header("authorization"),
                            };
                            slots.acquire();
                            let n = counter.fetch_add(1, Ordering::SeqCst);
                            let answer = handler(n, &s);
                            slots.release();
                            seen.lock().unwrap().push(s);
                            let mut head = format!(
                                "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
                                answer.status,
                                reason(answer.status),
                                answer.body.len()
                            );
                            for (k, v) in &answer.headers {
                                head.push_str(&format!("{k}: {v}\r\n"));
                            }
                            head.push_str("\r\n");
                            let mut out = head.into_bytes();
                            out.extend_from_slice(answer.body.as_bytes());
                            if writer.write_all(&out).is_err() {
                                return;
                            }
                            if header("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"))
                            {
                                return;
                            }
                        }
                    });
                }
            })
        };
        TestServer {
            url: format!("http://{addr}"),
            seen,
            stop,
            addr,
            acceptor: Some(acceptor),
        }
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor.
        let _ = TcpStream::connect(self.addr);
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
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

/// A vector as the request asked for it: base64 of little-endian f32 bytes, or floats.
pub fn encode_vector(v: &[f32], base64: bool) -> serde_json::Value {
    if base64 {
        use base64::Engine;
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
    } else {
        serde_json::json!(v)
    }
}

/// Like [`embeddings_answer`], honouring the request's `encoding_format` as OpenAI does.
pub fn embeddings_answer_for(s: &Seen) -> Answer {
    let base64 = s.encoding_format == "base64";
    let data: Vec<serde_json::Value> = s
        .inputs
        .iter()
        .enumerate()
        .rev()
        .map(|(i, t)| {
            serde_json::json!({"object": "embedding", "index": i, "embedding": encode_vector(&fake_embedding(t), base64)})
        })
        .collect();
    Answer::json(
        200,
        serde_json::json!({"object": "list", "data": data, "model": "fake"}).to_string(),
    )
}
