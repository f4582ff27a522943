//! `fle`: CloudFront field-level encryption keys, profiles, rotation, decryption and edge signing.
//!
//! `main` only wires: each noun lives in `cmd/<noun>.rs`, over the `fle-ops` library.

mod cmd;
mod exit;
mod input;
mod logging;
mod output;

use clap::{Parser, Subcommand};

/// CloudFront field-level encryption and edge request signing, from key generation to rotation.
#[derive(Debug, Parser)]
#[command(name = "fle", version = env!("FLE_VERSION"), about, long_about = None, propagate_version = true, after_help = GLOBAL_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Diagnostics on stderr (-vv: also the AWS SDK's calls); RUST_LOG overrides. No secrets.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Walk one form through CloudFront FLE, the edge signer and the backend, locally.
    Demo(cmd::demo::Args),
    /// Decrypt one field value (an AWS Encryption SDK message) or a whole form body.
    Decrypt(cmd::decrypt::Args),
    /// Encrypt a value or a form body exactly as CloudFront field-level encryption would.
    Encrypt(cmd::encrypt::Args),
    /// Key pairs: generate, list, show, export-public, rotate, retire.
    Keys(cmd::keys::Args),
    /// FLE profiles: create, list, show, update, delete.
    Profiles(cmd::profiles::Args),
    /// FLE configurations: create, list, show, update, delete, attach.
    Configs(cmd::configs::Args),
    /// Lambda@Edge request signer: sign an event natively, package the deployable zip.
    Edge(cmd::edge::Args),
    /// API Gateway API keys: rotate the key CloudFront sends to the origin, with overlap.
    ApiKeys(cmd::api_keys::Args),
    /// Prove from a deployed account that no control of the architecture was loosened.
    Audit(cmd::audit::Args),
    /// What needs attention in the store: orphans, due or stuck rotations, broken keys, quota,
    /// permissions (exit 1 when anything does; run it before and after `keys rotate`).
    Status(cmd::store::Common),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout: `fle man > fle.1`.
    Man,
}

#[derive(Debug, clap::Args)]
struct CompletionsArgs {
    /// The shell.
    shell: clap_complete::Shell,
}

const GLOBAL_HELP: &str = "\
Global options of keys, profiles, configs, status, api-keys and audit, accepted before or after
the command (as the AWS CLI takes them):
  --backend local|aws, --keystore DIR, --output text|json, --aws-profile NAME, --region REGION,
  --aws-timeout DURATION
Environment defaults: FLE_BACKEND, FLE_OUTPUT, FLE_HOME (keystore), AWS_PROFILE, AWS_REGION.";

/// Options every command that has them takes; given before the command, they are moved after it.
const GLOBAL_OPTIONS: [&str; 6] = [
    "--backend",
    "--keystore",
    "--output",
    "--aws-profile",
    "--region",
    "--aws-timeout",
];

/// Commands whose arguments include the global options (the store and output options, or the
/// AWS ones). `edge sign --region` means something else; `encrypt`/`decrypt` take none.
const TAKES_GLOBAL_OPTIONS: [&str; 6] =
    ["keys", "profiles", "configs", "status", "api-keys", "audit"];

/// `fle --backend aws keys list` = `fle keys list --backend aws`: global options found before the
/// first command word are moved after the command's arguments (before a `--`, if any), where
/// the command's own parser takes them. For a command that takes none, nothing moves and the
/// parser refuses them.
fn hoist_global_options(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut hoisted = Vec::new();
    let mut verbose = Vec::new();
    let mut rest = Vec::new();
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let text = arg.to_string_lossy();
        let name = text.split('=').next().unwrap_or_default();
        if is_verbose_flag(&text) {
            // Global in clap already: it stays in front.
            verbose.push(arg.clone());
            continue;
        }
        if !GLOBAL_OPTIONS.contains(&name) {
            // The first other word (a command, or --help / --version): the rest stays in order.
            rest.push(arg.clone());
            rest.extend(iter.cloned());
            break;
        }
        hoisted.push(arg.clone());
        if !text.contains('=') {
            if let Some(value) = iter.next() {
                hoisted.push(value.clone());
            }
        }
    }
    let command = rest.first().map(|c| c.to_string_lossy().into_owned());
    if hoisted.is_empty() || !command.is_some_and(|c| TAKES_GLOBAL_OPTIONS.contains(&c.as_str())) {
        return args;
    }
    let split = rest.iter().position(|a| a == "--").unwrap_or(rest.len());
    let mut out: Vec<std::ffi::OsString> = args.into_iter().take(1).collect();
    out.extend(verbose);
    out.extend(rest.iter().take(split).cloned());
    out.extend(hoisted);
    out.extend(rest.into_iter().skip(split));
    out
}

/// `-v`, `-vv`, ... or `--verbose`.
fn is_verbose_flag(arg: &str) -> bool {
    arg == "--verbose"
        || arg
            .strip_prefix('-')
            .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b == b'v'))
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse_from(hoist_global_options(std::env::args_os().collect()));
    logging::init(cli.verbose);
    let result = match cli.command {
        Command::Demo(args) => cmd::demo::run(args),
        Command::Decrypt(args) => cmd::decrypt::run(args),
        Command::Encrypt(args) => cmd::encrypt::run(args),
        Command::Keys(args) => cmd::keys::run(args),
        Command::Profiles(args) => cmd::profiles::run(args),
        Command::Configs(args) => cmd::configs::run(args),
        Command::Edge(args) => cmd::edge::run(args),
        Command::ApiKeys(args) => cmd::api_keys::run(args),
        Command::Audit(args) => cmd::audit::run(args),
        Command::Status(args) => cmd::status::run(args),
        Command::Completions(args) => completions(args.shell),
        Command::Man => man(),
    };
    exit::report(result)
}

fn completions(shell: clap_complete::Shell) -> exit::CmdResult {
    let mut out = Vec::new();
    clap_complete::generate(
        shell,
        &mut <Cli as clap::CommandFactory>::command(),
        "fle",
        &mut out,
    );
    std::io::Write::write_all(&mut std::io::stdout().lock(), &out)?;
    Ok(())
}

fn man() -> exit::CmdResult {
    let mut out = Vec::new();
    clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut out)?;
    std::io::Write::write_all(&mut std::io::stdout().lock(), &out)?;
    Ok(())
}
