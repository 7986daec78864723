//! The SOURCE grammar: what an argument such as `api=logs/app.log` or `tcp:0.0.0.0:9000` means.
//!
//! Pure: parsing does no I/O — no name look-up, no `stat`. What needs the world (a host name's
//! address, whether a spec with wildcards is the name of an existing file) is settled when the
//! source is opened (see [`super::locate`]).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

use super::glob;

/// One SOURCE argument, parsed and validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceSpec {
    /// The label its lines carry.
    pub label: String,
    /// The argument as the user wrote it (without a `LABEL=` prefix).
    pub spec: String,
    /// The label was given (`LABEL=`), not taken from the spec.
    pub labelled: bool,
    /// What to follow.
    pub kind: SourceKind,
}

/// The kinds of source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// A file followed by name.
    File(PathBuf),
    /// Standard input.
    Stdin,
    /// A TCP listener.
    Tcp(ListenAddr),
    /// A TLS listener (over TCP), with `--tls-cert` and `--tls-key`.
    Tls(ListenAddr),
    /// A UDP socket: each datagram's lines.
    Udp(ListenAddr),
    /// A Unix stream socket listener at this path.
    Unix(PathBuf),
    /// A command run with `sh -c`: its stdout and stderr lines.
    Cmd(String),
    /// Every file in `dir` whose name matches `pattern`, also files that appear later.
    Glob(Box<glob::Pattern>),
}

impl SourceKind {
    /// Whether the source listens for senders (TCP, UDP, Unix sockets): it has no end of its own
    /// to read to.
    pub fn is_listener(&self) -> bool {
        matches!(
            self,
            SourceKind::Tcp(_) | SourceKind::Tls(_) | SourceKind::Udp(_) | SourceKind::Unix(_)
        )
    }

    /// Whether the source accepts connections (each counted in the list key).
    pub fn has_connections(&self) -> bool {
        matches!(self, SourceKind::Tcp(_) | SourceKind::Tls(_) | SourceKind::Unix(_))
    }
}

/// Where a network source listens: an address, or a host name looked up when it is opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenAddr {
    /// The host as written (127.0.0.1 when none was).
    pub host: Host,
    /// The port.
    pub port: u16,
}

/// The host part of a [`ListenAddr`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// An IP address.
    Ip(IpAddr),
    /// A name to look up.
    Name(String),
}

impl ListenAddr {
    /// The socket address, when the host is an IP address (no look-up needed).
    pub fn addr(&self) -> Option<SocketAddr> {
        match self.host {
            Host::Ip(ip) => Some(SocketAddr::new(ip, self.port)),
            Host::Name(_) => None,
        }
    }
}

impl From<SocketAddr> for ListenAddr {
    fn from(addr: SocketAddr) -> ListenAddr {
        ListenAddr { host: Host::Ip(addr.ip()), port: addr.port() }
    }
}

/// An error in a SOURCE argument; its message names the argument.
#[derive(Debug)]
pub struct SpecError {
    spec: String,
    reason: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.spec, self.reason)
    }
}

impl std::error::Error for SpecError {}

impl SourceSpec {
    /// Parses one SOURCE argument: `[LABEL=]PATH`, `-`, `tcp:[HOST:]PORT`, `tcp:[V6]:PORT`,
    /// `udp:…`, `unix:PATH`, `cmd:COMMAND`, a glob.
    ///
    /// Text before the first `=` is a label when it holds no `/` and no `:` (so `./a=b` is a
    /// path and `tcp:…` is never mistaken for one).
    pub fn parse(arg: &str) -> Result<SourceSpec, SpecError> {
        let err = |reason: String| SpecError { spec: arg.to_string(), reason };
        let (label, spec) = match arg.split_once('=') {
            Some((label, rest)) if !label.contains(['/', ':']) => {
                if label.is_empty() {
                    return Err(err("empty label before '='".into()));
                }
                if rest.is_empty() {
                    return Err(err("no source after '='".into()));
                }
                (Some(label.to_string()), rest)
            }
            _ => (None, arg),
        };
        if spec.is_empty() {
            return Err(err("empty source".into()));
        }
        let kind = if spec == "-" {
            SourceKind::Stdin
        } else if let Some(addr) = spec.strip_prefix("tcp:") {
            SourceKind::Tcp(addr.parse().map_err(err)?)
        } else if let Some(addr) = spec.strip_prefix("tls:") {
            SourceKind::Tls(addr.parse().map_err(err)?)
        } else if let Some(addr) = spec.strip_prefix("udp:") {
            SourceKind::Udp(addr.parse().map_err(err)?)
        } else if let Some(path) = spec.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(err("missing socket path".into()));
            }
            SourceKind::Unix(PathBuf::from(path))
        } else if let Some(command) = spec.strip_prefix("cmd:") {
            if command.trim().is_empty() {
                return Err(err("missing command".into()));
            }
            SourceKind::Cmd(command.to_string())
        } else if let Some(pattern) = glob::Pattern::parse(spec).map_err(err)? {
            SourceKind::Glob(Box::new(pattern))
        } else {
            SourceKind::File(PathBuf::from(spec))
        };
        Ok(SourceSpec {
            labelled: label.is_some(),
            label: label.unwrap_or_else(|| spec.to_string()),
            spec: spec.to_string(),
            kind,
        })
    }
}

