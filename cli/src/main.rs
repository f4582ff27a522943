//! `fle`: CloudFront field-level encryption keys, profiles, rotation, decryption and edge signing.
//!
//! `main` only wires: each noun lives in `cmd/<noun>.rs`, over the `fle-ops` library.

mod cmd;
mod exit;
mod input;
mod output;

use clap::{Parser, Subcommand};

/// CloudFront field-level encryption and edge request signing, from key generation to rotation.
#[derive(Debug, Parser)]
#[command(name = "fle", version = env!("FLE_VERSION"), about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
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
