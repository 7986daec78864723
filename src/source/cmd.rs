//! Commands (`cmd:COMMAND`): `sh -c COMMAND` in a process group of its own; its stdout and
//! stderr lines, until it exits.
//!
//! Each of the two pipes has its own line splitter, so lines stay whole. The source ends once
//! both pipes are closed and the command has exited; a non-zero status makes it a failed source
//! (noted; the exit status is 1). Detaching (or
//! the end of the program) terminates the whole process group — the command and everything it
//! started — with SIGTERM, then SIGKILL for what is left after a grace period.

use std::process::Stdio;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use super::SourceEvent;
use super::{cleanup, Emitter, SourceOptions, SourceStream};
use crate::line::{Arrival, LineLimits, Stream};

/// Starts the command.
pub fn open(command: &str, opts: &SourceOptions) -> anyhow::Result<SourceStream> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start sh: {e}"))?;
    let pgid = child.id().map(|id| id as i32).unwrap_or_default();
    cleanup::add_group(pgid);
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let limits = opts.lines.clone();
    Ok(SourceStream::spawn(move |emit| async move {
        // Terminates the group if this task is dropped (detached) before the command ended.
        let group = Group(pgid);
        let (a, b) = tokio::join!(
            pump(stdout, Stream::Stdout, &limits, &emit),
            pump(stderr, Stream::Stderr, &limits, &emit)
        );
        if a.is_err() || b.is_err() {
            return; // detached
        }
        let status = child.wait().await;
        std::mem::forget(group);
        cleanup::forget_group(pgid);
        // A command that fails is a source that failed: noted, and the exit status is 1.
        let failure = match status {
            Ok(s) if s.success() => return,
            Ok(s) => match (s.code(), std::os::unix::process::ExitStatusExt::signal(&s)) {
                (Some(code), _) => format!("exited with status {code}"),
                (None, Some(sig)) => format!("killed by signal {sig}"),
                (None, None) => format!("ended: {s}"),
            },
            Err(e) => format!("cannot wait for it: {e}"),
        };
        let _ = emit.send(super::SourceEvent::Failed(failure)).await;
    }))
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
        cleanup::forget_group(pgid);
        cleanup::terminate_group(pgid);
        // SIGKILL what is still there after the grace period, without holding anyone up.
        let _ = std::thread::Builder::new().name("mux-tail reaper".into()).spawn(move || {
            let end = std::time::Instant::now() + cleanup::GRACE;
            while cleanup::group_alive(pgid) {
                if std::time::Instant::now() >= end {
                    cleanup::kill_group(pgid);
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
    }
}
