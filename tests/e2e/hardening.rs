//! Hardening: hostile input, resource limits, network safety, every way out of the terminal,
//! write errors, rotation under a continuous writer (delete + recreate, copytruncate).

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rustix::termios::LocalModes;

use crate::util::{
    assert_numbered, bin, contains, lines_of, pty::Pty, wait_child, wait_stalled, wait_until,
    Appender, Collected, TestEnv,
};

fn cpu_seconds(pid: u32) -> f64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit(") ").next().unwrap().split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

#[test]
fn a_100_mb_line_and_a_stream_of_nul_bytes_keep_memory_bounded() {
    let env = TestEnv::new();
    let (mut child, stderr) = env.cmd().args(["--no-label", "tcp:0"]).spawn_stdout_unread();
    let port = crate::util::listening_port(&stderr, "tcp:0");
    let mut stdout = child.stdout.take().unwrap();
    let sender = thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let block = vec![b'z'; 1 << 20];
        for _ in 0..100 {
            s.write_all(&block).unwrap();
        }
        s.write_all(b"\n").unwrap();
        let nul = vec![0u8; 1 << 20];
        for _ in 0..50 {
            s.write_all(&nul).unwrap();
        }
    });
    // 100 pieces of 1 MiB, then 50 pieces of NULs (the last one when the connection closes).
    let mut seen = 0usize;
    let mut pieces = 0;
    let mut buf = vec![0; 1 << 16];
    while pieces < 150 {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "output ended after {pieces} pieces");
        pieces += buf[..n].iter().filter(|&&b| b == b'\n').count();
        seen += n;
    }
    sender.join().unwrap();
    assert_eq!(seen, 150 * ((1 << 20) + 1));
    let rss = crate::util::peak_rss_kib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    assert!(rss < 40 * 1024, "peak RSS {rss} KiB for a 100 MiB line");
}

#[test]
fn a_hundred_unfinished_megabyte_lines_share_one_budget_and_lose_nothing() {
    let env = TestEnv::new();
    let (mut child, stderr) = env.cmd().args(["--no-label", "tcp:0"]).spawn_stdout_unread();
    let port = crate::util::listening_port(&stderr, "tcp:0");
    let mut stdout = child.stdout.take().unwrap();
    let (clients, size) = (100, 1 << 20);
    let (done, counted) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let (mut x, mut other) = (0usize, 0usize);
        let mut buf = vec![0; 1 << 16];
        let mut told = false;
        loop {
            let n = stdout.read(&mut buf).unwrap();
            for &b in &buf[..n] {
                match b {
                    b'x' => x += 1,
                    b'\n' => {}
                    _ => other += 1,
                }
            }
            if (n == 0 || x >= clients * size) && !std::mem::replace(&mut told, true) {
                let _ = done.send((x, other));
            }
            // Read on to the end: a closed pipe would end mux-tail before its peak is read.
            if n == 0 {
                return;
            }
        }
    });
    // A hundred senders, each a 1 MiB line without its end, all held open.
    let sent = Arc::new(AtomicUsize::new(0));
    let conns: Vec<_> = (0..clients)
        .map(|_| {
            let sent = sent.clone();
            thread::spawn(move || {
                let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.write_all(&vec![b'x'; size]).unwrap();
                sent.fetch_add(1, Ordering::SeqCst);
                s
            })
        })
        .collect();
    wait_until("every sender to have written its line", || sent.load(Ordering::SeqCst) == clients);
    let conns: Vec<TcpStream> = conns.into_iter().map(|h| h.join().unwrap()).collect();
    stderr.wait_for("the note on the budget", |b| contains(b, b"--max-pending-bytes"));
    drop(conns);
    let (x, other) = counted.recv_timeout(Duration::from_secs(60)).expect("all the bytes");
    // The peak of the whole run: holding the lines, cutting them, and the rest when they end.
    let rss = crate::util::peak_rss_kib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!((x, other), (clients * size, 0), "every byte once, nothing else");
    // Without the budget the lines alone are 100 MiB.
    assert!(rss < 64 * 1024, "peak RSS {rss} KiB: the 16 MiB budget plus overhead");
    let notes = String::from_utf8_lossy(&stderr.bytes()).matches("max-pending-bytes").count();
    assert_eq!(notes, 1, "one note for the source, not one per piece");
}

