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

use crate::line::Arrival;
use crate::render::Renderer;

/// Bytes collected before a write.
const WRITE_SIZE: usize = 64 * 1024;
/// Messages the writer's queue holds before the mux waits.
const QUEUE: usize = 8;

/// What the mux sends to the writer.
#[derive(Debug)]
pub enum Out {
    /// Source `id` now exists: its label and spec.
    Source(usize, String, String),
    /// Source `id` is gone.
    Forget(usize),
    /// Lines of source `id`.
    Lines(usize, Arrival),
    /// mux-tail's own lines (list, help, notes) shown among the log lines on a terminal; already
    /// safe to show.
    Info(Vec<String>),
    /// mux-tail's own lines for stderr (each gets the `mux-tail: ` prefix); already safe to show.
    Stderr(Vec<String>),
    /// A prompt being typed, drawn on the terminal's current row (`None`: clear it); already safe
    /// to show. Used when stdout is not that terminal.
    Prompt(Option<String>),
    /// New text for the status line.
    Status(String),
    /// The terminal changed size: lay the status line out again.
    Resize,
    /// Remove the status line (the program is about to stop) and say when done.
    Suspend(tokio::sync::oneshot::Sender<()>),
    /// Put the status line back.
    Resume,
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
///
/// With `status_line`, stdout is a terminal whose bottom row shows a status line (see
/// [`StatusLine`]); `tty` is the terminal prompts are drawn on when stdout is not it.
pub fn start(renderer: Renderer, status_line: bool, tty: Option<File>) -> io::Result<Output> {
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
        let status = status_line.then(StatusLine::default);
        let writer = Writer { renderer, status, tty, buf: Vec::new() };
        let end = match write_loop(rx, writer, stdout) {
            Ok(()) => OutputEnd::Finished,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => OutputEnd::Closed,
            Err(e) => OutputEnd::Failed(e),
        };
        let _ = end_tx.send(end);
    })?;
    Ok(Output { tx, end })
}

/// The writer thread's state.
struct Writer {
    renderer: Renderer,
    status: Option<StatusLine>,
    /// The terminal for prompts, when stdout is not it.
    tty: Option<File>,
    buf: Vec<u8>,
}

fn write_loop(mut rx: mpsc::Receiver<Out>, mut w: Writer, mut out: File) -> io::Result<()> {
    w.buf.reserve(2 * WRITE_SIZE);
    if let Some(status) = &mut w.status {
        status.setup(&mut w.buf);
    }
    while let Some(msg) = rx.blocking_recv() {
        w.handle(msg, &mut out)?;
        while let Ok(msg) = rx.try_recv() {
            w.handle(msg, &mut out)?;
            if w.buf.len() >= WRITE_SIZE {
                out.write_all(&w.buf)?;
                w.buf.clear();
            }
        }
        // The queue is empty: whatever is ready goes out now.
        if !w.buf.is_empty() {
            out.write_all(&w.buf)?;
            w.buf.clear();
        }
    }
    if let Some(status) = &mut w.status {
        status.teardown(&mut w.buf);
    }
    out.write_all(&w.buf)
}

