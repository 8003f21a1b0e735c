//! One request rate for the whole platform, kept by each instance taking its share.
//!
//! Stripe limits requests per second per account: 100 in live mode and 25 in sandboxes
//! overall, 25 per endpoint unless stated, and 20 reads plus 20 writes on the Files API
//! (docs/stripe.md 7.11). Whether a platform's calls on behalf of its connected accounts
//! count against the platform's limits or each account's is not documented, so we take
//! the stricter reading: every call made with the platform's key shares one budget.
//!
//! A function is given a share of those limits (`STRIPE_RATE_LIMIT_PERCENT`) and the most
//! instances of it that call Stripe at once (`STRIPE_RATE_LIMIT_INSTANCES`, the SQS
//! consumer's maximum concurrency for the uploader); each instance then spaces its calls
//! evenly at `limit × share / instances`. Spacing rather than bursting keeps any one-second
//! window under the limit whichever second Stripe counts in, and needs no shared state:
//! Lambda's concurrency bound is what makes the per-instance rates add up to the platform's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use tokio::time::Instant;

use super::error::StripeError;
use super::retry::can_wait;
use crate::config::StripeRateLimits;

/// Which Stripe host a call goes to: uploads use the files host, whose Files API has
/// rates of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    Api,
    Files,
}

/// Spaces this instance's Stripe calls; clones share one schedule.
#[derive(Debug, Clone, Default)]
pub struct Pacer {
    schedule: Option<Arc<Mutex<Schedule>>>,
}

#[derive(Debug)]
struct Schedule {
    limits: StripeRateLimits,
    /// The earliest time the next call of each kind may start.
    global: Option<Instant>,
    files_reads: Option<Instant>,
    files_writes: Option<Instant>,
    endpoints: HashMap<String, Instant>,
}

/// Endpoints remembered at most; past this the oldest schedules are dropped (a dropped
/// endpoint is still paced by the global rate).
const MAX_ENDPOINTS: usize = 256;

impl Pacer {
    pub fn new(limits: Option<StripeRateLimits>) -> Self {
        Self {
            schedule: limits.map(|limits| {
                Arc::new(Mutex::new(Schedule {
                    limits,
                    global: None,
                    files_reads: None,
                    files_writes: None,
                    endpoints: HashMap::new(),
                }))
            }),
        }
    }

    /// Waits for this call's turn. A turn further away than the invocation's time budget
    /// allows is a transient error: the work is left for a later invocation.
    pub(super) async fn wait_turn(
        &self,
        method: &Method,
        host: Host,
        path: &str,
    ) -> Result<(), StripeError> {
        loop {
            let now = Instant::now();
            let Err(turn) = self.try_book(method, host, path, now) else {
                return Ok(());
            };
            let wait = turn.saturating_duration_since(now);
            if !can_wait(wait) {
                return Err(StripeError::Network(format!(
                    "not sent: the platform's Stripe request rate has no turn for {} ms, past this invocation's time budget",
                    wait.as_millis()
                )));
            }
            // Booked only when it is sent: a call waiting for a busy endpoint must not hold
            // up calls to the others.
            tokio::time::sleep_until(turn).await;
        }
    }

    /// Books a call made at `now` when every rate it counts against allows it (Ok; also
    /// when nothing is paced), else says when the earliest of them will (Err).
    fn try_book(
        &self,
        method: &Method,
        host: Host,
        path: &str,
        now: Instant,
    ) -> Result<(), Instant> {
        let Some(schedule) = self.schedule.as_ref() else {
            return Ok(());
        };
        let mut s = schedule.lock().unwrap_or_else(|e| e.into_inner());
        let limits = s.limits;
        let endpoint = endpoint_key(method, path);
        let files = match (host, *method == Method::GET) {
            (Host::Files, true) => Some((limits.files_reads, s.files_reads)),
            (Host::Files, false) => Some((limits.files_writes, s.files_writes)),
            (Host::Api, _) => None,
        };
        let turn = [
            s.global,
            s.endpoints.get(&endpoint).copied(),
            files.and_then(|(_, next)| next),
        ]
        .into_iter()
        .flatten()
        .fold(now, Instant::max);
        if turn > now {
            return Err(turn);
        }
        s.global = Some(now + spacing(limits.global));
        if s.endpoints.len() >= MAX_ENDPOINTS && !s.endpoints.contains_key(&endpoint) {
            // Schedules already in the past constrain nothing.
            s.endpoints.retain(|_, next| *next > now);
        }
        s.endpoints.insert(endpoint, now + spacing(limits.endpoint));
        if let Some((rate, _)) = files {
            let next = Some(now + spacing(rate));
            if *method == Method::GET {
                s.files_reads = next;
            } else {
                s.files_writes = next;
            }
        }
        Ok(())
    }
}

fn spacing(per_second: f64) -> Duration {
    if per_second > 0.0 && per_second.is_finite() {
        Duration::from_secs_f64(1.0 / per_second)
    } else {
        Duration::ZERO
    }
}