#[test]
fn files_beyond_the_descriptor_limit_wait_and_are_opened_as_descriptors_free_up() {
    let env = TestEnv::new();
    std::fs::create_dir(env.path("logs")).unwrap();
    let name = |i: usize| format!("logs/f{i:03}.log");
    for i in 1..=150 {
        env.write(&name(i), format!("first line of {i:03}\n"));
    }
    let run = env.cmd().fd_limit(100).args(["--no-label", "-n", "1", "logs/*.log"]).spawn();
    run.stderr.wait_for("the note", |b| contains(b, b"out of file descriptors (limit 100)"));
    // Some files are open and shown; the others wait (none is dropped, nothing ends).
    run.wait_stdout("first line of 001");
    let shown = || run.stdout_string().matches("first line of").count();
    assert!(shown() < 150, "at most 100 descriptors, yet {} files shown", shown());
    // Deleting files closes them: the waiting ones take their descriptors.
    for i in 1..=70 {
        std::fs::remove_file(env.path(&name(i))).unwrap();
    }
    run.stderr.wait_for("the end of the episode", |b| contains(b, b"descriptors free again"));
    wait_until("every file's line", || shown() == 150);
    // And a file that waited is followed like any other.
    env.append(&name(150), "a later line of 150\n");
    run.wait_stdout("a later line of 150\n");
    let notes = run.stderr_string();
    assert_eq!(notes.matches("out of file descriptors").count(), 1, "one note: {notes}");
    assert!(!notes.contains("inotify"), "inotify set up before the files: {notes}");
}

#[test]
fn a_stalled_reader_loses_nothing_and_memory_stays_flat() {
    let env = TestEnv::new();
    let (mut child, stderr) = env.cmd().args(["--no-label", "tcp:0"]).spawn_stdout_unread();
    let port = crate::util::listening_port(&stderr, "tcp:0");
    let total = 300_000usize; // 30 MB
    let written = Arc::new(AtomicUsize::new(0));
    let sent = written.clone();
    let sender = thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let block = format!("{}\n", "s".repeat(99)).repeat(1000);
        for _ in 0..total / 1000 {
            s.write_all(block.as_bytes()).unwrap();
            sent.fetch_add(block.len(), Ordering::Relaxed);
        }
    });
    // The reader stalls until flow control holds the sender back; then it reads everything.
    wait_stalled("the sender to be held back", || written.load(Ordering::Relaxed));
    assert!(written.load(Ordering::Relaxed) < total * 100, "nothing held the sender back");
    let rss_stalled = crate::util::peak_rss_kib(child.id());
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    for i in 0..total {
        line.clear();
        out.read_line(&mut line).unwrap();
        assert_eq!(line.len(), 100, "line {i}");
    }
    sender.join().unwrap();
    let rss = crate::util::peak_rss_kib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    assert!(rss_stalled < 32 * 1024 && rss < 32 * 1024, "peak RSS {rss_stalled} / {rss} KiB");
}