impl Writer {
    fn handle(&mut self, msg: Out, out: &mut File) -> io::Result<()> {
        let buf = &mut self.buf;
        match msg {
            Out::Source(id, label, spec) => self.renderer.add_source(id, &label, &spec),
            Out::Forget(id) => self.renderer.remove_source(id),
            Out::Lines(id, lines) => self.renderer.render(id, &lines, buf),
            Out::Info(lines) => {
                for line in lines {
                    buf.extend_from_slice(line.as_bytes());
                    buf.push(b'\n');
                }
            }
            Out::Stderr(lines) => {
                // What was written before the message comes out before it.
                out.write_all(buf)?;
                buf.clear();
                let mut text = String::new();
                for line in lines {
                    text.push_str("mux-tail: ");
                    text.push_str(&line);
                    text.push('\n');
                }
                // Writing to stderr never fails the program.
                let _ = io::stderr().lock().write_all(text.as_bytes());
            }
            Out::Prompt(prompt) => {
                if let Some(mut tty) = self.tty.as_ref() {
                    out.write_all(buf)?;
                    buf.clear();
                    let text = match prompt {
                        Some(p) => format!("\r\x1b[Kmux-tail: {p}"),
                        None => "\r\x1b[K".to_string(),
                    };
                    let _ = tty.write_all(text.as_bytes());
                }
            }
            Out::Status(text) => {
                if let Some(status) = &mut self.status {
                    status.text = text;
                    status.draw(buf);
                }
            }
            Out::Resize => {
                if let Some(status) = &mut self.status {
                    status.resize(buf);
                }
            }
            Out::Suspend(done) => {
                if let Some(status) = &mut self.status {
                    status.teardown(buf);
                }
                out.write_all(buf)?;
                buf.clear();
                let _ = done.send(());
            }
            Out::Resume => {
                if let Some(status) = &mut self.status {
                    status.setup(buf);
                }
            }
        }
        Ok(())
    }
}

/// The bottom row of a terminal on stdout, kept for mux-tail's status while log lines scroll in
/// the rows above (a scroll region), redrawn when the terminal changes size.
#[derive(Debug, Default)]
struct StatusLine {
    rows: u16,
    cols: u16,
    text: String,
    shown: bool,
}

impl StatusLine {
    /// Claims the bottom row: make room, then limit scrolling to the rows above it.
    fn setup(&mut self, buf: &mut Vec<u8>) {
        if self.shown {
            return self.draw(buf);
        }
        let (cols, rows) = crossterm::terminal::size().unwrap_or((80, 24));
        if rows < 3 {
            return;
        }
        (self.rows, self.cols) = (rows, cols);
        // A newline and back up leaves the cursor where it was, unless it was on the bottom row,
        // which the newline scrolls free.
        buf.extend_from_slice(format!("\n\x1b7\x1b[1;{}r\x1b8\x1b[1A", rows - 1).as_bytes());
        self.shown = true;
        crate::term::set_status_line(true);
        self.draw(buf);
    }

    fn resize(&mut self, buf: &mut Vec<u8>) {
        if !self.shown {
            return self.setup(buf);
        }
        // Clear the old status row, which may now be inside the log area.
        let clear = format!("\x1b7\x1b[{};1H\x1b[2K\x1b8", self.rows);
        buf.extend_from_slice(clear.as_bytes());
        let (cols, rows) = crossterm::terminal::size().unwrap_or((self.cols, self.rows));
        (self.rows, self.cols) = (rows, cols);
        if rows < 3 {
            return self.teardown(buf);
        }
        // Setting the region moves the cursor; put it on the region's last row, where the next
        // log line belongs (after a resize the old position may be outside the region).
        buf.extend_from_slice(format!("\x1b[1;{r}r\x1b[{r};1H", r = rows - 1).as_bytes());
        self.draw(buf);
    }

    fn draw(&self, buf: &mut Vec<u8>) {
        if !self.shown {
            return;
        }
        let width = usize::from(self.cols.saturating_sub(1));
        let mut text: String = self.text.chars().take(width).collect();
        if self.text.chars().count() > width && width > 0 {
            text.pop();
            text.push('…');
        }
        let line = format!("\x1b7\x1b[{};1H\x1b[2K\x1b[7m{text}\x1b[0m\x1b8", self.rows);
        buf.extend_from_slice(line.as_bytes());
    }

    /// Gives the bottom row back.
    fn teardown(&mut self, buf: &mut Vec<u8>) {
        if std::mem::take(&mut self.shown) {
            buf.extend_from_slice(crate::term::STATUS_TEARDOWN);
            crate::term::set_status_line(false);
        }
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
