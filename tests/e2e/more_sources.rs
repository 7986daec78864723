//! UDP, Unix sockets, commands, globs, and real syslog senders (logger, rsyslogd).

use std::io::Write;
use std::net::UdpSocket;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::Command;

use rustix::process::Signal;

use crate::util::{lines_of, wait_until, TestEnv};

#[test]
fn udp_datagrams_become_lines_with_their_sender() {
    let env = TestEnv::new();
    let run = env.cmd().args(["--format", "{label}|{peer}|{line}", "u=udp:0"]).spawn();
    let port = run.port("udp:0");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let me = sock.local_addr().unwrap().to_string();
    sock.send_to(b"no newline", ("127.0.0.1", port)).unwrap();
    run.wait_stdout(&format!("u|{me}|no newline\n"));
    sock.send_to(b"two\nlines\n", ("127.0.0.1", port)).unwrap();
    run.wait_stdout(&format!("u|{me}|two\nu|{me}|lines\n"));
}

#[test]
fn udp_port_in_use_is_a_one_line_error() {
    let env = TestEnv::new();
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let out = env.cmd().arg(format!("udp:{port}")).run();
    assert_eq!(out.code(), Some(1));
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.starts_with(&format!("mux-tail: udp:{port}: ")), "{}", out.stderr);
}

#[test]
fn unix_socket_is_owner_only_and_removed_after_ctrl_c() {
    let env = TestEnv::new();
    let sock = env.path("mt.sock");
    let mut run = env.cmd().arg(format!("unix:{}", sock.display())).spawn();
    // A connection is taken only once the socket listens, which comes after its mode is set
    // (the file itself appears a moment before).
    let mut a = None;
    wait_until("the socket to take a connection", || {
        a = UnixStream::connect(&sock).ok();
        a.is_some()
    });
    let mut a = a.unwrap();
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let mut b = UnixStream::connect(&sock).unwrap();
    a.write_all(b"from a\npart").unwrap();
    b.write_all(b"from b\n").unwrap();
    run.wait_stdout("from a\n");
    run.wait_stdout("from b\n");
    drop(a);
    run.wait_stdout(&format!("[unix:{}] part\n", sock.display()));
    run.signal(Signal::INT);
    assert_eq!(run.wait_exit().code(), Some(130));
    assert!(!sock.exists(), "the socket file is removed");
}

#[test]
fn stale_unix_socket_is_replaced_but_a_live_one_or_a_file_is_an_error() {
    let env = TestEnv::new();
    let stale = env.path("stale.sock");
    drop(UnixListener::bind(&stale).unwrap()); // its program is gone; the file stays
    assert!(stale.exists());
    let mut run = env.cmd().arg(format!("unix:{}", stale.display())).spawn();
    wait_until("the new socket", || UnixStream::connect(&stale).is_ok());
    assert_eq!(run.stop().code(), Some(143));
    assert!(!stale.exists());

    let live = env.path("live.sock");
    let _listening = UnixListener::bind(&live).unwrap();
    let out = env.cmd().arg(format!("unix:{}", live.display())).run();
    assert_eq!(out.code(), Some(1));
    assert!(out.stderr.contains("a running program is listening on this socket"), "{}", out.stderr);
    assert!(live.exists(), "a live socket is left alone");

    env.write("plain", "data\n");
    let out = env.cmd().arg(format!("unix:{}", env.path("plain").display())).run();
    assert_eq!(out.code(), Some(1));
    assert!(out.stderr.contains("exists and is not a socket"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(env.path("plain")).unwrap(), "data\n");
}

#[test]
fn command_stdout_and_stderr_lines_then_its_status() {
    let env = TestEnv::new();
    let out = env.cmd().args(["job=cmd:echo out; echo err >&2; printf 'last'; exit 3"]).run();
    assert_eq!(out.code(), Some(1), "a command that fails is a source that failed");
    let mut lines = lines_of(&out.stdout, "job");
    lines.sort();
    assert_eq!(lines, ["err", "last", "out"]);
    assert_eq!(
        out.stderr,
        "mux-tail: cmd:echo out; echo err >&2; printf 'last'; exit 3: exited with status 3\n"
    );
}

fn alive(pid: i32) -> bool {
    rustix::process::test_kill_process(rustix::process::Pid::from_raw(pid).unwrap()).is_ok()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| s.rsplit(") ").next().is_some_and(|r| r.starts_with('Z')))
}

