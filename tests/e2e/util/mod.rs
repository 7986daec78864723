//! Test helpers: a temporary directory and a builder that runs the real `mux-tail` binary.
//!
//! Every wait has a deadline and a message: a test never sleeps and hopes. A running child is
//! killed when its handle is dropped, so a failing test leaves nothing behind.

#![allow(dead_code)]

pub mod pty;
pub mod rsyslog;

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long any single condition may take to come true.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mux-tail")
}

/// A temporary directory for one test.
pub struct TestEnv {
    dir: tempfile::TempDir,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        TestEnv { dir: tempfile::Builder::new().prefix("mux-tail-test").tempdir().unwrap() }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Creates (or replaces the contents of) a file.
    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) {
        std::fs::write(self.path(name), content).unwrap();
    }

    /// Appends to a file, creating it if needed.
    pub fn append(&self, name: &str, content: impl AsRef<[u8]>) {
        let mut f = OpenOptions::new().create(true).append(true).open(self.path(name)).unwrap();
        f.write_all(content.as_ref()).unwrap();
    }

    /// `program` in this directory with a clean environment (PATH and LC_ALL=C only) and stdin
    /// closed: what every test starts from.
    pub fn clean_command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(self.root())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        command
    }

    /// A command running mux-tail in this directory with a clean environment.
    pub fn cmd(&self) -> Cmd {
        let mut command = self.clean_command(bin());
        // A session of its own, without a controlling terminal (as in CI): keys are off, and a
        // developer's terminal is never touched.
        // SAFETY: setsid is async-signal-safe.
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(|| rustix::process::setsid().map(drop).map_err(Into::into));
        }
        Cmd { command, stdin: None }
    }
}

/// A mux-tail invocation being built.
pub struct Cmd {
    command: Command,
    stdin: Option<Vec<u8>>,
}

/// Makes `cmd` start with at most `n` open files (soft and hard limit, as `prlimit --nofile=n`).
pub fn limit_fds(cmd: &mut Command, n: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            let limit = rustix::process::Rlimit { current: Some(n), maximum: Some(n) };
            rustix::process::setrlimit(rustix::process::Resource::Nofile, limit)?;
            Ok(())
        });
    }
}

impl Cmd {
    /// Starts mux-tail with at most `n` open files.
    pub fn fd_limit(mut self, n: u64) -> Cmd {
        limit_fds(&mut self.command, n);
        self
    }

    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Cmd {
        self.command.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Cmd {
        self.command.env(key, value);
        self
    }

    /// Feeds `data` on stdin, then closes it.
    pub fn stdin_bytes(mut self, data: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(data.into());
        self.command.stdin(Stdio::piped());
        self
    }

    /// Leaves stdin as a pipe the test writes to (see [`Running::stdin`]).
    pub fn stdin_pipe(mut self) -> Cmd {
        self.command.stdin(Stdio::piped());
        self
    }

    /// Starts mux-tail; its stdout and stderr are collected in the background.
    pub fn spawn(mut self) -> Running {
        self.command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = self.command.spawn().expect("cannot start mux-tail");
        let stdout = Collected::from(child.stdout.take().unwrap());
        let stderr = Collected::from(child.stderr.take().unwrap());
        let mut stdin = child.stdin.take();
        if let Some(data) = self.stdin {
            let mut pipe = stdin.take().unwrap();
            thread::spawn(move || {
                let _ = pipe.write_all(&data);
            });
        }
        Running { child, stdout, stderr, stdin }
    }

    /// Starts mux-tail with stdout left unread (a pipe the test reads itself); stderr is
    /// collected.
    pub fn spawn_stdout_unread(mut self) -> (Child, Collected) {
        self.command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = self.command.spawn().expect("cannot start mux-tail");
        let stderr = Collected::from(child.stderr.take().unwrap());
        (child, stderr)
    }

    /// Runs mux-tail to its end (within the deadline).
    pub fn run(self) -> Finished {
        let mut running = self.spawn();
        let status = running.wait_exit();
        Finished { status, stdout: running.stdout.take(), stderr: running.stderr_string() }
    }
}

/// A finished run.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Finished {
    pub fn stdout_string(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// Bytes read so far, and whether the pipe is closed.
type Received = (Vec<u8>, bool);

/// Bytes a thread keeps reading from a pipe, with a way to wait for them.
#[derive(Clone)]
pub struct Collected {
    state: Arc<(Mutex<Received>, Condvar)>,
}

impl Collected {
    /// Collects what `pipe` delivers, on a thread of its own.
    pub fn from_pipe(pipe: impl Read + Send + 'static) -> Collected {
        Self::from(pipe)
    }

    fn from(mut pipe: impl Read + Send + 'static) -> Collected {
        let c = Collected { state: Arc::new((Mutex::new((Vec::new(), false)), Condvar::new())) };
        let state = c.state.clone();
        thread::spawn(move || {
            let mut buf = vec![0; 64 * 1024];
            loop {
                let n = pipe.read(&mut buf).unwrap_or(0);
                let (lock, cv) = &*state;
                let mut g = lock.lock().unwrap();
                if n == 0 {
                    g.1 = true;
                    cv.notify_all();
                    return;
                }
                g.0.extend_from_slice(&buf[..n]);
                cv.notify_all();
            }
        });
        c
    }

    /// A copy of everything read so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.state.0.lock().unwrap().0.clone()
    }

    /// Takes everything read so far.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.state.0.lock().unwrap().0)
    }

