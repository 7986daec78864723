//! The command line: flags, help text and the parsing of single values. [`crate::config`]
//! turns them into a `Config`; this module never looks at it.

use clap::builder::TypedValueParser;
use clap::{CommandFactory, Parser, ValueEnum};

use crate::parse::Level;
use crate::source::allow::Cidr;
use crate::source::Initial;

mod generate;
mod man;

pub use generate::Generate;

const EXAMPLES: &str = "\
Examples:
  mux-tail /var/log/nginx/access.log api=app.log    two files, one labelled 'api'
  mux-tail app.log tcp:9000                         a file and a TCP port (127.0.0.1)
  echo hello > /dev/tcp/127.0.0.1/9000              send a line to that port (bash)
  make 2>&1 | mux-tail build=- app.log              standard input beside a file
  mux-tail -n 0 app.log | grep -i error             only new lines, piped (keys still work)
  mux-tail 'logs/*.log' udp:5514 cmd:'journalctl -f'  a glob, syslog over UDP, a command
  mux-tail -e error -e warn -v healthcheck a.log    keep errors and warnings, drop noise
  mux-tail --json a.log tcp:9000 | jq .line         one JSON object per line
  mux-tail --format '{time} {label}: {line}' a.log  your own layout
  mux-tail --multiline java -e Exception app.log    whole stack traces, matched as one
  mux-tail --level warn -C 2 app.log                warnings and worse, 2 lines around each
  mux-tail --since 03:00 --no-follow 'logs/**/*.log'  since 03:00, history too, merged by time

Keys while running: 1-9 mute, m N mute, d N detach, a attach, p pause, / filter, L level,
l list, ? help, q quit.";

const SHORT_EXAMPLES: &str = "Examples and keys: mux-tail --help";

/// Follow many log sources at once and print every line tagged with where it came from.
///
/// Each SOURCE is followed until it ends (files: until interrupted), and every line is printed
/// the moment it arrives as `[LABEL] LINE`. Lines are never lost, spliced or repeated; a slow
/// reader slows the sources down instead.
///
/// SOURCE is one of:
///   PATH               a file, followed by name like `tail -F` (survives rotation,
///                      truncation, deletion; waits while it does not exist)
///   -                  standard input, until its end
///   tcp:PORT           listen on 127.0.0.1:PORT; any number of connections
///   tcp:HOST:PORT      listen on HOST (tcp:0.0.0.0:PORT for all interfaces)
///   tcp:[V6]:PORT      listen on an IPv6 address
///   tls:[HOST:]PORT    listen for TLS connections (with --tls-cert and --tls-key)
///   udp:[HOST:]PORT    each datagram's lines (syslog over UDP)
///   unix:PATH          a Unix stream socket (created owner-only, removed on exit)
///   cmd:COMMAND        `sh -c COMMAND`: its stdout and stderr lines, until it exits
///   'logs/**/*.log'    a glob: every matching file, also files that appear later
///   LABEL=SOURCE       any of the above, labelled LABEL (write ./a=b for a path with '=')
///
/// With no SOURCE and standard input not a terminal, the source is `-`.
///
/// Exit status: 0 when every source ended, 1 when a source could not start or failed,
/// 2 on a usage error, 128+N on signal N (130 for Ctrl-C).
#[derive(Debug, Parser)]
#[command(
    name = "mux-tail",
    version,
    verbatim_doc_comment,
    after_help = SHORT_EXAMPLES,
    after_long_help = EXAMPLES
)]
pub struct Args {
    /// Sources to follow: PATH, -, tcp:[HOST:]PORT, tls:[HOST:]PORT, udp:[HOST:]PORT,
    /// unix:PATH, cmd:COMMAND, a glob, LABEL=SOURCE.
    #[arg(value_name = "SOURCE")]
    pub sources: Vec<String>,

