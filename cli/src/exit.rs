//! Exit codes and error reporting, shared by every command.
//!
//! 0 = done; 1 = a clean "no" (cannot decrypt, verification failed, request refused);
//! 2 = usage or I/O error. Errors print on stderr as one line with the whole cause chain.

use std::process::ExitCode;

/// An error that ends the command with a chosen exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl Failure {
    /// A clean "no": the input was read but the answer is negative (exit 1).
    pub fn no(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: 1,
            error: error.into(),
        }
    }
    /// A usage or I/O problem (exit 2).
    pub fn usage(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: 2,
            error: error.into(),
        }
    }
}

impl Failure {
    /// The same failure with `context` in front of its message (`fle: <context>: …`).
    pub fn context(self, context: &'static str) -> Self {
        Self {
            code: self.code,
            error: self.error.context(context),
        }
    }
}

/// Anything else that bubbles up with `?` is a usage/I/O error.
impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Self::usage(error)
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Self::usage(error)
    }
}

pub type CmdResult = Result<(), Failure>;

pub fn report(result: CmdResult) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of stdout went away (`fle keys list | head`): end quietly, as ripgrep
        // does; there is no one left to tell.
        Err(f) if is_broken_pipe(&f.error) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("fle: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == Some(std::io::ErrorKind::BrokenPipe)
    })
}