fn pids(env: &TestEnv) -> Vec<i32> {
    std::fs::read_to_string(env.path("pids"))
        .unwrap_or_default()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect()
}

#[test]
fn quitting_leaves_no_process_of_a_command_behind() {
    let env = TestEnv::new();
    // The shell, a background child and a foreground child.
    let script =
        "cmd:sleep 1000 & echo $$ $! > pids.tmp; mv pids.tmp pids; echo started; sleep 1001";
    let mut run = env.cmd().arg(script).spawn();
    run.wait_stdout("started\n");
    let pids = pids(&env);
    assert_eq!(pids.len(), 2);
    assert!(pids.iter().all(|&p| alive(p)));
    assert_eq!(run.stop().code(), Some(143));
    wait_until("the command's processes to end", || pids.iter().all(|&p| !alive(p)));
}

#[test]
fn a_command_that_ignores_sigterm_is_killed_when_the_output_ends() {
    let env = TestEnv::new();
    // SIGTERM ignored by the shell and so by its children: only SIGKILL ends them.
    let script = "cmd:trap '' TERM; sleep 1000 & echo $$ $! > pids.tmp; mv pids.tmp pids; \
                  echo started; sleep 1001";
    let (mut child, _stderr) = env.cmd().args(["--no-label", script]).spawn_stdout_unread();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
    assert_eq!(line, "started\n", "output ended early");
    let pids = pids(&env);
    assert_eq!(pids.len(), 2);
    // The reader goes (as `| head -1` does): mux-tail ends, and takes the command with it.
    drop(reader);
    crate::util::wait_child(&mut child);
    wait_until("the command's processes to be killed", || pids.iter().all(|&p| !alive(p)));
}

#[test]
fn globs_follow_every_match_and_files_that_appear_later() {
    let env = TestEnv::new();
    std::fs::create_dir(env.path("logs")).unwrap();
    env.write("logs/a.log", "a1\n");
    env.write("logs/b.log", "b1\n");
    env.write("logs/skip.txt", "not matched\n");
    env.write("logs/.hidden.log", "hidden\n");
    std::fs::create_dir(env.path("more")).unwrap();
    env.write("more/b.log", "more b1\n");
    let run = env.cmd().args(["logs/*.log", "w=more/b*.log"]).spawn();
    run.wait_stdout("[logs/a.log] a1\n");
    run.wait_stdout("[logs/b.log] b1\n");
    run.wait_stdout("[w:b.log] more b1\n");
    // A file created later is followed from its first line.
    env.write("logs/c.log", "c1\nc2\n");
    run.wait_stdout("[logs/c.log] c1\n");
    run.wait_stdout("[logs/c.log] c2\n");
    env.append("logs/a.log", "a2\n");
    run.wait_stdout("[logs/a.log] a2\n");
    // A file that goes ends; one that comes back is followed again.
    std::fs::remove_file(env.path("logs/a.log")).unwrap();
    env.write("logs/a.log", "a again\n");
    run.wait_stdout("[logs/a.log] a again\n");
    let out = run.stdout_string();
    assert!(!out.contains("not matched") && !out.contains("hidden"), "{out}");
    assert!(!run.stderr_string().contains("cannot"), "{}", run.stderr_string());
}

