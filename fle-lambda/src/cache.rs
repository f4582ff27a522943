//! The keys of one execution environment: fetched once, kept, and fetched again only when
//! needed.
//!
//! - **Unknown key.** A message for a key the cache does not hold (a rotation has just stored a
//!   `pending` key and switched the profile to it) triggers one fetch, at most once per
//!   [`RefreshPolicy::min_interval`] per container: a flood of messages for a key that does not
//!   exist costs one Secrets Manager call per interval, not one per request.
//! - **Periodic.** With [`RefreshPolicy::periodic`], the keys are fetched again that long after
//!   the last success, less a random part of up to [`RefreshPolicy::jitter`] of it, so thousands
//!   of containers started together spread their calls instead of all calling in the same
//!   second. Lambda freezes a container between requests, so the check runs when a request
//!   arrives; that request waits for the fetch.
//! - **Failures.** A failed fetch keeps the keys already held (a key source outage does not stop
//!   decryption) and is retried no sooner than `min_interval` later. With no keys at all, every
//!   request in that interval gets the last error at once instead of waiting on the source.
//!
//! Every decision takes the time as an argument (`*_at` methods), so the tests drive the clock.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Mutex;

use crate::log::{self, event, Level};
use crate::source::{KeySource, LoadedKeys, SourceError};

/// When the cache fetches the keys again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefreshPolicy {
    /// Least time between two fetches after the first (unknown key, retry after a failure).
    pub min_interval: Duration,
    /// Fetch again this long after the last successful fetch; `None`: only on unknown keys.
    pub periodic: Option<Duration>,
    /// Up to this fraction (0 to 1) of `periodic` is taken off each deadline, at random.
    pub jitter: f64,
}

impl Default for RefreshPolicy {
    /// 10 s, 15 min, 0.2.
    fn default() -> Self {
        Self {
            min_interval: Duration::from_secs(10),
            periodic: Some(Duration::from_secs(15 * 60)),
            jitter: 0.2,
        }
    }
}

impl RefreshPolicy {
    /// The next periodic deadline after a fetch at `fetched_at`; `unit` is a uniform random
    /// number in [0, 1) (clamped).
    pub fn periodic_deadline(&self, fetched_at: Instant, unit: f64) -> Option<Instant> {
        let period = self.periodic?;
        let jitter = self.jitter.clamp(0.0, 1.0) * unit.clamp(0.0, 1.0);
        let early = period.mul_f64(jitter);
        fetched_at.checked_add(period.saturating_sub(early))
    }
}

/// Why a fetch happened (logged).
#[derive(Debug, Clone, Copy)]
enum Reason {
    Start,
    Periodic,
    UnknownKey,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Reason::Start => "start",
            Reason::Periodic => "periodic",
            Reason::UnknownKey => "unknown-key",
        }
    }
}

#[derive(Debug, Default)]
struct Schedule {
    last_attempt: Option<Instant>,
    next_periodic: Option<Instant>,
    last_error: Option<SourceError>,
    fetches: u64,
}

impl Schedule {
    fn may_fetch(&self, now: Instant, min_interval: Duration) -> bool {
        self.last_attempt
            .is_none_or(|t| now.saturating_duration_since(t) >= min_interval)
    }
}

/// A uniform random number in [0, 1) from the system generator (aws-lc).
fn random_unit() -> f64 {
    let mut b = [0u8; 4];
    if aws_lc_rs::rand::fill(&mut b).is_err() {
        return 0.5;
    }
    f64::from(u32::from_le_bytes(b)) / (f64::from(u32::MAX) + 1.0)
}

/// The keys of an execution environment; see the module documentation.
#[derive(Debug)]
pub struct KeyCache<S> {
    source: S,
    source_name: String,
    policy: RefreshPolicy,
    current: RwLock<Option<Arc<LoadedKeys>>>,
    schedule: Mutex<Schedule>,
    random: fn() -> f64,
}

impl<S: KeySource> KeyCache<S> {
    /// An empty cache over `source`; nothing is fetched until [`KeyCache::keys`] (or
    /// [`KeyCache::load`]) is called.
    pub fn new(source: S, policy: RefreshPolicy) -> Self {
        let source_name = source.describe();
        Self {
            source,
            source_name,
            policy,
            current: RwLock::new(None),
            schedule: Mutex::new(Schedule::default()),
            random: random_unit,
        }
    }

    /// Replaces the random numbers used for jitter (tests).
    #[must_use]
    pub fn with_random(mut self, random: fn() -> f64) -> Self {
        self.random = random;
        self
    }

    /// The key source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The refresh policy.
    pub fn policy(&self) -> &RefreshPolicy {
        &self.policy
    }

