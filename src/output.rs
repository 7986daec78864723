//! The writer thread: rendered lines into a 64 KiB buffer, written to stdout.
//!
//! The mux sends [`Out`] messages through a bounded channel; the writer renders them, writes
//! whenever 64 KiB are ready or its queue runs empty, and so is the natural backpressure point: a
//! slow reader fills the channel, the mux stops taking lines from sources, and sources stop
//! reading. Writes go straight to file descriptor 1 (no line buffering on the way).
//!
//! When stdout is a pipe or socket, a second thread waits in `poll` for the reader to go away, so
//! that `mux-tail … | head -1` ends at once even while no input arrives (as GNU tail does).

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsFd;

use tokio::sync::mpsc;

use crate::lines::Batch;
use crate::render::Renderer;
use crate::source::Peer;

/// Bytes collected before a write.
const WRITE_SIZE: usize = 64 * 1024;
/// Messages the writer's queue holds before the mux waits.
const QUEUE: usize = 16;

/// What the mux sends to the writer.
#[derive(Debug)]
pub enum Out {
    /// Source `id` now exists with this label.
    Source(usize, String),
    /// Source `id` is gone.
    Forget(usize),
    /// Lines of source `id`.
    Lines(usize, Batch, Option<Peer>),
}

/// How the output ended.
#[derive(Debug)]
pub enum OutputEnd {
    /// The writer wrote everything it was given and stopped.
    Finished,
    /// The reader of stdout went away (a closed pipe): a quiet end.
    Closed,
    /// Writing failed.
    Failed(io::Error),
}

/// The writer's handle: the queue in, and how the output ended out.
pub struct Output {
    /// Lines and label updates for the writer.
    pub tx: mpsc::Sender<Out>,
    /// Receives how the output ended (from the writer or the pipe watcher).
    pub end: mpsc::UnboundedReceiver<OutputEnd>,
}

/// Starts the writer thread (and the pipe watcher when stdout is a pipe or socket).
pub fn start(renderer: Renderer) -> io::Result<Output> {
    let stdout = File::from(io::stdout().as_fd().try_clone_to_owned()?);
    let (tx, rx) = mpsc::channel(QUEUE);
    let (end_tx, end) = mpsc::unbounded_channel();
    if is_pipe_or_socket(&stdout) {
        let watch = stdout.try_clone()?;
        let end_tx = end_tx.clone();
        std::thread::Builder::new().name("mux-tail stdout watch".into()).spawn(move || {
            if wait_reader_gone(&watch) {
                let _ = end_tx.send(OutputEnd::Closed);
            }
        })?;
    }
    std::thread::Builder::new().name("mux-tail writer".into()).spawn(move || {
        let end = match write_loop(rx, renderer, stdout) {
            Ok(()) => OutputEnd::Finished,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => OutputEnd::Closed,
            Err(e) => OutputEnd::Failed(e),
        };
        let _ = end_tx.send(end);
    })?;
    Ok(Output { tx, end })
}

fn write_loop(
    mut rx: mpsc::Receiver<Out>,
    mut renderer: Renderer,
    mut out: File,
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(2 * WRITE_SIZE);
    while let Some(msg) = rx.blocking_recv() {
        handle(&mut renderer, msg, &mut buf);
        while let Ok(msg) = rx.try_recv() {
            handle(&mut renderer, msg, &mut buf);
            if buf.len() >= WRITE_SIZE {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
        // The queue is empty: whatever is ready goes out now.
        if !buf.is_empty() {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    Ok(())
}

fn handle(renderer: &mut Renderer, msg: Out, buf: &mut Vec<u8>) {
    match msg {
        Out::Source(id, label) => renderer.add_source(id, &label),
        Out::Forget(id) => renderer.remove_source(id),
        Out::Lines(id, batch, _peer) => renderer.render(id, &batch, buf),
    }
}

fn is_pipe_or_socket(f: &File) -> bool {
    use std::os::unix::fs::FileTypeExt;
    f.metadata().map(|m| m.file_type().is_fifo() || m.file_type().is_socket()).unwrap_or(false)
}

/// Blocks until the reading end of stdout is gone; false if that cannot be watched.
fn wait_reader_gone(stdout: &File) -> bool {
    use rustix::event::{poll, PollFd, PollFlags};
    loop {
        // No events asked for: poll reports only errors and hang-ups, so an idle pipe costs no
        // wake-up at all.
        let mut fds = [PollFd::new(stdout, PollFlags::empty())];
        match poll(&mut fds, None) {
            Ok(_) => {
                let got = fds[0].revents();
                if got.intersects(PollFlags::ERR | PollFlags::HUP) {
                    return true;
                }
                if got.contains(PollFlags::NVAL) {
                    return false;
                }
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return false,
        }
    }
}
