//! Keys: read from the terminal (`/dev/tty`, not stdin) and turned into [`Command`]s for the mux.
//!
//! A thread reads the terminal while mux-tail is in its foreground process group; in the
//! background it reads nothing (the input belongs to the foreground job) and waits for SIGCONT.
//! [`KeyParser`] is the pure part: bytes in, commands out, including the one-line prompts of
//! `a` (attach) and `/` (filter) and the number prompts of `d` (detach) and `m` (mute).

use std::fs::File;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::term;

/// What can be asked of the mux while it runs (source numbers count from 1).
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Follow another source from now on (a SOURCE argument, parsed by the mux).
    Attach(String),
    /// Stop following source N and close everything it holds.
    Detach(usize),
    /// Drop (or stop dropping) source N's lines.
    ToggleMute(usize),
    /// Hold output back, or let it go again.
    TogglePause,
    /// Show only lines matching this regex; empty shows all again.
    Filter(String),
    /// The next least level shown: all, warn, error, all again (`L`).
    CycleLevel,
    /// Show the source table.
    List,
    /// Show the keys.
    Help,
    /// A key pressed while a list or the help was shown: it only lets output go on.
    Dismiss,
    /// End the program.
    Quit,
    /// Show a prompt being typed (`None`: the prompt closed).
    Prompt(Option<String>),
    /// Panic, to test that a panic restores the terminal (debug builds only).
    #[cfg(debug_assertions)]
    Panic,
}

/// The help shown for `?`.
pub const HELP: &[&str] = &[
    "keys:",
    "  1-9        mute / unmute source N (lines are dropped while muted)",
    "  m N Enter  mute / unmute any source N (also 10 and up)",
    "  d N        detach source N (Enter after N when N could go on: d 1 Enter with 10+ sources)",
    "  a          attach: type a SOURCE (file, -, tcp:PORT, LABEL=...) and Enter",
    "  p, space   pause / resume output (held lines are kept, then sources are held back)",
    "  /          filter: type a regex and Enter; only matching lines are shown; empty clears",
    "  L          level: show all -> warn and above -> error and above -> all",
    "  l          list sources: number, label, state, lines, bytes, open connections or files",
    "  ?          this help",
    "  q, Ctrl-C  quit",
    "  Esc cancels a prompt; Backspace edits it.",
];

/// What the mux shares with the key parser.
#[derive(Clone, Default)]
pub struct Shared {
    /// The current number of sources (to know when a number typed is complete).
    pub sources: Arc<AtomicUsize>,
    /// Set while a list or the help is shown: the next key dismisses it.
    pub dismiss: Arc<std::sync::atomic::AtomicBool>,
}

/// Starts the key thread on `tty`.
pub fn start(tty: File, commands: mpsc::Sender<Command>, shared: Shared) {
    let spawned = std::thread::Builder::new().name("mux-tail keys".into()).spawn(move || {
        let mut parser = KeyParser::new(shared);
        let mut buf = [0u8; 256];
        loop {
            let seen = term::generation();
            if !term::enter_key_mode() || !wait_readable(&tty) || !term::is_foreground(tty.as_fd())
            {
                // In the background: the terminal's input is not ours.
                term::wait_continued(seen);
                continue;
            }
            match rustix::io::read(&tty, &mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    for cmd in parser.feed(&buf[..n]) {
                        if commands.blocking_send(cmd).is_err() {
                            return;
                        }
                    }
                }
                Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => {}
                // EIO: moved to the background meanwhile.
                Err(rustix::io::Errno::IO) => term::wait_continued(seen),
                Err(_) => return,
            }
        }
    });
    // Without the thread there are no keys; everything else works on.
    drop(spawned);
}

/// Waits until the terminal has input; false on an error (hang-up).
fn wait_readable(tty: &File) -> bool {
    use rustix::event::{poll, PollFd, PollFlags};
    loop {
        let mut fds = [PollFd::new(tty, PollFlags::IN)];
        match poll(&mut fds, None) {
            Ok(_) => return fds[0].revents().contains(PollFlags::IN),
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return false,
        }
    }
}

/// What a prompt is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prompt {
    Attach,
    Filter,
    Detach,
    Mute,
}

impl Prompt {
    fn title(self) -> &'static str {
        match self {
            Prompt::Attach => "attach (Enter to follow, Esc to cancel): ",
            Prompt::Filter => "filter regex (empty clears, Esc to cancel): ",
            Prompt::Detach => "detach source number: ",
            Prompt::Mute => "mute / unmute source number: ",
        }
    }

    fn numeric(self) -> bool {
        matches!(self, Prompt::Detach | Prompt::Mute)
    }
}

/// Turns key bytes into commands.
pub struct KeyParser {
    prompt: Option<(Prompt, Vec<u8>)>,
    shared: Shared,
}

