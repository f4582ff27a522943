//! `fle demo --rotate`: rotation under load.
//!
//! Clients send forms through the pipeline without pause while, in turn, `keys rotate` and
//! `keys retire` (the `fle_ops` engines of `fle keys rotate` / `fle keys retire`, on the same
//! keystore) and an API-key rotation (the order of `fle api-keys rotate`, on the stand-in's
//! usage plan and the edge's origin header) run repeatedly. The edge sees each change only
//! `--propagation` later (CloudFront's deployment).
//!
//! The safety that makes this lossless, and which `--no-safety` removes:
//! - `keys rotate --switch-delay` (the backend's refresh period): the new private key is in the
//!   keyring before the profile points at it;
//! - the backend reloads its keyring periodically and on a message for a key it does not hold;
//! - the old API key stays in the usage plan until the edge has deployed the new one, plus a
//!   grace period; a key's grace (`--grace` of `keys rotate`) outlasts the edge's deployment.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::anyhow;
use serde_json::{json, Value};

use super::{api_key_value, body_json, Args, Pipeline, FORM};
use crate::exit::{CmdResult, Failure};

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    failures: BTreeMap<String, u64>,
}

pub fn run(args: &Args) -> CmdResult {
    let safe = !args.no_safety;
    let p = Arc::new(Pipeline::start(args, safe).map_err(Failure::usage)?);
    let started = Instant::now();
    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    // Set when a rotation fails: the clients stop at once rather than run to --requests.
    let abort = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut clients = Vec::new();
    for i in 0..args.clients {
        let (p, sent, failed, done, abort, tally) = (
            Arc::clone(&p),
            Arc::clone(&sent),
            Arc::clone(&failed),
            Arc::clone(&done),
            Arc::clone(&abort),
            Arc::clone(&tally),
        );
        let want = args.requests;
        clients.push(
            std::thread::Builder::new()
                .name(format!("demo-client-{i}"))
                .spawn(move || {
                    let finished = || {
                        abort.load(Ordering::Relaxed)
                            || (done.load(Ordering::Relaxed)
                                && sent.load(Ordering::Relaxed) >= want)
                    };
                    while !finished() {
                        let t = Instant::now();
                        let answer = p.post(FORM, None);
                        let us = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
                        sent.fetch_add(1, Ordering::Relaxed);
                        let failure = match &answer {
                            Ok(a) if a.status() == 200 && body_json(a)["cardLast4"] == "1111" => {
                                None
                            }
                            Ok(a) => {
                                let b = body_json(a);
                                let why = b["error"]
                                    .as_str()
                                    .or(b["message"].as_str())
                                    .unwrap_or("?")
                                    .to_owned();
                                Some(format!(
                                    "{} at {}: {why}",
                                    a.status(),
                                    a.header(super::gateway::HOP_HEADER).unwrap_or("?")
                                ))
                            }
                            Err(e) => Some(format!("transport: {}", e.kind())),
                        };
                        // Counted outside the lock: a failure is never lost, whatever the tally.
                        if failure.is_some() {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                        if let Ok(mut t) = tally.lock() {
                            t.latencies_us.push(us);
                            if let Some(f) = failure {
                                *t.failures.entry(f).or_default() += 1;
                            }
                        }
                    }
                })
                .map_err(|e| Failure::usage(anyhow!("starting a client: {e}")))?,
        );
    }

    let outcome = rotate_in_turn(args, &p, started);
    if outcome.is_err() {
        abort.store(true, Ordering::Relaxed);
    }
    done.store(true, Ordering::Relaxed);
    for c in clients {
        // A client that died takes its unsent requests with it: that is a failure too.
        if c.join().is_err() {
            failed.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut t) = tally.lock() {
                *t.failures
                    .entry("a client thread panicked".into())
                    .or_default() += 1;
            }
        }
    }
    let (events, retired) = outcome.map_err(Failure::usage)?;
    let elapsed = started.elapsed();
    let tally = tally
        .lock()
        .map(|mut t| std::mem::take(&mut *t))
        .unwrap_or_default();
    let mut lat = tally.latencies_us;
    lat.sort_unstable();
    // Nearest-rank percentile, in milliseconds.
    let pct = |percent: usize| -> f64 {
        let rank = lat.len().saturating_mul(percent).div_ceil(100);
        let us = lat.get(rank.saturating_sub(1)).copied().unwrap_or(0);
        f64::from(u32::try_from(us).unwrap_or(u32::MAX)) / 1000.0
    };
    let total = sent.load(Ordering::Relaxed);
    let bad = failed.load(Ordering::Relaxed);
    let key_rotations = events
        .iter()
        .filter(|e| e["event"] == "key-rotated")
        .count();
    let api_rotations = events
        .iter()
        .filter(|e| e["event"] == "api-key-rotated")
        .count();
    let report = json!({
        "ok": bad == 0,
        "safety": safe,
        "signer": p.edge.signer.description,
        "keystore": p.keystore.display().to_string(),
        "requests": total,
        "failed": bad,
        "failures": tally.failures,
        "keyRotations": key_rotations,
        "apiKeyRotations": api_rotations,
        "propagationMs": args.propagation.as_millis(),
        "seconds": elapsed.as_secs_f64(),
        "latencyMs": {"p50": pct(50), "p90": pct(90), "p99": pct(99), "max": pct(100)},
        "retired": retired,
        "events": events,
    });
    let mut out = std::io::stdout().lock();
    if args.json {
        std::io::Write::write_all(&mut out, format!("{report:#}\n").as_bytes())?;
    } else {
        print(&mut out, &report)?;
    }
    if bad == 0 {
        Ok(())
    } else {
        Err(Failure::no(anyhow!(
            "demo --rotate: {bad} of {total} requests failed{}",
            if safe {
                ""
            } else {
                " (expected without the safety)"
            }
        )))
    }
}

