//! The writer thread: rendered lines into a 64 KiB buffer, written to stdout.
//!
//! The mux sends [`Out`] messages through a bounded channel; the writer renders them, writes
//! whenever 64 KiB are ready or its queue runs empty, and so is the natural backpressure point: a
//! slow reader fills the channel, the mux stops taking lines from sources, and sources stop
//! reading. Writes go straight to file descriptor 1 (no line buffering on the way).
//!
//! Lines may skip that hand-off: when the writer has nothing queued, the mux renders and writes
//! them itself ([`OutPermit::send`]). Into a pipe or a socket, a few lines at a time, so that a
//! line arriving alone is out one thread wake-up sooner; that write never waits (`RWF_NOWAIT`):
//! what the reader has no room for yet is left to the writer thread, so a stalled reader never
//! stops the mux (keys, signals) from going on. Into a file in memory (tmpfs, ramfs), every
//! message: such a write only copies into pages of memory, and doing it where the lines were read
//! (while they are still in that core's cache, with no thread to wake) costs an eighth to a
//! fifth less CPU per line than handing them over (BENCHMARKS.md). A terminal, or any other
//! file, is written by the writer thread alone: a terminal can hold a write back, and a write to
//! a disk can wait on the device (throttled behind dirty pages, or for good when the device is
//! gone or the file system frozen) in a sleep that only a fatal signal ends, which would leave
//! the mux deaf to keys and Ctrl-C.
//!
//! When stdout is a pipe or socket, a second thread waits in `poll` for the reader to go away, so
//! that `mux-tail … | head -1` ends at once even while no input arrives (as GNU tail does).

use std::fs::File;
use std::io::{self, IoSlice, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::FileTypeExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::line::Arrival;
use crate::render::Renderer;

mod sender;
mod status;

use sender::Shared;
pub use sender::{OutPermit, OutSender};
use status::StatusLine;

/// A write that takes what there is room for now.
const NOWAIT: rustix::io::ReadWriteFlags = rustix::io::ReadWriteFlags::NOWAIT;

/// Bytes collected before a write.
const WRITE_SIZE: usize = 64 * 1024;
/// The size asked for a pipe on stdout.
const PIPE_SIZE: usize = 1 << 20;
/// Messages the writer's queue holds before the mux waits.
const QUEUE: usize = 8;
/// Bytes of lines the mux may render and write itself into a pipe; more go to the writer
/// thread, which renders and writes them while the mux reads on.
const DIRECT_BYTES: usize = 16 * 1024;

/// What of stdout the mux may write itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direct {
    /// Nothing: the writer thread writes everything (a terminal, a file on a disk or a network,
    /// or since a write of the mux's failed).
    Never,
    /// A pipe or socket: messages of up to [`DIRECT_BYTES`] of lines, with writes that never
    /// wait.
    Small,
    /// A file in memory: every message, with writes that only wait for pages of memory.
    All,
}

/// What the mux sends to the writer.
#[derive(Debug)]
pub enum Out {
    /// Source `id` now exists: its label and spec.
    Source(usize, String, String),
    /// Source `id` is gone.
    Forget(usize),
    /// Lines of source `id`.
    Lines(usize, Arrival),
    /// How many lines source `id` had (`--count`).
    Count(usize, u64),
    /// mux-tail's own lines (list, help, notes) shown among the log lines on a terminal; already
    /// safe to show.
    Info(Vec<String>),
    /// mux-tail's own lines for stderr (each gets the `mux-tail: ` prefix); already safe to show.
    Stderr(Vec<String>),
    /// A prompt being typed, drawn on the terminal's current row (`None`: clear it); already safe
    /// to show. Used when stdout is not that terminal.
    Prompt(Option<String>),
    /// A line for the terminal itself (not stdout, not stderr), when stdout is not it.
    Terminal(String),
    /// New text for the status line; `true` while it is a prompt being typed (its end, where
    /// the typing is, stays in view on a narrow terminal).
    Status(String, bool),
    /// The terminal changed size: lay the status line out again.
    Resize,
    /// Remove the status line (the program is about to stop) and say when done.
    Suspend(tokio::sync::oneshot::Sender<()>),
    /// Put the status line back.
    Resume,
    /// Several messages at once, in order (one hand-off for many files' first lines).
    Many(Vec<Out>),
    /// Write what is ready: the rest of what the mux began to write itself.
    Flush,
}

impl Out {
    /// Bytes of lines the message carries (about what it holds in memory).
    pub fn line_bytes(&self) -> usize {
        match self {
            Out::Lines(_, lines) => lines.batch.data_len(),
            Out::Many(all) => all.iter().map(Out::line_bytes).sum(),
            _ => 0,
        }
    }

