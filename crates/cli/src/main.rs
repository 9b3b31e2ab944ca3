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
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
    let ctx = Context { data_dir: cli.data_dir, json: cli.json, quiet: cli.quiet };
    match cli.command.run(&ctx) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line, outermost context first: "error: ingesting X into Y: X/blk00001.dat: …".
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
