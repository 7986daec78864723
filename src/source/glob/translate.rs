//! A glob as a regex over a path's bytes: `*` and `?` never cross a `/`; `**` as a whole part
//! of the path is zero or more directories; `[...]` (`[!...]`) and `?` match whole characters
//! (a name that is not UTF-8 is matched byte by byte where it is not); `{a,b}` is either;
//! `\x` is `x`.

use regex::bytes::Regex;

/// One character that is not `/`: a whole UTF-8 character, or a byte of a name that is not.
const ONE: &str = r"(?:[^/]|(?-u:[\x80-\xff]))";

/// The regex matching whole paths that `glob` matches.
pub(super) fn regex(glob: &str) -> Result<Regex, String> {
    let mut re = String::from("^");
    let chars: Vec<char> = glob.chars().collect();
    translate(&chars, &mut re, false)?;
    re.push('$');
    Regex::new(&re).map_err(|e| e.to_string())
}

fn lit(re: &mut String, c: char) {
    re.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
}

fn translate(chars: &[char], re: &mut String, in_braces: bool) -> Result<(), String> {
    let mut i = 0;
    while i < chars.len() {
        let part_start = i == 0 || chars[i - 1] == '/';
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*')
                && part_start
                && matches!(chars.get(i + 2), None | Some('/')) =>
            {
                if chars.get(i + 2) == Some(&'/') {
                    re.push_str("(?:(?s-u:.)*/)?");
                    i += 3;
                } else {
                    re.push_str("(?s-u:.)*");
                    i += 2;
                }
                continue;
            }
            '*' => {
                re.push_str(ONE);
                re.push('*');
            }
            '?' => re.push_str(ONE),
            '\\' if i + 1 < chars.len() => {
                i += 1;
                lit(re, chars[i]);
            }
            '[' => {
                // `]` right after `[` (or `[!`) is itself.
                let from = i + 1 + usize::from(matches!(chars.get(i + 1), Some('!' | '^')));
                let close = (from + 1..chars.len())
                    .find(|&j| chars[j] == ']')
                    .ok_or("unclosed [ in glob")?;
                let negate = from > i + 1;
                re.push_str(if negate { "[^/" } else { "[" });
                for &c in &chars[from..close] {
                    match c {
                        '-' => re.push('-'),
                        c if c.is_alphanumeric() => re.push(c),
                        // Anything else by its code, never taken for class syntax.
                        c => re.push_str(&format!("\\x{{{:x}}}", c as u32)),
                    }
                }
                re.push(']');
                i = close;
            }
            '{' => {
                let end = matching_brace(chars, i).ok_or("unclosed { in glob")?;
                re.push_str("(?:");
                let (mut depth, mut start) = (0, i + 1);
                for j in i + 1..=end {
                    match chars[j] {
                        '{' => depth += 1,
                        '}' if depth > 0 => depth -= 1,
                        ',' | '}' if depth == 0 => {
                            if start > i + 1 {
                                re.push('|');
                            }
                            translate(&chars[start..j], re, true)?;
                            start = j + 1;
                        }
                        _ => {}
                    }
                }
                re.push(')');
                i = end;
            }
            c @ '}' if !in_braces => lit(re, c),
            c => lit(re, c),
        }
        i += 1;
    }
    Ok(())
}

/// The index of the `}` closing the `{` at `open`.
fn matching_brace(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (j, &c) in chars.iter().enumerate().skip(open) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(glob: &str, path: &str) -> bool {
        regex(glob).unwrap().is_match(path.as_bytes())
    }

    #[test]
    fn parts_classes_braces_and_depth() {
        assert!(m("caf[é]", "café") && m("?.log", "é.log") && m("caf?", "café"));
        assert!(m("[]a]", "]") && m("[!a]", "b") && !m("[!a]", "a") && !m("[!a]", "/"));
        assert!(m("x[0-9]", "x7") && !m("x[0-9]", "xa"));
        assert!(m("{a,b{c,d}}.log", "bd.log") && m("{a,}.log", ".log") && !m("{a,b}.log", "c.log"));
        assert!(m("r/**/*.log", "r/a.log") && m("r/**/*.log", "r/x/y/a.log"));
        assert!(m("r/**", "r/x/y") && m("**/a", "x/a") && m("**/a", "a"));
        assert!(!m("r/*.log", "r/x/a.log") && !m("a?b", "a/b"));
        assert!(m(r"a\*b", "a*b") && !m(r"a\*b", "axb"));
        assert!(m("a.log(1)+", "a.log(1)+"), "regex characters are literal");
        assert!(
            m("*", "\u{fffd}x") && regex("*").unwrap().is_match(b"\xffx"),
            "bytes that are not UTF-8"
        );
        assert!(regex("a[b").is_err() && regex("a{b").is_err());
        assert!(
            m("x[<>€_].log", "x€.log") && m("x[<>€_].log", "x<.log") && !m("x[<>€_].log", "xa.log")
        );
        assert!(
            regex("**/a").unwrap().is_match(b"\xff/dir/a"),
            "** crosses names that are not UTF-8"
        );
    }
}