/// The operation a call is counted under: the method and the path with its ids replaced,
/// as Stripe counts `GET /v1/payment_intents/{id}` as one endpoint whatever the id. Path
/// segments that name resources are lower case letters and underscores; ids carry digits
/// or capitals.
fn endpoint_key(method: &Method, path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let mut key = String::with_capacity(path.len() + 8);
    key.push_str(method.as_str());
    key.push(' ');
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            key.push('/');
        }
        let version = segment.len() > 1
            && segment.starts_with('v')
            && segment[1..].bytes().all(|b| b.is_ascii_digit());
        if !version
            && segment
                .chars()
                .any(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        {
            key.push_str("{id}");
        } else {
            key.push_str(segment);
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(global: f64, endpoint: f64, files: f64) -> StripeRateLimits {
        StripeRateLimits {
            global,
            endpoint,
            files_reads: files,
            files_writes: files,
        }
    }

    /// Plays calls in order, each made as soon as it may: returns when each went, in ms
    /// after the first.
    fn turns(pacer: &Pacer, calls: &[(Method, Host, &str)]) -> Vec<u128> {
        let start = Instant::now();
        let mut now = start;
        calls
            .iter()
            .map(|(m, h, p)| {
                loop {
                    match pacer.try_book(m, *h, p, now) {
                        Ok(()) => return now.duration_since(start).as_millis(),
                        Err(turn) => {
                            assert!(turn > now);
                            now = turn;
                        }
                    }
                }
            })
            .collect()
    }

    #[test]
    fn ids_do_not_make_new_endpoints() {
        assert_eq!(
            endpoint_key(&Method::GET, "/v1/data_management/import_sets/impset_1Ab"),
            "GET /v1/data_management/import_sets/{id}"
        );
        assert_eq!(
            endpoint_key(&Method::GET, "/v1/files/file_9z/contents"),
            "GET /v1/files/{id}/contents"
        );
        assert_ne!(
            endpoint_key(&Method::GET, "/v1/checkout/sessions"),
            endpoint_key(&Method::POST, "/v1/checkout/sessions")
        );
    }

    #[test]
    fn calls_are_spaced_at_the_global_rate() {
        let pacer = Pacer::new(Some(limits(10.0, 1000.0, 1000.0)));
        let calls: Vec<_> = (0..5)
            .map(|i| {
                (
                    Method::GET,
                    Host::Api,
                    ["/v1/a", "/v1/b", "/v1/c", "/v1/d", "/v1/e"][i],
                )
            })
            .collect();
        assert_eq!(turns(&pacer, &calls), vec![0, 100, 200, 300, 400]);
    }

    #[test]
    fn one_endpoint_waits_for_its_own_rate_while_others_go() {
        let pacer = Pacer::new(Some(limits(100.0, 4.0, 1000.0)));
        let start = Instant::now();
        let get = (Method::GET, Host::Api, "/v1/import_sets/impset_1");
        assert_eq!(pacer.try_book(&get.0, get.1, get.2, start), Ok(()));
        // The same endpoint again (another id) must wait 250 ms...
        let other_id = "/v1/import_sets/impset_2";
        assert_eq!(
            pacer.try_book(&Method::GET, Host::Api, other_id, start + ms(10)),
            Err(start + ms(250))
        );
        // ...while another endpoint goes once the global spacing (10 ms) has passed,
        // not held up by the call that waits.
        assert_eq!(
            pacer.try_book(&Method::POST, Host::Api, "/v1/import_sets", start + ms(5)),
            Err(start + ms(10))
        );
        assert_eq!(
            pacer.try_book(&Method::POST, Host::Api, "/v1/import_sets", start + ms(10)),
            Ok(())
        );
        assert_eq!(
            pacer.try_book(&Method::GET, Host::Api, other_id, start + ms(250)),
            Ok(())
        );
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn files_reads_and_writes_have_their_own_rates() {
        let pacer = Pacer::new(Some(limits(1000.0, 1000.0, 2.0)));
        let start = Instant::now();
        let upload = |at| pacer.try_book(&Method::POST, Host::Files, "/v1/files", at);
        assert_eq!(upload(start), Ok(()));
        assert_eq!(upload(start + ms(100)), Err(start + ms(500)));
        // A read on the files host has its own rate (it waits only the global 1 ms).
        assert_eq!(
            pacer.try_book(
                &Method::GET,
                Host::Files,
                "/v1/files/file_1/contents",
                start + ms(1)
            ),
            Ok(())
        );
        assert_eq!(upload(start + ms(500)), Ok(()));
    }

    #[test]
    fn a_turn_in_the_past_starts_now() {
        let pacer = Pacer::new(Some(limits(1.0, 1.0, 1.0)));
        let now = Instant::now();
        assert_eq!(
            pacer.try_book(&Method::GET, Host::Api, "/v1/a", now),
            Ok(())
        );
        let later = now + Duration::from_secs(5);
        assert_eq!(
            pacer.try_book(&Method::GET, Host::Api, "/v1/a", later),
            Ok(())
        );
    }

    #[test]
    fn no_limits_no_pacing() {
        let pacer = Pacer::new(None);
        for _ in 0..1000 {
            assert_eq!(
                pacer.try_book(&Method::GET, Host::Api, "/v1/a", Instant::now()),
                Ok(())
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_follows_the_schedule() {
        let pacer = Pacer::new(Some(limits(2.0, 100.0, 100.0)));
        let started = Instant::now();
        for _ in 0..3 {
            pacer
                .wait_turn(&Method::GET, Host::Api, "/v1/a")
                .await
                .unwrap();
        }
        assert_eq!(started.elapsed(), Duration::from_millis(1000));
    }
}