#[test]
fn pause_held_long_holds_sources_back_and_loses_nothing() {
    let env = TestEnv::new();
    let pty = Pty::new(200, 50);
    let mut cmd = pty.command(&env);
    cmd.args(["--no-label", "--color=never", "tcp:0"]).stderr(Stdio::piped());
    let mut child = pty.spawn(cmd);
    let stderr = Collected::from_pipe(child.stderr.take().unwrap());
    let port = crate::util::listening_port(&stderr, "tcp:0");
    wait_until("key mode", || !pty.termios().local_modes.contains(LocalModes::ICANON));
    pty.send(b"p");
    pty.screen.wait_for("paused", |b| contains(b, b"PAUSED, 0 lines held"));
    let total = 200_000usize; // 20 MB, more than what pause holds (8 MiB)
    let written = Arc::new(AtomicUsize::new(0));
    let sent = written.clone();
    let sender = thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        for chunk in 0..total / 1000 {
            let mut data = Vec::new();
            for i in chunk * 1000..(chunk + 1) * 1000 {
                data.extend_from_slice(format!("{i:099}\n").as_bytes());
            }
            s.write_all(&data).unwrap();
            sent.fetch_add(data.len(), Ordering::Relaxed);
        }
    });
    // Held lines count up to what pause holds (8 MiB: some 80,000 lines); then the sender is
    // held back.
    pty.screen.wait_for("80,000 lines held", |b| held(b) >= 80_000);
    wait_stalled("the sender to be held back", || written.load(Ordering::Relaxed));
    assert!(!sender.is_finished(), "the sender should be held back by flow control");
    let rss = crate::util::peak_rss_kib(child.id());
    assert!(rss < 40 * 1024, "peak RSS {rss} KiB while paused");
    pty.send(b" ");
    let last = format!("{:099}\r\n", total - 1);
    // Only the end of the screen is searched: the output is large.
    pty.screen.wait_for("the last line", |b| {
        contains(&b[b.len().saturating_sub(4096)..], last.as_bytes())
    });
    sender.join().unwrap();
    let screen = pty.screen.bytes();
    let mut next = 0;
    for line in screen.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() >= 99 {
            let digits = &line[line.len() - 99..];
            if digits.iter().all(u8::is_ascii_digit) {
                let n: usize = std::str::from_utf8(digits).unwrap().parse().unwrap();
                assert_eq!(n, next, "a line lost or repeated");
                next += 1;
            }
        }
    }
    assert_eq!(next, total);
    let _ = child.kill();
    let _ = child.wait();
}