    /// Initial lines per file: last N (default 10), +N from line N, 0 only new.
    ///
    /// Lines of each file existing at start to show first: N for the last N lines (10 when not
    /// given; whole files with --count), +N to start at line N, 0 for only lines written from
    /// now on. Files that appear later are read from their first line. Applies to files only.
    /// `-30` is `-n 30` and `--tail 30` is `-n 30`, as tail and docker compose take them.
    #[arg(
        short = 'n',
        long,
        visible_alias = "tail",
        value_name = "N|+N",
        allow_hyphen_values = true
    )]
    pub lines: Option<Initial>,

    /// Start at the first line stamped at or after WHEN: 10m, 2h, 1d ago; 03:00 today;
    /// 2026-12-02 03:00; RFC 3339.
    ///
    /// A line's time is the one it was written with (ISO 8601 / RFC 3339, syslog, the common
    /// log format, Apache, klog, JSON time/ts/timestamp fields); a line without one goes with
    /// the line before it. For a file this replaces -n: its rotated predecessors in the same
    /// directory (NAME.1, NAME.2.gz, NAME-20261201, NAME-20261201.gz) are read first, oldest
    /// first, skipping those last written before WHEN, and the start in each is found by
    /// binary search, so a file of gigabytes is not read whole. Other sources' lines are
    /// filtered by their own times. Times without a zone are local (TZ).
    #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
    pub since: Option<String>,

    /// Show no line stamped after WHEN (the forms of --since).
    ///
    /// With --no-follow, reading a source stops at its first line stamped after WHEN.
    #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
    pub until: Option<String>,

    /// Follow (the default; -F and --follow too, as tail takes them).
    ///
    /// Following is what mux-tail does: files are followed by name, as `tail -F` does. The flag
    /// is accepted so that tail's habits work; --no-follow turns following off.
    #[arg(short = 'f', long, short_alias = 'F', overrides_with = "no_follow")]
    pub follow: bool,

    /// Read files to their current end, then stop.
    ///
    /// Each file is read to its end as it is now, and mux-tail stops once every source ended.
    /// Not allowed with listeners, which have no end.
    #[arg(long, overrides_with = "follow")]
    pub no_follow: bool,

    /// Colour labels: auto, always, never.
    ///
    /// `auto` colours when stdout is a terminal, NO_COLOR is unset (or empty) and TERM is not
    /// `dumb`. Colour also turns on --highlight.
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = ColorChoice::Auto, env = "MUX_TAIL_COLOR")]
    pub color: ColorChoice,

    /// Same as --color never.
    #[arg(long, overrides_with = "color")]
    pub no_color: bool,

    /// Print bare lines, without labels.
    ///
    /// Lines are printed as they came, without the `[LABEL] ` prefix.
    #[arg(long)]
    pub no_label: bool,

    /// Cut longer lines into pieces of this size.
    ///
    /// Lines longer than BYTES are cut into pieces of BYTES, each printed as a line: never
    /// dropped, never held whole in memory. Accepts K, M and G suffixes (powers of 1024).
    #[arg(
        long,
        value_name = "BYTES",
        default_value = "1M",
        value_parser = parse_size,
        env = "MUX_TAIL_MAX_LINE_BYTES"
    )]
    pub max_line_bytes: usize,

    /// Memory for unfinished lines, all sources together.
    ///
    /// A line waits in memory until its end arrives. When the unfinished lines of all sources
    /// together hold more than BYTES, the longest are cut and printed as pieces (as with
    /// --max-line-bytes), with a note once per source: memory stays bounded whatever the senders
    /// do, and no byte is dropped. Accepts K, M and G suffixes.
    #[arg(
        long,
        value_name = "BYTES",
        default_value = "16M",
        value_parser = parse_size,
        env = "MUX_TAIL_MAX_PENDING_BYTES"
    )]
    pub max_pending_bytes: usize,

    /// Open connections allowed per listener.
    ///
    /// Connections beyond N are closed at once, with a note on stderr, while the open ones go on.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Accept TCP and UDP senders from CIDR only (repeatable).
    ///
    /// Only peers in one of these networks (`10.0.0.0/8`, `192.168.1.7`, `fd00::/8`) may send to
    /// tcp: and udp: sources; others are refused, counted in the list key (l), and noted once.
    /// Without --allow, any peer that can reach the listening address may send — and the
    /// default address, 127.0.0.1, is reachable from this host only.
    #[arg(long, value_name = "CIDR")]
    pub allow: Vec<Cidr>,

    /// The certificate chain (PEM) tls: listeners present.
    ///
    /// tls:[HOST:]PORT listens for TLS (syslog over TLS, RFC 5425, as rsyslog's and
    /// syslog-ng's forwarding send it) with this certificate and --tls-key; a client that fails
    /// the handshake is closed with a note and never shown.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<std::path::PathBuf>,

    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<std::path::PathBuf>,

    /// Accept only TLS clients with a certificate signed by one in FILE (PEM): mutual TLS.
    #[arg(long, value_name = "FILE")]
    pub tls_client_ca: Option<std::path::PathBuf>,

    /// Leave files matching GLOB out of every glob's files (repeatable).
    ///
    /// Matched against the path as the glob writes it (`logs/**/*.gz`), or, for a GLOB without
    /// a `/`, against the file's name (`*.gz` leaves out rotated, compressed files anywhere).
    #[arg(long, value_name = "GLOB")]
    pub exclude_path: Vec<String>,

    /// Start cmd: sources again when they exit.
    ///
    /// A command that exits (a `kubectl logs -f` whose pod was replaced, a dropped ssh) is
    /// started again after a pause that doubles from 1s up to 30s, and is 1s again after a run
    /// of 10s or more; each restart is noted (`exited with status 1; restarting in 2s`) and
    /// counted in the list (l). Detaching it or quitting stops it for good.
    #[arg(long)]
    pub restart: bool,

    /// Read keys from the terminal: auto, always, never.
    ///
    /// Keys are read from /dev/tty while running, also when stdout is piped: 1-9 mute, d detach,
    /// a attach, p pause, / filter, L level, l list, ? help, q quit. `auto` reads keys when
    /// there is a terminal and standard input is not both a source and that terminal; `always` fails
    /// without a terminal; `never` leaves the terminal alone (for `| less`).
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = KeysChoice::Auto, env = "MUX_TAIL_KEYS")]
    pub keys: KeysChoice,

    /// Keep lines matching REGEX (repeatable: any).
    ///
    /// Only lines matching REGEX are shown; given several times, lines matching any of them (as
    /// `grep -e`). Matched against the line itself, never its label.
    #[arg(short = 'e', long = "grep", value_name = "REGEX", allow_hyphen_values = true)]
    pub grep: Vec<String>,

    /// Drop lines matching REGEX (repeatable).
    ///
    /// Lines matching REGEX (any of them, when given several times) are not shown.
    #[arg(short = 'v', long, value_name = "REGEX", allow_hyphen_values = true)]
    pub exclude: Vec<String>,

    /// -e and -v patterns are plain text, not regexes.
    ///
    /// As grep's -F (which is tail's here: follow): the patterns of -e and -v are matched as
    /// they are written, with no character special.
    #[arg(long)]
    pub fixed_strings: bool,

    /// -e and -v match whole words only.
    ///
    /// A match must not be next to a letter, digit or underscore (as grep -w).
    #[arg(short = 'w', long)]
    pub word_regexp: bool,

    /// -e and -v match whole lines only.
    ///
    /// A pattern must match the whole line (as grep -x).
    #[arg(short = 'x', long)]
    pub line_regexp: bool,

    /// With --no-follow: print how many lines each source had, not the lines.
    ///
    /// One `LABEL:COUNT` line per source (a glob's files each), counting the lines that -e and
    /// -v let through, once every source has ended (as grep -c). Files are counted whole unless
    /// -n says otherwise.
    #[arg(short = 'c', long)]
    pub count: bool,

    /// Ignore case in -e, -v, --highlight and /.
    ///
    /// The regexes of -e, -v, --highlight and the live filter key (/) match without regard to
    /// case.
    #[arg(short = 'i', long)]
    pub ignore_case: bool,

    /// Show only lines at LEVEL or above: trace, debug, info, notice, warn, error, fatal.
    ///
    /// A line's level is what it says of itself: a level word near its start (INFO, WARN,
    /// ERROR…, in any case when bracketed as [error] or first and followed by a colon),
    /// logfmt level=, a JSON object's level/lvl/severity field (pino and bunyan numbers too),
    /// a klog prefix (E1202 …) or a syslog <PRI>. Lines without one are kept, so that a crash
    /// message is never hidden. With --multiline an event goes by its first line. The L key
    /// changes it while running (all, warn, error).
    #[arg(long, value_name = "LEVEL", ignore_case = true, value_parser = level_parser())]
    pub level: Option<Level>,

    /// Also show N lines after each line the filters keep.
    ///
    /// As grep -A: with -e, -v, --level or the / filter, the N lines (events, with --multiline)
    /// of the same source after each kept one are shown too; `--` marks where lines were left
    /// out between them. Another source's lines are never context.
    #[arg(short = 'A', long, value_name = "N")]
    pub after_context: Option<usize>,

    /// Also show N lines before each line the filters keep.
    ///
    /// As grep -B; see -A.
    #[arg(short = 'B', long, value_name = "N")]
    pub before_context: Option<usize>,

    /// Also show N lines before and after each line the filters keep.
    ///
    /// As grep -C: -A N and -B N at once (an -A or -B given beside it wins for its side).
    #[arg(short = 'C', long, value_name = "N")]
    pub context: Option<usize>,

    /// Highlight matches of REGEX when colouring (repeatable).
    ///
    /// The parts of lines matching REGEX are highlighted when colouring (a terminal, or
    /// --color=always); piped output is unchanged.
    #[arg(long, value_name = "REGEX")]
    pub highlight: Vec<String>,

    /// Lay lines out as TEMPLATE: {label} {line} {time} {ts} {peer} {source} {stream} {level} {.PATH}.
    ///
    /// Each line is printed as TEMPLATE with {label}, {line}, {time} (arrival time, RFC 3339 in
    /// UTC with milliseconds), {peer} (the remote address for socket sources, empty otherwise)
    /// and {source} (the source as given) filled in, {stream} (stdout or stderr, for commands;
    /// empty otherwise), {level} (the line's level in lower case, as --level reads it; empty
    /// when none), {ts} (the time the line says it was written at, RFC 3339 in UTC with
    /// milliseconds; empty when none) and {.PATH} (a field: the value at PATH, as {.http.status}, of a line that is
    /// a JSON object, or a logfmt line's value for the key PATH, as {.msg} of msg="slow query";
    /// strings without quotes, numbers and booleans as written, objects as compact JSON; empty
    /// when absent). {{ and }} are literal braces.
    #[arg(long, value_name = "TEMPLATE", value_hint = clap::ValueHint::Other)]
    pub format: Option<String>,

    /// Prefix each line with its arrival time.
    ///
    /// The time a line was read, RFC 3339 in UTC with milliseconds, before the label.
    #[arg(short = 't', long)]
    pub timestamps: bool,

    /// One JSON object per line.
    ///
    /// Each line becomes {"label","line","level","time","ts","peer","source"} (peer for socket
    /// sources only; level as --level reads it; time when it was read, ts the time it says it
    /// was written at; level and ts null when the line shows none). A line that is not valid
    /// UTF-8 also carries its exact bytes in "line_base64". Never coloured.
    #[arg(long)]
    pub json: bool,

    /// Group lines into events: java, python, go, indent.
    ///
    /// A stack trace becomes one event with the line that logged it: -e, -v, the / filter,
    /// mute and --count take events whole (a match on any line shows every line of it), and
    /// no other source's line is ever written inside one. `java`: indented frames, `Caused by:`,
    /// `Suppressed:`, `... N more` and an exception right after a log line; `python`: a
    /// traceback (chained ones too) with its final exception line; `go`: `panic:` or
    /// `fatal error:` through its goroutine stacks; `indent`: any line starting with a space or
    /// tab continues the one before. An event ends when the next begins, when its input ends
    /// (a connection closes, a file is rotated or truncated), or after --multiline-timeout with
    /// no new line; quitting writes the open ones. Events are per source, per connection and
    /// per UDP sender. Plain output keeps the label on
    /// every line; on a terminal the lines after an event's first are marked with a dim `│`;
    /// --json and --format take an event as one record, its lines joined by newlines.
    #[arg(long, value_name = "PRESET", value_enum)]
    pub multiline: Option<MultilinePreset>,
    /// Group lines into events: a line matching REGEX starts one.
    ///
    /// Every line that does not match REGEX continues the event before it (for logs whose
    /// every entry starts with a time stamp: --multiline-start '^\d{4}-\d\d-\d\d').
    /// Instead of --multiline.
    #[arg(long, value_name = "REGEX")]
    pub multiline_start: Option<String>,
    /// End an event after this long with no new line for it.
    ///
    /// The last event of an input is shown once DURATION passed with no line for it (as 500ms,
    /// 2s, 1m), since until then the next line may still continue it.
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = parse_duration)]
    pub multiline_timeout: std::time::Duration,
    /// The most lines in one event; beyond, it is cut.
    ///
    /// An event longer than N lines (or than --max-line-bytes) is cut: its lines go on as the
    /// next event.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_event_lines: u32,
    /// Print a man page or completion script, and exit.
    #[arg(long, value_name = "WHAT", value_enum, exclusive = true)]
    pub generate: Option<Generate>,
}

