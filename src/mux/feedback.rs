//! Feedback: what mux-tail says to the user — notes from sources, answers to keys, prompts and
//! the status line — turned into messages for the writer.
//!
//! Feedback never writes anywhere itself: everything it says is an [`Out`] queued for the
//! writer, which owns stdout, stderr and the terminal, so that nothing it says can cut through a
//! line being written.

use std::collections::VecDeque;

use super::table::Table;
use crate::output::Out;
use crate::render::safe;

/// Where feedback goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// No keys: notes go to stderr, and keys have nothing to say.
    Off,
    /// A status line at the bottom of the terminal on stdout; with `notes_inline`, notes are
    /// shown among the log lines too (stderr is that same terminal).
    StatusLine {
        /// Notes go among the log lines rather than to stderr.
        notes_inline: bool,
    },
    /// Whole lines on stderr; prompts are drawn on the terminal itself.
    Stderr,
}

/// What the status line shows besides the sources.
pub struct StatusView<'a> {
    /// The sources.
    pub table: &'a Table,
    /// Lines held, while paused.
    pub held: Option<u64>,
    /// The live filter.
    pub filter: Option<&'a str>,
    /// The least level shown (`--level`, `L`).
    pub level: Option<crate::parse::Level>,
}

/// The feedback state: where it goes, the open prompt, the last answer to a key.
#[derive(Debug)]
pub struct Feedback {
    mode: Mode,
    prompt: Option<String>,
    message: Option<String>,
}

impl Feedback {
    /// Feedback in `mode`.
    pub fn new(mode: Mode) -> Feedback {
        Feedback { mode, prompt: None, message: None }
    }

    /// Where feedback goes.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether a prompt is open.
    pub fn prompting(&self) -> bool {
        self.prompt.is_some()
    }

    /// A note from a source (or about one): stderr, or among the log lines when that is the
    /// same terminal.
    pub fn note(&self, line: &str, out: &mut VecDeque<Out>) {
        let line = safe(line);
        match self.mode {
            Mode::StatusLine { notes_inline: true } => {
                out.push_back(Out::Info(vec![format!("mux-tail: {line}")]))
            }
            _ => out.push_back(Out::Stderr(vec![line])),
        }
    }

    /// The answer to a key. On the status line it stays until the next one: redraw the status
    /// line after this.
    pub fn say(&mut self, msg: String, out: &mut VecDeque<Out>) {
        match self.mode {
            Mode::Off => {}
            Mode::StatusLine { .. } => self.message = Some(msg),
            Mode::Stderr => out.push_back(Out::Stderr(vec![safe(&msg)])),
        }
    }

    /// Says once, at start, that keys work although stdout is piped (on the terminal, which is
    /// where the user looks).
    pub fn hint(&self, out: &mut VecDeque<Out>) {
        if self.mode == Mode::Stderr {
            out.push_back(Out::Terminal("keys on: ? for help".into()));
        }
    }

    /// Lines for the user (list, help), already safe to show.
    pub fn show_lines(&self, lines: Vec<String>, out: &mut VecDeque<Out>) {
        match self.mode {
            Mode::Off => {}
            Mode::StatusLine { .. } => out.push_back(Out::Info(lines)),
            Mode::Stderr => out.push_back(Out::Stderr(lines)),
        }
    }

    /// Opens, changes or (with `None`) closes the prompt. On the status line the prompt takes
    /// its place: redraw the status line after this.
    pub fn set_prompt(&mut self, prompt: Option<String>, out: &mut VecDeque<Out>) {
        self.prompt = prompt.map(|p| safe(&p));
        if self.mode == Mode::Stderr {
            out.push_back(Out::Prompt(self.prompt.clone()));
        }
    }

    /// Redraws the status line (in status-line mode): the prompt while one is open, else the
    /// last answer, pause and filter, and the sources.
    pub fn status(&self, view: &StatusView<'_>, out: &mut VecDeque<Out>) {
        if !matches!(self.mode, Mode::StatusLine { .. }) {
            return;
        }
        let (text, typing) = match &self.prompt {
            Some(prompt) => (prompt.clone(), true),
            None => (self.status_text(view), false),
        };
        out.push_back(Out::Status(text, typing));
    }

    fn status_text(&self, view: &StatusView<'_>) -> String {
        let mut parts = Vec::new();
        if let Some(msg) = &self.message {
            parts.push(safe(msg));
        }
        if let Some(held) = view.held {
            parts.push(format!("PAUSED, {held} lines held"));
        }
        if let Some(re) = view.filter {
            parts.push(format!("filter /{}/", safe(re)));
        }
        if let Some(level) = view.level {
            parts.push(format!("level >= {}", level.name()));
        }
        // The sources last: on a narrow terminal they are what is cut.
        parts.push("? help".into());
        parts.push(view.table.status_names());
        parts.join(" | ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(out: &VecDeque<Out>) -> Vec<String> {
        out.iter().map(|o| format!("{o:?}")).collect()
    }

    #[test]
    fn each_mode_says_things_its_own_way() {
        let table = Table::default();
        let level = Some(crate::parse::Level::Warn);
        let view = StatusView { table: &table, held: Some(3), filter: Some("err"), level };
        let mut out = VecDeque::new();
        let mut f = Feedback::new(Mode::StatusLine { notes_inline: true });
        f.note("a.log: gone\x1b[2J", &mut out);
        f.say("muted [1] a".into(), &mut out);
        f.status(&view, &mut out);
        assert_eq!(
            texts(&out),
            [
                r#"Info(["mux-tail: a.log: gone^[[2J"])"#,
                r#"Status("muted [1] a | PAUSED, 3 lines held | filter /err/ | level >= warn | ? help | ", false)"#
            ]
        );
        out.clear();
        let mut f = Feedback::new(Mode::Stderr);
        f.note("a.log: gone", &mut out);
        f.say("muted".into(), &mut out);
        f.set_prompt(Some("attach: x".into()), &mut out);
        f.status(&view, &mut out);
        assert_eq!(
            texts(&out),
            [r#"Stderr(["a.log: gone"])"#, r#"Stderr(["muted"])"#, r#"Prompt(Some("attach: x"))"#]
        );
        out.clear();
        let mut f = Feedback::new(Mode::Off);
        f.say("muted".into(), &mut out);
        f.show_lines(vec!["x".into()], &mut out);
        f.note("a.log: gone", &mut out);
        assert_eq!(texts(&out), [r#"Stderr(["a.log: gone"])"#]);
    }
}
