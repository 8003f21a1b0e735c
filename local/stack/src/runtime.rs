//! A local Lambda service for one function: the function's real binary runs as a child
//! process and polls this Runtime API (`AWS_LAMBDA_RUNTIME_API`) for invocations, exactly
//! as it does in AWS. One instance per function, so invocations of a function queue up.
//!
//! Like Lambda, an invocation that outlives the function's timeout fails and the process is
//! replaced, and a process that exits (a failed cold start, a panic) fails the invocation
//! it held and is started again for the next one.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc, oneshot};

/// Why an invocation produced no result.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InvokeError {
    /// The handler returned an error (`/invocation/{id}/error`).
    #[error("{error_type}: {message}")]
    Function { error_type: String, message: String },
    #[error("the function timed out after {0:?}")]
    Timeout(Duration),
    #[error("the function's process exited ({0}); see its log")]
    Exited(String),
}

enum Outcome {
    Response(Bytes),
    Error(InvokeError),
}

struct Invocation {
    request_id: String,
    payload: Bytes,
    deadline_ms: u128,
}

struct Shared {
    function_name: String,
    function_arn: String,
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    /// The invocation the process holds now.
    current: Mutex<Option<String>>,
    /// Tells the supervisor to replace the process (after a timeout).
    restart: Notify,
}

/// How to start the function's process.
pub struct ProcessSpec {
    pub executable: PathBuf,
    pub environment: BTreeMap<String, String>,
    pub log_file: PathBuf,
    pub timeout: Duration,
    pub memory_mb: u64,
}

#[derive(Clone)]
pub struct LocalFunction {
    shared: Arc<Shared>,
    sender: mpsc::UnboundedSender<Invocation>,
    timeout: Duration,
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

impl LocalFunction {
    /// Serves the Runtime API on a loopback port and starts the process against it.
    pub async fn start(
        function_name: &str,
        function_arn: &str,
        spec: ProcessSpec,
    ) -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            function_name: function_name.to_string(),
            function_arn: function_arn.to_string(),
            queue: tokio::sync::Mutex::new(receiver),
            pending: Mutex::new(HashMap::new()),
            current: Mutex::new(None),
            restart: Notify::new(),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let runtime_api = listener.local_addr()?.to_string();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let timeout = spec.timeout;
        tokio::spawn(supervise(shared.clone(), spec, runtime_api));
        Ok(LocalFunction {
            shared,
            sender,
            timeout,
        })
    }

    pub fn name(&self) -> &str {
        &self.shared.function_name
    }

    /// A synchronous (`RequestResponse`) invocation: the function's JSON answer.
    pub async fn invoke(&self, payload: &Value) -> Result<Value, InvokeError> {
        let request_id = format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            fastrand::u32(..),
            fastrand::u16(..),
            fastrand::u16(..0x1000),
            fastrand::u16(..0x1000),
            fastrand::u64(..1 << 48)
        );
        let (tx, rx) = oneshot::channel();
        self.shared
            .pending
            .lock()
            .expect("pending lock")
            .insert(request_id.clone(), tx);
        let invocation = Invocation {
            request_id: request_id.clone(),
            payload: Bytes::from(serde_json::to_vec(payload).unwrap_or_default()),
            deadline_ms: now_ms() + self.timeout.as_millis(),
        };
        if self.sender.send(invocation).is_err() {
            return Err(InvokeError::Exited("the local runtime stopped".into()));
        }
        // Queued time counts too: the caller waits at most the timeout plus a grace period.
        let outcome = tokio::time::timeout(self.timeout + Duration::from_secs(1), rx).await;
        self.shared
            .pending
            .lock()
            .expect("pending lock")
            .remove(&request_id);
        match outcome {
            Ok(Ok(Outcome::Response(bytes))) => {
                serde_json::from_slice(&bytes).map_err(|e| InvokeError::Function {
                    error_type: "Runtime.InvalidResponse".into(),
                    message: format!("the answer is not JSON: {e}"),
                })
            }
            Ok(Ok(Outcome::Error(e))) => Err(e),
            Ok(Err(_)) => Err(InvokeError::Exited(
                "the runtime dropped the invocation".into(),
            )),
            Err(_) => {
                let held = self.shared.current.lock().expect("current lock").clone();
                if held.as_deref() == Some(request_id.as_str()) {
                    self.shared.restart.notify_one();
                }
                Err(InvokeError::Timeout(self.timeout))
            }
        }
    }

    /// An asynchronous (`Event`) invocation as S3 and EventBridge make it: retried
    /// `retries` times on error; what still fails goes to `dead_letters` (a JSON line per event).
    pub async fn invoke_async(&self, payload: Value, retries: u32, dead_letters: PathBuf) {
        let mut last_error = String::new();
        for attempt in 0..=retries {
            match self.invoke(&payload).await {
                Ok(_) => return,
                Err(e) => {
                    last_error = e.to_string();
                    eprintln!(
                        "  ! {} failed (attempt {} of {}): {e}",
                        self.name(),
                        attempt + 1,
                        retries + 1
                    );
                }
            }
        }
        let line = json!({"function": self.name(), "error": last_error, "event": payload});
        use std::io::Write;
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&dead_letters)
        {
            let _ = writeln!(file, "{line}");
        }
        eprintln!(
            "  ! {}: event given up after {} attempts, written to {}",
            self.name(),
            retries + 1,
            dead_letters.display()
        );
    }
}

