//! API traffic: Stripe's rate limits (docs/stripe.md 7.11) and the request statistics of
//! `/_sim/stats`.
//!
//! Stripe measures rate limits per account. Every key this emulator accepts is a secret key of
//! the one platform it plays, so there is one set of counters: every request counts against
//! the platform's limits whatever its `Stripe-Account` / `Stripe-Context` header says.
//! Whether Stripe counts a request made on a connected account's behalf against the platform
//! or against that connected account is not documented; counting them all against the
//! platform is the stricter reading, and the emulator's choice.
//!
//! Windows are strict and sliding: a request at `t` is refused when the requests accepted in
//! `(t − 1000 ms, t]` already reach the limit. Only accepted requests are remembered, so a
//! 429 takes no capacity. Memory stays bounded: counters plus deques of the last second.

use crate::RateLimits;
use crate::errors::ApiError;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const WINDOW: Duration = Duration::from_secs(1);

/// One API request as the limiter sees it.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// `METHOD /route`, ids written `{id}`: `GET /v1/files/{id}`.
    pub endpoint: String,
    /// A route the emulator serves; an unrecognized URL counts against the global limit only.
    pub known: bool,
    /// `GET`; anything else is a write.
    pub read: bool,
    /// Under `/v1/files`, which has its own limits instead of the endpoint default.
    pub files: bool,
}

/// Which limit a request ran into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exceeded {
    Global(u32),
    Endpoint(String, u32),
    FilesReads(u32),
    FilesWrites(u32),
}

impl Exceeded {
    /// The 429 (wording the emulator's; Stripe's rate-limit messages are not documented).
    pub fn error(&self) -> ApiError {
        let which = match self {
            Self::Global(n) => {
                format!("the global limit of {n} requests per second for this account")
            }
            Self::Endpoint(endpoint, n) => {
                format!("the limit of {n} requests per second for the endpoint {endpoint}")
            }
            Self::FilesReads(n) => format!("the Files API limit of {n} read requests per second"),
            Self::FilesWrites(n) => {
                format!("the Files API limit of {n} write requests per second")
            }
        };
        ApiError::rate_limited(format!(
            "Request rate limit exceeded: {which}. Learn more about rate limits here https://stripe.com/docs/rate-limits."
        ))
    }
}

/// Accepted requests of the last second, oldest first.
#[derive(Debug, Default)]
struct Window(VecDeque<Instant>);

impl Window {
    /// Forgets what left the second ending at `now`; how many remain.
    fn count(&mut self, now: Instant) -> usize {
        while self
            .0
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
        {
            self.0.pop_front();
        }
        self.0.len()
    }

    /// Adds a request at `now`; how many the second ending at `now` holds.
    fn add(&mut self, now: Instant) -> usize {
        self.count(now);
        self.0.push_back(now);
        self.0.len()
    }
}

fn over(limit: u32, count: usize) -> bool {
    limit > 0 && count >= limit as usize
}

/// The windows the limits are checked against (kept while the limits are off too, so limits
/// switched on at run time see the last second's traffic).
#[derive(Debug, Default)]
struct Limiter {
    global: Window,
    endpoints: HashMap<String, Window>,
    files_reads: Window,
    files_writes: Window,
}

impl Limiter {
    fn check(
        &mut self,
        limits: &RateLimits,
        request: &ApiRequest,
        now: Instant,
    ) -> Result<(), Exceeded> {
        if request.files {
            if request.read && over(limits.files_reads_per_second, self.files_reads.count(now)) {
                return Err(Exceeded::FilesReads(limits.files_reads_per_second));
            }
            if !request.read && over(limits.files_writes_per_second, self.files_writes.count(now)) {
                return Err(Exceeded::FilesWrites(limits.files_writes_per_second));
            }
        } else if request.known {
            let count = self
                .endpoints
                .get_mut(&request.endpoint)
                .map_or(0, |w| w.count(now));
            if over(limits.endpoint_per_second, count) {
                return Err(Exceeded::Endpoint(
                    request.endpoint.clone(),
                    limits.endpoint_per_second,
                ));
            }
        }
        if over(limits.global_per_second, self.global.count(now)) {
            return Err(Exceeded::Global(limits.global_per_second));
        }
        Ok(())
    }

