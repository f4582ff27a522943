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

/// The first line of every changing command's text result, in one style:
/// `<done> in <store>`, or with `--dry-run`
/// `plan (dry run, nothing changed): <action> in <store>`.
pub fn change_line(dry_run: bool, action: &str, done: &str, store: &str) -> String {
    if dry_run {
        format!("plan (dry run, nothing changed): {action} in {store}\n")
    } else {
        format!("{done} in {store}\n")
    }
}

/// Rows under a header, each column as wide as its widest cell (two spaces between; the last
/// column is not padded, so lines carry no trailing blanks).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let last = cells.len().saturating_sub(1);
        let mut s = String::new();
        for (i, cell) in cells.into_iter().enumerate() {
            s.push_str(cell);
            if i < last {
                let pad = widths
                    .get(i)
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(cell.chars().count());
                s.push_str(&" ".repeat(pad + 2));
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_under_the_header() {
        let t = table(
            &["NAME", "STATUS"],
            &[
                vec!["k1".into(), "current".into()],
                vec!["a-longer-name".into(), "previous".into()],
            ],
        );
        assert_eq!(
            t,
            "NAME           STATUS\nk1             current\na-longer-name  previous\n"
        );
    }
}