impl KeyParser {
    /// A parser; `shared` tells how many sources exist and whether a key dismisses a list.
    pub fn new(shared: Shared) -> KeyParser {
        KeyParser { prompt: None, shared }
    }

    /// Feeds the bytes of one read; returns the commands they make.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Command> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            i += 1;
            if self.prompt.is_none() && self.shared.dismiss.swap(false, Ordering::Relaxed) {
                // The key (a whole escape sequence too) only dismisses what is shown.
                if b == 0x1b && i < bytes.len() && matches!(bytes[i], b'[' | b'O') {
                    i += 1;
                    while i < bytes.len() && !(0x40..=0x7e).contains(&bytes[i]) {
                        i += 1;
                    }
                    i += 1;
                }
                out.push(Command::Dismiss);
                continue;
            }
            if b == 0x1b {
                // An escape sequence (arrow keys and the like) arrives whole in one read; a
                // lone ESC is the Esc key.
                if i < bytes.len() && matches!(bytes[i], b'[' | b'O') {
                    i += 1;
                    while i < bytes.len() && !(0x40..=0x7e).contains(&bytes[i]) {
                        i += 1;
                    }
                    i += 1;
                    continue;
                }
                if self.prompt.take().is_some() {
                    out.push(Command::Prompt(None));
                }
                continue;
            }
            match &mut self.prompt {
                None => self.key(b, &mut out),
                Some((kind, text)) => {
                    let kind = *kind;
                    match b {
                        b'\r' | b'\n' => {
                            let text = std::mem::take(text);
                            self.prompt = None;
                            // What was typed acts before the prompt closes: a filter applies
                            // to the lines held while it was typed.
                            self.finish(kind, text, &mut out);
                            out.push(Command::Prompt(None));
                        }
                        0x7f | 0x08 => {
                            // Remove one character (all bytes of a UTF-8 sequence).
                            while let Some(last) = text.pop() {
                                if last & 0xc0 != 0x80 {
                                    break;
                                }
                            }
                            self.show(&mut out);
                        }
                        0x15 => {
                            text.clear();
                            self.show(&mut out);
                        }
                        b'0'..=b'9' if kind.numeric() => {
                            text.push(b);
                            let n = parse_number(text);
                            let count = self.shared.sources.load(Ordering::Relaxed);
                            // Act at once when no further digit could make a valid number.
                            if n.is_some_and(|n| n.saturating_mul(10) > count) {
                                let text = std::mem::take(text);
                                self.prompt = None;
                                self.finish(kind, text, &mut out);
                                out.push(Command::Prompt(None));
                            } else {
                                self.show(&mut out);
                            }
                        }
                        _ if kind.numeric() => {
                            self.prompt = None;
                            out.push(Command::Prompt(None));
                        }
                        _ if b >= 0x20 => {
                            text.push(b);
                            self.show(&mut out);
                        }
                        _ => {}
                    }
                }
            }
        }
        out
    }

    fn key(&mut self, b: u8, out: &mut Vec<Command>) {
        match b {
            b'1'..=b'9' => out.push(Command::ToggleMute(usize::from(b - b'0'))),
            b'd' => self.open(Prompt::Detach, out),
            b'm' => self.open(Prompt::Mute, out),
            b'a' => self.open(Prompt::Attach, out),
            b'/' => self.open(Prompt::Filter, out),
            b'p' | b' ' => out.push(Command::TogglePause),
            b'l' => out.push(Command::List),
            b'L' => out.push(Command::CycleLevel),
            b'?' | b'h' => out.push(Command::Help),
            b'q' => out.push(Command::Quit),
            // Only in debug builds: tests check that a panic gives the terminal back.
            #[cfg(debug_assertions)]
            b'!' => out.push(Command::Panic),
            _ => {}
        }
    }

    fn open(&mut self, kind: Prompt, out: &mut Vec<Command>) {
        self.prompt = Some((kind, Vec::new()));
        self.show(out);
    }

    fn show(&self, out: &mut Vec<Command>) {
        if let Some((kind, text)) = &self.prompt {
            let shown = format!("{}{}", kind.title(), String::from_utf8_lossy(text));
            out.push(Command::Prompt(Some(shown)));
        }
    }

    fn finish(&self, kind: Prompt, text: Vec<u8>, out: &mut Vec<Command>) {
        let text = String::from_utf8_lossy(&text).trim().to_string();
        match kind {
            Prompt::Attach if !text.is_empty() => out.push(Command::Attach(unquote(&text))),
            Prompt::Attach => {}
            Prompt::Filter => out.push(Command::Filter(text)),
            Prompt::Detach => out.extend(parse_number(text.as_bytes()).map(Command::Detach)),
            Prompt::Mute => out.extend(parse_number(text.as_bytes()).map(Command::ToggleMute)),
        }
    }
}