fn settle(shared: &Shared, request_id: &str, outcome: Outcome) -> StatusCode {
    {
        let mut current = shared.current.lock().expect("current lock");
        if current.as_deref() == Some(request_id) {
            *current = None;
        }
    }
    match shared
        .pending
        .lock()
        .expect("pending lock")
        .remove(request_id)
    {
        Some(waiter) => {
            let _ = waiter.send(outcome);
            StatusCode::ACCEPTED
        }
        // Too late (timed out) or unknown: Lambda answers the runtime the same way.
        None => StatusCode::BAD_REQUEST,
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let invocation = {
        let mut queue = shared.queue.lock().await;
        loop {
            match queue.recv().await {
                // Skip invocations whose caller already gave up.
                Some(inv)
                    if shared
                        .pending
                        .lock()
                        .expect("pending lock")
                        .contains_key(&inv.request_id) =>
                {
                    break inv;
                }
                Some(_) => continue,
                None => return StatusCode::GONE.into_response(),
            }
        }
    };
    *shared.current.lock().expect("current lock") = Some(invocation.request_id.clone());
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set(
        "lambda-runtime-aws-request-id",
        invocation.request_id.clone(),
    );
    set(
        "lambda-runtime-deadline-ms",
        invocation.deadline_ms.to_string(),
    );
    set(
        "lambda-runtime-invoked-function-arn",
        shared.function_arn.clone(),
    );
    set(
        "lambda-runtime-trace-id",
        format!(
            "Root=1-{:08x}-{:024x};Sampled=0",
            now_ms() / 1000,
            fastrand::u128(..) >> 32
        ),
    );
    set("content-type", "application/json".into());
    (StatusCode::OK, headers, invocation.payload).into_response()
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    settle(&shared, &id, Outcome::Response(body))
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let error = InvokeError::Function {
        error_type: parsed["errorType"]
            .as_str()
            .unwrap_or("Unhandled")
            .to_string(),
        message: parsed["errorMessage"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned()),
    };
    settle(&shared, &id, Outcome::Error(error))
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    eprintln!(
        "  ! {}: cold start failed: {}",
        shared.function_name,
        parsed["errorMessage"].as_str().unwrap_or("(no message)")
    );
    StatusCode::ACCEPTED
}

/// Keeps one process of the function running: started again after it exits or is
/// replaced because an invocation timed out.
async fn supervise(shared: Arc<Shared>, spec: ProcessSpec, runtime_api: String) {
    let mut quick_exits = 0u32;
    loop {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log_file);
        let (stdout, stderr) = match log.and_then(|f| Ok((f.try_clone()?, f))) {
            Ok((a, b)) => (Stdio::from(a), Stdio::from(b)),
            Err(e) => {
                eprintln!(
                    "  ! {}: cannot open {}: {e}",
                    shared.function_name,
                    spec.log_file.display()
                );
                (Stdio::null(), Stdio::null())
            }
        };
        let mut command = tokio::process::Command::new(&spec.executable);
        command
            .env_clear()
            .envs(&spec.environment)
            .env("AWS_LAMBDA_RUNTIME_API", &runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", &shared.function_name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                spec.memory_mb.to_string(),
            )
            .env(
                "AWS_LAMBDA_FUNCTION_TIMEOUT",
                spec.timeout.as_secs().to_string(),
            )
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", shared.function_name),
            )
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                format!("local/[$LATEST]{:032x}", fastrand::u128(..)),
            )
            .env("AWS_EXECUTION_ENV", "AWS_Lambda_rust_local")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .kill_on_drop(true);
        let started = tokio::time::Instant::now();
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                eprintln!(
                    "  ! {}: cannot start {}: {e} (was it built? `make run` builds it)",
                    shared.function_name,
                    spec.executable.display()
                );
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        let reason = tokio::select! {
            status = child.wait() => match status {
                Ok(s) => s.to_string(),
                Err(e) => e.to_string(),
            },
            _ = shared.restart.notified() => {
                let _ = child.kill().await;
                "replaced after a timeout".to_string()
            }
        };
        let held = shared.current.lock().expect("current lock").take();
        let waiter = held.and_then(|id| shared.pending.lock().expect("pending lock").remove(&id));
        if let Some(waiter) = waiter {
            let _ = waiter.send(Outcome::Error(InvokeError::Exited(reason.clone())));
        }
        if started.elapsed() < Duration::from_secs(2) {
            quick_exits += 1;
            if quick_exits == 1 || quick_exits % 10 == 0 {
                eprintln!(
                    "  ! {} exited at start ({reason}); see {}",
                    shared.function_name,
                    spec.log_file.display()
                );
            }
            // A function that cannot start is retried, without spinning.
            tokio::time::sleep(Duration::from_millis(500 * u64::from(quick_exits.min(10)))).await;
        } else {
            quick_exits = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in function in bash speaking the Runtime API over /dev/tcp: it takes the
    /// next invocation and then, by MODE, answers with the payload (echo), reports an
    /// error (fail), or exits holding it (crash).
    const FUNCTION: &str = r#"#!/usr/bin/env bash
set -u
host=${AWS_LAMBDA_RUNTIME_API%:*}; port=${AWS_LAMBDA_RUNTIME_API#*:}
while true; do
  exec 3<>"/dev/tcp/$host/$port"
  printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: l\r\nConnection: close\r\n\r\n' >&3
  id=""; length=0
  while IFS= read -r line <&3; do
    line=${line%$'\r'}
    [ -z "$line" ] && break
    case "${line,,}" in
      lambda-runtime-aws-request-id:*) id=${line#*: } ;;
      content-length:*) length=${line#*: } ;;
    esac
  done
  body=$(head -c "$length" <&3)
  exec 3<&-
  [ "$MODE" = crash ] && exit 3
  if [ "$MODE" = fail ]; then
    path="error"; body='{"errorType":"Boom","errorMessage":"it broke"}'
  else
    path="response"
  fi
  exec 3<>"/dev/tcp/$host/$port"
  printf 'POST /2018-06-01/runtime/invocation/%s/%s HTTP/1.1\r\nHost: l\r\nConnection: close\r\nContent-Length: %s\r\n\r\n%s' "$id" "$path" "${#body}" "$body" >&3
  cat <&3 >/dev/null
  exec 3<&-
done
"#;

    #[tokio::test]
    async fn invocations_reach_the_process_and_answers_come_back() {
        let echo = function_with_script("echo").await;
        let payload = json!({"hello": "world", "n": 1});
        assert_eq!(echo.invoke(&payload).await.unwrap(), payload);
        // The same process takes the next one.
        assert_eq!(echo.invoke(&json!([2])).await.unwrap(), json!([2]));

        let failing = function_with_script("fail").await;
        match failing.invoke(&json!({})).await {
            Err(InvokeError::Function {
                error_type,
                message,
            }) => {
                assert_eq!(
                    (error_type.as_str(), message.as_str()),
                    ("Boom", "it broke")
                );
            }
            other => panic!("expected the function's error, got {other:?}"),
        }

        let crashing = function_with_script("crash").await;
        assert!(matches!(
            crashing.invoke(&json!({})).await,
            Err(InvokeError::Exited(_))
        ));
    }

    async fn function_with_script(mode: &str) -> LocalFunction {
        let dir = std::env::temp_dir().join(format!("acb-runtime-{}", fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("bootstrap");
        std::fs::write(&script, FUNCTION).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut environment = BTreeMap::new();
        environment.insert("MODE".to_string(), mode.to_string());
        environment.insert(
            "PATH".to_string(),
            std::env::var("PATH").unwrap_or_default(),
        );
        LocalFunction::start(
            "test-fn",
            "arn:aws:lambda:us-east-1:0:function:test-fn",
            ProcessSpec {
                executable: script,
                environment,
                log_file: dir.join("log"),
                timeout: Duration::from_secs(20),
                memory_mb: 128,
            },
        )
        .await
        .unwrap()
    }
}