/// The last count of held lines on the status line.
fn held(screen: &[u8]) -> usize {
    let text = String::from_utf8_lossy(screen);
    let Some(at) = text.rfind("PAUSED, ") else { return 0 };
    let digits: String = text[at + 8..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(0)
}

#[test]
fn allow_refuses_and_counts_peers_outside_the_networks() {
    let env = TestEnv::new();
    let run = env.cmd().args(["--allow", "127.0.0.2/32", "tcp:0.0.0.0:0", "udp:0"]).spawn();
    let tcp = run.port("tcp:0.0.0.0:0");
    // From 127.0.0.1: accepted by the kernel, closed at once by mux-tail, line never shown.
    let mut refused = connect_from("127.0.0.1", tcp).unwrap();
    let _ = refused.write_all(b"from outside\n");
    let mut buf = [0u8; 1];
    assert_eq!(refused.read(&mut buf).unwrap_or(0), 0);
    run.wait_stderr("refused a connection from 127.0.0.1:");
    run.wait_stderr("not in --allow");
    let mut allowed = connect_from("127.0.0.2", tcp).unwrap();
    allowed.write_all(b"from inside\n").unwrap();
    run.wait_stdout("from inside\n");
    // UDP: datagrams from others are dropped.
    let udp = run.port("udp:0");
    let outside = UdpSocket::bind("127.0.0.1:0").unwrap();
    outside.send_to(b"udp outside", ("127.0.0.1", udp)).unwrap();
    run.wait_stderr("refused a datagram from 127.0.0.1:");
    let inside = UdpSocket::bind("127.0.0.2:0").unwrap();
    inside.send_to(b"udp inside", ("127.0.0.1", udp)).unwrap();
    run.wait_stdout("udp inside\n");
    assert!(!run.stdout_string().contains("outside"));
}

/// A TCP connection to 127.0.0.1:`port` from the loopback address `ip`.
fn connect_from(ip: &str, port: u16) -> std::io::Result<TcpStream> {
    use rustix::net::{AddressFamily, SocketType};
    let fd = rustix::net::socket(AddressFamily::INET, SocketType::STREAM, None)?;
    let local: SocketAddr = format!("{ip}:0").parse().unwrap();
    rustix::net::bind(&fd, &local)?;
    rustix::net::connect(&fd, &SocketAddr::from(([127, 0, 0, 1], port)))?;
    Ok(TcpStream::from(fd))
}

#[test]
fn listeners_are_not_reachable_from_other_hosts_by_default() {
    // This host's own non-loopback address (a UDP "connect" sends nothing).
    let probe = UdpSocket::bind("0.0.0.0:0").unwrap();
    let Ok(()) = probe.connect("10.255.255.255:9") else { return };
    let ip = probe.local_addr().unwrap().ip();
    if ip.is_loopback() || ip.is_unspecified() {
        eprintln!("skipped: no non-loopback address");
        return;
    }
    let env = TestEnv::new();
    let run = env.cmd().arg("tcp:0").spawn();
    let port = run.port("tcp:0");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    let err = TcpStream::connect((ip, port)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{ip}:{port}");
}

#[test]
fn out_of_file_descriptors_backs_off_and_recovers() {
    let env = TestEnv::new();
    let mut cmd = env.clean_command(bin());
    cmd.args(["--no-label", "tcp:0"]).stdout(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            use rustix::process::{setrlimit, Resource, Rlimit};
            setrlimit(Resource::Nofile, Rlimit { current: Some(48), maximum: Some(48) })?;
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = Collected::from_pipe(child.stdout.take().unwrap());
    let stderr = Collected::from_pipe(child.stderr.take().unwrap());
    let port = crate::util::listening_port(&stderr, "tcp:0");
    let mut conns: Vec<TcpStream> = (0..60)
        .map(|i| {
            let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
            c.write_all(format!("conn {i}\n").as_bytes()).unwrap();
            c
        })
        .collect();
    stderr.wait_for("the out-of-descriptors note", |b| {
        contains(b, b"cannot accept connections") && contains(b, b"waiting for some to close")
    });
    // Starved for a while: no busy loop.
    let before = cpu_seconds(child.id());
    thread::sleep(Duration::from_millis(700));
    let used = cpu_seconds(child.id()) - before;
    assert!(used < 0.2, "{used} s of CPU while out of descriptors");
    // Free some: every connection is served in the end.
    let shown = String::from_utf8_lossy(&stdout.bytes()).lines().count();
    conns.drain(..shown.min(30));
    stdout.wait_for("every line", |b| b.iter().filter(|&&c| c == b'\n').count() == 60);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_write_error_on_stdout_is_one_line_and_exit_1() {
    let env = TestEnv::new();
    env.write("a.log", "one\ntwo\n");
    let out = Command::new(bin())
        .args(["--no-follow", "a.log"])
        .current_dir(env.root())
        .stdout(fs::OpenOptions::new().write(true).open("/dev/full").unwrap())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "mux-tail: cannot write to standard output: No space left on device (os error 28)\n"
    );
}

/// Runs mux-tail on a terminal (keys on, stdout on the terminal too unless `stdout` is given).
fn on_terminal(env: &TestEnv, args: &[&str], stdout: Option<Stdio>) -> (Pty, std::process::Child) {
    let pty = Pty::new(100, 30);
    let mut cmd = pty.command(env);
    cmd.args(args).stdout(stdout.unwrap_or_else(|| pty.stdio())).stderr(Stdio::null());
    let child = pty.spawn(cmd);
    wait_until("key mode", || !pty.termios().local_modes.contains(LocalModes::ICANON));
    (pty, child)
}

#[test]
fn a_panic_restores_the_terminal() {
    let env = TestEnv::new();
    env.write("a.log", "a1\n");
    let pty_before = Pty::new(100, 30).termios();
    let (pty, mut child) = on_terminal(&env, &["a.log"], None);
    pty.screen.wait_for("the first line", |b| contains(b, b"a1"));
    pty.send(b"!");
    let status = wait_child(&mut child);
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(6), "abort");
    let after = pty.termios();
    assert_eq!(after.local_modes, pty_before.local_modes, "the terminal mode is restored");
    // The status line is gone: its text erased after it was last drawn.
    pty.screen.wait_for("the status line erased", |b| b.ends_with(b"\x1b[0m\x1b[?7h\r\r\x1b[J"));
}

#[test]
fn closed_stdout_restores_the_terminal() {
    let env = TestEnv::new();
    env.write("a.log", "a1\na2\n");
    let before = Pty::new(100, 30).termios();
    let (pty, mut child) = on_terminal(&env, &["a.log"], Some(Stdio::piped()));
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    drop(out); // like `| head -1`
    assert_eq!(wait_child(&mut child).code(), Some(0));
    assert_eq!(pty.termios().local_modes, before.local_modes);
}

#[test]
fn delete_and_recreate_under_a_continuous_writer_loses_nothing() {
    let env = TestEnv::new();
    env.write("app.log", "");
    let run = env.cmd().args(["-n", "+1", "app.log"]).spawn();
    let total = 20_000;
    let path = env.path("app.log");
    let seen = run.stdout.clone();
    let writer = thread::spawn(move || {
        let mut log = Appender::open(&path);
        for i in 1..=total {
            log.line(&i.to_string());
            if i % 1000 == 0 {
                // Everything written so far must be read before the file goes.
                let last = format!("[app.log] {i}\n");
                seen.wait_for(&last, |b| contains(b, last.as_bytes()));
                fs::remove_file(&path).unwrap();
                log = Appender::open(&path);
            }
        }
    });
    writer.join().unwrap();
    run.wait_stdout(&format!("[app.log] {total}\n"));
    assert_numbered(&lines_of(&run.stdout.bytes(), "app.log"), total);
}

#[test]
fn copytruncate_under_a_continuous_writer_repeats_nothing() {
    let env = TestEnv::new();
    env.write("app.log", "");
    let run = env.cmd().args(["-n", "+1", "app.log"]).spawn();
    let total = 20_000;
    let path = env.path("app.log");
    let copy = env.path("app.log.1");
    let writer = thread::spawn(move || {
        let mut log = Appender::open(&path);
        for i in 1..=total {
            log.line(&i.to_string());
            if i % 2000 == 0 {
                // logrotate's copytruncate: copy, then truncate the file the writer appends to.
                fs::copy(&path, &copy).unwrap();
                log.file.set_len(0).unwrap();
            }
        }
        log.line(&(total + 1).to_string());
    });
    writer.join().unwrap();
    run.wait_stdout(&format!("[app.log] {}\n", total + 1));
    // Lines written between mux-tail's last read and the truncation are lost: the window
    // copytruncate cannot close (they are in the copy, not in the file any more). Of a line cut
    // by that window, the part read before is printed, as a file's last line is. Nothing is
    // repeated, nothing comes out of order.
    let lines = lines_of(&run.stdout.bytes(), "app.log");
    let mut last = 0;
    for l in &lines {
        let n: usize = l.parse().unwrap();
        if n <= last && (last + 1).to_string().starts_with(l.as_str()) {
            continue; // the start of the next line, which the truncation took
        }
        assert!(n > last, "{n} after {last}: repeated or out of order");
        last = n;
    }
    assert_eq!(last, total + 1);
}

/// Runs `cmd` as user `nobody` (tests that need permissions to apply run as root here).
fn as_nobody(cmd: &mut Command) -> bool {
    if !rustix::process::geteuid().is_root() {
        return true; // permissions already apply
    }
    cmd.uid(65534).gid(65534);
    true
}

#[test]
fn an_unreadable_file_is_a_note_and_the_others_go_on() {
    let env = TestEnv::new();
    fs::set_permissions(env.root(), fs::Permissions::from_mode(0o777)).unwrap();
    env.write("a.log", "a1\n");
    env.write("b.log", "b1\n");
    for f in ["a.log", "b.log"] {
        fs::set_permissions(env.path(f), fs::Permissions::from_mode(0o666)).unwrap();
    }
    let mut cmd = env.clean_command(bin());
    cmd.args(["a.log", "b.log"]).stdout(Stdio::piped()).stderr(Stdio::piped());
    as_nobody(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    let stdout = Collected::from_pipe(child.stdout.take().unwrap());
    let stderr = Collected::from_pipe(child.stderr.take().unwrap());
    stdout.wait_for("a1", |b| contains(b, b"[a.log] a1\n"));
    // Rotated, and the new file cannot be read.
    fs::rename(env.path("a.log"), env.path("a.log.1")).unwrap();
    // The new file appears unreadable at once (made aside, then renamed into place).
    env.write("a.new", "secret\n");
    fs::set_permissions(env.path("a.new"), fs::Permissions::from_mode(0o000)).unwrap();
    fs::rename(env.path("a.new"), env.path("a.log")).unwrap();
    stderr.wait_for("a note", |b| contains(b, b"a.log: cannot open: Permission denied"));
    env.append("b.log", "b2\n");
    stdout.wait_for("b2", |b| contains(b, b"[b.log] b2\n"));
    // Readable again: followed again.
    fs::set_permissions(env.path("a.log"), fs::Permissions::from_mode(0o644)).unwrap();
    stdout.wait_for("the new file", |b| contains(b, b"[a.log] secret\n"));
    assert!(child.try_wait().unwrap().is_none(), "still running");
    let _ = child.kill();
    let _ = child.wait();
}

/// Users no other test runs as, one per test that takes away inotify.
const UID_A: u32 = 4_000_101;
const UID_B: u32 = 4_000_102;

/// Runs `cmd` as user `uid` (one no other test runs as: inotify instances are counted per user,
/// and another test's mux-tail ending would hand one back), with every inotify instance that
/// user may have already taken (and inherited): mux-tail gets none. The spawn fails, naming the
/// counts, if fewer could be taken than the system allows a user.
fn without_inotify(cmd: &mut Command, uid: u32) {
    let max: u64 = fs::read_to_string("/proc/sys/fs/inotify/max_user_instances")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(128);
    // Room for every instance and for mux-tail's own descriptors, so that the descriptor limit
    // is never what stops the taking (set while still root: the hard limit may rise).
    let room = rustix::process::Rlimit { current: Some(max + 256), maximum: Some(max + 256) };
    // SAFETY: only system calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let _ = rustix::process::setrlimit(rustix::process::Resource::Nofile, room);
            let id = become_user(uid)?;
            let mut taken = 0;
            while let Ok(fd) = rustix::fs::inotify::init(rustix::fs::inotify::CreateFlags::empty())
            {
                std::mem::forget(fd);
                taken += 1;
            }
            if taken < max {
                return Err(std::io::Error::other(format!(
                    "took {taken} of {max} inotify instances as uid {id}"
                )));
            }
            Ok(())
        });
    }
}

