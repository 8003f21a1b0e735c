//! Starting the local stack: the template's tables and bucket, every function behind its
//! local Lambda service, the HTTP API, S3 notifications, schedules, the secrets extension
//! and stripe-sim. `local-stack` (main.rs) starts it from its flags; the load harnesses
//! under `benches/` start it in-process.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use sample_events::fixtures::{TEST_HOOK_SECRET, TEST_THIN_EVENT_SECRET, TEST_WEBHOOK_SECRET};
use serde_json::json;

use crate::metrics::MetricsCollector;
use crate::runtime::{LocalFunction, ProcessSpec};
use crate::template::{StackContext, Template};
use crate::{Stack, gateway, provision, secrets, template, triggers};

/// The secret key stripe-sim accepts and the functions use (a local test value).
pub const LOCAL_STRIPE_KEY: &str = "sk_test_local_stack";

/// The Stripe secrets of a local stack: the public test values, or (for the test that
/// proves no log shows a secret) those values with a marker in each.
#[derive(Debug, Clone)]
pub struct LocalSecrets {
    pub stripe_key: String,
    pub webhook: String,
    pub thin_event: String,
    pub hook: String,
    /// Set when the values are marked: the banner then does not print them.
    pub marker: Option<String>,
}

impl LocalSecrets {
    /// The values in this repository (`sample_events::fixtures`), printed in the banner.
    pub fn public() -> Self {
        Self {
            stripe_key: LOCAL_STRIPE_KEY.into(),
            webhook: TEST_WEBHOOK_SECRET.into(),
            thin_event: TEST_THIN_EVENT_SECRET.into(),
            hook: TEST_HOOK_SECRET.into(),
            marker: None,
        }
    }

    /// Every value carries `marker`: finding it in a log finds a leaked secret.
    pub fn marked(marker: &str) -> Self {
        let public = Self::public();
        Self {
            stripe_key: format!("{}_{marker}", public.stripe_key),
            webhook: format!("{}_{marker}", public.webhook),
            thin_event: format!("{}_{marker}", public.thin_event),
            hook: format!("{}_{marker}", public.hook),
            marker: Some(marker.to_string()),
        }
    }

    /// How the banner shows a value.
    fn shown<'a>(&self, value: &'a str) -> &'a str {
        if self.marker.is_some() {
            "(marked; not printed)"
        } else {
            value
        }
    }
}

/// How to start the stack (`local-stack --help` explains each).
#[derive(Debug, Clone)]
pub struct Options {
    pub http_port: u16,
    pub sim_port: u16,
    pub tick_seconds: u64,
    pub feed_interval_seconds: u64,
    pub stack_name: String,
    pub bin_dir: PathBuf,
    pub template: PathBuf,
    pub python: PathBuf,
    pub run_dir: PathBuf,
    pub demo_dir: PathBuf,
    pub dynamodb_endpoint: String,
    pub s3_endpoint: String,
    /// Instances per function, at most (Lambda's concurrency); at least 1.
    pub concurrency: usize,
    /// Print a line per HTTP API request.
    pub log_requests: bool,
    /// Put the DynamoDB fault proxy between the functions and DynamoDB Local.
    pub dynamodb_faults: bool,
    /// The Stripe secrets the functions, stripe-sim and `acb` use.
    pub secrets: LocalSecrets,
    /// Settings every function gets on top of the template's (e.g. a shorter
    /// `STRIPE_TIMEOUT_MS` for a fault run).
    pub function_env: Vec<(String, String)>,
    /// Functions (logical ids) whose schedules keep the template's rate when
    /// `tick_seconds` shortens the others (the scale run keeps the 15-minute reconciler).
    pub template_rates_for: Vec<String>,
}

