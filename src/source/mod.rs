//! Sources: one file per kind, the SOURCE grammar ([`spec`]), and the one stream type every
//! source becomes ([`stream`]).
//!
//! Opening a source takes two steps. [`locate`] settles what the spec alone cannot say — a host
//! name's address (looked up off the runtime thread), whether a spec with wildcards is the name
//! of an existing file — and may take a while; [`open`] then starts the source at once, and
//! everything that can fail at start (a directory given as a file, a port in use) fails there,
//! before any line is read. A source never knows how its lines will look or that a terminal
//! exists.

pub mod allow;
pub mod channel;
pub mod cleanup;
pub mod cmd;
pub mod fds;
pub mod file;
pub mod glob;
pub mod listener;
pub mod spec;
pub mod stdin;
pub mod stream;
pub mod tcp;
pub mod tls;
pub mod udp;
pub mod unix;
pub mod watch;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use anyhow::Context as _;

use crate::line::LineLimits;

pub use spec::{Host, Initial, ListenAddr, SourceKind, SourceSpec, SpecError};
pub use stream::{Detached, Emitter, Found, SourceEvent, SourceStatus, SourceStream};

/// Options every source honours.
#[derive(Clone, Debug)]
pub struct SourceOptions {
    /// Where reading an existing file starts.
    pub initial: Initial,
    /// Keep following after the current end (false for `--no-follow`).
    pub follow: bool,
    /// The longest line kept whole, and the budget all unfinished lines share.
    pub lines: LineLimits,
    /// Open connections per listener.
    pub max_connections: usize,
    /// A file's source ends once the file is deleted (files found by a glob), instead of
    /// waiting for it to come back.
    pub end_when_gone: bool,
    /// Peers allowed to send to TCP and UDP sources (empty: any that can reach them).
    pub allow: Arc<[allow::Cidr]>,
    /// A glob matched no file when it was opened (it says so, and fails under --no-follow).
    pub glob_empty: bool,
    /// A glob's file: the glob to tell when its source ends.
    pub glob_ended: Option<Arc<glob::Ended>>,
    /// Commands are started again when they exit (`--restart`).
    pub restart: bool,
    /// Files that globs leave out (`--exclude-path`).
    pub exclude: glob::Excluded,
    /// What `tls:` listeners serve (`--tls-cert`, `--tls-key`, `--tls-client-ca`).
    pub tls: Option<Arc<tls::ServerConfig>>,
}

/// A pending host name look-up.
pub type Lookup = Pin<Box<dyn Future<Output = io::Result<SocketAddr>> + Send>>;

/// Looks up a host name: the function [`locate`] uses (tests give one of their own).
pub type Resolver = fn(String, u16) -> Lookup;

/// The system's resolver (`getaddrinfo`), run on tokio's blocking pool so that a slow answer
/// never stalls the runtime thread; the first address found is the one used.
pub fn system_resolver(host: String, port: u16) -> Lookup {
    Box::pin(async move {
        let mut found = tokio::net::lookup_host((host.as_str(), port)).await?;
        found.next().ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))
    })
}

/// Settles what `spec` names: a host name becomes its address, and a glob that is the name of
/// an existing file becomes that file. The error names the source.
///
/// Cancel-safe: dropping the future drops only the look-up.
pub async fn locate(mut spec: SourceSpec, resolve: Resolver) -> anyhow::Result<SourceSpec> {
    match &mut spec.kind {
        SourceKind::Tcp(addr) | SourceKind::Tls(addr) | SourceKind::Udp(addr) => {
            if let Host::Name(host) = &addr.host {
                let found = resolve(host.clone(), addr.port)
                    .await
                    .map_err(|_| anyhow::anyhow!("{}: cannot resolve host '{host}'", spec.spec))?;
                addr.host = Host::Ip(found.ip());
            }
        }
        SourceKind::Glob(_) if Path::new(&spec.spec).exists() => {
            spec.kind = SourceKind::File(spec.spec.clone().into());
        }
        _ => {}
    }
    Ok(spec)
}

