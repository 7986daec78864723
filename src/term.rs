//! The terminal guard: key mode on `/dev/tty`, its restoration on every way out, and the signals
//! that concern the terminal (Ctrl-C, Ctrl-Z and `fg`, a change of size).
//!
//! Key mode clears only `ICANON` and `ECHO`: keys arrive one at a time and are not echoed, while
//! output processing (`OPOST`, so `\n` still becomes `\r\n` for a downstream `grep` writing to the
//! same terminal) and signal keys (`ISIG`: Ctrl-C, Ctrl-Z) stay as they were. The mode is set only
//! while mux-tail is in the terminal's foreground process group.
//!
//! The saved mode lives in a global so that every exit path can restore it — normal exit, signals,
//! a panic (the hook calls [`restore`]) and Ctrl-Z (restored before stopping, set again on `fg`).
//! Restoring is idempotent. The status line (see [`crate::output`]) registers itself here too, so
//! that an abnormal exit also gives the terminal its full height back.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

use rustix::termios::{self, LocalModes, OptionalActions, SpecialCodeIndex, Termios};
use tokio::signal::unix::{signal, Signal, SignalKind};

struct Saved {
    tty: File,
    original: Termios,
    /// Key mode is set right now.
    applied: bool,
}

static SAVED: Mutex<Option<Saved>> = Mutex::new(None);
/// Set while a status line holds the bottom row of the terminal on stdout.
static STATUS_LINE: Mutex<bool> = Mutex::new(false);
/// Counts SIGCONTs, so that a thread can wait for the program to come back to the foreground.
static CONTINUED: (Mutex<u64>, Condvar) = (Mutex::new(0), Condvar::new());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Programs that read the terminal themselves (pagers, fuzzy finders, editors): when stdout is
/// piped into one of them, mux-tail leaves the keys to it.
const TERMINAL_READERS: &[&str] = &[
    "less", "more", "most", "pg", "bat", "batcat", "vi", "vim", "nvim", "view", "lnav", "fzf",
    "sk", "peco",
];

/// Shells, which a pipeline's programs are for an instant before they start.
const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "fish", "ksh", "mksh", "busybox"];