#[test]
fn a_glob_without_follow_reads_each_file_once_and_ends() {
    let env = TestEnv::new();
    std::fs::create_dir(env.path("g")).unwrap();
    env.write("g/b.log", "b1\n");
    env.write("g/a.log", "a1\na2\n");
    let out = env.cmd().args(["--no-follow", "g/*.log"]).run();
    assert_eq!(out.code(), Some(0));
    assert_eq!(out.stdout_string(), "[g/a.log] a1\n[g/a.log] a2\n[g/b.log] b1\n");
    // Globs that match nothing are noted, and the status is 1, as for a missing file.
    let out = env.cmd().args(["--no-follow", "g/*.log", "g/*.none", "nodir/*.log"]).run();
    assert_eq!(out.code(), Some(1));
    assert_eq!(out.stdout_string(), "[g/a.log] a1\n[g/a.log] a2\n[g/b.log] b1\n");
    assert!(out.stderr.contains("g/*.none: no matching file\n"), "{}", out.stderr);
    assert!(out.stderr.contains("nodir/*.log: no matching file\n"), "{}", out.stderr);
}

#[test]
fn logger_over_tcp_with_octet_counting_and_over_udp() {
    if !crate::util::peer("logger") {
        return;
    }
    let env = TestEnv::new();
    let run = env.cmd().args(["--no-label", "tcp:0", "udp:0"]).spawn();
    let (tcp, udp) = (run.port("tcp:0"), run.port("udp:0"));
    let logger = |args: &[&str]| {
        let status = Command::new("logger").args(args).status().expect("logger (util-linux)");
        assert!(status.success());
    };
    logger(&[
        "--tcp",
        "--octet-count",
        "-n",
        "127.0.0.1",
        "-P",
        &tcp.to_string(),
        "-t",
        "app",
        "framed message",
    ]);
    logger(&["--udp", "-n", "127.0.0.1", "-P", &udp.to_string(), "-t", "app", "datagram message"]);
    run.wait_stdout("framed message\n");
    run.wait_stdout("datagram message\n");
    for line in run.stdout_string().lines() {
        // One whole syslog message per line: the octet count is gone.
        assert!(line.starts_with("<13>1 "), "{line:?}");
    }
}

#[test]
fn rsyslogd_forwarding_with_octet_counted_framing() {
    if !crate::util::peer("rsyslogd") {
        return;
    }
    let env = TestEnv::new();
    let run = env.cmd().args(["--no-label", "syslog=tcp:0"]).spawn();
    let port = run.port("tcp:0");
    let action = format!(
        "action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{port}\" protocol=\"tcp\" \
         TCP_Framing=\"octet-counted\")"
    );
    let err = crate::util::rsyslog::forward(&env, "", &action, "through rsyslog", || {
        run.stdout_string().contains("through rsyslog")
    });
    for line in run.stdout_string().lines() {
        assert!(line.starts_with("<14>") && line.contains("through rsyslog"), "{line:?} ({err})");
    }
}

#[test]
fn every_kind_side_by_side() {
    let env = TestEnv::new();
    std::fs::create_dir(env.path("logs")).unwrap();
    env.write("app.log", "file line\n");
    env.write("logs/g.log", "glob line\n");
    let sock = env.path("mt.sock");
    let mut run = env
        .cmd()
        .args(["app.log", "logs/*.log", "tcp:0", "udp:0"])
        .arg(format!("unix:{}", sock.display()))
        .args(["cmd:echo command line; sleep 1000", "-"])
        .stdin_pipe()
        .spawn();
    let (tcp, udp) = (run.port("tcp:0"), run.port("udp:0"));
    std::net::TcpStream::connect(("127.0.0.1", tcp)).unwrap().write_all(b"tcp line\n").unwrap();
    UdpSocket::bind("127.0.0.1:0").unwrap().send_to(b"udp line", ("127.0.0.1", udp)).unwrap();
    wait_until("the unix socket", || sock.exists());
    UnixStream::connect(&sock).unwrap().write_all(b"unix line\n").unwrap();
    run.stdin.as_mut().unwrap().write_all(b"stdin line\n").unwrap();
    for line in [
        "[app.log] file line",
        "[logs/g.log] glob line",
        "[tcp:0] tcp line",
        "[udp:0] udp line",
        "unix line",
        "[cmd:echo command line; sleep 1000] command line",
        "[-] stdin line",
    ] {
        run.wait_stdout(line);
    }
    assert_eq!(run.stop().code(), Some(143));
    assert!(!sock.exists());
}

