//! `acb events send` against a stand-in for the stack's HTTP API: the route, a signature
//! made with the given secret, and the answer as text or JSON.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread::JoinHandle;

use serde_json::{Value, json};
use shared::secret::Secret;
use shared::signature::Verifier;

const SECRET: &str = "whsec_cliEventsTestSecret0123456789";

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(path)
}

/// What the stand-in received.
struct Received {
    request_line: String,
    signature: Option<String>,
    body: Vec<u8>,
}

/// Answers one request with `status` and `body`, and hands back what it received.
fn serve_once(status: u16, content_type: &str, body: &str) -> (String, JoinHandle<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().unwrap());
    let answer = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let (mut length, mut signature) = (0usize, None);
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap(),
                "stripe-signature" => signature = Some(value.trim().to_string()),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = stream;
        stream.write_all(answer.as_bytes()).unwrap();
        Received {
            request_line: request_line.trim_end().to_string(),
            signature,
            body,
        }
    });
    (url, handle)
}

fn send(url: &str, extra: &[&str]) -> Output {
    let fixture = fixture("webhooks/charge_refunded.json");
    Command::new(env!("CARGO_BIN_EXE_acb"))
        .args(["events", "send", fixture.to_str().unwrap(), "--url", url])
        .args(extra)
        .env("STRIPE_SIGNING_SECRET", SECRET)
        .output()
        .expect("run acb")
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn send_posts_the_signed_fixture_and_prints_the_answer_as_json() {
    let (url, server) = serve_once(200, "application/json", r#"{"handled":true}"#);
    let out = send(&url, &["--json"]);
    let received = server.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(printed, json!({"status": 200, "body": {"handled": true}}));

    assert_eq!(received.request_line, "POST /stripe/webhooks HTTP/1.1");
    let event: Value = serde_json::from_slice(&received.body).expect("the event");
    assert_eq!(event["type"], "charge.refunded");
    // Signed just now with the secret from STRIPE_SIGNING_SECRET.
    let verifier = Verifier::new(vec![Secret::new(SECRET)], 300);
    verifier
        .verify(&received.body, received.signature.as_deref(), now())
        .expect("a valid signature");
    // The secret itself goes nowhere but into the HMAC.
    for stream in [&out.stdout, &out.stderr] {
        assert!(!String::from_utf8_lossy(stream).contains("cliEventsTestSecret"));
    }
}

#[test]
fn a_refused_event_prints_status_and_text_body_and_exits_1() {
    let (url, server) = serve_once(503, "text/plain", "busy, try later");
    let out = send(&url, &["--json"]);
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(printed, json!({"status": 503, "body": "busy, try later"}));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("503"), "{err}");

    // The human-readable default is unchanged: status, a space, the answer.
    let (url, server) = serve_once(200, "application/json", r#"{"handled":true}"#);
    let out = send(&url, &[]);
    server.join().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "200 {\"handled\":true}\n"
    );
}

#[test]
fn send_without_a_url_says_where_to_set_it() {
    let fixture = fixture("webhooks/charge_refunded.json");
    let out = Command::new(env!("CARGO_BIN_EXE_acb"))
        .args(["events", "send", fixture.to_str().unwrap()])
        .env_remove("ACB_API_URL")
        .output()
        .expect("run acb");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--url") && err.contains("ACB_API_URL") && err.contains("stack.env"),
        "{err}"
    );
}

#[test]
fn sign_accepts_json_and_prints_the_signed_request() {
    let fixture = fixture("webhooks/charge_refunded.json");
    let out = Command::new(env!("CARGO_BIN_EXE_acb"))
        .args(["events", "sign", fixture.to_str().unwrap(), "--json"])
        .env("STRIPE_SIGNING_SECRET", SECRET)
        .output()
        .expect("run acb");
    assert!(out.status.success());
    let request: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let body = sample_events::fixtures::body_bytes(&request).unwrap();
    let verifier = Verifier::new(vec![Secret::new(SECRET)], 300);
    verifier
        .verify(
            &body,
            request["headers"]["stripe-signature"].as_str(),
            now(),
        )
        .expect("signed with the secret");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("cliEventsTestSecret"));
}