    /// Whether the message only renders lines for stdout (nothing for stderr or the terminal),
    /// so that the mux may handle it itself.
    fn stdout_only(&self) -> bool {
        match self {
            Out::Source(..) | Out::Forget(_) | Out::Lines(..) | Out::Count(..) | Out::Info(_) => {
                true
            }
            Out::Many(all) => all.iter().all(Out::stdout_only),
            _ => false,
        }
    }
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
    pub tx: OutSender,
    /// Receives how the output ended (from the writer or the pipe watcher).
    pub end: mpsc::UnboundedReceiver<OutputEnd>,
}

/// Starts the writer thread (and the pipe watcher when stdout is a pipe or socket).
///
/// With `status_line`, stdout is a terminal whose bottom row shows a status line (see
/// [`StatusLine`]); `tty` is the terminal prompts are drawn on when stdout is not it.
pub fn start(renderer: Renderer, status_line: bool, tty: Option<File>) -> io::Result<Output> {
    let stdout = File::from(io::stdout().as_fd().try_clone_to_owned()?);
    let (end_tx, end) = mpsc::unbounded_channel();
    let direct = match stdout.metadata().map(|m| m.file_type()) {
        Ok(t) if t.is_fifo() || t.is_socket() => Direct::Small,
        Ok(t) if t.is_file() && in_memory(&stdout) => Direct::All,
        _ => Direct::Never,
    };
    let piped = direct == Direct::Small;
    if piped {
        // A pipe of 1 MiB rather than 64 KiB: the reader (grep, less) and mux-tail then take
        // turns a sixteenth as often when lines come fast. Where the system allows less, the
        // pipe stays as it is.
        let _ = rustix::pipe::fcntl_setpipe_size(&stdout, PIPE_SIZE);
        let watch = stdout.try_clone()?;
        let end_tx = end_tx.clone();
        std::thread::Builder::new().name("mux-tail stdout watch".into()).spawn(move || {
            if wait_reader_gone(&watch) {
                let _ = end_tx.send(OutputEnd::Closed);
            }
        })?;
    }
    spawn_writer(Writer::new(renderer, status_line, tty, stdout, direct), end_tx, end)
}

/// Whether `file` is on a file system in memory, whose writes wait on no device (nor on dirty
/// pages being written back: there is no writeback).
fn in_memory(file: &File) -> bool {
    // Magic numbers from statfs(2).
    const MEMORY: &[u64] = &[
        0x0102_1994, // tmpfs
        0x8584_58F6, // ramfs
    ];
    match rustix::fs::fstatfs(file) {
        #[allow(clippy::unnecessary_cast)]
        Ok(fs) => MEMORY.contains(&(fs.f_type as u64 & 0xFFFF_FFFF)),
        Err(_) => false,
    }
}

/// Starts the writer thread with `writer`.
fn spawn_writer(
    writer: Writer,
    end_tx: mpsc::UnboundedSender<OutputEnd>,
    end: mpsc::UnboundedReceiver<OutputEnd>,
) -> io::Result<Output> {
    let (tx, rx) = mpsc::channel(QUEUE);
    let shared = Arc::new(Shared { writer: Mutex::new(writer), queued: AtomicUsize::new(0) });
    let theirs = shared.clone();
    std::thread::Builder::new().name("mux-tail writer".into()).spawn(move || {
        let end = match write_loop(rx, &theirs) {
            Ok(()) => OutputEnd::Finished,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => OutputEnd::Closed,
            Err(e) => OutputEnd::Failed(e),
        };
        let _ = end_tx.send(end);
    })?;
    Ok(Output { tx: OutSender { queue: tx, shared: Some(shared) }, end })
}

impl Writer {
    /// A writer of `out`, which the mux may write too as `direct` says.
    fn new(
        renderer: Renderer,
        status_line: bool,
        tty: Option<File>,
        out: File,
        direct: Direct,
    ) -> Writer {
        let status = status_line.then(StatusLine::default);
        let (buf, framed, prompt) = Default::default();
        Writer { renderer, status, tty, prompt, buf, framed, out, direct, by_mux: false }
    }
}

/// The writer thread's state.
struct Writer {
    renderer: Renderer,
    status: Option<StatusLine>,
    /// The terminal for prompts, when stdout is not it.
    tty: Option<File>,
    /// The prompt drawn there now (the cursor after it), which a message must not run into.
    prompt: Option<String>,
    /// Rendered output not yet written.
    buf: Vec<u8>,
    /// The same, framed by the status line.
    framed: Vec<u8>,
    /// Stdout.
    out: File,
    /// What of it the mux may write (until a write of the mux's fails).
    direct: Direct,
    /// The mux is handling a message: it writes once, after the whole message (a write that
    /// fails leaves everything rendered to the writer thread), and into a pipe, only what
    /// stdout takes now (the rest stays in `buf`).
    by_mux: bool,
}