impl FromStr for ListenAddr {
    type Err = String;

    /// Parses `PORT`, `HOST:PORT` or `[V6]:PORT`; HOST defaults to 127.0.0.1.
    fn from_str(s: &str) -> Result<ListenAddr, String> {
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (v6, port) =
                rest.split_once("]:").ok_or_else(|| "expected [IPV6]:PORT".to_string())?;
            (Some(v6), port)
        } else {
            match s.rsplit_once(':') {
                Some((host, port)) => (Some(host), port),
                None => (None, s),
            }
        };
        if port.is_empty() {
            return Err("missing port".into());
        }
        let port: u16 = match port.parse::<u64>() {
            Ok(p) if p <= u16::MAX as u64 => p as u16,
            Ok(p) => return Err(format!("port {p} is out of range (0-65535)")),
            Err(_) => return Err(format!("invalid port '{port}'")),
        };
        let host = match host {
            None => Host::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            Some("") => return Err("missing host before ':'".into()),
            Some(host) => match host.parse() {
                Ok(ip) => Host::Ip(ip),
                Err(_) if host.contains(':') => {
                    return Err(format!("invalid address '{host}' (write IPv6 as [ADDR]:PORT)"))
                }
                Err(_) => Host::Name(host.to_string()),
            },
        };
        Ok(ListenAddr { host, port })
    }
}

/// Where reading an existing file starts (`-n`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Initial {
    /// The last N lines (`-n N`; `-n 0` is only new lines).
    Last(u64),
    /// From line N, counting from 1 (`-n +N`).
    From(u64),
    /// From the first line stamped at or after this time (`--since`).
    Since(jiff::Timestamp),
}

impl FromStr for Initial {
    type Err = String;