/// The name of the program reading stdout's pipe, if it is one that reads the terminal too.
pub fn terminal_reader_downstream() -> Option<String> {
    let pipe = std::fs::read_link("/proc/self/fd/1").ok()?;
    if !pipe.to_string_lossy().starts_with("pipe:") {
        return None;
    }
    // The reader may not be started yet, or still be a shell about to start it: look again for
    // a moment.
    for _ in 0..40 {
        let mut settled = false;
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let pid = entry.file_name();
            if !pid.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let dir = entry.path();
            if std::fs::read_link(dir.join("fd/0")).ok().as_ref() != Some(&pipe) {
                continue;
            }
            let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            let comm = comm.trim();
            if TERMINAL_READERS.contains(&comm) {
                return Some(comm.to_string());
            }
            settled |= !SHELLS.contains(&comm);
        }
        if settled {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    None
}

/// Opens the controlling terminal; fails when there is none (cron, CI, systemd).
pub fn open_tty() -> io::Result<File> {
    File::options().read(true).write(true).open("/dev/tty")
}

/// Whether this process is in the terminal's foreground process group.
pub fn is_foreground(tty: BorrowedFd<'_>) -> bool {
    termios::tcgetpgrp(tty).is_ok_and(|pgrp| pgrp == rustix::process::getpgrp())
}

/// Remembers the terminal's current mode, to be restored on every exit path.
pub fn save(tty: &File) -> io::Result<()> {
    let original = termios::tcgetattr(tty)?;
    *lock(&SAVED) = Some(Saved { tty: tty.try_clone()?, original, applied: false });
    Ok(())
}

/// Sets key mode if mux-tail is in the foreground; true if key mode is now set.
pub fn enter_key_mode() -> bool {
    let mut saved = lock(&SAVED);
    let Some(s) = saved.as_mut() else { return false };
    if !is_foreground(s.tty.as_fd()) {
        return false;
    }
    if s.applied {
        return true;
    }
    let mut mode = s.original.clone();
    mode.local_modes.remove(LocalModes::ICANON | LocalModes::ECHO);
    mode.special_codes[SpecialCodeIndex::VMIN] = 1;
    mode.special_codes[SpecialCodeIndex::VTIME] = 0;
    s.applied = termios::tcsetattr(&s.tty, OptionalActions::Now, &mode).is_ok();
    s.applied
}

/// Puts the terminal back as it was (idempotent; safe from a panic hook).
pub fn restore() {
    if std::mem::take(&mut *lock(&STATUS_LINE)) {
        // Best effort: give the terminal its full height back and clear the status row.
        let mut out = io::stdout().lock();
        let _ = out.write_all(STATUS_TEARDOWN);
        let _ = out.flush();
    }
    let mut saved = lock(&SAVED);
    if let Some(s) = saved.as_mut() {
        if s.applied {
            let _ = termios::tcsetattr(&s.tty, OptionalActions::Now, &s.original);
            s.applied = false;
        }
    }
}

/// Escape sequence that removes the status line, on whose row the cursor waits: erase from the
/// start of that row down.
pub const STATUS_TEARDOWN: &[u8] = b"\r\x1b[J";

/// Records whether a status line is on screen (so that [`restore`] can remove it).
pub fn set_status_line(on: bool) {
    *lock(&STATUS_LINE) = on;
}

/// Notes that the program was continued (SIGCONT).
pub fn continued() {
    let (count, cv) = &CONTINUED;
    *lock(count) += 1;
    cv.notify_all();
}

/// How many times the program was continued so far (see [`wait_continued`]).
pub fn generation() -> u64 {
    *lock(&CONTINUED.0)
}

/// Blocks until the program is continued after [`generation`] returned `seen`.
pub fn wait_continued(seen: u64) {
    let (count, cv) = &CONTINUED;
    let mut g = lock(count);
    while *g == seen {
        g = cv.wait(g).unwrap_or_else(|e| e.into_inner());
    }
}

/// Ignores SIGTTIN, so that reading the terminal from the background fails (EIO) instead of
/// stopping the whole program.
pub fn ignore_background_reads() {
    // SAFETY: setting a signal's disposition to "ignore" runs no code in signal context.
    unsafe {
        libc::signal(libc::SIGTTIN, libc::SIG_IGN);
    }
}

/// Stops this process (as Ctrl-Z would have), returning once it is continued.
pub fn stop_self() {
    use rustix::process::{getpid, kill_process, Signal};
    let _ = kill_process(getpid(), Signal::STOP);
}

/// The signals mux-tail handles, registered before anything can send them.
pub struct Signals {
    /// SIGINT (Ctrl-C).
    pub int: Option<Signal>,
    /// SIGTERM.
    pub term: Option<Signal>,
    /// SIGHUP (the terminal went away).
    pub hup: Option<Signal>,
    /// SIGTSTP (Ctrl-Z), with keys on a terminal.
    pub tstp: Option<Signal>,
    /// SIGCONT (`fg`, `bg`), with keys on a terminal.
    pub cont: Option<Signal>,
    /// SIGWINCH (the terminal changed size), with keys on a terminal.
    pub winch: Option<Signal>,
}

impl Signals {
    /// Takes over SIGINT, SIGTERM and SIGHUP; with `interactive` (keys on a terminal) also
    /// SIGTSTP, SIGCONT and SIGWINCH. Must run in the runtime.
    pub fn new(interactive: bool) -> io::Result<Signals> {
        let optional = |kind| interactive.then(|| signal(kind)).transpose();
        Ok(Signals {
            int: Some(signal(SignalKind::interrupt())?),
            term: Some(signal(SignalKind::terminate())?),
            hup: Some(signal(SignalKind::hangup())?),
            tstp: optional(SignalKind::from_raw(libc::SIGTSTP))?,
            cont: optional(SignalKind::from_raw(libc::SIGCONT))?,
            winch: optional(SignalKind::window_change())?,
        })
        .and_then(|signals| {
            // SAFETY: the action only stores to an atomic, which is async-signal-safe.
            unsafe {
                signal_hook_registry::register(libc::SIGINT, || {
                    INTERRUPTED.store(true, Ordering::Relaxed)
                })
            }?;
            if interactive {
                // SAFETY: the action only stores to an atomic, which is async-signal-safe.
                unsafe {
                    signal_hook_registry::register(libc::SIGWINCH, || {
                        RESIZED.store(true, Ordering::Relaxed)
                    })
                }?;
            }
            Ok(signals)
        })
    }
}

impl Signals {
    /// No signals at all (for tests of the loop, which must not take over the test's signals).
    pub fn none() -> Signals {
        Signals { int: None, term: None, hup: None, tstp: None, cont: None, winch: None }
    }
}

/// Set from the SIGWINCH handler itself, at once: the writer must know of a new size before it
/// writes another byte, not once the loop has seen the signal.
static RESIZED: AtomicBool = AtomicBool::new(false);

/// Set from the SIGINT handler itself: a Ctrl-C that reached mux-tail before it decided how to
/// end decides it (130), even when the closed output was noticed first (`… | cat`: Ctrl-C ends
/// both).
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether SIGINT was received.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Whether the terminal changed size since the last call.
pub fn take_resized() -> bool {
    RESIZED.swap(false, Ordering::Relaxed)
}

/// Receives from an optional signal stream (never, when there is none). Cancel-safe.
pub async fn recv_optional(sig: &mut Option<Signal>) -> Option<()> {
    match sig {
        Some(sig) => sig.recv().await,
        None => std::future::pending().await,
    }
}

/// Ctrl-Z, once the screen is clean: gives the terminal back as it was, stops, and returns once
/// continued (see [`resume`]).
pub fn suspend() {
    restore();
    stop_self();
}

/// Continued (after Ctrl-Z, or `fg`): key mode again if in the foreground; true if it is.
pub fn resume() -> bool {
    continued();
    enter_key_mode()
}