impl Options {
    /// A throwaway stack for a test or bench run: free loopback ports, a fresh name and
    /// run folder (`<prefix>-<hex>`), the repository's template, venv and demo, the
    /// services at the given endpoints behind the DynamoDB fault proxy, a tick every 2
    /// seconds, no feed interval, the public test secrets, nothing else set.
    pub fn ephemeral(
        root: &Path,
        bin_dir: PathBuf,
        prefix: &str,
        dynamodb_endpoint: String,
        s3_endpoint: String,
        concurrency: usize,
    ) -> Result<Options, String> {
        let free_port = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .map_err(|e| format!("no free loopback port: {e}"))
        };
        let name = format!("{prefix}-{:06x}", fastrand::u32(..0xFF_FFFF));
        Ok(Options {
            http_port: free_port()?,
            sim_port: free_port()?,
            tick_seconds: 2,
            feed_interval_seconds: 0,
            bin_dir,
            template: root.join("template.yaml"),
            python: root.join(".local/venv/bin/python"),
            run_dir: std::env::temp_dir().join(&name),
            demo_dir: root.join("local/demo"),
            stack_name: name,
            dynamodb_endpoint,
            s3_endpoint,
            concurrency,
            log_requests: false,
            dynamodb_faults: true,
            secrets: LocalSecrets::public(),
            function_env: Vec::new(),
            template_rates_for: Vec::new(),
        })
    }

    /// How often a function's schedule fires here: the template's rate, or `tick_seconds`.
    fn schedule_every(&self, logical_id: &str, template: Duration) -> Duration {
        if self.tick_seconds == 0 || self.template_rates_for.iter().any(|f| f == logical_id) {
            template
        } else {
            Duration::from_secs(self.tick_seconds)
        }
    }
}