    fn record(&mut self, request: &ApiRequest, now: Instant) {
        self.global.add(now);
        match (request.files, request.read) {
            (true, true) => {
                self.files_reads.add(now);
            }
            (true, false) => {
                self.files_writes.add(now);
            }
            (false, _) if request.known => {
                self.endpoints
                    .entry(request.endpoint.clone())
                    .or_default()
                    .add(now);
            }
            (false, _) => {}
        }
    }
}

/// What `GET /_sim/stats` answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatsReport {
    /// Accepted API requests (whatever they answered afterwards).
    pub requests: u64,
    /// Requests the rate limiter refused with 429.
    pub rate_limited: u64,
    pub reads: u64,
    pub writes: u64,
    pub files_reads: u64,
    pub files_writes: u64,
    /// Most accepted requests in any 1000 ms.
    pub peak_per_second: u64,
    pub peak_reads_per_second: u64,
    pub peak_writes_per_second: u64,
    pub peak_files_per_second: u64,
    pub first_request_at_ms: Option<u64>,
    pub last_request_at_ms: Option<u64>,
    /// `requests` over the seconds from the first to the last (0 when that is 0).
    pub mean_per_second: f64,
    /// `METHOD /route` → accepted requests.
    pub by_endpoint: BTreeMap<String, u64>,
}

/// Counters since start or the last reset, and the windows behind the peaks.
#[derive(Debug, Default)]
struct Stats {
    report: StatsReport,
    all: Window,
    reads: Window,
    writes: Window,
    files: Window,
}

impl Stats {
    fn record(&mut self, request: &ApiRequest, now: Instant, unix_ms: u64) {
        let r = &mut self.report;
        r.requests += 1;
        r.peak_per_second = r.peak_per_second.max(self.all.add(now) as u64);
        if request.read {
            r.reads += 1;
            r.peak_reads_per_second = r.peak_reads_per_second.max(self.reads.add(now) as u64);
        } else {
            r.writes += 1;
            r.peak_writes_per_second = r.peak_writes_per_second.max(self.writes.add(now) as u64);
        }
        if request.files {
            if request.read {
                r.files_reads += 1;
            } else {
                r.files_writes += 1;
            }
            r.peak_files_per_second = r.peak_files_per_second.max(self.files.add(now) as u64);
        }
        r.first_request_at_ms.get_or_insert(unix_ms);
        r.last_request_at_ms = Some(unix_ms);
        *r.by_endpoint.entry(request.endpoint.clone()).or_default() += 1;
    }

    fn report(&self) -> StatsReport {
        let mut report = self.report.clone();
        let span_ms = match (report.first_request_at_ms, report.last_request_at_ms) {
            (Some(first), Some(last)) => last.saturating_sub(first),
            _ => 0,
        };
        report.mean_per_second = if span_ms == 0 {
            0.0
        } else {
            report.requests as f64 * 1000.0 / span_ms as f64
        };
        report
    }
}

/// The platform's rate limits and request statistics; part of [`super::Store`].
#[derive(Debug, Default)]
pub struct Traffic {
    /// The limits in force (from the config, changed by `/_sim/rate_limits`); `None`: off.
    pub limits: Option<RateLimits>,
    limiter: Limiter,
    stats: Stats,
}

impl Traffic {
    pub fn new(limits: Option<RateLimits>) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Counts an authenticated API request now, or refuses it with a 429.
    pub fn admit_now(&mut self, request: &ApiRequest) -> Result<(), ApiError> {
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.admit(request, Instant::now(), unix_ms)
            .map_err(|exceeded| exceeded.error())
    }

