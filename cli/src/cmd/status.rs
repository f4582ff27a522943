//! `fle status`: what needs attention in the store, for a scheduler to run before and after
//! `fle keys rotate` (exit 1 when anything does).

use std::time::SystemTime;

use anyhow::anyhow;
use serde::Serialize;

use super::store::{store_failure, Common};
use crate::exit::{CmdResult, Failure};
use crate::output::{emit, table};
use fle_ops::status;

/// `fle status --output json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusView {
    /// The store checked.
    store: String,
    /// True when nothing needs attention.
    ok: bool,
    findings: Vec<FindingView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FindingView {
    level: &'static str,
    code: &'static str,
    subject: String,
    message: String,
    action: String,
}

pub fn run(a: Common) -> CmdResult {
    let b = a.open()?;
    let findings =
        status::check(b.as_ref(), SystemTime::now()).map_err(|e| store_failure("status", e, ""))?;
    let view = StatusView {
        store: b.describe(),
        ok: findings.is_empty(),
        findings: findings
            .into_iter()
            .map(|f| FindingView {
                level: f.level.as_str(),
                code: f.code,
                subject: f.subject,
                message: f.message,
                action: f.action,
            })
            .collect(),
    };
    emit(a.out.output, &view, |v| {
        if v.ok {
            return format!("ok: nothing needs attention in {}\n", v.store);
        }
        let rows: Vec<Vec<String>> = v
            .findings
            .iter()
            .map(|f| {
                vec![
                    f.level.to_owned(),
                    f.subject.clone(),
                    format!("{} ({}); {}", f.message, f.code, f.action),
                ]
            })
            .collect();
        format!(
            "{} finding(s) in {}\n{}",
            v.findings.len(),
            v.store,
            table(&["LEVEL", "SUBJECT", "WHAT / WHAT TO DO"], &rows)
        )
    })?;
    if view.ok {
        Ok(())
    } else {
        Err(Failure::no(anyhow!(
            "status: {} finding(s) need attention",
            view.findings.len()
        )))
    }
}
