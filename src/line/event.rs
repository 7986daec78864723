//! Events: lines grouped so that a stack trace stays one thing (`--multiline`).
//!
//! A [`Grouper`] is the small state machine of one input (a file, a connection, one output of
//! a command): fed batches of lines, it hands back the events that are complete and keeps the
//! last one open, since the next line may still continue it. It is told when its input ended
//! ([`Grouper::flush`]); the mux flushes it too after `--multiline-timeout` with no new line.
//!
//! How lines join is data, not code: a preset is a list of [`Rule`]s over a few states. A line
//! continues the open event when a rule for the event's state matches it (the rule names the
//! state after it); any other line starts a new event, whose state is that of the first rule
//! from [`START`] matching it, or [`LOG`]. The same machine runs every preset and
//! `--multiline-start`.

use std::sync::Arc;

use regex::bytes::Regex;
use regex_automata::hybrid::dfa::{Cache as DfaCache, DFA};
use regex_automata::util::start;
use regex_automata::Anchored;

use super::batch::Gathered;
use super::Batch;

/// The state of a line that starts an event (rules from it classify the new event's first line).
pub const START: u8 = 0;
/// The state after an ordinary line.
pub const LOG: u8 = 1;
/// A rule's `to` that keeps the state as it is.
const SAME: u8 = u8::MAX;

/// What a rule matches a line by.
#[derive(Debug)]
enum Pattern {
    /// Starts with a space or a tab.
    Indent,
    /// Is empty.
    Empty,
    /// Matches the regex.
    Re(Regex),
    /// Does not match the regex (`--multiline-start`).
    NotRe(Regex),
}

impl Pattern {
    fn matches(&self, line: &[u8]) -> bool {
        match self {
            Pattern::Indent => matches!(line.first(), Some(b' ' | b'\t')),
            Pattern::Empty => line.is_empty(),
            Pattern::Re(re) => re.is_match(line),
            Pattern::NotRe(re) => !re.is_match(line),
        }
    }
}

/// One rule: in one of the states `from` (a bit per state), a line matching `pattern` goes to
/// state `to`.
#[derive(Debug)]
pub struct Rule {
    from: u16,
    pattern: Pattern,
    to: u8,
}

/// How lines join into events, and how large an event may grow.
#[derive(Debug)]
pub struct Rules {
    rules: Vec<Rule>,
    /// Per state, one anchored lazy DFA matching where any of its rules would (one look per
    /// line instead of one per rule; most lines continue nothing, and a DFA with a cache of
    /// its own is several times cheaper per look than a shared `Regex`).
    any: Vec<Option<DFA>>,
    /// Per state, whether every rule from [`START`] is also one of the state's: then a line
    /// that continues nothing there starts a [`LOG`] event without a second look.
    covers_start: Vec<bool>,
    /// The most lines in one event; the next line starts another.
    pub max_lines: usize,
    /// The most content bytes in one event.
    pub max_bytes: usize,
}

/// The presets of `--multiline`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// Java and JVM logs: a logged line, its exception, frames, `Caused by:`.
    Java,
    /// Python: a logged line and its traceback, chained tracebacks too.
    Python,
    /// Go: a `panic:` or `fatal error:` through its goroutine stacks.
    Go,
    /// Any line starting with a space or tab continues the event.
    Indent,
}

