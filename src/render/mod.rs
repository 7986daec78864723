//! Tagged lines to output bytes: labels, padding, colour, highlight, templates, JSON, and
//! terminal-safe escaping.
//!
//! Pure: the renderer appends to a byte buffer and never does I/O. On a terminal every byte a
//! source sent is shown, but control characters (ESC, BEL, CR, NUL, C1 controls, bidi overrides)
//! and invalid UTF-8 are shown escaped (`^[`, `\u{9b}`, `\xff`) rather than sent raw, so a log line
//! can never move the cursor, retitle the window or hide text. Elsewhere lines pass byte-exact
//! (JSON escapes what JSON must, and carries lines that are not UTF-8 exactly, in base64).

use regex::bytes::Regex;

use crate::line::{Arrival, Batch, Stream};
use crate::parse::{self, Level};

mod json;
mod template;
mod text;

use json::json_line;
pub use json::rfc3339;
pub use template::Template;
pub use text::{elide, escape_into, fit, fit_end, safe, width};

/// How lines are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    /// Prefix each line with `[LABEL] ` (default layout).
    pub label: bool,
    /// Colour labels (a stable colour per label) and highlight matches.
    pub color: bool,
    /// Output goes to a terminal: pad labels to one width and escape control characters.
    pub terminal: bool,
}

/// The shape of each output line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `[LABEL] LINE`, with the arrival time first when `timestamps`.
    Default {
        /// Prefix `{time} `.
        timestamps: bool,
    },
    /// A `--format` template.
    Template(Template),
    /// One JSON object per line.
    Json,
}

/// Label colours: the six ANSI colours, then their bright forms.
const PALETTE: [u8; 12] = [36, 33, 32, 35, 34, 31, 96, 93, 92, 95, 94, 91];
/// How highlighted matches are shown: bold, red background.
const HIGHLIGHT_ON: &[u8] = b"\x1b[1;41m";
const RESET: &[u8] = b"\x1b[0m";

/// How a level marker is coloured: fatal bold red, error red, warn yellow, debug and trace
/// dim; info and notice as they are.
fn level_colour(level: Level) -> Option<&'static [u8]> {
    match level {
        Level::Fatal => Some(b"\x1b[1;31m"),
        Level::Error => Some(b"\x1b[31m"),
        Level::Warn => Some(b"\x1b[33m"),
        Level::Debug | Level::Trace => Some(b"\x1b[2m"),
        Level::Info | Level::Notice => None,
    }
}

/// The most cells a label takes in the default layout on a terminal; longer ones are shortened in
/// the middle (the list key, `l`, shows them whole).
pub const LABEL_CELLS: usize = 24;

#[derive(Clone, Debug)]
struct Source {
    /// The label as shown (escaped for a terminal).
    label: Box<str>,
    /// Its colour.
    colour: u8,
    /// The spec as shown; kept only where the layout shows it (JSON, `{source}`).
    spec: Box<str>,
    /// The default layout's prefix.
    prefix: Box<[u8]>,
}

/// Renders lines for the sources it knows.
#[derive(Debug)]
pub struct Renderer {
    style: Style,
    layout: Layout,
    highlight: Option<Regex>,
    sources: Vec<Option<Source>>,
    /// The width labels are padded to.
    width: usize,
    /// Colours handed out so far, by label (its hash: ten thousand files' labels are not kept
    /// twice): in order of first appearance, as docker compose does, so that the first sources
    /// never share one; a label keeps its colour for the run.
    colours: std::collections::HashMap<u64, u8>,
    hasher: std::hash::RandomState,
}

impl Renderer {
    /// A renderer with no sources yet.
    pub fn new(style: Style, layout: Layout, highlight: Option<Regex>) -> Self {
        // Highlighting is a colour: never in JSON, never without colour.
        let highlight = highlight.filter(|_| style.color && layout != Layout::Json);
        let (colours, hasher) = Default::default();
        Renderer { style, layout, highlight, sources: Vec::new(), width: 0, colours, hasher }
    }