/// The command line as clap takes it: tail's `-N` (a count of lines) becomes `--lines=N`,
/// wherever it stands as an option of its own (not as the value of another option, not after
/// `--`).
pub fn normalize(args: impl IntoIterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    // The spellings of every option that takes a value (`-n`, `--lines`), found once: a
    // command line of ten thousand files asks for each of them.
    let cmd = Args::command();
    let mut valued = std::collections::HashSet::new();
    for a in cmd.get_arguments().filter(|a| a.get_action().takes_values()) {
        for c in a.get_short_and_visible_aliases().unwrap_or_default() {
            valued.insert(format!("-{c}"));
        }
        for l in a.get_long_and_visible_aliases().unwrap_or_default() {
            valued.insert(format!("--{l}"));
        }
    }
    let takes_value = |arg: &str| arg.starts_with('-') && valued.contains(arg);
    let mut out = Vec::new();
    let mut value_next = false;
    let mut rest = false;
    for arg in args {
        let text = arg.to_str().unwrap_or_default();
        let count = text
            .strip_prefix('-')
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
        match count {
            Some(n) if !value_next && !rest && !out.is_empty() => {
                out.push(format!("--lines={n}").into());
                continue;
            }
            _ => {}
        }
        rest |= !value_next && text == "--";
        value_next = !rest && !value_next && takes_value(text);
        out.push(arg);
    }
    out
}

