//! Text for a terminal: its width in screen cells, cutting and shortening to a width, and the
//! escaping that keeps bytes from outside from acting on the terminal.

/// `text` shortened to at most `cells` cells by taking out its middle (`kubectl lo…y/api`): the
/// start and the end of a label are what tell sources apart. The same text is always shortened
/// the same way.
pub fn elide(text: &str, cells: usize) -> String {
    if width(text) <= cells || cells < 3 {
        return text.to_string();
    }
    let cell = |c: char| unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
    let (head_cells, tail_cells) = ((cells - 1) / 2, cells - 1 - (cells - 1) / 2);
    let (mut head, mut used) = (String::new(), 0);
    for c in text.chars() {
        if used + cell(c) > head_cells {
            break;
        }
        head.push(c);
        used += cell(c);
    }
    let (mut tail, mut used) = (Vec::new(), 0);
    for c in text.chars().rev() {
        if used + cell(c) > tail_cells {
            break;
        }
        tail.push(c);
        used += cell(c);
    }
    head.push('…');
    head.extend(tail.into_iter().rev());
    head
}

/// The width of `text` on a terminal, in cells (a CJK character takes two).
pub fn width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// `text` cut to at most `cells` cells on a terminal from its start, beginning with `…` where
/// it was cut: what is being typed stays in view, however narrow the terminal.
pub fn fit_end(text: &str, cells: usize) -> String {
    if width(text) <= cells {
        return text.to_string();
    }
    let mut tail = Vec::new();
    let mut used = 0;
    for c in text.chars().rev() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > cells {
            break;
        }
        tail.push(c);
        used += w;
    }
    let mut out = String::new();
    if cells > 0 {
        out.push('…');
    }
    out.extend(tail.into_iter().rev());
    out
}

/// `text` cut to at most `cells` cells on a terminal, ending in `…` where it was cut.
pub fn fit(text: &str, cells: usize) -> String {
    if width(text) <= cells {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > cells {
            break;
        }
        out.push(c);
        used += w;
    }
    if cells > 0 {
        out.push('…');
    }
    out
}

/// Text from outside (labels, specs, regexes, notes) made safe to show on a terminal.
pub fn safe(text: &str) -> String {
    let mut out = Vec::new();
    escape_into(&mut out, text.as_bytes());
    String::from_utf8_lossy(&out).into_owned()
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