fn since(start: Instant) -> f64 {
    (start.elapsed().as_secs_f64() * 100.0).round() / 100.0
}

/// The rotations, in turn. Returns the events and the retired keys (name, seconds).
fn rotate_in_turn(
    args: &Args,
    p: &Pipeline,
    start: Instant,
) -> anyhow::Result<(Vec<Value>, Vec<Value>)> {
    let safe = !args.no_safety;
    let store = fle_ops::local::LocalStore::open(&p.keystore)?;
    let mut events = Vec::new();
    let mut retired = Vec::new();
    // A key's grace outlasts the edge's deployment and the requests in flight.
    let grace = args.propagation.saturating_mul(2) + Duration::from_millis(500);
    let switch_delay = if safe {
        super::refresh_policy(true).periodic.unwrap_or_default()
    } else {
        Duration::ZERO
    };
    let mut api_key = p.edge.api_key();
    let rounds = args.key_rotations.max(args.api_key_rotations);
    let retire = |events: &mut Vec<Value>, retired: &mut Vec<Value>| -> anyhow::Result<()> {
        let report = fle_ops::rotation::retire(
            &store,
            SystemTime::now(),
            false,
            &mut fle_ops::rotation::run_to_end,
        )
        .map_err(|e| anyhow!("keys retire: {e}"))?;
        for k in report.keys {
            if k.outcome == fle_ops::rotation::RetireOutcome::Retired {
                retired.push(json!({"key": k.key_name, "atSeconds": since(start)}));
                events.push(
                    json!({"event": "key-retired", "key": k.key_name, "atSeconds": since(start)}),
                );
            }
        }
        Ok(())
    };
    for round in 0..rounds {
        if round < args.key_rotations {
            let name = format!(
                "{}-r{}",
                fle_ops::rotation::default_key_name(&p.profile, SystemTime::now()),
                round.saturating_add(1)
            );
            let req = fle_ops::rotation::RotateRequest {
                profile: &p.profile,
                grace,
                now: SystemTime::now(),
                new_key_name: Some(name),
                switch_delay,
                dry_run: false,
                edge: None,
            };
            let mut wait = |at: SystemTime| {
                if let Ok(left) = at.duration_since(SystemTime::now()) {
                    std::thread::sleep(left);
                }
            };
            let r = fle_ops::rotation::rotate(
                &store,
                &req,
                &mut fle_ops::rotation::run_to_end,
                &mut wait,
            )
            .map_err(|e| anyhow!("keys rotate: {e}"))?;
            events.push(json!({"event": "key-rotated", "from": r.old_key, "to": r.new_key, "atSeconds": since(start)}));
            retire(&mut events, &mut retired)?;
        }
        if round < args.api_key_rotations {
            let new = api_key_value()?;
            // create + add-to-plan, then the origin header (deployed `propagation` later).
            p.gateway.add_key(&new);
            p.edge.set_api_key(&new);
            if safe {
                // wait-deployed, grace, then remove-from-plan.
                let deadline =
                    Instant::now() + args.propagation.saturating_mul(10) + Duration::from_secs(5);
                while !p.edge.deployed() {
                    if Instant::now() >= deadline {
                        return Err(anyhow!(
                            "api-keys rotate: the edge did not deploy the new key in time"
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            p.gateway.remove_key(&api_key);
            api_key = new;
            events.push(json!({"event": "api-key-rotated", "keysInPlan": p.gateway.keys_in_plan(), "atSeconds": since(start)}));
        }
        std::thread::sleep(args.propagation);
    }
    // The last grace periods end: retire what is due, with traffic still flowing. (Retire-after
    // times are rounded up to the second: the last key can be due up to a second after its
    // grace; waiting only the grace made the count flaky.)
    if args.key_rotations > 0 {
        std::thread::sleep(grace + Duration::from_millis(1100));
        retire(&mut events, &mut retired)?;
    }
    Ok((events, retired))
}

fn print(out: &mut impl std::io::Write, r: &Value) -> std::io::Result<()> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    writeln!(
        out,
        "fle demo --rotate{}: forms through the pipeline while keys and API keys rotate",
        if r["safety"] == true {
            ""
        } else {
            " --no-safety"
        }
    )?;
    writeln!(
        out,
        "keystore  {}\nsigner    {}",
        s(&r["keystore"]),
        s(&r["signer"])
    )?;
    writeln!(
        out,
        "edge deployment (propagation) {} ms\n",
        r["propagationMs"]
    )?;
    for e in r["events"].as_array().into_iter().flatten() {
        let at = e["atSeconds"].as_f64().unwrap_or(0.0);
        match e["event"].as_str().unwrap_or_default() {
            "key-rotated" => writeln!(
                out,
                "{at:>7.2}s  keys rotate     {} -> {}",
                s(&e["from"]),
                s(&e["to"])
            )?,
            "key-retired" => writeln!(
                out,
                "{at:>7.2}s  keys retire     {} (private and public key deleted)",
                s(&e["key"])
            )?,
            "api-key-rotated" => writeln!(
                out,
                "{at:>7.2}s  api-keys rotate old key removed from the usage plan ({} key in it)",
                e["keysInPlan"]
            )?,
            _ => {}
        }
    }
    let l = &r["latencyMs"];
    writeln!(out, "\nrequests  {} in {:.1} s, {} failed; {} key rotations, {} API-key rotations, {} keys retired",
        r["requests"], r["seconds"].as_f64().unwrap_or(0.0), r["failed"], r["keyRotations"], r["apiKeyRotations"],
        r["retired"].as_array().map_or(0, Vec::len))?;
    writeln!(
        out,
        "latency   p50 {} ms, p90 {} ms, p99 {} ms, max {} ms",
        l["p50"], l["p90"], l["p99"], l["max"]
    )?;
    if let Some(f) = r["failures"].as_object().filter(|f| !f.is_empty()) {
        writeln!(out, "failures:")?;
        for (what, n) in f {
            writeln!(out, "  {n:>6} × {what}")?;
        }
    }
    Ok(())
}
