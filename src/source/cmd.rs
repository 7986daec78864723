//! Commands (`cmd:COMMAND`): `sh -c COMMAND` in a process group of its own; its stdout and
//! stderr lines, until it exits.
//!
//! Each of the two pipes has its own line splitter, so lines stay whole. The source ends once
//! both pipes are closed and the command has exited; a non-zero status makes it a failed source
//! (noted; the exit status is 1). With `--restart` it never ends: each time the command exits
//! it is started again after a pause that doubles from 1 s to 30 s (back to 1 s after a run of
//! 10 s or more), with a note each time. Detaching (or
//! the end of the program) terminates the whole process group — the command and everything it
//! started — with SIGTERM, then SIGKILL for what is left after a grace period.

use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, ChildStderr, ChildStdout, Command};

use super::SourceEvent;
use super::{cleanup, Emitter, SourceOptions, SourceStream};
use crate::line::{Arrival, LineLimits, Stream};

/// The pause before the first restart, and the longest.
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const LONGEST_PAUSE: Duration = Duration::from_secs(30);
/// A run at least this long sets the pause back to the first.
const GOOD_RUN: Duration = Duration::from_secs(10);

/// A started command: the child, its process group and its two pipes.
struct Started {
    child: Child,
    pgid: i32,
    stdout: ChildStdout,
    stderr: ChildStderr,
}

fn start(command: &str) -> std::io::Result<Started> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    let pgid = child.id().map(|id| id as i32).unwrap_or_default();
    cleanup::add_group(pgid);
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    Ok(Started { child, pgid, stdout, stderr })
}

/// Starts the command; with `--restart` it is started again each time it exits.
pub fn open(command: &str, opts: &SourceOptions) -> anyhow::Result<SourceStream> {
    let first = start(command).map_err(|e| anyhow::anyhow!("cannot start sh: {e}"))?;
    let limits = opts.lines.clone();
    let restart = opts.restart;
    let command = command.to_string();
    Ok(SourceStream::spawn(move |emit| async move {
        let mut started = Some(first);
        let mut pause = FIRST_PAUSE;
        loop {
            let began = Instant::now();
            let ended = match started.take() {
                Some(run) => match once(run, &limits, &emit).await {
                    Ok(ended) => ended,
                    Err(_) => return, // detached
                },
                None => Some("could not be started".to_string()),
            };
            if !restart {
                // A command that fails is a source that failed: noted, and the exit status is 1.
                if let Some(failure) = ended {
                    let _ = emit.send(SourceEvent::Failed(failure)).await;
                }
                return;
            }
            // Its open event ends with this run.
            if emit.send(SourceEvent::InputEnded(None)).await.is_err() {
                return;
            }
            if began.elapsed() >= GOOD_RUN {
                pause = FIRST_PAUSE;
            }
            let how = ended.unwrap_or_else(|| "exited with status 0".into());
            let secs = pause.as_secs();
            if emit.note(format!("{how}; restarting in {secs}s")).await.is_err() {
                return;
            }
            emit.status.waiting.store(true, Ordering::Relaxed);
            tokio::time::sleep(pause).await;
            emit.status.waiting.store(false, Ordering::Relaxed);
            pause = (pause * 2).min(LONGEST_PAUSE);
            emit.status.restarts.fetch_add(1, Ordering::Relaxed);
            match start(&command) {
                Ok(run) => started = Some(run),
                Err(e) => {
                    if emit.note(format!("cannot start sh: {e}")).await.is_err() {
                        return;
                    }
                }
            }
        }
    }))
}

/// One run of the command: its lines until both pipes close, then how it ended (`None`: with
/// success). `Err` when the source was detached.
async fn once(
    run: Started,
    limits: &LineLimits,
    emit: &Emitter,
) -> Result<Option<String>, super::Detached> {
    let Started { mut child, pgid, stdout, stderr } = run;
    // Terminates the group if this task is dropped (detached) before the command ended.
    let group = Group(pgid);
    let (a, b) = tokio::join!(
        pump(stdout, Stream::Stdout, limits, emit),
        pump(stderr, Stream::Stderr, limits, emit)
    );
    a?;
    b?;
    let status = child.wait().await;
    std::mem::forget(group);
    cleanup::forget_group(pgid);
    Ok(match status {
        Ok(s) if s.success() => None,
        Ok(s) => Some(match (s.code(), std::os::unix::process::ExitStatusExt::signal(&s)) {
            (Some(code), _) => format!("exited with status {code}"),
            (None, Some(sig)) => format!("killed by signal {sig}"),
            (None, None) => format!("ended: {s}"),
        }),
        Err(e) => Some(format!("cannot wait for it: {e}")),
    })
}

/// Reads one pipe's lines (tagged with which pipe) until it closes; `Err` when the source was
/// detached.
async fn pump(
    mut pipe: impl AsyncRead + Unpin,
    stream: Stream,
    limits: &LineLimits,
    emit: &Emitter,
) -> Result<(), super::Detached> {
    let mut lines = limits.splitter();
    let tagged =
        |batch| SourceEvent::lines(Arrival { stream: Some(stream), ..Arrival::now(batch, None) });
    loop {
        match pipe.read_buf(lines.read_buf()).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                lines.note_read(n);
                if let Some(batch) = lines.take_batch() {
                    emit.send(tagged(batch)).await?;
                }
            }
        }
    }
    if let Some(batch) = lines.finish() {
        emit.send(tagged(batch)).await?;
    }
    Ok(())
}

/// A running command's process group; dropping it terminates the group.
struct Group(i32);

impl Drop for Group {
    fn drop(&mut self) {
        let pgid = self.0;
        cleanup::terminate_group(pgid);
        // SIGKILL what is still there after the grace period, without holding anyone up. The
        // group stays registered until it is gone: should mux-tail end meanwhile (and this
        // thread with it), its last cleanup still kills the group.
        let _ = std::thread::Builder::new().name("mux-tail reaper".into()).spawn(move || {
            let end = std::time::Instant::now() + cleanup::GRACE;
            while cleanup::group_alive(pgid) {
                if std::time::Instant::now() >= end {
                    cleanup::kill_group(pgid);
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            cleanup::forget_group(pgid);
        });
    }
}