    /// The keys held now, without fetching.
    pub fn current(&self) -> Option<Arc<LoadedKeys>> {
        self.current.read().ok().and_then(|g| g.clone())
    }

    /// How many fetches have been attempted.
    pub async fn fetch_count(&self) -> u64 {
        self.schedule.lock().await.fetches
    }

    /// Fetches the keys now unless they are held: the start-up load.
    ///
    /// # Errors
    /// The source's error when it gives no usable keys.
    pub async fn load(&self) -> Result<Arc<LoadedKeys>, SourceError> {
        self.keys_at(Instant::now()).await
    }

    /// The keys to decrypt with: those held, after a periodic refresh if one is due; fetched
    /// first if none are held (rate-limited after a failure).
    ///
    /// # Errors
    /// No keys are held and the source gives none: its (last) error.
    pub async fn keys(&self) -> Result<Arc<LoadedKeys>, SourceError> {
        self.keys_at(Instant::now()).await
    }

    /// [`KeyCache::keys`] at a given time.
    ///
    /// # Errors
    /// As [`KeyCache::keys`].
    pub async fn keys_at(&self, now: Instant) -> Result<Arc<LoadedKeys>, SourceError> {
        if let Some(held) = self.current() {
            // A fetch in progress holds the lock: serve with the keys held meanwhile.
            let Ok(mut schedule) = self.schedule.try_lock() else {
                return Ok(held);
            };
            let due = schedule.next_periodic.is_some_and(|d| now >= d)
                && schedule.may_fetch(now, self.policy.min_interval);
            if !due {
                return Ok(held);
            }
            return Ok(
                match self.fetch(&mut schedule, now, Reason::Periodic).await {
                    Ok(fresh) => fresh,
                    Err(_) => held,
                },
            );
        }
        let mut schedule = self.schedule.lock().await;
        if let Some(held) = self.current() {
            return Ok(held); // loaded while this task waited for the lock
        }
        if !schedule.may_fetch(now, self.policy.min_interval) {
            if let Some(e) = &schedule.last_error {
                return Err(e.clone());
            }
        }
        self.fetch(&mut schedule, now, Reason::Start).await
    }

    /// Called when a message names a key that `seen` does not hold: fetches the keys again
    /// unless the last fetch was less than `min_interval` ago. Returns the keys to retry with,
    /// or `None` when there is nothing new to try (rate-limited, or the fetch failed).
    pub async fn refresh_for_unknown_key(&self, seen: &Arc<LoadedKeys>) -> Option<Arc<LoadedKeys>> {
        self.refresh_for_unknown_key_at(seen, Instant::now()).await
    }

    /// [`KeyCache::refresh_for_unknown_key`] at a given time.
    pub async fn refresh_for_unknown_key_at(
        &self,
        seen: &Arc<LoadedKeys>,
        now: Instant,
    ) -> Option<Arc<LoadedKeys>> {
        let mut schedule = self.schedule.lock().await;
        if let Some(held) = self.current() {
            if !Arc::ptr_eq(&held, seen) {
                return Some(held); // another request refreshed meanwhile
            }
        }
        if !schedule.may_fetch(now, self.policy.min_interval) {
            log::emit(
                Level::Warn,
                event::REFRESH_SKIPPED,
                vec![
                    ("source", Value::from(self.source_name.as_str())),
                    (
                        "minIntervalMs",
                        Value::from(
                            u64::try_from(self.policy.min_interval.as_millis()).unwrap_or(u64::MAX),
                        ),
                    ),
                ],
            );
            return None;
        }
        self.fetch(&mut schedule, now, Reason::UnknownKey)
            .await
            .ok()
    }

    async fn fetch(
        &self,
        schedule: &mut Schedule,
        now: Instant,
        reason: Reason,
    ) -> Result<Arc<LoadedKeys>, SourceError> {
        schedule.last_attempt = Some(now);
        schedule.fetches = schedule.fetches.saturating_add(1);
        let started = Instant::now();
        let result = match self.source.fetch().await {
            Ok(material) => LoadedKeys::from_material(material, &self.source_name, now),
            Err(e) => Err(e),
        };
        let took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match result {
            Ok(loaded) => {
                let loaded = Arc::new(loaded);
                self.log_loaded(&loaded, reason, took_ms);
                schedule.last_error = None;
                schedule.next_periodic = self.policy.periodic_deadline(now, (self.random)());
                if let Ok(mut current) = self.current.write() {
                    // The keys replaced are dropped here (or when the last request using
                    // them finishes), which wipes them.
                    *current = Some(Arc::clone(&loaded));
                }
                Ok(loaded)
            }
            Err(e) => {
                let level = if self.current().is_some() {
                    Level::Warn
                } else {
                    Level::Error
                };
                log::emit(
                    level,
                    event::SOURCE_FAILED,
                    vec![
                        ("source", Value::from(self.source_name.as_str())),
                        ("reason", Value::from(reason.as_str())),
                        ("error", Value::from(e.to_string())),
                        ("keptPreviousKeys", Value::from(self.current().is_some())),
                        ("tookMs", Value::from(took_ms)),
                    ],
                );
                schedule.last_error = Some(e.clone());
                Err(e)
            }
        }
    }