    /// Waits until `cond` holds for the bytes read so far; panics with `what` after the deadline.
    pub fn wait_for(&self, what: &str, cond: impl Fn(&[u8]) -> bool) {
        let (lock, cv) = &*self.state;
        let end = Instant::now() + DEADLINE;
        let mut g = lock.lock().unwrap();
        while !cond(&g.0) {
            let now = Instant::now();
            if now >= end {
                panic!(
                    "timed out waiting for {what}; got so far ({} bytes):\n{}",
                    g.0.len(),
                    String::from_utf8_lossy(&g.0[g.0.len().saturating_sub(2000)..])
                );
            }
            g = cv.wait_timeout(g, end - now).unwrap().0;
        }
    }

    /// Waits until the pipe is closed.
    pub fn wait_closed(&self) {
        let (lock, cv) = &*self.state;
        let end = Instant::now() + DEADLINE;
        let mut g = lock.lock().unwrap();
        while !g.1 {
            let now = Instant::now();
            assert!(now < end, "timed out waiting for the pipe to close");
            g = cv.wait_timeout(g, end - now).unwrap().0;
        }
    }
}

/// A running mux-tail; killed when dropped.
pub struct Running {
    pub child: Child,
    pub stdout: Collected,
    pub stderr: Collected,
    pub stdin: Option<std::process::ChildStdin>,
}

impl Running {
    /// Waits until stdout contains `needle`.
    pub fn wait_stdout(&self, needle: &str) {
        self.stdout.wait_for(&format!("{needle:?} on stdout"), |b| contains(b, needle.as_bytes()));
    }

    /// Waits until stdout holds at least `n` lines.
    pub fn wait_lines(&self, n: usize) {
        self.stdout.wait_for(&format!("{n} lines on stdout"), |b| count_lines(b) >= n);
    }

    /// Waits until stderr contains `needle`.
    pub fn wait_stderr(&self, needle: &str) {
        self.stderr.wait_for(&format!("{needle:?} on stderr"), |b| contains(b, needle.as_bytes()));
    }

    /// The port the source `spec` (such as `udp:0`) listens on, from its note on stderr.
    pub fn port(&self, spec: &str) -> u16 {
        listening_port(&self.stderr, spec)
    }

    pub fn stdout_string(&self) -> String {
        String::from_utf8_lossy(&self.stdout.bytes()).into_owned()
    }

    pub fn stderr_string(&self) -> String {
        String::from_utf8_lossy(&self.stderr.bytes()).into_owned()
    }