/// Becomes `uid` (group too) in a child about to exec.
fn become_user(uid: u32) -> std::io::Result<u32> {
    // SAFETY: plain system calls on the forked child's own credentials.
    let ok = unsafe {
        libc::setgroups(0, std::ptr::null()) == 0
            && libc::setgid(uid) == 0
            && libc::setuid(uid) == 0
    };
    if ok {
        Ok(uid)
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[test]
fn without_inotify_files_are_polled_with_a_note() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root to use up another user's inotify instances");
        return;
    }
    let env = TestEnv::new();
    fs::set_permissions(env.root(), fs::Permissions::from_mode(0o777)).unwrap();
    env.write("a.log", "a1\n");
    fs::set_permissions(env.path("a.log"), fs::Permissions::from_mode(0o666)).unwrap();
    let mut cmd = env.clean_command(bin());
    cmd.arg("a.log").stdout(Stdio::piped()).stderr(Stdio::piped());
    without_inotify(&mut cmd, UID_A);
    let mut child = cmd.spawn().unwrap();
    let stdout = Collected::from_pipe(child.stdout.take().unwrap());
    let stderr = Collected::from_pipe(child.stderr.take().unwrap());
    stderr.wait_for("the polling note", |b| {
        contains(b, b"a.log: no inotify watch available; checking every 1s")
    });
    env.append("a.log", "a2\n");
    stdout.wait_for("a2 by polling", |b| contains(b, b"[a.log] a2\n"));
    let start = Instant::now();
    let _ = child.kill();
    let _ = child.wait();
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn without_inotify_a_recursive_glob_is_polled_with_a_note_and_finds_new_directories() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root to use up another user's inotify instances");
        return;
    }
    let env = TestEnv::new();
    fs::set_permissions(env.root(), fs::Permissions::from_mode(0o777)).unwrap();
    fs::create_dir(env.path("r")).unwrap();
    fs::set_permissions(env.path("r"), fs::Permissions::from_mode(0o777)).unwrap();
    let mut cmd = env.clean_command(bin());
    cmd.arg("r/**/*.log").stdout(Stdio::piped()).stderr(Stdio::piped());
    without_inotify(&mut cmd, UID_B);
    let mut child = cmd.spawn().unwrap();
    let stdout = Collected::from_pipe(child.stdout.take().unwrap());
    let stderr = Collected::from_pipe(child.stderr.take().unwrap());
    stderr.wait_for("the polling note", |b| {
        contains(b, b"not every directory could be watched; checking every 1s")
    });
    fs::create_dir_all(env.path("r/x/y")).unwrap();
    env.write("r/x/y/new.log", "found by looking\n");
    stdout.wait_for("the new file", |b| contains(b, b"[r/x/y/new.log] found by looking\n"));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_thousand_files_and_a_thousand_connections_at_once() {
    // The test itself holds a thousand sockets.
    let mut limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    limit.current = limit.maximum;
    let _ = rustix::process::setrlimit(rustix::process::Resource::Nofile, limit);
    let env = TestEnv::new();
    let mut args = vec!["--no-label".to_string(), "-n".into(), "1".into()];
    for i in 0..1000 {
        let name = format!("f{i:04}.log");
        env.write(&name, format!("file {i}\n"));
        args.push(name);
    }
    args.push("tcp:0".into());
    let run = env.cmd().args(&args).spawn();
    let port = run.port("tcp:0");
    run.stdout.wait_for("a line of every file", |b| crate::util::count_lines(b) >= 1000);
    let clients: Vec<TcpStream> = (0..1000)
        .map(|i| {
            let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
            c.write_all(format!("client {i}\n").as_bytes()).unwrap();
            c
        })
        .collect();
    run.stdout.wait_for("a line of every client", |b| crate::util::count_lines(b) >= 2000);
    let out = run.stdout_string();
    for i in 0..1000 {
        assert!(out.contains(&format!("file {i}\n")), "file {i} missing");
        assert!(out.contains(&format!("client {i}\n")), "client {i} missing");
    }
    drop(clients);
}

