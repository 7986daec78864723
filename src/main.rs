//! mux-tail: follow many log sources at once and print every line tagged with its source.
//!
//! `main` only parses, builds the `Config`, runs the mux and maps the outcome to an exit status:
//! 0 when every source ended (or the reader of stdout went away), 1 when a source could not
//! start or the output failed, 2 on a usage error, 128+N on signal N.

use std::io;
use std::process::ExitCode;

use clap::Parser;
use mux_tail::config::{Config, ConfigError, Environment};
use mux_tail::{app, cli, messages};

fn main() -> ExitCode {
    let args = cli::Args::parse_from(cli::normalize(std::env::args_os()));
    match run(args) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            messages::error(&format!("{err:#}"));
            ExitCode::from(1)
        }
    }
}

fn run(args: cli::Args) -> anyhow::Result<ExitCode> {
    if let Some(what) = args.generate {
        let mut out = io::stdout().lock();
        what.write(&mut out)?;
        io::Write::flush(&mut out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let config = match Config::from_args(args, Environment::current()) {
        Ok(config) => config,
        Err(ConfigError::Usage(msg)) => {
            messages::error(&msg);
            return Ok(ExitCode::from(2));
        }
        Err(ConfigError::Source(e)) => return Err(e.into()),
        Err(ConfigError::Start(e)) => return Err(e),
    };
    app::run(config)
}

/// Whether a closed pipe is somewhere in the error's chain: that ends the program quietly.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