fn local_aws_env(context: &StackContext) -> [(&'static str, String); 4] {
    [
        ("AWS_ACCESS_KEY_ID", "local".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "local".to_string()),
        ("AWS_REGION", context.region.clone()),
        ("AWS_DEFAULT_REGION", context.region.clone()),
    ]
}

pub async fn start(options: &Options) -> Result<Stack, String> {
    std::fs::create_dir_all(&options.run_dir)
        .map_err(|e| format!("creating {}: {e}", options.run_dir.display()))?;
    let sim_url = format!("http://127.0.0.1:{}", options.sim_port);
    let api_url = format!("http://127.0.0.1:{}", options.http_port);
    let context = StackContext {
        stack_name: options.stack_name.clone(),
        account_id: "000000000000".into(),
        region: "us-east-1".into(),
        parameters: HashMap::from([
            ("StripeApiBase".to_string(), sim_url.clone()),
            ("StripeFilesBase".to_string(), sim_url.clone()),
            ("StripeLivemode".to_string(), "false".to_string()),
            (
                "FeedUploadIntervalSeconds".to_string(),
                options.feed_interval_seconds.to_string(),
            ),
        ]),
    };
    for (name, value) in local_aws_env(&context) {
        // SAFETY: set once at start-up, before any other thread reads the environment.
        unsafe { std::env::set_var(name, value) };
    }

    println!(
        "Starting the local stack ({}, up to {} instance{} per function)",
        options.stack_name,
        options.concurrency.max(1),
        if options.concurrency > 1 { "s" } else { "" }
    );
    let doc = template::render_yaml(
        &options.python,
        Path::new("local/scripts/template-json.py"),
        &options.template,
    )
    .map_err(|e| e.to_string())?;
    let template = Template::new(doc, context.clone());
    let functions = template.functions().map_err(|e| e.to_string())?;
    let tables = template.tables().map_err(|e| e.to_string())?;
    let bucket = template.bucket().map_err(|e| e.to_string())?;

    let dynamo = shared::store::dynamo::client(&shared::config::DynamoSettings::for_tooling(
        options.dynamodb_endpoint.clone(),
    ))
    .await;
    let s3 = shared::bucket::S3Objects::client(Some(&options.s3_endpoint)).await;
    for table in &tables {
        let created = provision::create_table(&dynamo, table).await?;
        println!(
            "  table  {:<40} {}",
            table.name,
            if created { "created" } else { "kept" }
        );
    }
    let created = provision::create_bucket(&s3, &bucket).await?;
    println!(
        "  bucket {:<40} {}",
        bucket.name,
        if created { "created" } else { "kept" }
    );
    // The template's queues live in the same emulator as the bucket. Lambda's pollers wait
    // on a busy queue as long as it takes: no short per-call timeout here.
    // Buses and rules (below) live there too: one configuration for both clients.
    let emulator = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&options.s3_endpoint)
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
        )
        .load()
        .await;
    let sqs = aws_sdk_sqs::Client::new(&emulator);
    let mut queue_urls = HashMap::new();
    for queue in template.queues().map_err(|e| e.to_string())? {
        let url = provision::create_queue(&sqs, &queue).await?;
        println!("  queue  {:<40} ready", queue.name);
        queue_urls.insert(queue.name.clone(), url);
    }
    // The template's buses and their rules to queues, in the same emulator: the webhooks
    // function's import nudges reach the uploader's queue as they do on AWS.
    let events = aws_sdk_eventbridge::Client::new(&emulator);
    for bus in template.event_buses().map_err(|e| e.to_string())? {
        provision::create_event_bus(&events, &bus).await?;
        println!("  bus    {bus:<40} ready");
    }
    for rule in template.event_rules().map_err(|e| e.to_string())? {
        provision::create_rule(&events, &rule, |queue| {
            triggers::emulator_queue_arn(&context, queue)
        })
        .await?;
        let to: Vec<&str> = rule.queue_targets.iter().map(|(_, q)| q.as_str()).collect();
        println!("  rule   {:<40} -> {}", rule.logical_id, to.join(", "));
        if !rule.other_targets.is_empty() {
            println!(
                "    ! {} not delivered locally (not a queue): {}",
                rule.logical_id,
                rule.other_targets.join(", ")
            );
        }
    }

    // One secret per value, each served the way the Lambda extension serves it, under the id
    // the template gives the functions that use it.
    let session_token = format!("local-session-{:032x}", fastrand::u128(..));
    let secrets = &options.secrets;
    let local_values = HashMap::from([
        ("STRIPE_SECRET_KEY", secrets.stripe_key.as_str()),
        ("STRIPE_WEBHOOK_SECRETS", secrets.webhook.as_str()),
        ("STRIPE_THIN_EVENT_SECRETS", secrets.thin_event.as_str()),
        ("STRIPE_HOOK_SECRETS", secrets.hook.as_str()),
    ]);
    let served =
        secrets::secrets_to_serve(functions.iter().map(|f| &f.environment), &local_values)?;
    let secrets_port = secrets::serve(&session_token, served)
        .await
        .map_err(|e| format!("secrets extension: {e}"))?;

    // The functions reach DynamoDB through the fault proxy when asked; the stack's own
    // setup and the scenario's checks go straight to DynamoDB Local.
    let faults = if options.dynamodb_faults {
        let proxy = dynamo_faults::FaultProxy::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            &options.dynamodb_endpoint,
        )
        .await
        .map_err(|e| format!("the DynamoDB fault proxy cannot listen: {e}"))?;
        println!(
            "  dynamodb faults {} -> {} (control: {})",
            proxy.url(),
            options.dynamodb_endpoint,
            proxy.control_url()
        );
        Some(proxy)
    } else {
        None
    };
    let functions_dynamodb = faults
        .as_ref()
        .map(|p| p.url())
        .unwrap_or_else(|| options.dynamodb_endpoint.clone());
    let dead_letters = options.run_dir.join("dead-letters.jsonl");
    let metrics = MetricsCollector::new();
    let mut routes = Vec::new();
    let mut targets = Vec::new();
    for function in &functions {
        let executable = options.bin_dir.join(&function.binary);
        if !executable.exists() {
            return Err(format!(
                "{} is not built ({}); `make run` builds it",
                function.logical_id,
                executable.display()
            ));
        }
        let mut environment = function.environment.clone();
        environment.extend(local_aws_env(&context).map(|(k, v)| (k.to_string(), v)));
        environment.insert("AWS_SESSION_TOKEN".into(), session_token.clone());
        environment.insert(
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT".into(),
            secrets_port.to_string(),
        );
        environment.insert("DYNAMODB_ENDPOINT".into(), functions_dynamodb.clone());
        environment.insert("S3_ENDPOINT".into(), options.s3_endpoint.clone());
        environment.insert("SQS_ENDPOINT".into(), options.s3_endpoint.clone());
        // Order events and import nudges go to the emulator's bus (and its dead-letter queue).
        environment.insert("ORDER_EVENTS_ENDPOINT".into(), options.s3_endpoint.clone());
        environment.extend(options.function_env.iter().cloned());
        let name = format!("{}-{}", options.stack_name, function.logical_id);
        let local = LocalFunction::start(
            &name,
            &format!(
                "arn:aws:lambda:{}:{}:function:{name}",
                context.region, context.account_id
            ),
            ProcessSpec {
                executable,
                environment,
                log_file: options.run_dir.join(format!("{}.log", function.logical_id)),
                timeout: function.timeout,
                memory_mb: function.memory_mb,
                metrics: Some(metrics.clone()),
            },
            options.concurrency,
        )
        .await
        .map_err(|e| format!("{}: {e}", function.logical_id))?;
        println!(
            "  function {:<38} {}",
            function.logical_id,
            function
                .routes
                .iter()
                .map(|r| format!("{} {}", r.method, r.path))
                .chain(
                    function
                        .s3_triggers
                        .iter()
                        .map(|t| format!("s3://{}/{}*", t.bucket, t.prefix))
                )
                .chain(function.sqs_triggers.iter().map(|t| format!(
                    "sqs {} (batches of {}, {} at once)",
                    t.queue, t.batch_size, t.max_concurrency
                )))
                .chain(function.schedules.iter().map(|s| format!(
                    "schedule every {}s (template: {}s)",
                    options.schedule_every(&function.logical_id, s.every).as_secs(),
                    s.every.as_secs()
                )))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for route in &function.routes {
            routes.push((route.clone(), local.clone()));
        }
        targets.push((function.clone(), local));
    }

    let jwt = gateway::JwtSettings {
        issuer: template
            .resolve(&json!({"Ref": "JwtIssuer"}))
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        audiences: template
            .resolve(&json!({"Ref": "JwtAudience"}))
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
            .split(',')
            .map(|a| a.trim().to_string())
            .collect(),
    };
    let route_paths: Vec<String> = routes.iter().map(|(r, _)| r.path.clone()).collect();
    gateway::serve(
        SocketAddr::from(([127, 0, 0, 1], options.http_port)),
        routes,
        jwt,
        options.log_requests,
    )
    .await
    .map_err(|e| format!("the HTTP API cannot listen on {api_url}: {e} (another port: --http-port N, e.g. make run ARGS='--http-port 9100')"))?;

    start_sim(options, &api_url, &sim_url, &route_paths).await?;

    for (function, local) in &targets {
        let target = triggers::Target {
            function: local.clone(),
            retries: function.async_retries,
            dead_letters: dead_letters.clone(),
        };
        for trigger in &function.s3_triggers {
            triggers::watch_bucket(
                s3.clone(),
                sqs.clone(),
                trigger.clone(),
                context.clone(),
                target.clone(),
            )
            .await
            .map_err(|e| format!("watching s3://{}/{}: {e}", trigger.bucket, trigger.prefix))?;
        }
        for trigger in &function.sqs_triggers {
            let url = queue_urls
                .get(&trigger.queue)
                .ok_or_else(|| format!("{}: no queue {}", function.logical_id, trigger.queue))?;
            triggers::consume_queue(
                sqs.clone(),
                trigger.clone(),
                url.clone(),
                context.clone(),
                target.function.clone(),
                Duration::from_secs(2),
            );
        }
        for schedule in &function.schedules {
            let every = options.schedule_every(&function.logical_id, schedule.every);
            triggers::schedule(
                schedule.clone(),
                function.logical_id.clone(),
                context.clone(),
                target.clone(),
                every,
            );
        }
    }

    let table_names: HashMap<String, String> = tables
        .iter()
        .map(|t| (t.logical_id.clone(), t.name.clone()))
        .collect();
    let mut cli_env: BTreeMap<String, String> = local_aws_env(&context)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    for (var, logical_id) in [
        ("MERCHANTS_TABLE", "MerchantsTable"),
        ("ORDERS_TABLE", "OrdersTable"),
        ("AGREEMENTS_TABLE", "AgreementsTable"),
        ("DEAD_LETTERS_TABLE", "DeadLettersTable"),
        ("CATALOG_TABLE", "CatalogTable"),
    ] {
        cli_env.insert(
            var.into(),
            table_names.get(logical_id).cloned().unwrap_or_default(),
        );
    }
    for (k, v) in [
        ("CATALOG_BUCKET", bucket.name.clone()),
        ("DYNAMODB_ENDPOINT", options.dynamodb_endpoint.clone()),
        ("S3_ENDPOINT", options.s3_endpoint.clone()),
        ("STRIPE_SECRET_KEY", options.secrets.stripe_key.clone()),
        ("STRIPE_API_BASE", sim_url.clone()),
        ("STRIPE_FILES_BASE", sim_url.clone()),
        ("STRIPE_SIM_URL", sim_url.clone()),
        ("ACB_API_URL", api_url.clone()),
    ] {
        cli_env.insert(k.into(), v);
    }
    if let Some(proxy) = &faults {
        cli_env.insert("DYNAMODB_FAULTS_URL".into(), proxy.control_url());
    }
    let env_file = options.run_dir.join("stack.env");
    let mut text: String = cli_env
        .iter()
        .map(|(k, v)| format!("export {k}={v}\n"))
        .collect();
    // `acb` on PATH for whoever sources the file.
    let bin_dir =
        std::fs::canonicalize(&options.bin_dir).unwrap_or_else(|_| options.bin_dir.clone());
    text.push_str(&format!("export PATH=\"{}:$PATH\"\n", bin_dir.display()));
    std::fs::write(&env_file, text).map_err(|e| format!("writing {}: {e}", env_file.display()))?;

    Ok(Stack {
        context,
        api_url,
        sim_url,
        bucket: bucket.name,
        tables: table_names,
        dynamodb_endpoint: options.dynamodb_endpoint.clone(),
        s3_endpoint: options.s3_endpoint.clone(),
        run_dir: options.run_dir.clone(),
        bin_dir: options.bin_dir.clone(),
        demo_dir: options.demo_dir.clone(),
        cli_env,
        dynamo,
        s3,
        functions: targets
            .iter()
            .map(|(f, local)| (f.logical_id.clone(), local.clone()))
            .collect(),
        metrics,
        faults,
        secrets: options.secrets.clone(),
    })
}

