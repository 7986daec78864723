//! Tagged lines to output bytes: labels, padding, colour and terminal-safe escaping.
//!
//! Pure: the renderer appends to a byte buffer and never does I/O. On a terminal every byte a
//! source sent is shown, but control characters (ESC, BEL, CR, NUL, C1 controls, bidi overrides)
//! and invalid UTF-8 are shown escaped (`^[`, `\u{9b}`, `\xff`) rather than sent raw, so a log line
//! can never move the cursor, retitle the window or hide text. Elsewhere lines pass byte-exact.

use crate::lines::Batch;

/// How lines are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    /// Prefix each line with `[LABEL] `.
    pub label: bool,
    /// Colour each label (a stable colour per label).
    pub color: bool,
    /// Output goes to a terminal: pad labels to one width and escape control characters.
    pub terminal: bool,
}

/// Label colours: the six ANSI colours, then their bright forms.
const PALETTE: [u8; 12] = [36, 33, 32, 35, 34, 31, 96, 93, 92, 95, 94, 91];

/// Renders lines for the sources it knows.
#[derive(Debug)]
pub struct Renderer {
    style: Style,
    /// Label text (escaped for the terminal) by source id; `None` for ids not in use.
    labels: Vec<Option<String>>,
    /// The rendered prefix by source id.
    prefixes: Vec<Vec<u8>>,
    width: usize,
}

impl Renderer {
    /// A renderer with no sources yet.
    pub fn new(style: Style) -> Self {
        Renderer { style, labels: Vec::new(), prefixes: Vec::new(), width: 0 }
    }

    /// Makes `label` the label of source `id` (all labels are re-padded when the width changes).
    pub fn add_source(&mut self, id: usize, label: &str) {
        if self.labels.len() <= id {
            self.labels.resize(id + 1, None);
            self.prefixes.resize(id + 1, Vec::new());
        }
        let mut shown = Vec::new();
        if self.style.terminal {
            escape_into(&mut shown, label.as_bytes());
        } else {
            shown.extend_from_slice(label.as_bytes());
        }
        self.labels[id] = Some(String::from_utf8_lossy(&shown).into_owned());
        self.relayout();
    }

    /// Forgets source `id`.
    pub fn remove_source(&mut self, id: usize) {
        if let Some(label) = self.labels.get_mut(id) {
            *label = None;
            self.relayout();
        }
    }

    fn relayout(&mut self) {
        let width = if self.style.terminal {
            self.labels.iter().flatten().map(|l| l.chars().count()).max().unwrap_or(0)
        } else {
            0
        };
        self.width = width;
        for (id, label) in self.labels.iter().enumerate() {
            self.prefixes[id] = match label {
                Some(label) if self.style.label => prefix(label, width, self.style.color),
                _ => Vec::new(),
            };
        }
    }

    /// Appends every line of `batch`, as source `id`'s, to `out`.
    pub fn render(&self, id: usize, batch: &Batch, out: &mut Vec<u8>) {
        let prefix = self.prefixes.get(id).map(Vec::as_slice).unwrap_or_default();
        if self.style.terminal {
            for line in batch.iter() {
                out.extend_from_slice(prefix);
                escape_into(out, line);
                out.push(b'\n');
            }
        } else {
            out.reserve(batch.content_bytes() + batch.len() * (prefix.len() + 1));
            for line in batch.iter() {
                out.extend_from_slice(prefix);
                out.extend_from_slice(line);
                out.push(b'\n');
            }
        }
    }
}

/// `[label] ` padded to `width`, coloured if asked.
fn prefix(label: &str, width: usize, color: bool) -> Vec<u8> {
    let mut p = Vec::with_capacity(label.len() + width + 12);
    if color {
        p.extend_from_slice(format!("\x1b[{}m", colour_of(label)).as_bytes());
    }
    p.push(b'[');
    p.extend_from_slice(label.as_bytes());
    p.push(b']');
    if color {
        p.extend_from_slice(b"\x1b[0m");
    }
    let pad = width.saturating_sub(label.chars().count());
    p.resize(p.len() + pad + 1, b' ');
    p
}

