//! Test hooks: the hidden `--danger-stop-after`, `--danger-pause-after` and
//! `--danger-resume-file` flags of `keys generate|rotate|retire` (and of `api-keys rotate`).
//! They exist only in debug builds (`cfg(debug_assertions)`), which is what the tests run: a
//! release `fle` has no way to stop a rotation half-way. They drive the library's step
//! callback: stop after step N (exit 86 without unwinding, as a kill would), or after step N
//! create `<FILE>.reached` and wait until FILE exists.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args as ClapArgs;
use fle_ops::rotation::{Outcome, Step};

/// The exit code of a simulated kill.
pub const STOPPED: i32 = 86;

// No doc comment: on a flattened `Args` struct it would become the subcommand's about text.
#[derive(Debug, Clone, ClapArgs)]
pub struct StopArgs {
    /// Testing only: exit abruptly after this step, as if killed.
    #[arg(long, hide = true, value_name = "STEP")]
    pub danger_stop_after: Option<usize>,
}

// No doc comment (see `StopArgs`).
#[derive(Debug, Clone, ClapArgs)]
pub struct PauseArgs {
    /// Testing only: exit abruptly after this step (1-6 for a rotation), as if killed.
    #[arg(long, hide = true, value_name = "STEP")]
    pub danger_stop_after: Option<usize>,
    /// Testing only: after this step, create <FILE>.reached and wait until FILE exists.
    #[arg(
        long,
        hide = true,
        value_name = "STEP",
        requires = "danger_resume_file"
    )]
    pub danger_pause_after: Option<usize>,
    #[arg(long, hide = true, value_name = "FILE")]
    pub danger_resume_file: Option<PathBuf>,
}

impl StopArgs {
    /// The step callback these flags ask for.
    pub fn hook<S: Step>(&self) -> impl FnMut(S, &Outcome) -> ControlFlow<()> {
        let stop_after = self.danger_stop_after;
        move |step, outcome| {
            stop(stop_after, step, outcome);
            ControlFlow::Continue(())
        }
    }
}

impl PauseArgs {
    /// The step callback these flags ask for.
    pub fn hook<S: Step>(&self) -> impl FnMut(S, &Outcome) -> ControlFlow<()> {
        let stop_after = self.danger_stop_after;
        let pause = self.danger_pause_after.zip(self.danger_resume_file.clone());
        move |step, outcome| {
            if let Some((at, file)) = &pause {
                if *at == step.number() && *outcome == Outcome::Done {
                    let mut reached = file.clone().into_os_string();
                    reached.push(".reached");
                    let _ = std::fs::write(&reached, b"");
                    while !file.exists() {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
            stop(stop_after, step, outcome);
            ControlFlow::Continue(())
        }
    }
}

/// `--danger-stop-after`: exit without unwinding (no guard is dropped, no claim released),
/// like a kill, after the step numbered `stop_after` was done by this run.
fn stop<S: Step>(stop_after: Option<usize>, step: S, outcome: &Outcome) {
    let n = step.number();
    if stop_after == Some(n) && *outcome == Outcome::Done {
        eprintln!("fle: stopping after step {n} (--danger-stop-after)");
        std::process::exit(STOPPED);
    }
}
