//! A local Lambda service for one function: the function's real binary runs as child
//! processes that poll a Runtime API (`AWS_LAMBDA_RUNTIME_API`) for invocations, exactly
//! as they do in AWS.
//!
//! Like Lambda, a function scales out to a number of instances (execution environments),
//! each a process with its own Runtime API endpoint that takes one invocation at a time.
//! An invocation goes to an idle instance; when every instance is busy and fewer than the
//! function's concurrency run, a new one is started (a cold start); at the limit,
//! invocations wait in a queue, in arrival order. Instances stay warm until the stack
//! stops. The first instance starts with the stack, so a failing cold start shows at once.
//!
//! An invocation that outlives the function's timeout fails and its instance's process is
//! replaced, and a process that exits (a failed cold start, a panic) fails the invocation
//! it held and is started again for the next one.
//!
//! Each process's stdout is read line by line into its log file; lines in CloudWatch's
//! Embedded Metric Format also go to the stack's [`MetricsCollector`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::sync::{Notify, oneshot};

use crate::metrics::MetricsCollector;

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

/// One execution environment: a process and its own Runtime API endpoint.
struct Instance {
    id: usize,
    runtime_api: String,
    /// Tells the supervisor to replace the process (after a timeout).
    restart: Notify,
    /// The pid of the current process (0 until it started).
    pid: AtomicU32,
    /// Invocations this instance took.
    invocations: AtomicU64,
    /// When it took the invocation it holds now (Lambda bills from there to the answer).
    busy_since: Mutex<Option<std::time::Instant>>,
    /// Time spent on invocations, summed, in microseconds (Lambda's billed duration).
    busy_micros: AtomicU64,
}

/// What an instance endpoint's handlers and its supervisor share.
#[derive(Clone)]
struct Endpoint {
    function: Arc<Function>,
    instance: Arc<Instance>,
}

/// Everything about the function's invocations, under one lock.
#[derive(Default)]
struct Pool {
    queue: VecDeque<Invocation>,
    instances: Vec<Arc<Instance>>,
    /// By instance id: the invocation it holds now.
    current: Vec<Option<String>>,
    /// Instances not holding an invocation (idle, or starting and about to poll).
    available: usize,
    /// Callers waiting for an answer, by request id.
    pending: HashMap<String, oneshot::Sender<Outcome>>,
}

struct Function {
    name: String,
    arn: String,
    max_instances: usize,
    spec: ProcessSpec,
    pool: Mutex<Pool>,
    /// Wakes an instance waiting in `/next` when an invocation is queued.
    ready: Notify,
}

/// How to start the function's processes.
#[derive(Clone)]
pub struct ProcessSpec {
    pub executable: PathBuf,
    pub environment: BTreeMap<String, String>,
    pub log_file: PathBuf,
    pub timeout: Duration,
    pub memory_mb: u64,
    /// Where the EMF metric lines of the function's stdout go, if anywhere.
    pub metrics: Option<MetricsCollector>,
}

/// What one instance did, for tests, the summary and the load harness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceStats {
    pub id: usize,
    /// Its Runtime API endpoint (`host:port`).
    pub runtime_api: String,
    /// The pid of its current process, if one started.
    pub pid: Option<u32>,
    pub invocations: u64,
    /// Time spent on invocations, summed (what Lambda bills).
    pub busy: Duration,
}

#[derive(Clone)]
pub struct LocalFunction {
    function: Arc<Function>,
    timeout: Duration,
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

impl Function {
    fn pool(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Removes a caller's pending entry however its wait ends (answered, timed out, dropped).
struct PendingGuard<'a> {
    function: &'a Function,
    request_id: &'a str,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.function.pool().pending.remove(self.request_id);
    }
}

impl LocalFunction {
    /// Starts the function with up to `concurrency` instances (at least one): the first
    /// now, the others as invocations need them.
    pub async fn start(
        function_name: &str,
        function_arn: &str,
        spec: ProcessSpec,
        concurrency: usize,
    ) -> std::io::Result<Self> {
        let timeout = spec.timeout;
        let function = Arc::new(Function {
            name: function_name.to_string(),
            arn: function_arn.to_string(),
            max_instances: concurrency.max(1),
            spec,
            pool: Mutex::new(Pool::default()),
            ready: Notify::new(),
        });
        let first = {
            let mut pool = function.pool();
            add_instance(&mut pool)?
        };
        launch(&function, first);
        Ok(LocalFunction { function, timeout })
    }