fn write_loop(mut rx: mpsc::Receiver<Out>, shared: &Shared) -> io::Result<()> {
    {
        let mut w = shared.lock();
        w.buf.reserve(2 * WRITE_SIZE);
        if let Some(status) = &mut w.status {
            status.setup();
        }
        w.flush()?;
    }
    while let Some(msg) = rx.blocking_recv() {
        let mut w = shared.lock();
        let mut handled = 1;
        w.handle(msg)?;
        while let Ok(msg) = rx.try_recv() {
            handled += 1;
            w.handle(msg)?;
            if w.buf.len() >= WRITE_SIZE {
                w.flush()?;
            }
        }
        // The queue is empty: whatever is ready goes out now.
        w.flush()?;
        drop(w);
        shared.queued.fetch_sub(handled, Ordering::AcqRel);
    }
    let mut w = shared.lock();
    w.flush()?;
    if let Some(status) = &mut w.status {
        let mut end = Vec::new();
        status.teardown(&mut end);
        w.out.write_all(&end)?;
    }
    Ok(())
}

impl Writer {
    /// Writes out what is ready (framed by the status line, if there is one).
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.status {
            Some(status) => {
                status.frame(&self.buf, &mut self.framed);
                self.buf.clear();
                if !self.framed.is_empty() {
                    self.out.write_all(&self.framed)?;
                    self.framed.clear();
                }
            }
            None => {
                // What was written leaves the buffer even when a later write fails, so that
                // whoever tries again writes no byte twice.
                let nowait = self.by_mux && self.direct == Direct::Small;
                let mut done = 0;
                let ended = loop {
                    if done == self.buf.len() {
                        break Ok(());
                    }
                    let rest = &self.buf[done..];
                    let wrote = if nowait {
                        rustix::io::pwritev2(&self.out, &[IoSlice::new(rest)], u64::MAX, NOWAIT)
                    } else {
                        rustix::io::write(&self.out, rest)
                    };
                    match wrote {
                        Ok(0) if nowait => break Ok(()),
                        Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                        Ok(n) => done += n,
                        Err(rustix::io::Errno::INTR) => {}
                        Err(rustix::io::Errno::AGAIN) if nowait => break Ok(()),
                        Err(e) => break Err(io::Error::from(e)),
                    }
                };
                self.buf.drain(..done);
                ended?;
            }
        }
        Ok(())
    }

    /// Writes `text` on the terminal (when stdout is not it), after what is ready for stdout.
    fn write_terminal(&mut self, text: &str) -> io::Result<()> {
        if self.tty.is_some() {
            self.flush()?;
            if let Some(mut tty) = self.tty.as_ref() {
                let _ = tty.write_all(text.as_bytes());
            }
        }
        Ok(())
    }

    /// Writes a message of mux-tail's own with `write`: a prompt on the terminal is taken off
    /// its row first and drawn again after the message, so that the two never share a row.
    fn around_prompt(&mut self, write: impl FnOnce(&mut Self) -> io::Result<()>) -> io::Result<()> {
        let Some(prompt) = self.prompt.take() else { return write(self) };
        self.write_terminal("\r\x1b[K")?;
        let written = write(self);
        self.write_terminal(&prompt)?;
        self.prompt = Some(prompt);
        written
    }

    fn handle(&mut self, msg: Out) -> io::Result<()> {
        let buf = &mut self.buf;
        match msg {
            Out::Source(id, label, spec) => self.renderer.add_source(id, &label, &spec),
            Out::Forget(id) => self.renderer.remove_source(id),
            Out::Lines(id, lines) => self.renderer.render(id, &lines, buf),
            Out::Many(all) => {
                for msg in all {
                    self.handle(msg)?;
                    if !self.by_mux && self.buf.len() >= WRITE_SIZE {
                        self.flush()?;
                    }
                }
            }
            Out::Count(id, n) => self.renderer.count(id, n, buf),
            Out::Info(lines) => {
                for line in lines {
                    buf.extend_from_slice(line.as_bytes());
                    buf.push(b'\n');
                }
            }
            Out::Stderr(lines) => {
                // What was written before the message comes out before it.
                self.flush()?;
                let mut text = String::new();
                for line in lines {
                    text.push_str("mux-tail: ");
                    text.push_str(&line);
                    text.push('\n');
                }
                self.around_prompt(|_| {
                    // Writing to stderr never fails the program.
                    let _ = io::stderr().lock().write_all(text.as_bytes());
                    Ok(())
                })?;
            }
            Out::Prompt(prompt) => {
                self.prompt = prompt.map(|p| format!("mux-tail: {p}"));
                let text = format!("\r\x1b[K{}", self.prompt.as_deref().unwrap_or(""));
                self.write_terminal(&text)?;
            }
            Out::Terminal(line) => {
                self.around_prompt(|w| w.write_terminal(&format!("mux-tail: {line}\n")))?
            }
            Out::Status(text, typing) => {
                if let Some(status) = &mut self.status {
                    status.set_text(text, typing);
                }
            }
            // The size is read when the output is written (see `StatusLine::frame`): this only
            // makes sure a write happens soon.
            Out::Resize => {}
            Out::Flush => {}
            Out::Suspend(done) => {
                self.flush()?;
                if let Some(status) = &mut self.status {
                    let mut end = Vec::new();
                    status.teardown(&mut end);
                    self.out.write_all(&end)?;
                }
                let _ = done.send(());
            }
            Out::Resume => {
                if let Some(status) = &mut self.status {
                    if !status.shown {
                        status.setup();
                    }
                }
            }
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use std::io::{Read, Seek};
    use std::time::SystemTime;

    use super::*;
    use crate::line::Batch;
    use crate::render::{Layout, Style};

    fn lines(id: usize, n: usize) -> Out {
        let lines = (0..n).map(|i| format!("{}", i % 10).into_bytes()).collect::<Vec<_>>();
        let time = SystemTime::UNIX_EPOCH;
        Out::Lines(id, Arrival { batch: Batch::from(lines), peer: None, time, stream: None })
    }

    fn expected(label: &str, n: usize) -> String {
        (0..n).map(|i| format!("[{label}] {}\n", i % 10)).collect()
    }

    /// A stdout that refuses a write that never waits (a file here, as a pipe on an old kernel
    /// would): the mux's first write fails, and all of it, the rest of that message too, comes
    /// out once and in order from the writer thread.
    #[tokio::test]
    async fn a_write_refused_without_waiting_is_left_to_the_writer_thread() {
        let mut file = tempfile::tempfile().unwrap();
        let style = Style { label: true, color: false, terminal: false };
        let renderer = Renderer::new(style, Layout::Default { timestamps: false }, None);
        let (end_tx, end) = mpsc::unbounded_channel();
        let writer = Writer::new(renderer, false, None, file.try_clone().unwrap(), Direct::Small);
        let Output { tx, mut end } = spawn_writer(writer, end_tx, end).unwrap();
        // Under 16 KiB of lines that render past 64 KiB: the mux handles it, and its write
        // comes after the whole message.
        let first = Out::Many(vec![
            Out::Source(1, "first-source".into(), "a".into()),
            lines(1, 5_000),
            Out::Source(2, "second".into(), "b".into()),
            lines(2, 3),
        ]);
        assert!(first.line_bytes() <= DIRECT_BYTES);
        tx.reserve().await.unwrap().send(first);
        tx.reserve().await.unwrap().send(lines(2, 2));
        let shared = tx.shared.clone().unwrap();
        drop(tx);
        assert!(matches!(end.recv().await, Some(OutputEnd::Finished)));
        assert_eq!(
            shared.lock().direct,
            Direct::Never,
            "the write that never waits was not refused"
        );
        let mut out = String::new();
        file.rewind().unwrap();
        file.read_to_string(&mut out).unwrap();
        let want =
            expected("first-source", 5_000) + &expected("second", 3) + &expected("second", 2);
        assert_eq!(out.len(), want.len());
        assert!(out == want, "the output differs");
    }

    /// Into a file in memory, the mux writes a message itself however large, but never one for
    /// stderr, nor any while a message waits in the writer's queue.
    #[test]
    fn the_mux_writes_a_file_in_memory_itself() {
        let file = tempfile::tempfile_in("/dev/shm").unwrap();
        assert!(in_memory(&file), "/dev/shm is a tmpfs");
        let mut read = file.try_clone().unwrap();
        let style = Style { label: true, color: false, terminal: false };
        let renderer = Renderer::new(style, Layout::Default { timestamps: false }, None);
        let writer = Writer::new(renderer, false, None, file, Direct::All);
        let shared = Shared { writer: Mutex::new(writer), queued: AtomicUsize::new(0) };
        let big = lines(1, 20_000);
        assert!(big.line_bytes() > DIRECT_BYTES);
        let first = Out::Many(vec![Out::Source(1, "app".into(), "a".into()), big]);
        assert!(shared.handle_here(first).is_none(), "left to the writer thread");
        assert!(shared.handle_here(Out::Stderr(vec![])).is_some(), "stderr written by the mux");
        shared.queued.store(1, Ordering::Release);
        assert!(shared.handle_here(lines(1, 3)).is_some(), "written before what is queued");
        let mut out = String::new();
        read.rewind().unwrap();
        read.read_to_string(&mut out).unwrap();
        assert!(out == expected("app", 20_000), "the output differs");
        assert_eq!(shared.lock().direct, Direct::All);
    }
}
