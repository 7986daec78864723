//! TCP listeners: many clients, whole lines, partial last lines, limits, ports in use.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;

use crate::util::{lines_of, TestEnv};

fn connect(port: u16) -> TcpStream {
    TcpStream::connect(("127.0.0.1", port)).unwrap()
}

#[test]
fn hundred_concurrent_clients_every_line_whole_and_once() {
    let env = TestEnv::new();
    let run = env.cmd().arg("tcp:0").spawn();
    let port = run.port("tcp:0");
    let (clients, per_client) = (100, 1000);
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            thread::spawn(move || {
                let mut s = connect(port);
                // Uneven writes, so that lines are cut across TCP segments.
                let mut data = Vec::new();
                for i in 0..per_client {
                    data.extend_from_slice(
                        format!("client {c:03} line {i:04} {}\n", "x".repeat(i % 50)).as_bytes(),
                    );
                }
                for chunk in data.chunks(777) {
                    s.write_all(chunk).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    run.wait_lines(clients * per_client);
    let lines = lines_of(&run.stdout.bytes(), "tcp:0");
    assert_eq!(lines.len(), clients * per_client);
    let mut next: HashMap<usize, usize> = HashMap::new();
    for l in &lines {
        let mut parts = l.split(' ');
        assert_eq!(parts.next(), Some("client"), "spliced line: {l:?}");
        let c: usize = parts.next().unwrap().parse().unwrap();
        assert_eq!(parts.next(), Some("line"), "spliced line: {l:?}");
        let i: usize = parts.next().unwrap().parse().unwrap();
        assert_eq!(parts.next().unwrap(), "x".repeat(i % 50), "spliced line: {l:?}");
        let want = next.entry(c).or_default();
        assert_eq!(i, *want, "client {c}: line lost, repeated or reordered");
        *want += 1;
    }
    assert_eq!(next.len(), clients);
}

#[test]
fn last_line_without_newline_is_printed_when_the_client_closes() {
    let env = TestEnv::new();
    let run = env.cmd().arg("net=tcp:0").spawn();
    let port = run.port("tcp:0");
    let mut s = connect(port);
    s.write_all(b"whole\npartial").unwrap();
    run.wait_stdout("[net] whole\n");
    s.shutdown(Shutdown::Write).unwrap();
    run.wait_stdout("[net] partial\n");
    // CRLF loses its CR; bytes pass as they are.
    let mut s = connect(port);
    s.write_all(b"dos\r\n\xffbin\n").unwrap();
    run.wait_stdout("[net] dos\n");
    run.stdout.wait_for("binary line", |b| crate::util::contains(b, b"[net] \xffbin\n"));
}

#[test]
fn listens_on_loopback_by_default() {
    let env = TestEnv::new();
    let run = env.cmd().arg("tcp:0").spawn();
    run.port("tcp:0");
    assert!(run.stderr_string().contains("listening on 127.0.0.1:"), "{}", run.stderr_string());
}

#[test]
fn port_in_use_is_a_one_line_error() {
    let env = TestEnv::new();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    env.write("a.log", "never printed\n");
    let out = env.cmd().args(["a.log".to_string(), format!("tcp:{port}")]).run();
    assert_eq!(out.code(), Some(1));
    assert_eq!(out.stdout, b"", "nothing is followed when a source cannot start");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.starts_with(&format!("mux-tail: tcp:{port}: ")), "{}", out.stderr);
    assert!(out.stderr.contains("in use"), "{}", out.stderr);
}

#[test]
fn connections_over_the_limit_are_refused_and_the_others_go_on() {
    let env = TestEnv::new();
    let run = env.cmd().args(["--max-connections", "2", "tcp:0"]).spawn();
    let port = run.port("tcp:0");
    let mut a = connect(port);
    let mut b = connect(port);
    a.write_all(b"a1\n").unwrap();
    b.write_all(b"b1\n").unwrap();
    run.wait_stdout("[tcp:0] a1\n");
    run.wait_stdout("[tcp:0] b1\n");
    let mut c = connect(port);
    let mut buf = [0; 1];
    // The third connection is closed by mux-tail: reading it ends.
    assert_eq!(c.read(&mut buf).unwrap_or(0), 0);
    run.wait_stderr("refused a connection from 127.0.0.1:");
    a.write_all(b"a2\n").unwrap();
    run.wait_stdout("[tcp:0] a2\n");
    drop(b);
    // A freed place can be taken again, once mux-tail has seen the close. A refused connection
    // is closed by mux-tail at once; an accepted one stays open and its line shows.
    let end = std::time::Instant::now() + crate::util::DEADLINE;
    'attempt: for attempt in 1.. {
        assert!(std::time::Instant::now() < end, "the freed place was never taken");
        let mut d = connect(port);
        d.set_read_timeout(Some(std::time::Duration::from_millis(20))).unwrap();
        if d.write_all(format!("d{attempt}\n").as_bytes()).is_err() {
            continue;
        }
        let taken = format!("[tcp:0] d{attempt}\n");
        loop {
            if run.stdout_string().contains(&taken) {
                break 'attempt;
            }
            match d.read(&mut buf) {
                Ok(0) => continue 'attempt,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                _ => continue 'attempt,
            }
            assert!(std::time::Instant::now() < end, "neither accepted nor refused");
        }
    }
}

#[test]
fn slow_reader_holds_senders_back_without_growing() {
    let env = TestEnv::new();
    let (mut child, stderr) = env.cmd().args(["--no-label", "tcp:0"]).spawn_stdout_unread();
    let port = crate::util::listening_port(&stderr, "tcp:0");
    let total_lines = 400_000usize; // 40 MB
    let sender = thread::spawn(move || {
        let mut s = connect(port);
        let block = format!("{}\n", "y".repeat(99)).repeat(1000);
        for _ in 0..total_lines / 1000 {
            s.write_all(block.as_bytes()).unwrap();
        }
    });
    // A reader at about 10 MB/s, far slower than the sender.
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = vec![0; 64 * 1024];
    let mut got = 0;
    let mut newlines = 0;
    while newlines < total_lines {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "output ended early after {got} bytes");
        got += n;
        newlines += buf[..n].iter().filter(|&&b| b == b'\n').count();
        thread::sleep(std::time::Duration::from_millis(5));
    }
    sender.join().unwrap();
    assert_eq!(got, total_lines * 100, "every byte arrives");
    let rss = crate::util::peak_rss_kib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    assert!(rss < 32 * 1024, "peak RSS {rss} KiB while the reader was slow");
}
