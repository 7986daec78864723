//! The status line: mux-tail's own row at the bottom of a terminal on stdout.

/// mux-tail's status on the bottom row of a terminal on stdout, under the log lines.
///
/// No scroll region and no absolute position: the status text is always the last thing on the
/// screen and the cursor waits at the start of its row. Each write erases from the cursor down
/// (the status text, however the terminal has since moved or rewrapped it — never a log line,
/// which are all above it), writes the lines, which scroll as any output does, and draws the
/// status text again on the row after them. So a change of size, even one the terminal
/// announces late, can never make a line land on another or be erased.
#[derive(Debug, Default)]
pub(super) struct StatusLine {
    cols: u16,
    text: String,
    /// The text is a prompt being typed.
    typing: bool,
    pub(super) shown: bool,
    /// The text on screen is not the current text.
    changed: bool,
}

/// Erases from the start of the cursor's row to the end of the screen.
const ERASE: &[u8] = crate::term::STATUS_TEARDOWN;

impl StatusLine {
    /// Claims the bottom row (the cursor's row, which is empty: output so far ended with a line
    /// ending).
    pub(super) fn setup(&mut self) {
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
    pub(super) fn frame(&mut self, lines: &[u8], out: &mut Vec<u8>) {
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

    pub(super) fn set_text(&mut self, text: String, typing: bool) {
        if text != self.text || typing != self.typing {
            self.text = text;
            self.typing = typing;
            self.changed = true;
        }
    }

    /// Gives the bottom row back: the status text goes, the cursor stays at the start of its
    /// (now empty) row.
    pub(super) fn teardown(&mut self, out: &mut Vec<u8>) {
        if std::mem::take(&mut self.shown) {
            out.extend_from_slice(ERASE);
            crate::term::set_status_line(false);
        }
    }
}