    /// Makes `label` the label of source `id`, from `spec` (labels are re-padded when the
    /// widest one changes).
    pub fn add_source(&mut self, id: usize, label: &str, spec: &str) {
        if self.sources.len() <= id {
            self.sources.resize(id + 1, None);
        }
        let shown = |s: &str| -> Box<str> {
            if self.style.terminal {
                safe(s).into()
            } else {
                s.into()
            }
        };
        let next = PALETTE[self.colours.len() % PALETTE.len()];
        let key = std::hash::BuildHasher::hash_one(&self.hasher, label);
        let colour = *self.colours.entry(key).or_insert(next);
        let spec = if self.shows_spec() { shown(spec) } else { Box::default() };
        let source = Source { label: shown(label), colour, spec, prefix: Box::default() };
        self.sources[id] = Some(source);
        self.relayout(Some(id));
    }

    /// Whether the layout shows a source's spec.
    fn shows_spec(&self) -> bool {
        match &self.layout {
            Layout::Json => true,
            Layout::Template(template) => template.shows_source(),
            Layout::Default { .. } => false,
        }
    }

    /// Forgets source `id`.
    pub fn remove_source(&mut self, id: usize) {
        if let Some(source) = self.sources.get_mut(id) {
            *source = None;
            self.relayout(None);
        }
    }

    /// Lays out the prefix of source `new` (just added), or of every source when the padded
    /// width changed. On a terminal labels are padded to one width, in cells, at most
    /// [`LABEL_CELLS`]; elsewhere they are written whole and unpadded.
    fn relayout(&mut self, new: Option<usize>) {
        let cells = |s: &Source| width(&s.label).min(LABEL_CELLS);
        let width = match new {
            _ if !self.style.terminal => 0,
            Some(id) => self.width.max(self.sources[id].as_ref().map_or(0, cells)),
            None => self.sources.iter().flatten().map(cells).max().unwrap_or(0),
        };
        let (label, color, terminal) = (self.style.label, self.style.color, self.style.terminal);
        let layout = |source: &mut Source| {
            source.prefix = if label {
                let shown = if terminal {
                    elide(&source.label, LABEL_CELLS)
                } else {
                    source.label.to_string()
                };
                prefix(&shown, source.colour, width, color).into()
            } else {
                Box::default()
            };
        };
        match new {
            Some(id) if width == self.width => self.sources[id].iter_mut().for_each(layout),
            _ => self.sources.iter_mut().flatten().for_each(layout),
        }
        self.width = width;
    }

    /// Appends every line of `lines`, as source `id`'s, to `out`.
    pub fn render(&self, id: usize, lines: &Arrival, out: &mut Vec<u8>) {
        let Some(Some(source)) = self.sources.get(id) else { return };
        let batch = &lines.batch;
        if batch.gap() {
            self.separator(source, out);
        }
        match &self.layout {
            Layout::Default { timestamps } => {
                let time = timestamps.then(|| rfc3339(lines.time));
                let plain = !self.style.terminal && !self.style.color && self.highlight.is_none();
                if time.is_none() && plain {
                    plain_lines(&source.prefix, batch, out);
                    return;
                }
                // On a terminal a command's stderr lines are marked.
                let marker: &[u8] = match lines.stream {
                    Some(Stream::Stderr) if self.style.terminal && self.style.color => {
                        b"\x1b[31m!\x1b[0m "
                    }
                    Some(Stream::Stderr) if self.style.terminal => b"! ",
                    _ => b"",
                };
                // The lines after an event's first are marked on a terminal.
                let cont: &[u8] = if self.style.color {
                    b"\x1b[2m\xe2\x94\x82\x1b[0m "
                } else {
                    "\u{2502} ".as_bytes()
                };
                for event in batch.events() {
                    let first = event.start;
                    for i in event {
                        if let Some(time) = &time {
                            out.extend_from_slice(time.as_bytes());
                            out.push(b' ');
                        }
                        out.extend_from_slice(&source.prefix);
                        out.extend_from_slice(marker);
                        if i != first && self.style.terminal {
                            out.extend_from_slice(cont);
                        }
                        if i == first {
                            self.first_line(out, batch.line(i));
                        } else {
                            self.line(out, batch.line(i));
                        }
                        out.push(b'\n');
                    }
                }
            }
            Layout::Template(template) => {
                let time = template.uses_time().then(|| rfc3339(lines.time));
                for event in batch.events() {
                    self.template(template, source, lines, event, time.as_deref(), out);
                }
            }
            Layout::Json => {
                let time = rfc3339(lines.time);
                let mut joined = Vec::new();
                for event in batch.events() {
                    if event.len() == 1 {
                        json_line(out, source, batch.line(event.start), &time, lines);
                        continue;
                    }
                    // One record per event, its lines joined by newlines.
                    joined.clear();
                    for i in event.clone() {
                        if i != event.start {
                            joined.push(b'\n');
                        }
                        joined.extend_from_slice(batch.line(i));
                    }
                    json_line(out, source, &joined, &time, lines);
                }
            }
        }
    }

