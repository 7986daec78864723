//! `--format` templates: `{label}`, `{line}`, `{time}`, `{peer}`, `{source}`, `{stream}`,
//! `{level}`, `{ts}` (the line's own time) and `{.PATH}` (a field of the line), parsed once,
//! filled in per event.

use std::ops::Range;

use super::{Renderer, Source};
use crate::line::{Arrival, Stream};
use crate::parse::{self, Clock, FieldPath};

/// A parsed `--format` template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template(pub(super) Vec<Part>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Part {
    Text(String),
    Label,
    Line,
    Time,
    Peer,
    Source,
    Stream,
    Level,
    Ts,
    Field(FieldPath),
}

impl Template {
    /// Whether `{source}` is in it.
    pub(super) fn shows_source(&self) -> bool {
        self.0.contains(&Part::Source)
    }

    /// Parses `{label}`, `{line}`, `{time}`, `{peer}`, `{source}`, `{stream}`, `{level}`,
    /// `{ts}`, `{.PATH}`; `{{` and `}}` are braces.
    pub fn parse(s: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = s;
        while let Some(i) = rest.find(['{', '}']) {
            text.push_str(&rest[..i]);
            let tail = &rest[i..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                text.push_str(&tail[..1]);
                rest = &tail[2..];
                continue;
            }
            if tail.starts_with('}') {
                return Err("unmatched '}' in --format (write }} for a brace)".into());
            }
            let end = tail.find('}').ok_or("unclosed '{' in --format (write {{ for a brace)")?;
            let part = match &tail[1..end] {
                "label" => Part::Label,
                "line" => Part::Line,
                "time" => Part::Time,
                "peer" => Part::Peer,
                "source" => Part::Source,
                "stream" => Part::Stream,
                "level" => Part::Level,
                "ts" => Part::Ts,
                field if field.starts_with('.') => {
                    Part::Field(FieldPath::parse(&field[1..]).ok_or(format!(
                        "invalid field {{{field}}} in --format (as {{.msg}}, {{.http.status}})"
                    ))?)
                }
                other => {
                    return Err(format!(
                        "unknown placeholder {{{other}}} in --format (known: {{label}}, {{line}}, \
                         {{time}}, {{peer}}, {{source}}, {{stream}}, {{level}}, {{ts}}, {{.FIELD}})"
                    ))
                }
            };
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(part);
            rest = &tail[end + 1..];
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template(parts))
    }

    /// Whether `{time}` is used.
    pub(super) fn uses_time(&self) -> bool {
        self.0.contains(&Part::Time)
    }
}

impl Renderer {
    /// One event, as `template` lays it out, and a newline.
    pub(super) fn template(
        &self,
        template: &Template,
        source: &Source,
        lines: &Arrival,
        event: Range<usize>,
        time: Option<&str>,
        out: &mut Vec<u8>,
    ) {
        let batch = &lines.batch;
        let first = batch.line(event.start);
        for part in &template.0 {
            match part {
                Part::Text(text) => out.extend_from_slice(text.as_bytes()),
                Part::Label => self.label(out, source),
                Part::Line => {
                    // An event's lines, joined by newlines; its level coloured.
                    self.first_line(out, first);
                    for i in event.start + 1..event.end {
                        out.push(b'\n');
                        self.line(out, batch.line(i));
                    }
                }
                Part::Time => out.extend_from_slice(time.unwrap_or("").as_bytes()),
                Part::Peer => {
                    if let Some(peer) = &lines.peer {
                        out.extend_from_slice(peer.as_bytes());
                    }
                }
                Part::Source => out.extend_from_slice(source.spec.as_bytes()),
                Part::Stream => {
                    out.extend_from_slice(lines.stream.map_or("", Stream::name).as_bytes())
                }
                Part::Level => {
                    if let Some(found) = parse::detect(first) {
                        out.extend_from_slice(found.level.name().as_bytes());
                    }
                }
                Part::Ts => {
                    if let Some(ts) = parse::timestamp(first, Clock::of_run()) {
                        out.extend_from_slice(super::rfc3339(ts.into()).as_bytes());
                    }
                }
                Part::Field(path) => {
                    if let Some(value) = parse::field(first, path) {
                        self.line(out, &value);
                    }
                }
            }
        }
        out.push(b'\n');
    }
}
