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
/// The size asked for a pipe on stdout.
const PIPE_SIZE: usize = 1 << 20;
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
    std::thread::Builder::new().name("mux-tail writer".into()).spawn(move || {
        let status = status_line.then(StatusLine::default);
        let (buf, framed, prompt) = Default::default();
        let writer = Writer { renderer, status, tty, prompt, buf, framed };
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
    /// The prompt drawn there now (the cursor after it), which a message must not run into.
    prompt: Option<String>,
    /// Rendered output not yet written.
    buf: Vec<u8>,
    /// The same, framed by the status line.
    framed: Vec<u8>,
}

fn write_loop(mut rx: mpsc::Receiver<Out>, mut w: Writer, mut out: File) -> io::Result<()> {
    w.buf.reserve(2 * WRITE_SIZE);
    if let Some(status) = &mut w.status {
        status.setup();
    }
    w.flush(&mut out)?;
    while let Some(msg) = rx.blocking_recv() {
        w.handle(msg, &mut out)?;
        while let Ok(msg) = rx.try_recv() {
            w.handle(msg, &mut out)?;
            if w.buf.len() >= WRITE_SIZE {
                w.flush(&mut out)?;
            }
        }
        // The queue is empty: whatever is ready goes out now.
        w.flush(&mut out)?;
    }
    w.flush(&mut out)?;
    if let Some(status) = &mut w.status {
        let mut end = Vec::new();
        status.teardown(&mut end);
        out.write_all(&end)?;
    }
    Ok(())
}

impl Writer {
    /// Writes out what is ready (framed by the status line, if there is one).
    fn flush(&mut self, out: &mut File) -> io::Result<()> {
        match &mut self.status {
            Some(status) => {
                status.frame(&self.buf, &mut self.framed);
                self.buf.clear();
                if !self.framed.is_empty() {
                    out.write_all(&self.framed)?;
                    self.framed.clear();
                }
            }
            None if !self.buf.is_empty() => {
                out.write_all(&self.buf)?;
                self.buf.clear();
            }
            None => {}
        }
        Ok(())
    }

    /// Writes `text` on the terminal (when stdout is not it), after what is ready for stdout.
    fn write_terminal(&mut self, text: &str, out: &mut File) -> io::Result<()> {
        if self.tty.is_some() {
            self.flush(out)?;
            if let Some(mut tty) = self.tty.as_ref() {
                let _ = tty.write_all(text.as_bytes());
            }
        }
        Ok(())
    }

    /// Writes a message of mux-tail's own with `write`: a prompt on the terminal is taken off
    /// its row first and drawn again after the message, so that the two never share a row.
    fn around_prompt(
        &mut self,
        out: &mut File,
        write: impl FnOnce(&mut Self, &mut File) -> io::Result<()>,
    ) -> io::Result<()> {
        let Some(prompt) = self.prompt.take() else { return write(self, out) };
        self.write_terminal("\r\x1b[K", out)?;
        let written = write(self, out);
        self.write_terminal(&prompt, out)?;
        self.prompt = Some(prompt);
        written
    }

    fn handle(&mut self, msg: Out, out: &mut File) -> io::Result<()> {
        let buf = &mut self.buf;
        match msg {
            Out::Source(id, label, spec) => self.renderer.add_source(id, &label, &spec),
            Out::Forget(id) => self.renderer.remove_source(id),
            Out::Lines(id, lines) => self.renderer.render(id, &lines, buf),
            Out::Many(all) => {
                for msg in all {
                    self.handle(msg, out)?;
                    if self.buf.len() >= WRITE_SIZE {
                        self.flush(out)?;
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
                self.flush(out)?;
                let mut text = String::new();
                for line in lines {
                    text.push_str("mux-tail: ");
                    text.push_str(&line);
                    text.push('\n');
                }
                self.around_prompt(out, |_, _| {
                    // Writing to stderr never fails the program.
                    let _ = io::stderr().lock().write_all(text.as_bytes());
                    Ok(())
                })?;
            }
            Out::Prompt(prompt) => {
                self.prompt = prompt.map(|p| format!("mux-tail: {p}"));
                let text = format!("\r\x1b[K{}", self.prompt.as_deref().unwrap_or(""));
                self.write_terminal(&text, out)?;
            }
            Out::Terminal(line) => self.around_prompt(out, |w, out| {
                w.write_terminal(&format!("mux-tail: {line}\n"), out)
            })?,
            Out::Status(text, typing) => {
                if let Some(status) = &mut self.status {
                    status.set_text(text, typing);
                }
            }
            // The size is read when the output is written (see `StatusLine::frame`): this only
            // makes sure a write happens soon.
            Out::Resize => {}
            Out::Suspend(done) => {
                self.flush(out)?;
                if let Some(status) = &mut self.status {
                    let mut end = Vec::new();
                    status.teardown(&mut end);
                    out.write_all(&end)?;
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

/// mux-tail's status on the bottom row of a terminal on stdout, under the log lines.
///
/// No scroll region and no absolute position: the status text is always the last thing on the
/// screen and the cursor waits at the start of its row. Each write erases from the cursor down
/// (the status text, however the terminal has since moved or rewrapped it — never a log line,
/// which are all above it), writes the lines, which scroll as any output does, and draws the
/// status text again on the row after them. So a change of size, even one the terminal
/// announces late, can never make a line land on another or be erased.
#[derive(Debug, Default)]
struct StatusLine {
    cols: u16,
    text: String,
    /// The text is a prompt being typed.
    typing: bool,
    shown: bool,
    /// The text on screen is not the current text.
    changed: bool,
}

/// Erases from the start of the cursor's row to the end of the screen.
const ERASE: &[u8] = crate::term::STATUS_TEARDOWN;

impl StatusLine {
    /// Claims the bottom row (the cursor's row, which is empty: output so far ended with a line
    /// ending).
    fn setup(&mut self) {
        let (cols, rows) = crossterm::terminal::size().unwrap_or((80, 24));
        if rows < 3 {
            return;
        }
        self.cols = cols;
        self.shown = true;
        self.changed = true;
        crate::term::set_status_line(true);
    }

    /// Frames `lines` (rendered output): the status text goes, the lines come, the status text
    /// comes back after them. With nothing to write and no change, nothing is sent.
    fn frame(&mut self, lines: &[u8], out: &mut Vec<u8>) {
        if crate::term::take_resized() {
            if let Ok((cols, rows)) = crossterm::terminal::size() {
                self.cols = cols;
                if rows < 3 && self.shown {
                    self.teardown(out);
                }
            }
            self.changed = true;
        }
        if !self.shown || (lines.is_empty() && (!self.changed || self.text.is_empty())) {
            out.extend_from_slice(lines);
            return;
        }
        out.extend_from_slice(ERASE);
        out.extend_from_slice(lines);
        let cells = usize::from(self.cols.saturating_sub(1));
        let text = match self.typing {
            true => crate::render::fit_end(&self.text, cells),
            false => crate::render::fit(&self.text, cells),
        };
        // Drawn without autowrap: should the terminal already be narrower than we know (it
        // tells late), the text is clipped at its edge instead of wrapping onto rows that the
        // next erase, from the cursor's row down, would not reach.
        out.extend_from_slice(format!("\x1b[?7l\x1b[7m{text}\x1b[0m\x1b[?7h\r").as_bytes());
        self.changed = false;
    }

    fn set_text(&mut self, text: String, typing: bool) {
        if text != self.text || typing != self.typing {
            self.text = text;
            self.typing = typing;
            self.changed = true;
        }
    }

    /// Gives the bottom row back: the status text goes, the cursor stays at the start of its
    /// (now empty) row.
    fn teardown(&mut self, out: &mut Vec<u8>) {
        if std::mem::take(&mut self.shown) {
            out.extend_from_slice(ERASE);
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