    pub fn name(&self) -> &str {
        &self.function.name
    }

    /// The memory the template gives it (what Lambda bills GB-seconds by).
    pub fn memory_mb(&self) -> u64 {
        self.function.spec.memory_mb
    }

    /// The most instances this function runs at once.
    pub fn concurrency(&self) -> usize {
        self.function.max_instances
    }

    /// Every instance started so far, in start order.
    pub fn instances(&self) -> Vec<InstanceStats> {
        let pool = self.function.pool();
        pool.instances
            .iter()
            .map(|i| InstanceStats {
                id: i.id,
                runtime_api: i.runtime_api.clone(),
                pid: Some(i.pid.load(Ordering::SeqCst)).filter(|p| *p != 0),
                invocations: i.invocations.load(Ordering::SeqCst),
                busy: Duration::from_micros(i.busy_micros.load(Ordering::SeqCst)),
            })
            .collect()
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
        let invocation = Invocation {
            request_id: request_id.clone(),
            payload: Bytes::from(serde_json::to_vec(payload).unwrap_or_default()),
            deadline_ms: now_ms() + self.timeout.as_millis(),
        };
        let _guard = PendingGuard {
            function: &self.function,
            request_id: &request_id,
        };
        let started = {
            let mut pool = self.function.pool();
            pool.pending.insert(request_id.clone(), tx);
            pool.queue.push_back(invocation);
            // Every instance is busy (or already promised to an earlier invocation):
            // scale out while below the function's concurrency.
            if pool.queue.len() > pool.available
                && pool.instances.len() < self.function.max_instances
            {
                match add_instance(&mut pool) {
                    Ok(instance) => Some(instance),
                    Err(e) => {
                        eprintln!("  ! {}: cannot start another instance: {e}", self.name());
                        None
                    }
                }
            } else {
                None
            }
        };
        if let Some(instance) = started {
            launch(&self.function, instance);
        }
        self.function.ready.notify_one();
        // Queued time counts too: the caller waits at most the timeout plus a grace period.
        let outcome = tokio::time::timeout(self.timeout + Duration::from_secs(1), rx).await;
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
                let pool = self.function.pool();
                let holder = pool
                    .current
                    .iter()
                    .position(|c| c.as_deref() == Some(request_id.as_str()));
                if let Some(holder) = holder {
                    pool.instances[holder].restart.notify_one();
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

/// Registers a new instance with its own Runtime API port (bound now, served by
/// [`launch`]), counted as available from the start: it polls as soon as it is up.
fn add_instance(pool: &mut Pool) -> std::io::Result<(Arc<Instance>, std::net::TcpListener)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let instance = Arc::new(Instance {
        id: pool.instances.len(),
        runtime_api: listener.local_addr()?.to_string(),
        restart: Notify::new(),
        pid: AtomicU32::new(0),
        invocations: AtomicU64::new(0),
        busy_since: Mutex::new(None),
        busy_micros: AtomicU64::new(0),
    });
    pool.instances.push(instance.clone());
    pool.current.push(None);
    pool.available += 1;
    Ok((instance, listener))
}

/// Serves the instance's Runtime API and starts its process.
fn launch(function: &Arc<Function>, (instance, listener): (Arc<Instance>, std::net::TcpListener)) {
    let endpoint = Endpoint {
        function: function.clone(),
        instance,
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(endpoint.clone());
    match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => {
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            tokio::spawn(supervise(endpoint));
        }
        Err(e) => eprintln!(
            "  ! {}: instance {} cannot serve its Runtime API: {e}",
            function.name, endpoint.instance.id
        ),
    }
}

fn settle(endpoint: &Endpoint, request_id: &str, outcome: Outcome) -> StatusCode {
    let waiter = {
        let mut pool = endpoint.function.pool();
        if pool.current[endpoint.instance.id].as_deref() == Some(request_id) {
            release(&mut pool, &endpoint.instance);
        }
        pool.pending.remove(request_id)
    };
    match waiter {
        Some(waiter) => {
            let _ = waiter.send(outcome);
            StatusCode::ACCEPTED
        }
        // Too late (timed out) or unknown: Lambda answers the runtime the same way.
        None => StatusCode::BAD_REQUEST,
    }
}

/// Frees `instance`'s place in the pool and bills the time since it took its invocation
/// (Lambda bills up to the answer, the timeout or the crash); returns that invocation.
fn release(pool: &mut Pool, instance: &Instance) -> Option<String> {
    let request_id = pool.current[instance.id].take()?;
    pool.available += 1;
    let started = instance
        .busy_since
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    if let Some(started) = started {
        instance
            .busy_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::SeqCst);
    }
    Some(request_id)
}

/// The next invocation for this instance, skipping those whose caller already gave up.
fn take(endpoint: &Endpoint) -> Option<Invocation> {
    let mut pool = endpoint.function.pool();
    while let Some(invocation) = pool.queue.pop_front() {
        if pool.pending.contains_key(&invocation.request_id) {
            pool.current[endpoint.instance.id] = Some(invocation.request_id.clone());
            pool.available = pool.available.saturating_sub(1);
            endpoint.instance.invocations.fetch_add(1, Ordering::SeqCst);
            *endpoint
                .instance
                .busy_since
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(std::time::Instant::now());
            return Some(invocation);
        }
    }
    None
}

async fn next(State(endpoint): State<Endpoint>) -> Response {
    let invocation = loop {
        // Registered before looking, so an invocation queued in between still wakes us.
        let notified = endpoint.function.ready.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(invocation) = take(&endpoint) {
            break invocation;
        }
        notified.await;
    };
    // Others may be queued behind it: pass the word on to another idle instance.
    if !endpoint.function.pool().queue.is_empty() {
        endpoint.function.ready.notify_one();
    }
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
        endpoint.function.arn.clone(),
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
    State(endpoint): State<Endpoint>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    settle(&endpoint, &id, Outcome::Response(body))
}

async fn error(
    State(endpoint): State<Endpoint>,
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
    settle(&endpoint, &id, Outcome::Error(error))
}

async fn init_error(State(endpoint): State<Endpoint>, body: Bytes) -> StatusCode {
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    eprintln!(
        "  ! {} (instance {}): cold start failed: {}",
        endpoint.function.name,
        endpoint.instance.id,
        parsed["errorMessage"].as_str().unwrap_or("(no message)")
    );
    StatusCode::ACCEPTED
}

/// Copies the process's stdout into its log file line by line, and hands EMF lines to
/// the stack's metrics.
async fn pump_stdout(
    stdout: tokio::process::ChildStdout,
    log_file: PathBuf,
    metrics: Option<MetricsCollector>,
) {
    let mut log = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_file)
        .await
        .ok();
    let mut reader = tokio::io::BufReader::new(stdout);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if let Some(log) = log.as_mut() {
            let _ = log.write_all(&line).await;
        }
        if let Some(metrics) = &metrics {
            metrics.record_line(&String::from_utf8_lossy(&line));
        }
    }
}