/// `--multiline` presets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MultilinePreset {
    /// Java and other JVM logs: exceptions, frames, causes.
    Java,
    /// Python: tracebacks, chained ones too.
    Python,
    /// Go: panics and fatal errors with their goroutine stacks.
    Go,
    /// An indented line continues the one before.
    Indent,
}

/// `--keys` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KeysChoice {
    /// Read keys when a terminal is reachable through /dev/tty.
    Auto,
    /// Read keys; fail when there is no terminal.
    Always,
    /// Never read keys or change the terminal's mode.
    Never,
}

/// `--color` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// `--level`'s values: the level names (so that completions offer them).
fn level_parser() -> impl TypedValueParser<Value = Level> {
    let names = Level::ALL.map(Level::name);
    clap::builder::PossibleValuesParser::new(names)
        .map(|name| Level::named(name.as_bytes()).expect("one of the level names"))
}

pub use crate::parse::time::duration as parse_duration;

/// Parses a byte count with an optional K, M or G suffix (powers of 1024).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let mult: usize = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return Err(format!("unknown unit '{unit}' (use K, M or G)")),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| "expected a number of bytes, such as 65536 or 64K".to_string())?;
    n.checked_mul(mult).ok_or_else(|| "too large".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Args::command().debug_assert();
    }

    #[test]
    fn parses_flags() {
        let args = Args::try_parse_from(["mux-tail", "-n", "+5", "--no-label", "a.log"]).unwrap();
        assert_eq!(args.lines, Some(Initial::From(5)));
        assert!(args.no_label);
        assert_eq!(args.sources, vec!["a.log"]);
        let args = Args::try_parse_from(["mux-tail", "--max-line-bytes", "4K"]).unwrap();
        assert_eq!(args.max_line_bytes, 4096);
        assert!(Args::try_parse_from(["mux-tail", "-n", "x"]).is_err());
        assert!(Args::try_parse_from(["mux-tail", "--max-connections", "0"]).is_err());
    }

    #[test]
    fn tail_habits() {
        let parse = |args: &[&str]| {
            let argv = normalize(args.iter().map(std::ffi::OsString::from));
            Args::try_parse_from(argv).unwrap()
        };
        let args = parse(&["mux-tail", "-30", "a.log"]);
        assert_eq!(
            (args.lines, args.sources),
            (Some(Initial::Last(30)), vec!["a.log".to_string()])
        );
        assert_eq!(parse(&["mux-tail", "--tail", "5", "a"]).lines, Some(Initial::Last(5)));
        assert!(parse(&["mux-tail", "-f", "a"]).follow && parse(&["mux-tail", "-F", "a"]).follow);
        assert!(parse(&["mux-tail", "--follow", "--no-follow", "a"]).no_follow);
        assert!(parse(&["mux-tail", "--no-color", "a"]).no_color);
        // A value of another option, or after `--`, stays as it is.
        assert_eq!(parse(&["mux-tail", "-e", "-30", "a"]).grep, ["-30"]);
        assert_eq!(parse(&["mux-tail", "-n", "-3", "a"]).lines, Some(Initial::Last(3)));
        assert_eq!(parse(&["mux-tail", "--", "-30"]).sources, ["-30"]);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert_eq!(parse_size("64k"), Ok(65536));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("1X").is_err());
    }
}