/// Starts stripe-sim, delivering webhooks, thin events and hook calls to the local API.
async fn start_sim(
    options: &Options,
    api_url: &str,
    sim_url: &str,
    routes: &[String],
) -> Result<(), String> {
    let route = |suffix: &str| -> Result<String, String> {
        routes
            .iter()
            .find(|p| p.ends_with(suffix))
            .map(|p| format!("{api_url}{p}"))
            .ok_or_else(|| format!("template.yaml has no route ending in {suffix}"))
    };
    let log_path = options.run_dir.join("stripe-sim.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| format!("{}: {e}", log_path.display()))?;
    let stderr = log.try_clone().map_err(|e| e.to_string())?;
    let executable = options.bin_dir.join("stripe-sim");
    let mut command = tokio::process::Command::new(&executable);
    command
        .arg("--port")
        .arg(options.sim_port.to_string())
        .arg("--api-key")
        .arg(&options.secrets.stripe_key)
        .arg("--webhook-url")
        .arg(route("/stripe/webhooks")?)
        .arg("--thin-event-url")
        .arg(route("/stripe/events")?)
        .arg("--customize-url")
        .arg(route("/customize_checkout")?)
        .arg("--finalize-url")
        .arg(route("/finalize_checkout")?)
        .env("STRIPE_SIM_WEBHOOK_SECRET", &options.secrets.webhook)
        .env("STRIPE_SIM_THIN_EVENT_SECRET", &options.secrets.thin_event)
        .env("STRIPE_SIM_HOOK_SECRET", &options.secrets.hook)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(stderr))
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| format!("starting {}: {e}", executable.display()))?;
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "stripe-sim exited ({status}); is port {} free (another: --sim-port N)? see {}",
                options.sim_port,
                log_path.display()
            ));
        }
        if client
            .get(format!("{sim_url}/_sim/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            println!("  stripe-sim {sim_url}");
            tokio::spawn(async move {
                let status = child.wait().await;
                eprintln!("  ! stripe-sim exited: {status:?}");
            });
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!(
        "stripe-sim did not answer on {sim_url}; see {}",
        log_path.display()
    ))
}