/// The colour of a label: the same label gets the same colour in every run.
pub fn colour_of(label: &str) -> u8 {
    // FNV-1a: small, stable across builds and platforms.
    let mut h: u32 = 0x811c_9dc5;
    for b in label.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    PALETTE[(h % PALETTE.len() as u32) as usize]
}

/// Appends `bytes` with everything a terminal would act on shown escaped.
pub fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.iter().all(|&b| (0x20..0x7f).contains(&b) || b == b'\t') {
        out.extend_from_slice(bytes);
        return;
    }
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                escape_str(out, s);
                return;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                escape_str(out, std::str::from_utf8(valid).expect("checked valid"));
                let bad = e.error_len().unwrap_or(after.len());
                for b in &after[..bad] {
                    out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
                }
                rest = &after[bad..];
            }
        }
    }
}

fn escape_str(out: &mut Vec<u8>, s: &str) {
    for c in s.chars() {
        match c {
            '\t' => out.push(b'\t'),
            '\0'..='\x1f' => out.extend_from_slice(&[b'^', c as u8 + 0x40]),
            '\x7f' => out.extend_from_slice(b"^?"),
            // C1 controls, and the bidi controls that can make text read differently.
            '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                out.extend_from_slice(format!("\\u{{{:x}}}", c as u32).as_bytes())
            }
            _ => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIPE: Style = Style { label: true, color: false, terminal: false };
    const TTY: Style = Style { label: true, color: true, terminal: true };

    fn render(style: Style, sources: &[&str], id: usize, lines: &[&[u8]]) -> Vec<u8> {
        let mut r = Renderer::new(style);
        for (i, label) in sources.iter().enumerate() {
            r.add_source(i, label);
        }
        let batch = Batch::from(lines.iter().map(|l| l.to_vec()).collect::<Vec<_>>());
        let mut out = Vec::new();
        r.render(id, &batch, &mut out);
        out
    }

    #[test]
    fn piped_output_is_label_and_raw_bytes() {
        let out = render(PIPE, &["a", "long-label"], 0, &[b"x\x1b[31m\xff\x00", b""]);
        assert_eq!(out, b"[a] x\x1b[31m\xff\x00\n[a] \n");
    }

    #[test]
    fn no_label_prints_bare_lines() {
        let style = Style { label: false, ..PIPE };
        assert_eq!(render(style, &["a"], 0, &[b"one", b"two"]), b"one\ntwo\n");
    }

    #[test]
    fn terminal_pads_colours_and_escapes() {
        let out = render(TTY, &["a", "abc"], 0, &[b"bell\x07 esc\x1b[2J tab\tok"]);
        let c = colour_of("a");
        let want = format!("\x1b[{c}m[a]\x1b[0m   bell^G esc^[[2J tab\tok\n");
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    #[test]
    fn terminal_escapes_c1_bidi_and_invalid_utf8() {
        let style = Style { color: false, ..TTY };
        let out = render(style, &["a"], 0, &["é\u{9b}x\u{202e}".as_bytes(), b"\xff\xfeok\r"]);
        assert_eq!(String::from_utf8(out).unwrap(), "[a] é\\u{9b}x\\u{202e}\n[a] \\xff\\xfeok^M\n");
    }

    #[test]
    fn labels_are_escaped_on_a_terminal() {
        let style = Style { color: false, ..TTY };
        let out = render(style, &["evil\x1b]0;x\x07"], 0, &[b"l"]);
        assert_eq!(out, b"[evil^[]0;x^G] l\n");
    }

    #[test]
    fn colour_is_stable_per_label() {
        assert_eq!(colour_of("api"), colour_of("api"));
        let distinct: std::collections::HashSet<_> =
            ["a", "b", "c", "d", "e", "f"].iter().map(|l| colour_of(l)).collect();
        assert!(distinct.len() > 2);
    }

    #[test]
    fn width_follows_sources() {
        let style = Style { color: false, ..TTY };
        let mut r = Renderer::new(style);
        r.add_source(0, "a");
        r.add_source(1, "abcd");
        let mut out = Vec::new();
        r.render(0, &Batch::from(vec![b"x".to_vec()]), &mut out);
        assert_eq!(out, b"[a]    x\n");
        r.remove_source(1);
        out.clear();
        r.render(0, &Batch::from(vec![b"x".to_vec()]), &mut out);
        assert_eq!(out, b"[a] x\n");
    }
}
