//! mux-tail: follow many log sources at once and print every line tagged with its source.
//!
//! `main` only parses, builds the `Config`, runs the mux and maps the outcome to an exit status:
//! 0 when every source ended (or the reader of stdout went away), 1 when a source could not
//! start or the output failed, 2 on a usage error, 128+N on signal N.

mod cli;
mod config;
mod lines;
mod messages;
mod mux;
mod output;
mod render;
mod source;

use std::io;
use std::process::ExitCode;

use clap::Parser;

use crate::config::{Config, ConfigError, Environment};

fn main() -> ExitCode {
    let args = cli::Args::parse();
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
    let config = match Config::from_args(args, Environment::current()) {
        Ok(config) => config,
        Err(ConfigError::Usage(msg)) => {
            messages::error(&msg);
            return Ok(ExitCode::from(2));
        }
        Err(ConfigError::Source(e)) => return Err(e.into()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("mux-tail worker")
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let mut mux = mux::Mux::new(config.source_opts.clone());
        for spec in config.sources {
            mux.attach(spec)?;
        }
        let output = output::start(render::Renderer::new(config.style))?;
        // Nothing sends commands yet; the sender stays alive so the loop keeps listening.
        let (_control, commands) = tokio::sync::mpsc::channel(16);
        mux.run(output, commands).await
    });
    // Threads blocked in reads (stdin) must not hold the exit up.
    runtime.shutdown_background();
    result
}

/// Whether a closed pipe is somewhere in the error's chain: that ends the program quietly.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