    /// Parses `N` (last N lines; `-N` too, as tail takes it) or `+N` (from line N).
    fn from_str(s: &str) -> Result<Initial, String> {
        let (from, digits) = match s.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('-').unwrap_or(s)),
        };
        let n: u64 = digits
            .parse()
            .map_err(|_| "expected N (last N lines) or +N (from line N)".to_string())?;
        Ok(if from { Initial::From(n) } else { Initial::Last(n) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(arg: &str) -> SourceKind {
        SourceSpec::parse(arg).unwrap().kind
    }

    fn error(arg: &str) -> String {
        SourceSpec::parse(arg).unwrap_err().to_string()
    }

    fn addr(s: &str) -> ListenAddr {
        s.parse::<SocketAddr>().unwrap().into()
    }

    #[test]
    fn parses_each_form() {
        assert_eq!(kind("-"), SourceKind::Stdin);
        assert_eq!(kind("a.log"), SourceKind::File("a.log".into()));
        assert_eq!(kind("tcp:9000"), SourceKind::Tcp(addr("127.0.0.1:9000")));
        assert_eq!(kind("tls:6514"), SourceKind::Tls(addr("127.0.0.1:6514")));
        assert_eq!(kind("tcp:0.0.0.0:9000"), SourceKind::Tcp(addr("0.0.0.0:9000")));
        assert_eq!(kind("tcp:[::1]:9000"), SourceKind::Tcp(addr("[::1]:9000")));
        // A name is kept as written: it is looked up when the source is opened.
        let named = ListenAddr { host: Host::Name("localhost".into()), port: 9 };
        assert_eq!(kind("tcp:localhost:9"), SourceKind::Tcp(named));
    }

    proptest::proptest! {
        #[test]
        fn any_argument_parses_or_is_refused_by_name(arg in "\\PC{0,40}|(tcp|udp|unix|cmd):\\PC{0,20}|[a-z]{0,5}=\\PC{0,20}") {
            match SourceSpec::parse(&arg) {
                Ok(spec) => proptest::prop_assert!(!spec.label.is_empty() && !spec.spec.is_empty()),
                Err(e) => {
                    let msg = e.to_string();
                    proptest::prop_assert!(msg.starts_with(&format!("{arg}: ")), "{msg}");
                    proptest::prop_assert!(!msg.contains('\n'));
                }
            }
        }
    }

    #[test]
    fn parses_the_other_kinds() {
        assert_eq!(kind("udp:514"), SourceKind::Udp(addr("127.0.0.1:514")));
        assert_eq!(kind("udp:[::1]:5514"), SourceKind::Udp(addr("[::1]:5514")));
        assert_eq!(kind("unix:/tmp/mt.sock"), SourceKind::Unix("/tmp/mt.sock".into()));
        assert_eq!(kind("cmd:journalctl -f"), SourceKind::Cmd("journalctl -f".into()));
        let s = SourceSpec::parse("env=cmd:FOO=1 run").unwrap();
        assert_eq!((s.label.as_str(), s.kind), ("env", SourceKind::Cmd("FOO=1 run".into())));
        assert_eq!(kind("cmd:A=1 b"), SourceKind::Cmd("A=1 b".into()));
        assert!(matches!(kind("logs/*.log"), SourceKind::Glob(_)));
        assert_eq!(error("udp:x"), "udp:x: invalid port 'x'");
        assert_eq!(error("unix:"), "unix:: missing socket path");
        assert_eq!(error("cmd: "), "cmd: : missing command");
        assert!(matches!(kind("lo*gs/**/*.log"), SourceKind::Glob(_)), "wildcards anywhere");
        assert_eq!(error("logs/[a.log"), "logs/[a.log: unclosed [ in glob");
    }

    #[test]
    fn listeners_are_told_apart() {
        for listener in ["tcp:1", "udp:1", "unix:/x"] {
            assert!(kind(listener).is_listener(), "{listener}");
        }
        for other in ["-", "a.log", "cmd:x", "*.log"] {
            assert!(!kind(other).is_listener(), "{other}");
        }
        assert!(kind("tcp:1").has_connections() && !kind("udp:1").has_connections());
    }

    #[test]
    fn label_prefix_and_paths_with_equals() {
        let s = SourceSpec::parse("api=logs/app.log").unwrap();
        assert_eq!((s.label.as_str(), s.spec.as_str()), ("api", "logs/app.log"));
        assert_eq!(s.kind, SourceKind::File("logs/app.log".into()));
        let s = SourceSpec::parse("./a=b").unwrap();
        assert_eq!((s.label.as_str(), s.kind), ("./a=b", SourceKind::File("./a=b".into())));
        let s = SourceSpec::parse("in=-").unwrap();
        assert_eq!((s.label.as_str(), s.kind), ("in", SourceKind::Stdin));
        assert_eq!(SourceSpec::parse("tcp:9000").unwrap().label, "tcp:9000");
    }

    #[test]
    fn bad_specs_name_the_argument() {
        assert_eq!(error("tcp:abc"), "tcp:abc: invalid port 'abc'");
        assert_eq!(error("tcp:70000"), "tcp:70000: port 70000 is out of range (0-65535)");
        assert_eq!(error("x=tcp:"), "x=tcp:: missing port");
        assert_eq!(error("=a.log"), "=a.log: empty label before '='");
        assert_eq!(error("web="), "web=: no source after '='");
        assert_eq!(error(""), ": empty source");
        assert!(error("tcp:[::1:80").starts_with("tcp:[::1:80: expected [IPV6]:PORT"));
        assert_eq!(error("tcp:[::1]"), "tcp:[::1]: expected [IPV6]:PORT");
        assert_eq!(error("tcp::80"), "tcp::80: missing host before ':'");
        assert!(error("tcp:a:b:80").contains("write IPv6 as [ADDR]:PORT"));
    }

    #[test]
    fn line_counts() {
        assert_eq!("0".parse(), Ok(Initial::Last(0)));
        assert_eq!("+1".parse(), Ok(Initial::From(1)));
        assert_eq!("-3".parse(), Ok(Initial::Last(3)));
        assert!("x".parse::<Initial>().is_err());
    }
}