/// A rule as written in a preset: from states, a pattern, to a state.
type Def = (&'static [u8], Def1, u8);
#[derive(Clone, Copy, PartialEq)]
enum Def1 {
    Indent,
    Empty,
    Re(&'static str),
}

/// Java: a log line, an exception header right after it, frames, causes, suppressed.
const JAVA: &[Def] = {
    const TRACE: u8 = 2;
    const HEADER: &str = r#"^(?:(?:[a-zA-Z_$][\w$]*\.)*[A-Z][\w$]*(?:Exception|Error|Throwable)(?::.*)?|Exception in thread ".*)$"#;
    &[
        (&[LOG, TRACE], Def1::Indent, TRACE),
        (&[LOG, TRACE], Def1::Re(r"^(?:Caused by|Suppressed): "), TRACE),
        (&[LOG, TRACE], Def1::Re(r"^\.\.\. \d+ (?:more|common frames omitted)$"), TRACE),
        (&[LOG], Def1::Re(HEADER), TRACE),
        (&[START], Def1::Re(HEADER), TRACE),
    ]
};

/// Python: a log line, `Traceback (most recent call last):`, indented frames, the exception
/// line; a blank line and "During handling …" / "The above exception …" chain the next one.
const PYTHON: &[Def] = {
    const TB: u8 = 2;
    const END: u8 = 3;
    const CHAIN: u8 = 4;
    const TRACEBACK: &str = r"^Traceback \(most recent call last\):$";
    &[
        (&[LOG, END, CHAIN], Def1::Re(TRACEBACK), TB),
        (&[START], Def1::Re(TRACEBACK), TB),
        (&[TB], Def1::Indent, TB),
        (&[TB], Def1::Re(r"^[A-Za-z_][\w.]*(?::.*)?$"), END),
        (&[LOG, END, CHAIN], Def1::Indent, SAME),
        (&[END, CHAIN], Def1::Empty, SAME),
        (
            &[END],
            Def1::Re(
                r"^(?:During handling of the above exception, another exception occurred:|The above exception was the direct cause of the following exception:)$",
            ),
            CHAIN,
        ),
    ]
};

/// Go: `panic:` / `fatal error:`, `[signal …]`, `goroutine N [...]:` blocks and their frames
/// (also a logged line followed by a goroutine stack, as net/http logs a handler's panic).
const GO: &[Def] = {
    const PANIC: u8 = 2;
    const STACK: u8 = 3;
    &[
        (&[START], Def1::Re(r"^(?:panic: |fatal error: )"), PANIC),
        (&[PANIC], Def1::Indent, PANIC),
        (&[PANIC, STACK], Def1::Empty, SAME),
        (&[PANIC, STACK], Def1::Re(r"^\[signal "), PANIC),
        (&[LOG, PANIC, STACK], Def1::Re(r"^goroutine \d+ \[.*\]:$"), STACK),
        (&[STACK], Def1::Indent, STACK),
        (
            &[STACK],
            Def1::Re(r"^(?:created by |\.\.\.additional frames elided\.\.\.$|exit status \d+$)"),
            STACK,
        ),
        (&[STACK], Def1::Re(r"^[^\s(]+\(.*\)$"), STACK),
    ]
};

/// Indent: an indented line continues whatever came before it.
const INDENT: &[Def] = &[(&[LOG], Def1::Indent, LOG)];

impl Preset {
    /// The preset named `name`, if there is one.
    pub fn named(name: &str) -> Option<Preset> {
        Some(match name {
            "java" => Preset::Java,
            "python" => Preset::Python,
            "go" => Preset::Go,
            "indent" => Preset::Indent,
            _ => return None,
        })
    }

    /// The preset's names, for messages and help.
    pub const NAMES: &'static str = "java, python, go, indent";

    fn defs(self) -> &'static [Def] {
        match self {
            Preset::Java => JAVA,
            Preset::Python => PYTHON,
            Preset::Go => GO,
            Preset::Indent => INDENT,
        }
    }
}

impl Rules {
    /// The rules of a preset.
    pub fn preset(preset: Preset, max_lines: usize, max_bytes: usize) -> Rules {
        let defs = preset.defs();
        let states = defs.iter().flat_map(|d| d.0.iter()).max().map_or(0, |&s| s as usize + 1);
        let any = (0..states)
            .map(|state| {
                let alternatives: Vec<String> = defs
                    .iter()
                    .filter(|d| d.0.contains(&(state as u8)))
                    .map(|d| match d.1 {
                        Def1::Indent => "(?:^[ \t])".to_string(),
                        Def1::Empty => "(?:^$)".to_string(),
                        Def1::Re(re) => format!("(?:{re})"),
                    })
                    .collect();
                let any = alternatives.join("|");
                (!any.is_empty()).then(|| {
                    // As `regex::bytes`: lines need not be UTF-8.
                    DFA::builder()
                        .syntax(regex_automata::util::syntax::Config::new().utf8(false))
                        .thompson(regex_automata::nfa::thompson::Config::new().utf8(false))
                        .build(&any)
                        .expect("a preset's regex is valid")
                })
            })
            .collect();
        let from = |d: &Def, state: u8| d.0.contains(&state);
        let covers_start = (0..states as u8)
            .map(|state| {
                defs.iter()
                    .filter(|d| from(d, START))
                    .all(|s| defs.iter().any(|d| from(d, state) && d.1 == s.1))
            })
            .collect();
        let rules = defs
            .iter()
            .map(|&(from, pattern, to)| Rule {
                from: from.iter().fold(0, |bits, &s| bits | 1 << s),
                pattern: match pattern {
                    Def1::Indent => Pattern::Indent,
                    Def1::Empty => Pattern::Empty,
                    Def1::Re(re) => Pattern::Re(Regex::new(re).expect("a preset's regex is valid")),
                },
                to,
            })
            .collect();
        Rules { rules, any, covers_start, max_lines, max_bytes }
    }

    /// Rules where a line matching `start` starts an event and every other line continues one
    /// (`--multiline-start`).
    pub fn start_pattern(start: Regex, max_lines: usize, max_bytes: usize) -> Rules {
        let rules = vec![Rule { from: 1 << LOG, pattern: Pattern::NotRe(start), to: LOG }];
        Rules { rules, any: Vec::new(), covers_start: Vec::new(), max_lines, max_bytes }
    }

    /// A cache for the lookups of these rules (one per thread that groups).
    pub fn cache(&self) -> Cache {
        Cache(self.any.iter().map(|dfa| dfa.as_ref().map(DFA::create_cache)).collect())
    }

    /// The state after `line` in state `state`, if a rule lets it continue the event.
    fn next(&self, state: u8, line: &[u8], cache: &mut Cache) -> Option<u8> {
        match (self.any.get(state as usize), cache.0.get_mut(state as usize)) {
            (Some(None), _) => return None,
            (Some(Some(any)), Some(Some(cache))) => {
                // An error (the cache given up on, which these small rules cannot make
                // happen) falls back to the rules one by one.
                if let Ok(false) = matches_start(any, cache, line) {
                    return None;
                }
            }
            _ => {}
        }
        let bit = 1u16 << state;
        let rule = self.rules.iter().find(|r| r.from & bit != 0 && r.pattern.matches(line))?;
        Some(if rule.to == SAME { state } else { rule.to })
    }

    /// The state of an event whose first line is `line`.
    fn first(&self, line: &[u8], cache: &mut Cache) -> u8 {
        self.next(START, line, cache).unwrap_or(LOG)
    }

    /// The state of an event whose first line is `line`, known not to continue one in `state`.
    fn first_after(&self, state: u8, line: &[u8], cache: &mut Cache) -> u8 {
        if self.covers_start.get(state as usize) == Some(&true) {
            LOG
        } else {
            self.first(line, cache)
        }
    }
}

/// Whether `dfa` matches at the start of `line`: the DFA walked byte by byte, ending at the
/// first byte that rules a match in or out (most lines: their first few).
fn matches_start(dfa: &DFA, cache: &mut DfaCache, line: &[u8]) -> Result<bool, ()> {
    let start = start::Config::new().anchored(Anchored::Yes);
    let mut sid = dfa.start_state(cache, &start).map_err(drop)?;
    for &byte in line {
        sid = dfa.next_state(cache, sid, byte).map_err(drop)?;
        if sid.is_tagged() {
            if sid.is_match() {
                return Ok(true);
            }
            if sid.is_dead() {
                return Ok(false);
            }
            if sid.is_quit() {
                return Err(());
            }
        }
    }
    Ok(dfa.next_eoi_state(cache, sid).map_err(drop)?.is_match())
}

/// The lazy DFAs' caches of one [`Rules`] ([`Rules::cache`]): one for all groupers of a loop,
/// so that an open event costs no cache of its own.
#[derive(Debug)]
pub struct Cache(Vec<Option<DfaCache>>);

/// What feeding a batch gave.
#[derive(Debug, Default)]
pub struct Fed {
    /// The event that was open before this batch, now complete.
    pub completed: Option<Batch>,
    /// Events that began and ended within the batch.
    pub within: Option<Batch>,
    /// A new event is open, begun in this batch.
    pub started: bool,
}

/// The grouping state of one input; see the module docs.
#[derive(Debug)]
pub struct Grouper {
    rules: Arc<Rules>,
    /// The open event's state ([`START`]: none is open).
    state: u8,
    /// The open event's lines.
    open: Gathered,
    /// Its content bytes.
    bytes: usize,
}

impl Grouper {
    /// A grouper with no event open.
    pub fn new(rules: Arc<Rules>) -> Grouper {
        Grouper { rules, state: START, open: Gathered::default(), bytes: 0 }
    }

    /// Whether an event is open.
    pub fn is_open(&self) -> bool {
        self.open.len() > 0
    }

    /// The memory the open event holds.
    pub fn held(&self) -> usize {
        self.open.held()
    }

    /// Groups `batch`'s lines; see [`Fed`]. The last event stays open.
    pub fn feed(&mut self, batch: Batch, cache: &mut Cache) -> Fed {
        let rules = &*self.rules;
        let mut starts: Vec<u32> = Vec::new();
        let mut lines = self.open.len();
        for (i, line) in batch.iter().enumerate() {
            let open = lines > 0;
            let next = if open { rules.next(self.state, line, cache) } else { None };
            match next {
                Some(to)
                    if lines < rules.max_lines && self.bytes + line.len() <= rules.max_bytes =>
                {
                    self.state = to;
                    lines += 1;
                    self.bytes += line.len();
                    continue;
                }
                // Too large: cut, and the next event goes on in the same state.
                Some(to) => self.state = to,
                None if open => self.state = rules.first_after(self.state, line, cache),
                None => self.state = rules.first(line, cache),
            }
            starts.push(i as u32);
            lines = 1;
            self.bytes = line.len();
        }
        let n = batch.len();
        let first = starts.first().map_or(n, |&s| s as usize);
        let mut fed = Fed { started: !starts.is_empty(), ..Fed::default() };
        if first > 0 {
            self.open.extend(&batch, 0..first);
        }
        if let Some(&last) = starts.last() {
            if self.open.len() > 0 {
                fed.completed = Some(self.open.take());
            }
            let last = last as usize;
            self.open.extend(&batch, last..n);
            if last > first {
                fed.within = Some(batch.into_range(first, last, &starts[..starts.len() - 1]));
            }
        }
        fed
    }

    /// Ends the open event (its input ended, or no line came for a while) and hands it back.
    pub fn flush(&mut self) -> Option<Batch> {
        self.state = START;
        self.bytes = 0;
        self.is_open().then(|| self.open.take())
    }
}

#[cfg(test)]
mod tests;
