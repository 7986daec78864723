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
    keep_freed_memory();
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

/// Read buffers (up to 256 KiB each) are freed by the writer thread as soon as their lines are
/// out, and the next read takes a new one. glibc's defaults hand such memory back to the system
/// at once, and the next read then pays for fresh, zeroed pages: a fifth of the reading thread's
/// time when one busy file is followed. Below 1 MiB, allocations come from the heap, and up to
/// 8 MiB free at its top stay there for the next ones (a busy source has up to about 3.5 MiB of
/// buffers on their way: its channel, the mux, the writer's queue).
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called before any other thread runs.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 8 << 20);
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