    /// `LABEL:COUNT` for source `id` (`--count`).
    pub fn count(&self, id: usize, n: u64, out: &mut Vec<u8>) {
        if let Some(Some(source)) = self.sources.get(id) {
            out.extend_from_slice(format!("{}:{n}\n", source.label).as_bytes());
        }
    }

    /// A label in a template: coloured when colour is on.
    fn label(&self, out: &mut Vec<u8>, source: &Source) {
        let label = &source.label;
        if self.style.color {
            out.extend_from_slice(format!("\x1b[{}m", source.colour).as_bytes());
            out.extend_from_slice(label.as_bytes());
            out.extend_from_slice(RESET);
        } else {
            out.extend_from_slice(label.as_bytes());
        }
    }

    /// `--` between context groups (`-A`/`-B`/`-C`): with the label in the default layout, bare
    /// in a template, never in JSON.
    fn separator(&self, source: &Source, out: &mut Vec<u8>) {
        match self.layout {
            Layout::Default { .. } => {
                out.extend_from_slice(&source.prefix);
                out.extend_from_slice(if self.style.color {
                    b"\x1b[2m--\x1b[0m\n"
                } else {
                    b"--\n"
                });
            }
            Layout::Template(_) => out.extend_from_slice(b"--\n"),
            Layout::Json => {}
        }
    }

    /// An event's first line: as [`Renderer::line`], and when colouring its level marker in
    /// the level's colour.
    fn first_line(&self, out: &mut Vec<u8>, line: &[u8]) {
        let marked = match self.style.color {
            true => parse::detect(line).and_then(|f| Some((f.at, level_colour(f.level)?))),
            false => None,
        };
        let Some((at, colour)) = marked else { return self.line(out, line) };
        self.line(out, &line[..at.start]);
        out.extend_from_slice(colour);
        self.line(out, &line[at.clone()]);
        out.extend_from_slice(RESET);
        self.line(out, &line[at.end..]);
    }

    /// A line's bytes: escaped on a terminal, with highlighted matches when asked.
    fn line(&self, out: &mut Vec<u8>, line: &[u8]) {
        let put = |out: &mut Vec<u8>, bytes: &[u8]| {
            if self.style.terminal {
                escape_into(out, bytes);
            } else {
                out.extend_from_slice(bytes);
            }
        };
        let Some(re) = &self.highlight else { return put(out, line) };
        let mut at = 0;
        for m in re.find_iter(line) {
            if m.is_empty() {
                continue;
            }
            put(out, &line[at..m.start()]);
            out.extend_from_slice(HIGHLIGHT_ON);
            put(out, m.as_bytes());
            out.extend_from_slice(RESET);
            at = m.end();
        }
        put(out, &line[at..]);
    }
}