/// Starts following `spec` (as [`locate`] left it). Must be called inside the runtime.
/// `looked`: a file's metadata, where the caller has looked at it already.
pub fn open(
    spec: &SourceSpec,
    opts: &SourceOptions,
    watch: &watch::DirWatch,
    looked: Option<io::Result<std::fs::Metadata>>,
) -> anyhow::Result<SourceStream> {
    let resolved = |addr: &ListenAddr| {
        addr.addr().ok_or_else(|| anyhow::anyhow!("host name not looked up yet"))
    };
    match &spec.kind {
        SourceKind::File(path) => file::open(path, opts, watch, looked),
        SourceKind::Stdin => Ok(stdin::open(opts)),
        SourceKind::Tcp(addr) => resolved(addr).and_then(|addr| tcp::open(addr, opts)),
        SourceKind::Tls(addr) => resolved(addr).and_then(|addr| tls::open(addr, opts)),
        SourceKind::Udp(addr) => resolved(addr).and_then(|addr| udp::open(addr, opts)),
        SourceKind::Unix(path) => unix::open(path, opts),
        SourceKind::Cmd(command) => cmd::open(command, opts),
        SourceKind::Glob(pattern) => Ok(glob::open(glob::Pattern::clone(pattern), watch, opts)),
    }
    .with_context(|| spec.spec.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slow_resolver(_host: String, _port: u16) -> Lookup {
        Box::pin(std::future::pending())
    }

    fn failing_resolver(_host: String, _port: u16) -> Lookup {
        Box::pin(async { Err(io::Error::other("no")) })
    }

    fn run<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    }

    #[test]
    fn addresses_need_no_look_up_and_names_are_looked_up() {
        let spec = SourceSpec::parse("tcp:0.0.0.0:9").unwrap();
        let located = run(locate(spec.clone(), slow_resolver)).unwrap();
        assert_eq!(located, spec, "an address never waits for the resolver");
        let spec = SourceSpec::parse("x=udp:localhost:9").unwrap();
        let located = run(locate(spec, system_resolver)).unwrap();
        let SourceKind::Udp(addr) = located.kind else { panic!("{located:?}") };
        assert!(addr.addr().is_some_and(|a| a.ip().is_loopback() && a.port() == 9), "{addr:?}");
        let err = run(locate(SourceSpec::parse("tcp:nowhere:9").unwrap(), failing_resolver));
        assert_eq!(err.unwrap_err().to_string(), "tcp:nowhere:9: cannot resolve host 'nowhere'");
    }

    #[test]
    fn a_glob_that_names_an_existing_file_is_that_file() {
        let dir = tempfile::tempdir().unwrap();
        let name = dir.path().join("a[1].log");
        std::fs::write(&name, "x\n").unwrap();
        let spec = SourceSpec::parse(name.to_str().unwrap()).unwrap();
        assert!(matches!(spec.kind, SourceKind::Glob(_)), "parsing never looks at the disk");
        let located = run(locate(spec, system_resolver)).unwrap();
        assert_eq!(located.kind, SourceKind::File(name));
    }

    #[test]
    fn opening_an_unresolved_name_is_an_error_not_a_panic() {
        let spec = SourceSpec::parse("tcp:somewhere:9").unwrap();
        let err =
            run(async { open(&spec, &test_options(), &watch::DirWatch::default(), None).err() });
        assert_eq!(format!("{:#}", err.unwrap()), "tcp:somewhere:9: host name not looked up yet");
    }

    fn test_options() -> SourceOptions {
        SourceOptions {
            initial: Initial::Last(10),
            follow: true,
            lines: LineLimits { max_line_bytes: 1024, pending: Default::default() },
            max_connections: 8,
            end_when_gone: false,
            allow: Arc::new([]),
            glob_empty: false,
            glob_ended: None,
            restart: false,
            exclude: Default::default(),
            tls: None,
        }
    }
}
