//! `--output json|text`: results on stdout, one JSON document or human text.
//!
//! JSON is pretty-printed with a trailing newline; field names are camelCase and documented in
//! docs/cli.md. Progress and warnings never go to stdout (use `eprintln!`).

use std::io::Write;

use serde::Serialize;

/// The format of a command's result on stdout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Lines for people.
    #[default]
    Text,
    /// One JSON document (stable schema, see docs/cli.md).
    Json,
}

/// `--output`, to `#[command(flatten)]` into a command's arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Result format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text, env = "FLE_OUTPUT")]
    pub output: Format,
}

/// Prints `value` as JSON, or `text(value)` as text.
///
/// # Errors
/// Writing to stdout failed (e.g. a closed pipe).
pub fn emit<T: Serialize>(
    format: Format,
    value: &T,
    text: impl FnOnce(&T) -> String,
) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, value).map_err(|e| match e.io_error_kind() {
                Some(kind) => std::io::Error::from(kind),
                None => std::io::Error::other(e),
            })?;
            out.write_all(b"\n")?;
        }
        Format::Text => {
            let s = text(value);
            out.write_all(s.as_bytes())?;
            if !s.is_empty() && !s.ends_with('\n') {
                out.write_all(b"\n")?;
            }
        }
    }
    out.flush()
}
