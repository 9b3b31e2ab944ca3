//! `sleuth`: the command-line front of the Sleuth forensics engine. Glue only: every
//! capability lives in a library crate; this binary parses flags, calls it and prints.

mod commands;
mod output;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Follow stolen money on public blockchains: ingest a node's block files into an index,
/// then query blocks, transactions and addresses.
#[derive(Debug, Parser)]
#[command(name = "sleuth", version, about)]
pub struct Cli {
    /// Folder holding the index.
    #[arg(long, global = true, env = "SLEUTH_DATA_DIR", default_value = "./sleuth-data")]
    data_dir: PathBuf,
    /// Print results as JSON.
    #[arg(long, global = true)]
    json: bool,
    /// No progress bars or log lines.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: commands::Command,
}

/// Settings every command can read.
#[derive(Clone)]
pub struct Context {
    /// The index folder.
    pub data_dir: PathBuf,
    /// JSON output.
    pub json: bool,
    /// Quiet mode.
    pub quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("SLEUTH_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(if cli.quiet {
            "error"
        } else {
            "sleuth=info,sleuth_index=info,sleuth_chain=info"
        })
    });
    // Colour codes only for a person at a terminal, never into a log file or a pipe.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(ansi)
        .init();
    let ctx = Context { data_dir: cli.data_dir, json: cli.json, quiet: cli.quiet };
    let ctx = &ctx;
    // An index whose files contradict themselves unwinds its reader (sleuth_index::Damaged);
    // here that becomes an error like any other.
    let result = sleuth_index::Damaged::catch(|| cli.command.run(ctx)).unwrap_or_else(|d| Err(anyhow::anyhow!(d)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that stopped reading (`sleuth … | head`) ends the command, as ripgrep
        // does: no error, exit 0.
        Err(err)
            if err.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(err) => {
            // One line, outermost context first: "error: ingesting X into Y: X/blk00001.dat: …",
            // then what to do when the fix is a command: "…; run `sleuth … ingest` first".
            match hint(&err, &ctx.data_dir) {
                Some(hint) => eprintln!("error: {}; {hint}", one_line(&err)),
                None => eprintln!("error: {}", one_line(&err)),
            }
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, outermost first, each said once: the libraries' errors name
/// their cause in their own message (`X: Permission denied (os error 13)`) and also return it
/// as `source()`, so a cause whose text is already said is left out.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// What to type next, for the errors whose fix is a command or a flag: the libraries say what
/// is wrong, the binary knows its own flags.
fn hint(err: &anyhow::Error, data_dir: &std::path::Path) -> Option<String> {
    use sleuth_analysis::cluster::ClusterError;
    use sleuth_chain::address::AddressError;
    use sleuth_engine::EngineError;
    use sleuth_index::IndexError;
    let d = data_dir.display();
    let index = |e: &IndexError| match e {
        IndexError::NoIndex { .. } => Some(format!("run `sleuth --data-dir {d} ingest` first")),
        IndexError::WrongChain { expected, .. } => {
            Some(format!("pass another --data-dir for {expected}, or --chain for the index's own chain"))
        }
        _ => None,
    };
    let cluster = |e: &ClusterError| match e {
        ClusterError::NotBuilt { .. }
        | ClusterError::NotCovered { .. }
        | ClusterError::Corrupt { .. }
        | ClusterError::OtherFormat { .. } => Some(format!("run `sleuth --data-dir {d} cluster build`")),
        ClusterError::Index(e) => index(e),
        _ => None,
    };
    let address = |e: &AddressError| match e {
        AddressError::WrongChain { .. } => Some("pass the --data-dir of an index of the address's chain".to_string()),
        _ => None,
    };
    // `#[error(transparent)]` wrappers forward `source()` past the error they wrap, so each
    // layer is looked into by hand.
    err.chain().find_map(|e| {
        if let Some(e) = e.downcast_ref::<EngineError>() {
            return match e {
                EngineError::Index(e) => index(e),
                EngineError::Ingest(sleuth_index::ingest::IngestError::Index(e)) => index(e),
                EngineError::Cluster(e) => cluster(e),
                EngineError::Address(e) => address(e),
                EngineError::ClusteringStale { .. } => Some(format!("run `sleuth --data-dir {d} cluster build`")),
                _ => None,
            };
        }
        e.downcast_ref::<IndexError>()
            .and_then(index)
            .or_else(|| e.downcast_ref::<ClusterError>().and_then(cluster))
            .or_else(|| e.downcast_ref::<AddressError>().and_then(address))
    })
}