/// The hot path: each line as its prefix, its bytes and a newline.
///
/// Everything is copied [`WIDE`] bytes at a time into room reserved once: a prefix of up to
/// `WIDE` bytes is one fixed-size copy, a line's content as many as it takes, and then its `\n`.
/// A copy may write up to `WIDE - 1` bytes beyond what it counts, which the next one
/// overwrites. A fixed-size copy is one load and one store, where copying the exact length is a
/// call to `memcpy` for every line.
fn plain_lines(prefix: &[u8], batch: &Batch, out: &mut Vec<u8>) {
    // Each line takes its prefix, its content and a `\n`; the last copy may reach `WIDE - 1`
    // bytes further.
    let most = batch.content_bytes() + batch.len() * (prefix.len() + 1);
    out.reserve(most + WIDE);
    if prefix.len() > WIDE {
        for line in batch.iter() {
            out.extend_from_slice(prefix);
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        return;
    }
    let mut pad = [0u8; WIDE];
    pad[..prefix.len()].copy_from_slice(prefix);
    let data_end = batch.bytes().as_ptr_range().end;
    let first = out.len();
    let room = out.spare_capacity_mut().as_mut_ptr().cast::<u8>();
    let mut at = 0;
    for line in batch.iter() {
        let n = line.len();
        let src = line.as_ptr();
        // How many bytes may be read from `src`: the rest of the buffer the line is part of.
        let readable = data_end as usize - src as usize;
        // SAFETY: `room` is `out`'s spare capacity, at least `most + WIDE` bytes (reserved
        // above). Every line writes its prefix, its content and a `\n` (all counted in
        // `most`), and a copy at most `WIDE - 1` bytes beyond that, so no write leaves it.
        // Reads of `WIDE` at a time are made only while they stay within the line's buffer
        // (`readable`); otherwise the content is copied at its exact length. The buffer and
        // `out` do not overlap (`out` is borrowed mutably).
        unsafe {
            let dst = room.add(at);
            std::ptr::copy_nonoverlapping(pad.as_ptr(), dst, WIDE);
            let dst = dst.add(prefix.len());
            if n.next_multiple_of(WIDE) <= readable {
                let mut k = 0;
                while k < n {
                    std::ptr::copy_nonoverlapping(src.add(k), dst.add(k), WIDE);
                    k += WIDE;
                }
            } else {
                std::ptr::copy_nonoverlapping(src, dst, n);
            }
            *dst.add(n) = b'\n';
        }
        at += prefix.len() + n + 1;
    }
    debug_assert_eq!(at, most);
    // SAFETY: every byte up to `at` was written above, within the reserved room.
    unsafe { out.set_len(first + at) };
}

/// The size of one copy in [`plain_lines`].
const WIDE: usize = 16;

/// `[label] ` padded to `width` cells, coloured if asked.
fn prefix(label: &str, colour: u8, width: usize, color: bool) -> Vec<u8> {
    let mut p = Vec::with_capacity(label.len() + width + 12);
    if color {
        p.extend_from_slice(format!("\x1b[{colour}m").as_bytes());
    }
    p.push(b'[');
    p.extend_from_slice(label.as_bytes());
    p.push(b']');
    if color {
        p.extend_from_slice(RESET);
    }
    let pad = width.saturating_sub(self::width(label));
    p.resize(p.len() + pad + 1, b' ');
    p
}

#[cfg(test)]
mod tests {
    use super::json::base64_into;
    use super::*;
    use std::time::Duration;
    use std::time::SystemTime;

    const PIPE: Style = Style { label: true, color: false, terminal: false };
    const TTY: Style = Style { label: true, color: true, terminal: true };
    const PLAIN: Layout = Layout::Default { timestamps: false };

    fn at(secs: u64, millis: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis)
    }

    fn arrival(lines: &[&[u8]], peer: Option<&str>) -> Arrival {
        let batch = Batch::from(lines.iter().map(|l| l.to_vec()).collect::<Vec<_>>());
        Arrival { batch, peer: peer.map(Into::into), time: at(1_764_164_712, 345), stream: None }
    }

    fn render_with(r: &mut Renderer, sources: &[&str], id: usize, lines: &[&[u8]]) -> Vec<u8> {
        for (i, label) in sources.iter().enumerate() {
            r.add_source(i, label, &format!("spec-{label}"));
        }
        let mut out = Vec::new();
        r.render(id, &arrival(lines, Some("127.0.0.1:5000")), &mut out);
        out
    }

    fn render(style: Style, sources: &[&str], id: usize, lines: &[&[u8]]) -> Vec<u8> {
        render_with(&mut Renderer::new(style, PLAIN, None), sources, id, lines)
    }

    #[test]
    fn piped_output_is_label_and_raw_bytes() {
        let out = render(PIPE, &["a", "long-label"], 0, &[b"x\x1b[31m\xff\x00", b""]);
        assert_eq!(out, b"[a] x\x1b[31m\xff\x00\n[a] \n");
    }

    #[test]
    fn piped_lines_as_split_keep_their_bytes_whatever_the_endings() {
        // `\r\n`, an empty line, a line cut into pieces and an unended last line, under a
        // short prefix (one fixed-size store) and a long one (over 16 bytes).
        let mut split = crate::line::Splitter::new(4);
        split.push(b"crlf\r\n\nabcdefghij\nend");
        let batches = [split.take_batch().unwrap(), split.finish().unwrap()];
        for label in ["a", "a-label-of-twenty-chars"] {
            let mut r = Renderer::new(PIPE, PLAIN, None);
            r.add_source(0, label, "spec");
            let mut out = Vec::new();
            for batch in &batches {
                let arrival =
                    Arrival { batch: batch.clone(), peer: None, time: at(0, 0), stream: None };
                r.render(0, &arrival, &mut out);
            }
            let p = format!("[{label}] ");
            let want =
                ["crlf", "", "abcd", "efgh", "ij", "end"].map(|l| format!("{p}{l}\n")).concat();
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }

    #[test]
    fn no_label_prints_bare_lines() {
        let style = Style { label: false, ..PIPE };
        assert_eq!(render(style, &["a"], 0, &[b"one", b"two"]), b"one\ntwo\n");
    }

    #[test]
    fn terminal_pads_colours_and_escapes() {
        let out = render(TTY, &["a", "abc"], 0, &[b"bell\x07 esc\x1b[2J tab\tok"]);
        let c = PALETTE[0];
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
    fn colours_go_out_in_order_of_first_appearance() {
        let mut r = Renderer::new(TTY, PLAIN, None);
        for (id, label) in ["worker.log", "db", "api", "db"].iter().enumerate() {
            r.add_source(id, label, label);
        }
        let colour = |r: &Renderer, id: usize| r.sources[id].as_ref().unwrap().colour;
        let first: Vec<u8> = (0..3).map(|id| colour(&r, id)).collect();
        assert_eq!(first, PALETTE[..3]);
        assert_eq!(colour(&r, 3), colour(&r, 1), "a label keeps its colour");
        for id in 4..4 + PALETTE.len() {
            r.add_source(id, &format!("s{id}"), "x");
        }
        let colour = |id: usize| colour(&r, id);
        let all: std::collections::HashSet<_> = (0..3).chain(4..13).map(colour).collect();
        assert_eq!(all.len(), PALETTE.len(), "distinct until the palette is used up");
    }

    #[test]
    fn long_labels_are_shortened_in_the_middle_on_a_terminal_only() {
        let long = "cmd:kubectl logs -f deploy/api --since=1h";
        assert_eq!(elide(long, 24), "cmd:kubectl…i --since=1h");
        assert_eq!(width(&elide(long, 24)), 24);
        assert_eq!(elide("日本語のとても長いラベルです.log", 12), "日本…す.log");
        assert!(width(&elide("日本語のとても長いラベルです.log", 12)) <= 12);
        let style = Style { color: false, ..TTY };
        let out = render(style, &[long, "a"], 1, &[b"x"]);
        assert_eq!(String::from_utf8(out).unwrap(), format!("[a]{} x\n", " ".repeat(23)));
        let out = render(style, &[long], 0, &[b"x"]);
        assert_eq!(String::from_utf8(out).unwrap(), "[cmd:kubectl…i --since=1h] x\n");
        let out = render(PIPE, &[long], 0, &[b"x"]);
        assert_eq!(String::from_utf8(out).unwrap(), format!("[{long}] x\n"), "piped: whole");
    }

    #[test]
    fn wide_labels_are_padded_by_cells() {
        let style = Style { color: false, ..TTY };
        let out = render(style, &["日本", "abcd"], 0, &[b"x"]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[日本] x\n",
            "two wide characters are four cells"
        );
        let out = render(style, &["日", "abcd"], 0, &[b"x"]);
        assert_eq!(String::from_utf8(out).unwrap(), "[日]   x\n");
        assert_eq!(fit("日本語", 5), "日本…");
        assert_eq!(fit("abc", 3), "abc");
        assert_eq!(fit_end("attach: /var/log/app.log", 9), "…/app.log");
        assert_eq!(fit_end("filter: 日本語", 5), "…本語");
        assert_eq!(fit_end("abc", 3), "abc");
    }

    #[test]
    fn width_follows_sources() {
        let style = Style { color: false, ..TTY };
        let mut r = Renderer::new(style, PLAIN, None);
        assert_eq!(render_with(&mut r, &["a", "abcd"], 0, &[b"x"]), b"[a]    x\n");
        r.remove_source(1);
        let mut out = Vec::new();
        r.render(0, &arrival(&[b"x"], None), &mut out);
        assert_eq!(out, b"[a] x\n");
    }

    #[test]
    fn highlight_marks_matches_only_with_colour() {
        let re = Regex::new("err").unwrap();
        let style = Style { terminal: false, ..TTY };
        let mut r = Renderer::new(style, PLAIN, Some(re.clone()));
        let out = render_with(&mut r, &["a"], 0, &[b"an error, err\x1b"]);
        let c = PALETTE[0];
        let want =
            format!("\x1b[{c}m[a]\x1b[0m an \x1b[1;41merr\x1b[0mor, \x1b[1;41merr\x1b[0m\x1b\n");
        assert_eq!(String::from_utf8(out).unwrap(), want);
        let mut r = Renderer::new(PIPE, PLAIN, Some(re));
        assert_eq!(render_with(&mut r, &["a"], 0, &[b"an error"]), b"[a] an error\n");
    }

    #[test]
    fn timestamps_and_templates() {
        let mut r = Renderer::new(PIPE, Layout::Default { timestamps: true }, None);
        let out = render_with(&mut r, &["a"], 0, &[b"x"]);
        assert_eq!(out, b"2025-11-26T13:45:12.345Z [a] x\n");
        let t = Template::parse("{time} {{{label}}} {source} {peer}: {line}").unwrap();
        let mut r = Renderer::new(PIPE, Layout::Template(t), None);
        let out = render_with(&mut r, &["a"], 0, &[b"x\xff"]);
        assert_eq!(out, b"2025-11-26T13:45:12.345Z {a} spec-a 127.0.0.1:5000: x\xff\n");
    }

    #[test]
    fn a_commands_stderr_lines_are_told_apart() {
        let mut lines = arrival(&[b"oops"], None);
        lines.stream = Some(Stream::Stderr);
        let render_one = |style: Style, layout: Layout| {
            let mut r = Renderer::new(style, layout, None);
            r.add_source(0, "build", "cmd:make");
            let mut out = Vec::new();
            r.render(0, &lines, &mut out);
            String::from_utf8(out).unwrap()
        };
        let t = Template::parse("{stream}|{line}").unwrap();
        assert_eq!(render_one(PIPE, Layout::Template(t)), "stderr|oops\n");
        assert!(
            render_one(PIPE, Layout::Json).contains(r#""source":"cmd:make","stream":"stderr"}"#)
        );
        assert_eq!(render_one(PIPE, PLAIN), "[build] oops\n", "piped: as it was");
        assert_eq!(render_one(Style { color: false, ..TTY }, PLAIN), "[build] ! oops\n");
        let c = PALETTE[0];
        let want = format!("\x1b[{c}m[build]\x1b[0m \x1b[31m!\x1b[0m oops\n");
        assert_eq!(render_one(TTY, PLAIN), want);
    }

    #[test]
    fn template_errors() {
        assert!(Template::parse("{nope}").unwrap_err().contains("unknown placeholder {nope}"));
        assert!(Template::parse("{line").is_err());
        assert!(Template::parse("}").is_err());
        let text = template::Part::Text("{}".into());
        assert_eq!(Template::parse("{{}}").unwrap(), Template(vec![text]));
    }

    #[test]
    fn json_escapes_and_carries_raw_bytes() {
        let mut r = Renderer::new(PIPE, Layout::Json, None);
        let out = render_with(&mut r, &["a\"b"], 0, &[b"q\"\\\t\x1b\x7f\xc2\x9b", b"\xffab"]);
        let want = concat!(
            r#"{"label":"a\"b","line":"q\"\\\t\u001b\u007f\u009b","level":null,"time":"2025-11-26T13:45:12.345Z","ts":null,"#,
            r#""peer":"127.0.0.1:5000","source":"spec-a\"b"}"#,
            "\n",
            r#"{"label":"a\"b","line":""#,
            "\u{fffd}",
            r#"ab","line_base64":"/2Fi","level":null,"time":"2025-11-26T13:45:12.345Z","ts":null,"#,
            r#""peer":"127.0.0.1:5000","source":"spec-a\"b"}"#,
            "\n"
        );
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    /// What a terminal would act on in `out`, besides mux-tail's own colour sequences and the
    /// line endings and tabs.
    fn terminal_controls(out: &[u8]) -> Vec<char> {
        let text = std::str::from_utf8(out).expect("terminal output is valid UTF-8");
        let mut rest = text.to_string();
        for own in ["\x1b[0m", "\x1b[1;41m"] {
            rest = rest.replace(own, "");
        }
        for colour in PALETTE {
            rest = rest.replace(&format!("\x1b[{colour}m"), "");
        }
        rest.chars()
            .filter(|&c| c != '\n' && c != '\t')
            .filter(|&c| {
                c.is_control()
                    || ('\u{202a}'..='\u{202e}').contains(&c)
                    || ('\u{2066}'..='\u{2069}').contains(&c)
            })
            .collect()
    }

    /// Mostly `x`, often `\n`, sometimes any byte (`\r` among them).
    fn log_byte() -> impl proptest::strategy::Strategy<Value = u8> {
        use proptest::prelude::{any, Just};
        proptest::prop_oneof![4 => Just(b'x'), 1 => Just(b'\n'), 1 => any::<u8>()]
    }

    proptest::proptest! {
        /// The hot path's wide copies write exactly each line's prefix, bytes and `\n`, after
        /// what the buffer held, whatever the lengths and wherever a line ends in its buffer.
        #[test]
        fn piped_output_is_exactly_prefix_line_and_newline(
            input in proptest::collection::vec(log_byte(), 0..400),
            cut in 0usize..400,
            max in 1usize..70,
            label in "[a-z]{0,24}",
            before in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
        ) {
            let mut split = crate::line::Splitter::new(max);
            let cut = cut.min(input.len());
            let mut batches = Vec::new();
            for part in [&input[..cut], &input[cut..]] {
                split.push(part);
                batches.extend(split.take_batch());
            }
            batches.extend(split.finish());
            let mut r = Renderer::new(PIPE, PLAIN, None);
            r.add_source(0, &label, "spec");
            let (mut out, mut want) = (before.clone(), before);
            for batch in batches {
                for line in batch.iter() {
                    want.extend_from_slice(format!("[{label}] ").as_bytes());
                    want.extend_from_slice(line);
                    want.push(b'\n');
                }
                r.render(0, &Arrival { batch, peer: None, time: at(0, 0), stream: None }, &mut out);
            }
            proptest::prop_assert_eq!(out, want);
        }
    }

    proptest::proptest! {
        #[test]
        fn nothing_from_a_source_reaches_a_terminal_raw(
            lines in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..60), 1..8),
            label in "\\PC{0,12}|[\\x00-\\x1f\\x7f-\\u{9f}]{1,4}",
            highlight in proptest::prelude::any::<bool>(),
        ) {
            let re = highlight.then(|| Regex::new("[\\x00-\\x1f]|a|\\x{9b}").unwrap());
            let mut r = Renderer::new(TTY, PLAIN, re);
            r.add_source(0, &label, &label);
            let batch = Batch::from(lines);
            let mut out = Vec::new();
            r.render(0, &Arrival { batch, peer: None, time: at(0, 0), stream: None }, &mut out);
            let controls = terminal_controls(&out);
            proptest::prop_assert!(controls.is_empty(), "{:?} in {:?}", controls, String::from_utf8_lossy(&out));
        }
    }

    #[test]
    fn base64_and_dates() {
        let b64 = |b: &[u8]| {
            let mut out = Vec::new();
            base64_into(&mut out, b);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(b64(b""), "");
        assert_eq!(b64(b"f"), "Zg==");
        assert_eq!(b64(b"fo"), "Zm8=");
        assert_eq!(b64(b"foob"), "Zm9vYg==");
        assert_eq!(rfc3339(at(0, 0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(at(951_782_400, 7)), "2000-02-29T00:00:00.007Z");
        assert_eq!(rfc3339(at(4_102_444_799, 999)), "2099-12-31T23:59:59.999Z");
    }
}