pub fn print_where_to_look(stack: &Stack) {
    let api = &stack.api_url;
    let run = stack.run_dir.display();
    println!(
        "
Local stack
  HTTP API          {api}
    Connect webhooks  POST {api}/stripe/webhooks                  secret {webhook}
    thin events       POST {api}/stripe/events                    secret {thin}
    customize hook    POST {api}/stripe/hooks/customize_checkout  secret {hook}
    finalize hook     POST {api}/stripe/hooks/finalize_checkout   secret {hook}
    account sessions  POST {api}/account_sessions (Bearer JWT; signature not checked locally)
  stripe-sim        {sim} (secret key {key}; control endpoints under /_sim/)
  DynamoDB Local    {dynamo}{faults}
  S3 emulator       {s3} (bucket {bucket}; drop feeds under incoming/<acct>/catalog/)
  function logs     {run}/<Function>.log, stripe-sim {run}/stripe-sim.log
  failed events     {run}/dead-letters.jsonl
  acb against it    source {run}/stack.env && acb orders list acct_1LocalDemoShop",
        sim = stack.sim_url,
        webhook = stack.secrets.shown(&stack.secrets.webhook),
        thin = stack.secrets.shown(&stack.secrets.thin_event),
        hook = stack.secrets.shown(&stack.secrets.hook),
        key = stack.secrets.shown(&stack.secrets.stripe_key),
        dynamo = stack.dynamodb_endpoint,
        faults = stack
            .faults
            .as_ref()
            .map(|p| format!(
                "\n  DynamoDB faults   {} (the functions' endpoint): curl -X POST {} -d '{{\"throttle_percent\":10,\"operations\":[\"TransactWriteItems\"]}}'; DELETE to stop",
                p.url(),
                p.control_url()
            ))
            .unwrap_or_default(),
        s3 = stack.s3_endpoint,
        bucket = stack.bucket,
    );
}