/// A source typed as it would be on a command line, in quotes (`'logs/*.log'`): the quotes go,
/// as the shell would take them.
fn unquote(text: &str) -> String {
    for q in ['\'', '"'] {
        if let Some(inner) = text.strip_prefix(q).and_then(|t| t.strip_suffix(q)) {
            return inner.to_string();
        }
    }
    text.to_string()
}

fn parse_number(digits: &[u8]) -> Option<usize> {
    std::str::from_utf8(digits).ok()?.parse().ok().filter(|&n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sources: usize, input: &[u8]) -> Vec<Command> {
        let shared = Shared { sources: Arc::new(AtomicUsize::new(sources)), ..Shared::default() };
        let mut p = KeyParser::new(shared);
        p.feed(input).into_iter().filter(|c| !matches!(c, Command::Prompt(_))).collect()
    }

    #[test]
    fn single_keys() {
        let cmds = parse(3, b"1 pl?q3x");
        let want = [
            Command::ToggleMute(1),
            Command::TogglePause,
            Command::TogglePause,
            Command::List,
            Command::Help,
            Command::Quit,
            Command::ToggleMute(3),
        ];
        assert_eq!(cmds, want);
    }

    #[test]
    fn a_source_typed_in_quotes_is_taken_as_the_shell_would() {
        let attach = |typed: &[u8]| parse(1, &[b"a", typed, b"\r"].concat());
        assert_eq!(attach(b"'logs/*.log'"), [Command::Attach("logs/*.log".into())]);
        assert_eq!(attach(b" \"api=a b.log\" "), [Command::Attach("api=a b.log".into())]);
        assert_eq!(attach(b"it's.log"), [Command::Attach("it's.log".into())]);
        assert_eq!(attach(b"'"), [Command::Attach("'".into())]);
    }

    #[test]
    fn detach_acts_when_the_number_is_complete() {
        assert_eq!(parse(3, b"d2"), [Command::Detach(2)]);
        // With 12 sources, "1" could become 10, 11 or 12.
        assert_eq!(parse(12, b"d1"), []);
        assert_eq!(parse(12, b"d1\r"), [Command::Detach(1)]);
        assert_eq!(parse(12, b"d12"), [Command::Detach(12)]);
        assert_eq!(parse(12, b"d2"), [Command::Detach(2)]);
        assert_eq!(parse(3, b"dx1"), [Command::ToggleMute(1)], "a non-digit cancels");
        assert_eq!(parse(30, b"m1\x7f25\n"), [Command::ToggleMute(25)]);
    }

    #[test]
    fn attach_and_filter_prompts_edit_and_cancel() {
        assert_eq!(parse(1, b"atcp:9001\r"), [Command::Attach("tcp:9001".into())]);
        assert_eq!(parse(1, b"ax.logg\x7f\n"), [Command::Attach("x.log".into())]);
        assert_eq!(parse(1, b"afoo\x1b1"), [Command::ToggleMute(1)], "Esc cancels");
        assert_eq!(parse(1, b"/err|warn\n"), [Command::Filter("err|warn".into())]);
        assert_eq!(parse(1, b"/\n"), [Command::Filter(String::new())]);
        assert_eq!(parse(1, b"/a\x1b[Db\n"), [Command::Filter("ab".into())], "arrows ignored");
        assert_eq!(parse(1, "/é\x7fe\n".as_bytes()), [Command::Filter("e".into())]);
    }

    #[test]
    fn a_key_after_a_list_only_dismisses_it() {
        let shared = Shared::default();
        let mut p = KeyParser::new(shared.clone());
        shared.dismiss.store(true, Ordering::Relaxed);
        assert_eq!(p.feed(b"\x1b[A1"), [Command::Dismiss, Command::ToggleMute(1)]);
        shared.dismiss.store(true, Ordering::Relaxed);
        assert_eq!(p.feed(b"q"), [Command::Dismiss]);
        assert_eq!(p.feed(b"q"), [Command::Quit]);
    }

    #[test]
    fn what_was_typed_acts_before_the_prompt_closes() {
        let mut p = KeyParser::new(Shared::default());
        let cmds = p.feed(b"/err\r");
        assert_eq!(cmds[cmds.len() - 2..], [Command::Filter("err".into()), Command::Prompt(None)]);
    }

    #[test]
    fn prompts_are_shown_while_typing() {
        let mut p = KeyParser::new(Shared::default());
        let cmds = p.feed(b"ab");
        assert_eq!(
            cmds.last(),
            Some(&Command::Prompt(Some(format!("{}b", Prompt::Attach.title()))))
        );
        assert_eq!(p.feed(b"\x1b"), [Command::Prompt(None)]);
    }
}