    fn log_loaded(&self, loaded: &LoadedKeys, reason: Reason, took_ms: u64) {
        for b in loaded.broken() {
            log::emit(
                Level::Error,
                event::KEY_BROKEN,
                vec![
                    ("source", Value::from(self.source_name.as_str())),
                    ("keyName", Value::from(b.key_name.as_str())),
                    ("error", Value::from(b.error.to_string())),
                ],
            );
        }
        let keys: Vec<Value> = loaded
            .keys()
            .iter()
            .map(|k| Value::from(k.to_string()))
            .collect();
        log::emit(
            Level::Info,
            event::KEYS_LOADED,
            vec![
                ("source", Value::from(self.source_name.as_str())),
                ("reason", Value::from(reason.as_str())),
                ("keys", Value::from(keys)),
                ("tookMs", Value::from(took_ms)),
            ],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::KeyMaterial;
    use fle_decrypt::document::PrivateKeyPem;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex as StdMutex;

    /// A source whose answers the test scripts: key names, or an outage.
    struct Scripted {
        pem: String,
        answer: StdMutex<Result<Vec<&'static str>, ()>>,
        calls: AtomicUsize,
    }

    impl Scripted {
        fn new(names: Vec<&'static str>) -> Self {
            let key =
                aws_lc_rs::rsa::PrivateDecryptingKey::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .unwrap();
            use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
            let der = AsDer::<Pkcs8V1Der>::as_der(&key).unwrap();
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
            Self {
                pem: format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n"),
                answer: StdMutex::new(Ok(names)),
                calls: AtomicUsize::new(0),
            }
        }
        fn set(&self, answer: Result<Vec<&'static str>, ()>) {
            *self.answer.lock().unwrap() = answer;
        }
        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    impl KeySource for Scripted {
        fn describe(&self) -> String {
            "scripted".into()
        }
        async fn fetch(&self) -> Result<KeyMaterial, SourceError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let answer = self.answer.lock().unwrap().clone();
            match answer {
                Ok(names) => {
                    let mut doc = fle_decrypt::document::KeyringDocument::empty("p");
                    for n in names {
                        doc.keys.push(fle_decrypt::document::KeyEntry {
                            key_name: n.into(),
                            status: fle_decrypt::document::KeyStatus::Current,
                            retire_after: None,
                            created: "2026-12-01T00:00:00Z".into(),
                            rotation: None,
                            private_key_pem: PrivateKeyPem::new(self.pem.clone()),
                        });
                    }
                    Ok(KeyMaterial::Documents(vec![doc]))
                }
                Err(()) => Err(SourceError::Unavailable {
                    source_name: "scripted".into(),
                    operation: "Fetch",
                    reason: "timeout".into(),
                }),
            }
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn policy(periodic: Option<u64>) -> RefreshPolicy {
        RefreshPolicy {
            min_interval: S(10),
            periodic: periodic.map(S),
            jitter: 0.2,
        }
    }

    fn names(k: &LoadedKeys) -> Vec<String> {
        k.keys().iter().map(|k| k.key_name.clone()).collect()
    }

    #[test]
    fn loads_once_and_serves_from_the_cache() {
        rt().block_on(async {
            let cache = KeyCache::new(Scripted::new(vec!["k1", "k2"]), policy(None));
            let t0 = Instant::now();
            let a = cache.keys_at(t0).await.unwrap();
            assert_eq!(names(&a), ["k1", "k2"]);
            for s in [1, 100, 100_000] {
                let b = cache.keys_at(t0 + S(s)).await.unwrap();
                assert!(Arc::ptr_eq(&a, &b));
            }
            assert_eq!(cache.source().calls(), 1);
        });
    }

    #[test]
    fn an_unknown_key_refreshes_at_most_once_per_interval() {
        rt().block_on(async {
            let cache = KeyCache::new(Scripted::new(vec!["k1"]), policy(None));
            let t0 = Instant::now();
            let first = cache.keys_at(t0).await.unwrap();
            // A rotation stores k2 at once after the start: within 10 s of the first fetch the
            // refresh waits, then happens once, then waits again.
            cache.source().set(Ok(vec!["k1", "k2"]));
            assert!(cache
                .refresh_for_unknown_key_at(&first, t0 + S(3))
                .await
                .is_none());
            assert_eq!(cache.source().calls(), 1);
            let fresh = cache
                .refresh_for_unknown_key_at(&first, t0 + S(10))
                .await
                .unwrap();
            assert_eq!(names(&fresh), ["k1", "k2"]);
            assert_eq!(cache.source().calls(), 2);
            // A request still holding the old keys gets the fresh ones without a fetch.
            let again = cache
                .refresh_for_unknown_key_at(&first, t0 + S(11))
                .await
                .unwrap();
            assert!(Arc::ptr_eq(&again, &fresh));
            // Messages for a key that never appears: one fetch per interval, whatever the load.
            for s in 11..20 {
                assert!(cache
                    .refresh_for_unknown_key_at(&fresh, t0 + S(s))
                    .await
                    .is_none());
            }
            assert_eq!(cache.source().calls(), 2);
            assert!(cache
                .refresh_for_unknown_key_at(&fresh, t0 + S(20))
                .await
                .is_some());
            assert_eq!(cache.source().calls(), 3);
        });
    }

    #[test]
    fn a_failed_refresh_keeps_the_keys_held() {
        rt().block_on(async {
            let cache = KeyCache::new(Scripted::new(vec!["k1"]), policy(Some(60)));
            let t0 = Instant::now();
            let first = cache.keys_at(t0).await.unwrap();
            cache.source().set(Err(()));
            assert!(cache
                .refresh_for_unknown_key_at(&first, t0 + S(30))
                .await
                .is_none());
            let still = cache.keys_at(t0 + S(61)).await.unwrap();
            assert!(
                Arc::ptr_eq(&still, &first),
                "periodic failure keeps the keys"
            );
            assert_eq!(cache.source().calls(), 3);
            // The failed periodic fetch is retried after min_interval, not on every request.
            cache.keys_at(t0 + S(62)).await.unwrap();
            assert_eq!(cache.source().calls(), 3);
            cache.source().set(Ok(vec!["k2"]));
            let fresh = cache.keys_at(t0 + S(71)).await.unwrap();
            assert_eq!(
                names(&fresh),
                ["k2"],
                "a retired key is gone after the refresh"
            );
        });
    }

    #[test]
    fn without_keys_a_failing_source_is_asked_once_per_interval() {
        rt().block_on(async {
            let cache = KeyCache::new(Scripted::new(vec!["k1"]), policy(None));
            cache.source().set(Err(()));
            let t0 = Instant::now();
            for s in 0..10 {
                let e = cache.keys_at(t0 + S(s)).await.unwrap_err();
                assert!(matches!(e, SourceError::Unavailable { .. }));
            }
            assert_eq!(cache.source().calls(), 1);
            cache.source().set(Ok(vec!["k1"]));
            assert!(cache.keys_at(t0 + S(10)).await.is_ok());
            assert_eq!(cache.source().calls(), 2);
        });
    }

    #[test]
    fn an_empty_keyring_is_an_error_not_an_empty_cache() {
        rt().block_on(async {
            let cache = KeyCache::new(Scripted::new(vec![]), policy(None));
            let e = cache.keys_at(Instant::now()).await.unwrap_err();
            assert!(e.to_string().contains("holds no key"), "{e}");
        });
    }

    #[test]
    fn periodic_refresh_is_spread_by_jitter() {
        let p = policy(Some(100));
        let t0 = Instant::now();
        assert_eq!(p.periodic_deadline(t0, 0.0), Some(t0 + S(100)));
        assert_eq!(p.periodic_deadline(t0, 0.5), Some(t0 + S(90)));
        assert_eq!(
            p.periodic_deadline(t0, 0.999_999),
            Some(t0 + Duration::from_secs_f64(100.0 - 19.999_98))
        );
        assert_eq!(p.periodic_deadline(t0, 7.0), Some(t0 + S(80)), "clamped");
        assert_eq!(policy(None).periodic_deadline(t0, 0.5), None);
        // Many containers started at once: their deadlines cover the jitter window evenly.
        let spread: std::collections::BTreeSet<u64> = (0..1000)
            .map(|_| {
                let d = p.periodic_deadline(t0, random_unit()).unwrap() - t0;
                d.as_secs()
            })
            .collect();
        assert!(spread.iter().all(|s| (80..=100).contains(s)));
        assert!(spread.len() >= 15, "{spread:?}");

        rt().block_on(async {
            let cache = KeyCache::new(Scripted::new(vec!["k1"]), p).with_random(|| 0.5);
            cache.keys_at(t0).await.unwrap();
            cache.keys_at(t0 + S(89)).await.unwrap();
            assert_eq!(cache.source().calls(), 1);
            cache.keys_at(t0 + S(90)).await.unwrap();
            assert_eq!(cache.source().calls(), 2);
        });
    }
}
