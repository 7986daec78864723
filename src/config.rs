//! `Args` to a validated `Config`: everything downstream works with parsed values only. Config
//! consumes the command line ([`crate::cli`]); nothing here is used by it.

use std::io::IsTerminal;

use crate::cli::{Args, ColorChoice, KeysChoice, MultilinePreset};
use regex::bytes::Regex;

use crate::filter::context::Context;
use crate::filter::window::Window;
use crate::filter::{self, Filters, Matching};
use crate::line::event::{Preset, Rules};
use crate::line::{Budget, LineLimits};
use crate::parse::time::{self, Clock};
use crate::parse::Level;
use crate::render::{Layout, Style, Template};
use crate::source::glob;
use crate::source::{Initial, SourceKind, SourceOptions, SourceSpec, SpecError};

/// The largest `--max-line-bytes` (line positions are kept in 32 bits).
const MAX_LINE_LIMIT: usize = 1 << 30;

/// Everything a run needs, validated.
#[derive(Debug)]
pub struct Config {
    /// Sources in command-line order.
    pub sources: Vec<SourceSpec>,
    /// Options every source honours.
    pub source_opts: SourceOptions,
    /// How lines are shown.
    pub style: Style,
    /// Whether to read keys.
    pub keys: Keys,
    /// Standard error is a terminal.
    pub stderr_tty: bool,
    /// Standard input is a terminal.
    pub stdin_tty: bool,
    /// The `-e` and `-v` filters.
    pub filters: Filters,
    /// `-i`: regexes (also the live filter) ignore case.
    pub ignore_case: bool,
    /// `-c`: count lines per source instead of showing them.
    pub count: bool,
    /// The shape of each output line.
    pub layout: Layout,
    /// `--highlight`.
    pub highlight: Option<Regex>,
    /// `--multiline` or `--multiline-start`: how lines group into events.
    pub multiline: Option<Multiline>,
    /// `--level`: the least level shown.
    pub level: Option<Level>,
    /// `-A`, `-B`, `-C`.
    pub context: Context,
    /// `--since`, `--until`.
    pub window: Window,
}

/// How lines group into events.
#[derive(Debug)]
pub struct Multiline {
    /// The rules.
    pub rules: Rules,
    /// `--multiline-timeout`.
    pub timeout: std::time::Duration,
}

/// Whether keys are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keys {
    /// No keys.
    Off,
    /// No keys: standard input is a source and it is the terminal (say so).
    OffStdinIsTerminal,
    /// Keys if there is a terminal.
    Auto,
    /// Keys, or an error without a terminal.
    Always,
}

/// Why the command line was refused.
#[derive(Debug)]
pub enum ConfigError {
    /// A usage error (exit status 2).
    Usage(String),
    /// A SOURCE that cannot be followed (exit status 1).
    Source(SpecError),
    /// Something the sources need that cannot be had, as a TLS certificate (exit status 1).
    Start(anyhow::Error),
}

/// What the config depends on besides the arguments (kept apart so tests can set it).
#[derive(Clone, Copy, Debug)]
pub struct Environment {
    /// Standard input is a terminal.
    pub stdin_tty: bool,
    /// Standard output is a terminal.
    pub stdout_tty: bool,
    /// Standard error is a terminal.
    pub stderr_tty: bool,
    /// `NO_COLOR` is set to something non-empty.
    pub no_color: bool,
    /// `TERM` is `dumb`.
    pub dumb_term: bool,
}

impl Environment {
    /// The environment of this process.
    pub fn current() -> Environment {
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        Environment {
            stdin_tty: std::io::stdin().is_terminal(),
            stdout_tty: std::io::stdout().is_terminal(),
            stderr_tty: std::io::stderr().is_terminal(),
            no_color: var("NO_COLOR").is_some(),
            dumb_term: var("TERM").is_some_and(|t| t == "dumb"),
        }
    }
}