    /// Sends a signal to mux-tail.
    pub fn signal(&self, sig: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, sig).unwrap();
    }

    /// Waits for mux-tail to exit (within the deadline).
    pub fn wait_exit(&mut self) -> ExitStatus {
        let status = wait_child(&mut self.child);
        self.stdout.wait_closed();
        self.stderr.wait_closed();
        status
    }

    /// SIGTERM, then the exit status.
    pub fn stop(&mut self) -> ExitStatus {
        self.signal(rustix::process::Signal::TERM);
        self.wait_exit()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the peer program `name` (jq, zsh, rsyslogd…) is installed. Without it the test is
/// skipped with a note — unless MUX_TAIL_REQUIRE_PEERS is set (as CI does), where it fails.
pub fn peer(name: &str) -> bool {
    let found = peer_path(name).is_some();
    if !found {
        assert!(
            std::env::var_os("MUX_TAIL_REQUIRE_PEERS").is_none(),
            "{name} is required (MUX_TAIL_REQUIRE_PEERS is set) but not installed"
        );
        eprintln!("skipped: {name} is not installed");
    }
    found
}

/// Where the program `name` is installed (PATH, then the sbin directories).
pub fn peer_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Peak resident set size of a process (KiB), from /proc.
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Waits until `cond` holds (checked every few milliseconds), within the deadline.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + DEADLINE;
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until `progress` (a count that only grows, such as bytes a sender wrote) has grown and
/// then stopped growing: the same value over several looks a tenth of a second apart.
pub fn wait_stalled(what: &str, progress: impl Fn() -> usize) {
    const LOOKS: usize = 5;
    let end = Instant::now() + DEADLINE;
    let (mut last, mut same) = (0, 0);
    while same < LOOKS {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(100));
        let now = progress();
        same = if now > 0 && now == last { same + 1 } else { 0 };
        last = now;
    }
}

/// Waits for a child to exit (within the deadline).
pub fn wait_child(child: &mut Child) -> ExitStatus {
    let end = Instant::now() + DEADLINE;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < end, "the child did not exit");
        thread::sleep(Duration::from_millis(5));
    }
}

/// The port the source `spec` (as written, without a label: `tcp:0`) listens on, from its
/// `listening on` note in `stderr`: the one way tests learn a port mux-tail chose.
pub fn listening_port(stderr: &Collected, spec: &str) -> u16 {
    let prefix = format!("mux-tail: {spec}: listening on ");
    stderr.wait_for(&prefix, |b| contains(b, prefix.as_bytes()));
    let text = String::from_utf8_lossy(&stderr.bytes()).into_owned();
    let line = text.lines().find(|l| l.starts_with(&prefix)).unwrap().to_string();
    line.rsplit(':').next().unwrap().trim().parse().unwrap()
}

/// A TCP port on 127.0.0.1 that nothing listens on right now (for a test that must name its
/// port before mux-tail starts; otherwise let mux-tail choose with `tcp:0`).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

pub fn count_lines(b: &[u8]) -> usize {
    b.iter().filter(|&&c| c == b'\n').count()
}

/// The lines of `out` that carry `label`, without the label.
pub fn lines_of(out: &[u8], label: &str) -> Vec<String> {
    let prefix = format!("[{label}] ");
    String::from_utf8_lossy(out)
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix).map(str::to_string))
        .collect()
}

/// Asserts that `lines` are exactly the numbers `1..=n`, in order.
pub fn assert_numbered(lines: &[String], n: usize) {
    let mut expected = 1;
    for l in lines {
        let got: usize = l.parse().unwrap_or_else(|_| panic!("not a numbered line: {l:?}"));
        assert_eq!(got, expected, "line {expected} missing, repeated or out of order");
        expected += 1;
    }
    assert_eq!(expected - 1, n, "expected {n} lines, got {}", expected - 1);
}

/// A file kept open for appending (as a logging daemon holds its log).
pub struct Appender {
    pub file: File,
}

impl Appender {
    pub fn open(path: &Path) -> Appender {
        Appender { file: OpenOptions::new().create(true).append(true).open(path).unwrap() }
    }

    pub fn line(&mut self, s: &str) {
        self.file.write_all(format!("{s}\n").as_bytes()).unwrap();
    }
}
