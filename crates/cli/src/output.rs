//! Printing results: human text by default, JSON with `--json`. stdout carries results only.

use std::io::Write as _;

use serde::Serialize;

use crate::Context;

/// A result that can also be read by a person.
pub trait Human {
    /// The text shown without `--json`.
    fn human(&self) -> String;
}

/// Prints `value` as `--json` asks. A reader that stopped reading (`sleuth … | head`) ends
/// the command quietly with exit 0, as ripgrep does; any other failure to write (a full disk)
/// is a one-line error.
pub fn print<T: Serialize + Human>(ctx: &Context, value: &T) {
    let text =
        if ctx.json { serde_json::to_string_pretty(value).expect("results serialize") + "\n" } else { value.human() };
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing the result to standard output: {e}");
        std::process::exit(1);
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An amount in satoshis for people.
pub fn sat(n: impl Into<u64>) -> String {
    format!("{} sat", thousands(n.into()))
}

/// `println!` that returns the write's error instead of panicking, so that `sleuth demo |
/// head` ends quietly (the binary treats a broken pipe as the reader's choice).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)?;
    }};
}

/// `print!` likewise.
macro_rules! put {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout(), $($arg)*)?;
    }};
}

pub(crate) use {put, say};