    /// [`Self::admit_now`] at a given time (`now` must not go backwards between calls).
    pub fn admit(
        &mut self,
        request: &ApiRequest,
        now: Instant,
        unix_ms: u64,
    ) -> Result<(), Exceeded> {
        if let Some(limits) = &self.limits {
            if let Err(exceeded) = self.limiter.check(limits, request, now) {
                self.stats.report.rate_limited += 1;
                return Err(exceeded);
            }
        }
        self.limiter.record(request, now);
        self.stats.record(request, now, unix_ms);
        Ok(())
    }

    pub fn stats(&self) -> StatsReport {
        self.stats.report()
    }

    /// Zeroes the statistics; the limiter's windows are kept (a reset is no way around a limit).
    pub fn reset_stats(&mut self) {
        self.stats = Stats::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0_MS: u64 = 1_700_000_000_000;

    fn request(endpoint: &str) -> ApiRequest {
        let read = endpoint.starts_with("GET ");
        ApiRequest {
            endpoint: endpoint.to_string(),
            known: !endpoint.ends_with("(unrecognized)"),
            read,
            files: endpoint.contains(" /v1/files"),
        }
    }

    /// Sends `n` requests `gap` apart from `start`; the outcome of each.
    fn burst(
        traffic: &mut Traffic,
        req: &ApiRequest,
        start: Instant,
        gap: Duration,
        n: u32,
    ) -> Vec<Result<(), Exceeded>> {
        (0..n)
            .map(|i| {
                let at = start + gap * i;
                let ms = T0_MS + u64::try_from((gap * i).as_millis()).unwrap_or(0);
                traffic.admit(req, at, ms)
            })
            .collect()
    }

    fn refused(outcomes: &[Result<(), Exceeded>]) -> usize {
        outcomes.iter().filter(|o| o.is_err()).count()
    }

    const IMPORT_SET: &str = "GET /v1/data_management/import_sets/{id}";

    #[test]
    fn the_endpoint_limit_admits_25_in_any_second_and_a_new_window_admits_again() {
        let mut traffic = Traffic::new(Some(RateLimits::live()));
        let t0 = Instant::now();
        let get = request(IMPORT_SET);
        let outcomes = burst(&mut traffic, &get, t0, Duration::from_millis(1), 30);
        assert_eq!(refused(&outcomes), 5);
        assert!(outcomes[..25].iter().all(Result::is_ok));
        assert_eq!(
            outcomes[25],
            Err(Exceeded::Endpoint(IMPORT_SET.to_string(), 25))
        );
        // 999 ms after the first accepted request it is still in the window...
        assert!(
            traffic
                .admit(&get, t0 + Duration::from_millis(999), T0_MS + 999)
                .is_err()
        );
        // ...at 1000 ms it has left it: exactly one slot is free.
        assert!(
            traffic
                .admit(&get, t0 + Duration::from_millis(1000), T0_MS + 1000)
                .is_ok()
        );
        assert!(
            traffic
                .admit(&get, t0 + Duration::from_millis(1000), T0_MS + 1000)
                .is_err()
        );
        // The second request (t0 + 1 ms) leaves at 1001 ms.
        assert!(
            traffic
                .admit(&get, t0 + Duration::from_millis(1001), T0_MS + 1001)
                .is_ok()
        );
        // Another endpoint has its own 25.
        let other = request("GET /v1/charges/{id}");
        let outcomes = burst(
            &mut traffic,
            &other,
            t0 + Duration::from_millis(1001),
            Duration::ZERO,
            26,
        );
        assert_eq!(refused(&outcomes), 1);
        let stats = traffic.stats();
        assert_eq!(stats.requests, 25 + 2 + 25);
        assert_eq!(stats.rate_limited, 5 + 2 + 1);
        assert_eq!(stats.by_endpoint.get(IMPORT_SET), Some(&27));
        assert_eq!(stats.by_endpoint.get("GET /v1/charges/{id}"), Some(&25));
    }

    #[test]
    fn a_steady_rate_under_the_limit_is_never_refused() {
        let mut traffic = Traffic::new(Some(RateLimits::live()));
        let get = request(IMPORT_SET);
        // 25 per second exactly (one every 40 ms) for 10 s.
        let outcomes = burst(
            &mut traffic,
            &get,
            Instant::now(),
            Duration::from_millis(40),
            250,
        );
        assert_eq!(refused(&outcomes), 0);
        assert_eq!(traffic.stats().peak_per_second, 25);
        // One every 39 ms is 26 in some second: refusals follow.
        let mut traffic = Traffic::new(Some(RateLimits::live()));
        let outcomes = burst(
            &mut traffic,
            &get,
            Instant::now(),
            Duration::from_millis(39),
            100,
        );
        assert!(refused(&outcomes) > 0);
        assert_eq!(traffic.stats().peak_per_second, 25);
    }

    #[test]
    fn the_global_limit_spans_endpoints_and_accounts_alike() {
        let mut traffic = Traffic::new(Some(RateLimits::live()));
        let t0 = Instant::now();
        let mut outcomes = Vec::new();
        for i in 0..120 {
            let req = request(&format!("GET /v1/endpoint_{}/{{id}}", i % 6));
            outcomes.push(traffic.admit(&req, t0 + Duration::from_micros(i), T0_MS));
        }
        assert_eq!(refused(&outcomes), 20);
        assert!(outcomes[..100].iter().all(Result::is_ok));
        assert!(
            outcomes[100..]
                .iter()
                .all(|o| *o == Err(Exceeded::Global(100)))
        );

        let mut sandbox = Traffic::new(Some(RateLimits::sandbox()));
        let mut outcomes = Vec::new();
        for i in 0..30 {
            let req = request(&format!("POST /v1/endpoint_{}", i % 3));
            outcomes.push(sandbox.admit(&req, t0, T0_MS));
        }
        assert_eq!(refused(&outcomes), 5);
        assert_eq!(outcomes[25], Err(Exceeded::Global(25)));
    }

    #[test]
    fn files_reads_and_writes_have_20_each_instead_of_the_endpoint_default() {
        let mut traffic = Traffic::new(Some(RateLimits::live()));
        let t0 = Instant::now();
        let upload = request("POST /v1/files");
        let outcomes = burst(&mut traffic, &upload, t0, Duration::ZERO, 25);
        assert_eq!(refused(&outcomes), 5);
        assert_eq!(outcomes[20], Err(Exceeded::FilesWrites(20)));
        // Reads of two different files endpoints share the 20 reads.
        let retrieve = request("GET /v1/files/{id}");
        let contents = request("GET /v1/files/{id}/contents");
        let mut reads = burst(&mut traffic, &retrieve, t0, Duration::ZERO, 12);
        reads.extend(burst(&mut traffic, &contents, t0, Duration::ZERO, 12));
        assert_eq!(refused(&reads), 4);
        assert_eq!(reads[20], Err(Exceeded::FilesReads(20)));
        let stats = traffic.stats();
        assert_eq!((stats.files_reads, stats.files_writes), (20, 20));
        assert_eq!(stats.peak_files_per_second, 40);
        assert_eq!(stats.rate_limited, 9);
    }

    #[test]
    fn unrecognized_urls_count_globally_but_have_no_endpoint_limit() {
        let limits = RateLimits {
            global_per_second: 40,
            ..RateLimits::live()
        };
        let mut traffic = Traffic::new(Some(limits));
        let miss = request("GET (unrecognized)");
        let outcomes = burst(&mut traffic, &miss, Instant::now(), Duration::ZERO, 45);
        assert_eq!(refused(&outcomes), 5);
        assert_eq!(outcomes[40], Err(Exceeded::Global(40)));
    }

    #[test]
    fn a_zero_turns_one_limit_off_and_no_limits_never_refuse() {
        let limits = RateLimits {
            global_per_second: 0,
            endpoint_per_second: 0,
            files_reads_per_second: 2,
            files_writes_per_second: 0,
        };
        let mut traffic = Traffic::new(Some(limits));
        let t0 = Instant::now();
        let get = request(IMPORT_SET);
        assert_eq!(
            refused(&burst(&mut traffic, &get, t0, Duration::ZERO, 200)),
            0
        );
        let read = request("GET /v1/files/{id}");
        assert_eq!(
            refused(&burst(&mut traffic, &read, t0, Duration::ZERO, 5)),
            3
        );

        let mut off = Traffic::new(None);
        assert_eq!(refused(&burst(&mut off, &get, t0, Duration::ZERO, 500)), 0);
        assert_eq!(off.stats().rate_limited, 0);
        assert_eq!(off.stats().peak_per_second, 500);
    }

    #[test]
    fn limits_switched_on_later_see_the_last_second() {
        let mut traffic = Traffic::new(None);
        let t0 = Instant::now();
        let get = request(IMPORT_SET);
        assert_eq!(
            refused(&burst(&mut traffic, &get, t0, Duration::ZERO, 30)),
            0
        );
        traffic.limits = Some(RateLimits::live());
        assert!(
            traffic
                .admit(&get, t0 + Duration::from_millis(10), T0_MS)
                .is_err()
        );
        assert!(
            traffic
                .admit(&get, t0 + Duration::from_millis(1000), T0_MS)
                .is_ok()
        );
    }

    #[test]
    fn statistics_count_peaks_over_sliding_windows_exactly() {
        let mut traffic = Traffic::new(None);
        let t0 = Instant::now();
        let get = request("GET /v1/charges/{id}");
        let post = request("POST /v1/refunds");
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // Reads at 600..900 ms, writes at 950..970, reads at 1500..1504. Calendar seconds
        // from t0 would hold 7 and 5; the sliding second (504, 1504] holds all 12.
        for ms in [600, 700, 800, 900] {
            assert!(traffic.admit(&get, at(ms), T0_MS + ms).is_ok());
        }
        for ms in [950, 960, 970] {
            assert!(traffic.admit(&post, at(ms), T0_MS + ms).is_ok());
        }
        for ms in 1500..1505 {
            assert!(traffic.admit(&get, at(ms), T0_MS + ms).is_ok());
        }
        let stats = traffic.stats();
        assert_eq!(stats.requests, 12);
        assert_eq!((stats.reads, stats.writes), (9, 3));
        assert_eq!(stats.peak_per_second, 12);
        assert_eq!(stats.peak_reads_per_second, 9);
        assert_eq!(stats.peak_writes_per_second, 3);
        assert_eq!(stats.peak_files_per_second, 0);
        assert_eq!(stats.first_request_at_ms, Some(T0_MS + 600));
        assert_eq!(stats.last_request_at_ms, Some(T0_MS + 1504));
        assert!((stats.mean_per_second - 12.0 / 0.904).abs() < 1e-9);
        assert_eq!(stats.by_endpoint.len(), 2);
        assert_eq!(stats.by_endpoint.get("POST /v1/refunds"), Some(&3));
        assert_eq!(stats.by_endpoint.get("GET /v1/charges/{id}"), Some(&9));
        // One more at 1600 ms: (600, 1600] drops the read at 600, so the peak stays 12.
        assert!(traffic.admit(&get, at(1600), T0_MS + 1600).is_ok());
        assert_eq!(traffic.stats().peak_per_second, 12);

        traffic.reset_stats();
        assert_eq!(traffic.stats(), StatsReport::default());
        assert!(traffic.admit(&get, at(1700), T0_MS + 1700).is_ok());
        let stats = traffic.stats();
        assert_eq!((stats.requests, stats.peak_per_second), (1, 1));
        assert_eq!(stats.mean_per_second, 0.0);
    }
}