/// Keeps one process of the instance running: started again after it exits or is
/// replaced because an invocation timed out.
async fn supervise(endpoint: Endpoint) {
    let function = &endpoint.function;
    let instance = &endpoint.instance;
    let spec = &function.spec;
    let mut quick_exits = 0u32;
    loop {
        let stderr = match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log_file)
        {
            Ok(file) => Stdio::from(file),
            Err(e) => {
                eprintln!(
                    "  ! {}: cannot open {}: {e}",
                    function.name,
                    spec.log_file.display()
                );
                Stdio::null()
            }
        };
        let mut command = tokio::process::Command::new(&spec.executable);
        command
            .env_clear()
            .envs(&spec.environment)
            .env("AWS_LAMBDA_RUNTIME_API", &instance.runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", &function.name)
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
                format!("/aws/lambda/{}", function.name),
            )
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                format!("local/[$LATEST]{:032x}", fastrand::u128(..)),
            )
            .env("AWS_EXECUTION_ENV", "AWS_Lambda_rust_local")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true);
        let started = tokio::time::Instant::now();
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                eprintln!(
                    "  ! {}: cannot start {}: {e} (was it built? `make run` builds it)",
                    function.name,
                    spec.executable.display()
                );
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        instance
            .pid
            .store(child.id().unwrap_or(0), Ordering::SeqCst);
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(pump_stdout(
                stdout,
                spec.log_file.clone(),
                spec.metrics.clone(),
            ));
        }
        let reason = tokio::select! {
            status = child.wait() => match status {
                Ok(s) => s.to_string(),
                Err(e) => e.to_string(),
            },
            _ = instance.restart.notified() => {
                let _ = child.kill().await;
                "replaced after a timeout".to_string()
            }
        };
        let waiter = {
            let mut pool = function.pool();
            // A timed-out or crashed invocation is billed too.
            release(&mut pool, instance).and_then(|id| pool.pending.remove(&id))
        };
        if let Some(waiter) = waiter {
            let _ = waiter.send(Outcome::Error(InvokeError::Exited(reason.clone())));
        }
        if started.elapsed() < Duration::from_secs(2) {
            quick_exits += 1;
            if quick_exits == 1 || quick_exits % 10 == 0 {
                eprintln!(
                    "  ! {} (instance {}) exited at start ({reason}); see {}",
                    function.name,
                    instance.id,
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
    use tokio::io::AsyncWriteExt;

    /// A stand-in function in bash speaking the Runtime API over /dev/tcp: it takes the
    /// next invocation and then, by MODE, answers with the payload (echo), reports an
    /// error (fail), exits holding it (crash), or tells the test's gate (GATE_PORT) its
    /// pid, waits for a line back and answers `{"pid": <its pid>}` (hold).
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
  if [ "$MODE" = hold ]; then
    # Report to the test's gate which process holds an invocation, and wait for its word.
    exec 4<>"/dev/tcp/127.0.0.1/$GATE_PORT"
    printf '%s\n' "$$" >&4
    read -r _ <&4
    exec 4<&-
    body="{\"pid\":$$}"
  fi
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
        // Billed up to the crash, as Lambda bills a crashed or timed-out invocation.
        let billed: Duration = crashing.instances().iter().map(|i| i.busy).sum();
        assert!(billed > Duration::ZERO, "{billed:?}");
    }

    async fn function_with_script(mode: &str) -> LocalFunction {
        function_with(mode, 1, &[]).await
    }

    async fn function_with(
        mode: &str,
        concurrency: usize,
        env: &[(&str, String)],
    ) -> LocalFunction {
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
        for (name, value) in env {
            environment.insert(name.to_string(), value.clone());
        }
        LocalFunction::start(
            "test-fn",
            "arn:aws:lambda:us-east-1:0:function:test-fn",
            ProcessSpec {
                executable: script,
                environment,
                log_file: dir.join("log"),
                timeout: Duration::from_secs(30),
                memory_mb: 128,
                metrics: None,
            },
            concurrency,
        )
        .await
        .unwrap()
    }

    /// The test's side of the `hold` mode: invocations in progress, by the pid holding each.
    struct Gate {
        listener: tokio::net::TcpListener,
    }

    struct Held {
        pid: u32,
        stream: tokio::io::BufReader<tokio::net::TcpStream>,
    }

    impl Gate {
        async fn open() -> Gate {
            Gate {
                listener: tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
            }
        }

        fn port(&self) -> String {
            self.listener.local_addr().unwrap().port().to_string()
        }

        /// Waits until `n` invocations are held at once (bounded, so a broken pool fails
        /// the test instead of hanging it).
        async fn held(&self, n: usize) -> Vec<Held> {
            use tokio::io::AsyncBufReadExt;
            let wait = async {
                let mut held = Vec::new();
                while held.len() < n {
                    let (stream, _) = self.listener.accept().await.unwrap();
                    let mut stream = tokio::io::BufReader::new(stream);
                    let mut line = String::new();
                    stream.read_line(&mut line).await.unwrap();
                    held.push(Held {
                        pid: line.trim().parse().unwrap(),
                        stream,
                    });
                }
                held
            };
            tokio::time::timeout(Duration::from_secs(60), wait)
                .await
                .unwrap_or_else(|_| panic!("{n} invocations were never held at once"))
        }

        async fn release(held: Vec<Held>) {
            for mut h in held {
                h.stream.get_mut().write_all(b"go\n").await.unwrap();
            }
        }
    }

    fn pids(held: &[Held]) -> std::collections::BTreeSet<u32> {
        held.iter().map(|h| h.pid).collect()
    }

    fn invoke_all(function: &LocalFunction, n: usize) -> Vec<tokio::task::JoinHandle<u32>> {
        (0..n)
            .map(|i| {
                let function = function.clone();
                tokio::spawn(async move {
                    let answer = function.invoke(&json!({"n": i})).await.unwrap();
                    answer["pid"].as_u64().unwrap() as u32
                })
            })
            .collect()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn concurrent_invocations_scale_out_to_n_instances_then_queue() {
        let gate = Gate::open().await;
        let function = function_with("hold", 4, &[("GATE_PORT", gate.port())]).await;
        assert_eq!(function.concurrency(), 4);
        let calls = invoke_all(&function, 8);

        // Four invocations in progress at once, each in its own process.
        let first = gate.held(4).await;
        let instances = pids(&first);
        assert_eq!(instances.len(), 4, "four distinct processes hold them");
        let stats = function.instances();
        assert_eq!(stats.len(), 4, "no more instances than the concurrency");
        let ports: std::collections::BTreeSet<&str> =
            stats.iter().map(|s| s.runtime_api.as_str()).collect();
        assert_eq!(
            ports.len(),
            4,
            "each instance has its own Runtime API endpoint"
        );
        assert_eq!(
            stats
                .iter()
                .filter_map(|s| s.pid)
                .collect::<std::collections::BTreeSet<_>>(),
            instances
        );
        // The other four waited in the queue; once released, the same warm instances
        // take them, one each (each is held again before answering).
        Gate::release(first).await;
        let second = gate.held(4).await;
        assert_eq!(
            pids(&second),
            instances,
            "no new instance for the queued ones"
        );
        Gate::release(second).await;

        let mut answered = std::collections::BTreeMap::new();
        for call in calls {
            *answered.entry(call.await.unwrap()).or_insert(0) += 1;
        }
        assert_eq!(
            answered
                .keys()
                .copied()
                .collect::<std::collections::BTreeSet<_>>(),
            instances
        );
        assert!(answered.values().all(|n| *n == 2), "{answered:?}");
        assert!(function.instances().iter().all(|s| s.invocations == 2));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn with_concurrency_one_invocations_go_one_at_a_time_through_one_instance() {
        let gate = Gate::open().await;
        let function = function_with("hold", 1, &[("GATE_PORT", gate.port())]).await;
        let calls = invoke_all(&function, 8);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..8 {
            // One held at a time: the next arrives only after this one is released.
            let held = gate.held(1).await;
            assert_eq!(function.instances().len(), 1);
            seen.extend(pids(&held));
            Gate::release(held).await;
        }
        for call in calls {
            seen.insert(call.await.unwrap());
        }
        assert_eq!(seen.len(), 1, "one process served all eight: {seen:?}");
        assert_eq!(function.instances()[0].invocations, 8);
    }
}
