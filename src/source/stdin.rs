//! Standard input (`-`), and pipes or devices named as files: read to their end on a thread.
//!
//! A blocking read cannot be cancelled, so these are read on a thread of their own. When the
//! stream is dropped the thread stops at its next send; until then it may sit in `read`.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::PathBuf;

use super::{Emitter, SourceEvent, SourceOptions, SourceStream};
use crate::line::Arrival;
use crate::line::LineLimits;

/// Starts reading standard input.
pub fn open(opts: &SourceOptions) -> SourceStream {
    let limits = opts.lines.clone();
    spawn("mux-tail stdin", move |emit| {
        pump(rustix::stdio::stdin(), &limits, &emit);
    })
}

/// Starts reading a FIFO or character device at `path` (opening a FIFO waits for a writer).
pub fn open_path(path: PathBuf, opts: &SourceOptions) -> SourceStream {
    let limits = opts.lines.clone();
    spawn("mux-tail pipe", move |emit| match File::open(&path) {
        Ok(file) => pump(file.as_fd(), &limits, &emit),
        Err(e) => {
            let _ = emit.blocking_send(SourceEvent::Failed(format!("cannot open: {e}")));
        }
    })
}

fn spawn(name: &str, body: impl FnOnce(Emitter) + Send + 'static) -> SourceStream {
    let (emit, stream) = SourceStream::channel();
    let started = std::thread::Builder::new().name(name.into()).spawn(move || body(emit));
    if let Err(e) = started {
        // Without a thread there is no reader; the stream reports that and ends.
        let (emit, stream) = SourceStream::channel();
        let _ = emit.try_send(SourceEvent::Failed(format!("cannot start a reader: {e}")));
        return stream;
    }
    stream
}

/// Reads `fd` to its end, sending lines; stops early when the stream is dropped.
fn pump(fd: BorrowedFd<'_>, limits: &LineLimits, emit: &Emitter) {
    let mut lines = limits.splitter();
    loop {
        match lines.read_from(fd, None, None) {
            Ok(0) => break,
            Ok(_) => {
                if let Some(batch) = lines.take_batch() {
                    if emit.blocking_send(SourceEvent::lines(Arrival::now(batch, None))).is_err() {
                        return;
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait_readable(fd),
            Err(e) => {
                let _ = emit.blocking_send(SourceEvent::Failed(format!("read error: {e}")));
                return;
            }
        }
    }
    if let Some(batch) = lines.finish() {
        let _ = emit.blocking_send(SourceEvent::lines(Arrival::now(batch, None)));
    }
}

/// Waits until a non-blocking descriptor (one we share with others) has data or hangs up.
fn wait_readable(fd: BorrowedFd<'_>) {
    use rustix::event::{poll, PollFd, PollFlags};
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    let _ = poll(&mut fds, None);
}
