//! Wiring: a validated `Config` becomes sources, the writer, keys and the terminal guard, and
//! the mux runs them until the end.

use std::process::ExitCode;

use tokio::sync::mpsc;

use crate::config::{Config, Keys};
use crate::mux::{feedback::Mode, Mux};
use crate::source::cleanup;
use crate::term::Signals;
use crate::{keys, messages, output, render, term};

/// Commands (keys) that may wait for the mux.
const COMMAND_QUEUE: usize = 64;

/// Runs mux-tail with `config`; returns the exit status.
pub fn run(config: Config) -> anyhow::Result<ExitCode> {
    // A panic (which aborts) still gives the terminal back and takes back what sources left.
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        term::restore();
        cleanup::run();
        default(info);
    }));
    raise_fd_limit(config.sources.len());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    // The mux runs as a task, not as the future `block_on` polls: a task it wakes (a file's,
    // at start) and the mux then take turns on the runtime's queue, where the future of
    // `block_on` would be polled only after a look at the I/O driver each time.
    let main = runtime.spawn(async move {
        let (mode, tty) = keys_setup(&config)?;
        // Before any key can be pressed: Ctrl-Z must find its handler in place.
        let signals = Signals::new(tty.is_some())?;
        let status_line = matches!(mode, Mode::StatusLine { .. });
        // Prompts are drawn on the terminal itself when stdout is not it.
        let prompt_tty = match (&tty, mode) {
            (Some(tty), Mode::Stderr) => Some(tty.try_clone()?),
            _ => None,
        };
        let mut mux =
            Mux::new(config.source_opts.clone(), mode, config.filters, config.ignore_case);
        mux.set_stdin_tty(config.stdin_tty);
        mux.set_counting(config.count);
        mux.set_selection(config.level, config.context, config.window);
        if let Some(m) = config.multiline {
            let budget = config.source_opts.lines.pending.limit();
            mux.set_groups(crate::mux::Groups::new(m.rules, m.timeout, budget));
        }
        // The writer's descriptors first: sources may take every one that is left.
        let renderer = render::Renderer::new(config.style, config.layout, config.highlight);
        let output = output::start(renderer, status_line, prompt_tty)?;
        mux.attach_all(config.sources).await?;
        mux.merge_backlog();
        let (commands, received) = mpsc::channel(COMMAND_QUEUE);
        if let Some(tty) = tty {
            keys::start(tty, commands, mux.keys());
        }
        mux.run(output, received, signals).await
    });
    let result = runtime.block_on(main).unwrap_or_else(|e| Err(anyhow::anyhow!("{e}")));
    term::restore();
    cleanup::run();
    // Threads blocked in reads (stdin, keys) must not hold the exit up.
    runtime.shutdown_background();
    result
}

/// Raises the soft limit on open files to the hard limit: every file, connection and watch
/// holds a descriptor, and a thousand sources should not fail for the default 1024. Says once
/// when even the hard limit is below what the `sources` named on the command line need.
fn raise_fd_limit(sources: usize) {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
    // A few descriptors are mux-tail's own (standard streams, the watch, the runtime).
    const OWN: u64 = 16;
    if let Some(max) = getrlimit(Resource::Nofile).current {
        if sources as u64 + OWN > max {
            messages::error(&format!(
                "{sources} sources, but at most {max} open files are allowed (ulimit -Hn): \
                 the others wait until descriptors free up"
            ));
        }
        grow_fd_table((sources as u64 + OWN).max(FD_TABLE).min(max));
    }
}

/// Descriptors the table of open files has room for from the start, at least.
const FD_TABLE: u64 = 1024;

/// Makes the kernel's table of open files room for `size` descriptors now, while mux-tail has
/// one thread: once threads share the table, each time it doubles waits for an RCU grace period
/// (several milliseconds here; following a thousand files paid for four of them at start). A
/// descriptor is placed at `size - 1` (the lowest free one from there) and closed again.
fn grow_fd_table(size: u64) {
    let Some(at) = size.checked_sub(1).and_then(|at| rustix::fd::RawFd::try_from(at).ok()) else {
        return;
    };
    if let Ok(null) = std::fs::File::open("/dev/null") {
        // Failing only costs the waits later.
        let _ = rustix::io::fcntl_dupfd_cloexec(&null, at);
    }
}

/// Decides where key feedback goes and opens the terminal for keys.
fn keys_setup(config: &Config) -> anyhow::Result<(Mode, Option<std::fs::File>)> {
    match config.keys {
        Keys::Off => return Ok((Mode::Off, None)),
        Keys::OffStdinIsTerminal => {
            messages::error("keys are off: standard input is a source and the terminal");
            return Ok((Mode::Off, None));
        }
        Keys::Auto | Keys::Always => {}
    }
    if config.keys == Keys::Auto {
        if let Some(reader) = term::terminal_reader_downstream() {
            messages::error(&format!(
                "keys are off: the output goes to {reader}, which reads the terminal too \
                 (--keys=always to insist)"
            ));
            return Ok((Mode::Off, None));
        }
    }
    let tty = match term::open_tty() {
        Ok(tty) => tty,
        Err(_) if config.keys == Keys::Auto => return Ok((Mode::Off, None)),
        Err(e) => anyhow::bail!("--keys=always: no terminal to read keys from: {e}"),
    };
    term::save(&tty)?;
    term::ignore_background_reads();
    let foreground = term::is_foreground(std::os::fd::AsFd::as_fd(&tty));
    let mode = if config.style.terminal && foreground {
        Mode::StatusLine { notes_inline: config.stderr_tty }
    } else {
        Mode::Stderr
    };
    Ok((mode, Some(tty)))
}