#[test]
fn restart_starts_an_exited_command_again_and_keeps_running() {
    let env = TestEnv::new();
    let mut run = env.cmd().args(["--restart", "cmd:echo run; exit 3"]).spawn();
    run.wait_stderr("exited with status 3; restarting in 1s");
    // The second run's line, a second later; the pause doubles.
    run.stdout
        .wait_for("the line twice", |b| String::from_utf8_lossy(b).matches("] run\n").count() >= 2);
    run.wait_stderr("exited with status 3; restarting in 2s");
    assert!(run.child.try_wait().unwrap().is_none(), "still running");
    assert_eq!(run.stop().code(), Some(143));
    // Without --restart it ends, failed, as before.
    let out = env.cmd().arg("cmd:echo once; exit 3").run();
    assert_eq!(
        (out.code(), out.stdout_string().as_str()),
        (Some(1), "[cmd:echo once; exit 3] once\n")
    );
}

#[test]
fn recursive_globs_find_files_in_directories_made_later_at_any_depth() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.path("r/x")).unwrap();
    env.write("r/top.log", "top\n");
    env.write("r/x/mid.log", "mid\n");
    env.write("r/x/mid.log.1.gz", "old\n");
    env.write("r/x/notes.txt", "no\n");
    let run = env.cmd().args(["r/**/*.log*", "--exclude-path", "*.gz"]).spawn();
    run.wait_stdout("[r/top.log] top\n");
    run.wait_stdout("[r/x/mid.log] mid\n");
    // Two levels made after start, the file at once after them.
    std::fs::create_dir_all(env.path("r/new/deeper")).unwrap();
    env.write("r/new/deeper/late.log", "late 1\n");
    run.wait_stdout("[r/new/deeper/late.log] late 1\n");
    env.append("r/new/deeper/late.log", "late 2\n");
    run.wait_stdout("[r/new/deeper/late.log] late 2\n");
    // A directory that goes, and comes back with a file.
    std::fs::remove_dir_all(env.path("r/new")).unwrap();
    std::fs::create_dir_all(env.path("r/new")).unwrap();
    env.write("r/new/again.log", "again\n");
    run.wait_stdout("[r/new/again.log] again\n");
    let out = run.stdout_string();
    assert!(!out.contains("old") && !out.contains("no\n"), "{out}");
}

#[test]
fn wildcards_in_directories_and_braces_with_labels_below_the_root() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.path("srv/a/logs")).unwrap();
    env.write("srv/a/logs/app.log", "a app\n");
    std::fs::create_dir_all(env.path("logs")).unwrap();
    env.write("logs/api.log", "api 1\n");
    env.write("logs/web.log", "web 1\n");
    env.write("logs/db.log", "db 1\n");
    let run = env.cmd().args(["s=srv/*/logs/app.log", "logs/{api,web}.log"]).spawn();
    run.wait_stdout("[s:a/logs/app.log] a app\n");
    run.wait_stdout("[logs/api.log] api 1\n");
    run.wait_stdout("[logs/web.log] web 1\n");
    std::fs::create_dir_all(env.path("srv/b/logs")).unwrap();
    env.write("srv/b/logs/app.log", "b app\n");
    run.wait_stdout("[s:b/logs/app.log] b app\n");
    assert!(!run.stdout_string().contains("db 1"));
    // Classes and ? match whole characters.
    env.write("café.log", "accented\n");
    for glob in ["caf[é].log", "caf?.log"] {
        let out = env.cmd().args(["--no-follow", glob]).run();
        assert_eq!(out.stdout_string(), "[café.log] accented\n", "{glob}");
    }
}