#[test]
fn too_low_a_descriptor_limit_for_the_sources_is_said_at_start() {
    let env = TestEnv::new();
    let names: Vec<String> = (0..60).map(|i| format!("f{i}.log")).collect();
    for n in &names {
        env.write(n, "x\n");
    }
    let mut cmd = env.clean_command(bin());
    cmd.arg("--no-follow").args(&names[..40]).stdout(Stdio::null()).stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            use rustix::process::{setrlimit, Resource, Rlimit};
            setrlimit(Resource::Nofile, Rlimit { current: Some(50), maximum: Some(50) })?;
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("mux-tail: 40 sources, but at most 50 open files are allowed"),
        "{stderr}"
    );
}

#[test]
fn a_glob_over_thousands_of_directories_watches_a_bounded_number_and_looks_at_the_rest() {
    let env = TestEnv::new();
    for i in 0..8200 {
        fs::create_dir_all(env.path(&format!("r/d{i:04}"))).unwrap();
    }
    let run = env.cmd().arg("r/**/*.log").spawn();
    run.wait_stderr("8201 directories: the first 8192 are watched, all are looked at every 1s");
    // Whichever directories are not watched, a file made in any of them is found.
    for i in [0, 4321, 8199] {
        env.write(&format!("r/d{i:04}/new.log"), format!("in {i}\n"));
        run.wait_stdout(&format!("[r/d{i:04}/new.log] in {i}\n"));
    }
}