impl Config {
    /// Validates `args` in `env`.
    pub fn from_args(args: Args, env: Environment) -> Result<Config, ConfigError> {
        let mut raw = args.sources;
        if raw.is_empty() {
            if env.stdin_tty {
                return Err(ConfigError::Usage(
                    "no SOURCE given (and standard input is a terminal); try --help".into(),
                ));
            }
            raw.push("-".into());
        }
        let sources = raw
            .iter()
            .map(|s| SourceSpec::parse(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ConfigError::Source)?;
        if let Some(stdin) = sources.iter().filter(|s| s.kind == SourceKind::Stdin).nth(1) {
            return Err(ConfigError::Usage(format!(
                "{}: standard input can be followed only once",
                stdin.spec
            )));
        }
        if args.no_follow {
            if let Some(listener) = sources.iter().find(|s| s.kind.is_listener()) {
                return Err(ConfigError::Usage(format!(
                    "--no-follow: {} is a listener and has no end to read to",
                    listener.spec
                )));
            }
        }
        if args.max_line_bytes == 0 || args.max_line_bytes > MAX_LINE_LIMIT {
            return Err(ConfigError::Usage(format!(
                "--max-line-bytes must be between 1 and {MAX_LINE_LIMIT}"
            )));
        }
        if args.max_pending_bytes == 0 {
            return Err(ConfigError::Usage("--max-pending-bytes must be at least 1".into()));
        }
        let stdin_is_keyboard =
            env.stdin_tty && sources.iter().any(|s| s.kind == SourceKind::Stdin);
        let keys = match args.keys {
            KeysChoice::Never => Keys::Off,
            KeysChoice::Always if stdin_is_keyboard => {
                return Err(ConfigError::Usage(
                    "--keys=always: standard input is a source and the same terminal".into(),
                ))
            }
            _ if stdin_is_keyboard => Keys::OffStdinIsTerminal,
            KeysChoice::Auto => Keys::Auto,
            KeysChoice::Always => Keys::Always,
        };
        // Checked here rather than by clap, whose conflict check costs time for every SOURCE.
        let conflicts = [
            (args.format.is_some(), "--format", args.json, "--json"),
            (args.format.is_some(), "--format", args.timestamps, "--timestamps"),
            (args.format.is_some(), "--format", args.no_label, "--no-label"),
            (args.json, "--json", args.timestamps, "--timestamps"),
            (args.json, "--json", args.no_label, "--no-label"),
            (args.json, "--json", !args.highlight.is_empty(), "--highlight"),
            (
                args.multiline.is_some(),
                "--multiline",
                args.multiline_start.is_some(),
                "--multiline-start",
            ),
        ];
        if let Some((_, a, _, b)) = conflicts.iter().find(|(x, _, y, _)| *x && *y) {
            return Err(ConfigError::Usage(format!("{a} cannot be used with {b}")));
        }
        let usage = ConfigError::Usage;
        let matching =
            Matching { fixed: args.fixed_strings, word: args.word_regexp, line: args.line_regexp };
        let filters =
            Filters::new(&args.grep, &args.exclude, args.ignore_case, matching).map_err(usage)?;
        if args.count && !args.no_follow {
            return Err(ConfigError::Usage(
                "--count needs --no-follow (counts are printed once every source ended)".into(),
            ));
        }
        let highlight = filter::any_of(&args.highlight, args.ignore_case).map_err(usage)?;
        let multiline = multiline(
            (args.multiline, args.multiline_start.as_deref()),
            (args.max_event_lines as usize, args.max_line_bytes),
            args.multiline_timeout,
        )?;
        let when = |text: &Option<String>, what: &str| {
            text.as_deref()
                .map(|t| time::when(t, Clock::of_run()).map_err(|e| usage(format!("{what}: {e}"))))
                .transpose()
        };
        let window =
            Window { since: when(&args.since, "--since")?, until: when(&args.until, "--until")? };
        if let Window { since: Some(s), until: Some(u) } = window {
            if s > u {
                return Err(usage("--since is later than --until: no line could be shown".into()));
            }
        }
        let tls = tls_config((&args.tls_cert, &args.tls_key, &args.tls_client_ca), &sources)?;
        let layout = match (&args.format, args.json) {
            (Some(t), _) => Layout::Template(Template::parse(t).map_err(usage)?),
            (None, true) => Layout::Json,
            (None, false) => Layout::Default { timestamps: args.timestamps },
        };
        let color = match if args.no_color { ColorChoice::Never } else { args.color } {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => env.stdout_tty && !env.no_color && !env.dumb_term,
        } && !args.json;
        Ok(Config {
            sources,
            source_opts: SourceOptions {
                // Counting, as grep -c, is of whole files unless told otherwise.
                // --since replaces -n.
                initial: match (window.since, args.lines) {
                    (Some(since), _) => Initial::Since(since),
                    (None, Some(lines)) => lines,
                    (None, None) if args.count => Initial::From(1),
                    (None, None) => Initial::Last(10),
                },
                follow: !args.no_follow,
                lines: LineLimits {
                    max_line_bytes: args.max_line_bytes,
                    pending: Budget::new(args.max_pending_bytes),
                },
                max_connections: args.max_connections as usize,
                end_when_gone: false,
                allow: args.allow.into(),
                glob_empty: false,
                glob_ended: None,
                restart: args.restart,
                exclude: glob::excluded(&args.exclude_path).map_err(usage)?,
                tls,
            },
            style: Style { label: !args.no_label, color, terminal: env.stdout_tty },
            keys,
            stderr_tty: env.stderr_tty,
            stdin_tty: env.stdin_tty,
            filters,
            ignore_case: args.ignore_case,
            count: args.count,
            layout,
            highlight,
            multiline,
            level: args.level,
            context: Context {
                before: args.before_context.or(args.context).unwrap_or(0),
                after: args.after_context.or(args.context).unwrap_or(0),
            },
            window,
        })
    }
}

/// What `tls:` sources serve: a usage error without `--tls-cert` and `--tls-key` (or with them
/// and no `tls:` source), a start error when the files do not make a server certificate.
type PathArg = Option<std::path::PathBuf>;

fn tls_config(
    (cert, key, ca): (&PathArg, &PathArg, &PathArg),
    sources: &[SourceSpec],
) -> Result<Option<std::sync::Arc<crate::source::tls::ServerConfig>>, ConfigError> {
    let tls = sources.iter().find(|s| matches!(s.kind, SourceKind::Tls(_)));
    match (tls, cert, key) {
        (Some(_), Some(cert), Some(key)) => {
            let ca = ca.as_deref();
            crate::source::tls::config(cert, key, ca).map(Some).map_err(ConfigError::Start)
        }
        (Some(s), _, _) => {
            Err(ConfigError::Usage(format!("{}: needs --tls-cert FILE and --tls-key FILE", s.spec)))
        }
        (None, None, None) if ca.is_none() => Ok(None),
        (None, _, _) => Err(ConfigError::Usage(
            "--tls-cert, --tls-key and --tls-client-ca are for tls: sources".into(),
        )),
    }
}

/// The grouping `--multiline` or `--multiline-start` asks for, if any.
fn multiline(
    asked: (Option<MultilinePreset>, Option<&str>),
    (lines, bytes): (usize, usize),
    timeout: std::time::Duration,
) -> Result<Option<Multiline>, ConfigError> {
    let rules = match asked {
        (Some(preset), _) => {
            let preset = match preset {
                MultilinePreset::Java => Preset::Java,
                MultilinePreset::Python => Preset::Python,
                MultilinePreset::Go => Preset::Go,
                MultilinePreset::Indent => Preset::Indent,
            };
            Rules::preset(preset, lines, bytes)
        }
        (None, Some(start)) => {
            let re = filter::compile(start, false)
                .map_err(|e| ConfigError::Usage(format!("--multiline-start: {e}")))?;
            Rules::start_pattern(re, lines, bytes)
        }
        (None, None) => return Ok(None),
    };
    if timeout < std::time::Duration::from_millis(1) {
        return Err(ConfigError::Usage("--multiline-timeout must be at least 1ms".into()));
    }
    Ok(Some(Multiline { rules, timeout }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    const PIPED: Environment = Environment {
        stdin_tty: false,
        stdout_tty: false,
        stderr_tty: false,
        no_color: false,
        dumb_term: false,
    };
    const TTY: Environment =
        Environment { stdin_tty: true, stdout_tty: true, stderr_tty: true, ..PIPED };

    fn config(args: &[&str], env: Environment) -> Result<Config, ConfigError> {
        let mut argv = vec!["mux-tail"];
        argv.extend_from_slice(args);
        Config::from_args(Args::try_parse_from(argv).unwrap(), env)
    }

    #[test]
    fn no_source_means_stdin_unless_it_is_a_terminal() {
        let c = config(&[], PIPED).unwrap();
        assert_eq!(c.sources[0].kind, SourceKind::Stdin);
        assert!(matches!(config(&[], TTY), Err(ConfigError::Usage(_))));
    }

    #[test]
    fn colour_follows_terminal_flag_and_no_color() {
        assert!(config(&["a"], TTY).unwrap().style.color);
        assert!(!config(&["a"], PIPED).unwrap().style.color);
        assert!(config(&["--color=always", "a"], PIPED).unwrap().style.color);
        assert!(!config(&["--color=never", "a"], TTY).unwrap().style.color);
        let no_color = Environment { no_color: true, ..TTY };
        assert!(!config(&["a"], no_color).unwrap().style.color);
        assert!(config(&["--color=always", "a"], no_color).unwrap().style.color);
    }

    #[test]
    fn keys_are_off_when_stdin_is_both_source_and_terminal() {
        assert_eq!(config(&["a"], TTY).unwrap().keys, Keys::Auto);
        assert_eq!(config(&["-"], TTY).unwrap().keys, Keys::OffStdinIsTerminal);
        assert_eq!(config(&["-"], PIPED).unwrap().keys, Keys::Auto);
        assert_eq!(config(&["--keys=never", "a"], TTY).unwrap().keys, Keys::Off);
        assert!(matches!(config(&["--keys=always", "-"], TTY), Err(ConfigError::Usage(_))));
    }

    #[test]
    fn regexes_and_templates_are_checked() {
        let e = |args: &[&str]| match config(args, PIPED) {
            Err(ConfigError::Usage(msg)) => msg,
            other => panic!("{other:?}"),
        };
        assert_eq!(e(&["-e", "a(", "x"]), "invalid regex 'a(': unclosed group");
        assert!(e(&["--highlight", "[", "x"]).starts_with("invalid regex '['"));
        assert!(e(&["--format", "{x}", "f"]).starts_with("unknown placeholder {x}"));
        assert!(!config(&["--json", "--color=always", "a"], PIPED).unwrap().style.color);
    }

    #[test]
    fn layouts_that_exclude_each_other() {
        let e = |args: &[&str]| match config(args, PIPED) {
            Err(ConfigError::Usage(msg)) => msg,
            other => panic!("{other:?}"),
        };
        assert_eq!(e(&["--json", "-t", "a"]), "--json cannot be used with --timestamps");
        assert_eq!(
            e(&["--format", "{line}", "--json", "a"]),
            "--format cannot be used with --json"
        );
    }

    #[test]
    fn refusals() {
        assert!(matches!(config(&["tcp:abc"], PIPED), Err(ConfigError::Source(_))));
        assert!(matches!(config(&["-", "x=-"], PIPED), Err(ConfigError::Usage(_))));
        for listener in ["tcp:1", "udp:1", "unix:x.sock"] {
            let refused = config(&["--no-follow", "a.log", listener], PIPED);
            let Err(ConfigError::Usage(msg)) = refused else { panic!("{listener}: {refused:?}") };
            assert_eq!(
                msg,
                format!("--no-follow: {listener} is a listener and has no end to read to")
            );
        }
        assert!(matches!(config(&["--max-line-bytes=0", "a"], PIPED), Err(ConfigError::Usage(_))));
    }

    #[test]
    fn multiline_options() {
        let e = |args: &[&str]| match config(args, PIPED) {
            Err(ConfigError::Usage(msg)) => msg,
            other => panic!("{other:?}"),
        };
        assert!(config(&["a"], PIPED).unwrap().multiline.is_none());
        let m = config(&["--multiline", "java", "--multiline-timeout", "2s", "a"], PIPED);
        let m = m.unwrap().multiline.unwrap();
        assert_eq!((m.timeout.as_millis(), m.rules.max_lines), (2000, 1000));
        assert_eq!(
            e(&["--multiline", "go", "--multiline-start", "x", "a"]),
            "--multiline cannot be used with --multiline-start"
        );
        assert_eq!(
            e(&["--multiline-start", "(", "a"]),
            "--multiline-start: invalid regex '(': unclosed group"
        );
        assert_eq!(
            e(&["--multiline=java", "--multiline-timeout=0s", "a"]),
            "--multiline-timeout must be at least 1ms"
        );
        assert!(Args::try_parse_from(["mux-tail", "--multiline", "cobol"]).is_err());
        assert!(Args::try_parse_from(["mux-tail", "--multiline-timeout", "5x"]).is_err());
    }
}
