//! `--multiline`: events through the real binary.

use std::io::Write;
use std::net::TcpStream;
use std::thread;

use crate::util::{contains, lines_of, Appender, TestEnv};

const TRACE: &str = "\
2026-12-02 10:00:01 ERROR request failed
java.lang.IllegalStateException: boom
\tat com.example.A.b(A.java:1)
\tat com.example.Db.query(Db.java:2)
Caused by: java.io.IOException: disk
\t... 3 more
";

#[test]
fn a_filter_matching_only_a_frame_shows_the_whole_event() {
    let env = TestEnv::new();
    env.write(
        "app.log",
        format!("2026-12-02 10:00:00 INFO up\n{TRACE}2026-12-02 10:00:02 INFO next\n"),
    );
    let out =
        env.cmd().args(["--no-follow", "--multiline", "java", "-e", "Db.query", "app.log"]).run();
    assert_eq!(out.code(), Some(0));
    let want: String = TRACE.lines().map(|l| format!("[app.log] {l}\n")).collect();
    assert_eq!(out.stdout_string(), want);
    // -v drops the event whole.
    let out = env
        .cmd()
        .args(["--no-follow", "--multiline", "java", "-v", "IOException", "app.log"])
        .run();
    assert_eq!(
        out.stdout_string(),
        "[app.log] 2026-12-02 10:00:00 INFO up\n[app.log] 2026-12-02 10:00:02 INFO next\n"
    );
    // Counted as events.
    let out = env.cmd().args(["--no-follow", "--count", "--multiline", "java", "app.log"]).run();
    assert_eq!(out.stdout_string(), "app.log:3\n");
}

#[test]
fn json_and_format_take_an_event_as_one_record() {
    let env = TestEnv::new();
    env.write("app.log", TRACE);
    let out = env.cmd().args(["--no-follow", "--multiline", "java", "--json", "app.log"]).run();
    let text = out.stdout_string();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains(r#""line":"2026-12-02 10:00:01 ERROR request failed\njava.lang.IllegalStateException: boom\n\tat "#), "{text}");
    let out = env
        .cmd()
        .args(["--no-follow", "--multiline", "java", "--format", "<{line}>", "app.log"])
        .run();
    assert_eq!(out.stdout_string(), format!("<{}>\n", TRACE.trim_end()));
}

#[test]
fn the_last_event_of_a_followed_file_is_shown_after_the_timeout() {
    let env = TestEnv::new();
    env.write("app.log", "");
    let run =
        env.cmd().args(["--multiline", "java", "--multiline-timeout", "200ms", "app.log"]).spawn();
    env.append("app.log", TRACE);
    run.wait_stdout("[app.log] \t... 3 more\n");
    let want: String = TRACE.lines().map(|l| format!("[app.log] {l}\n")).collect();
    assert_eq!(run.stdout_string(), want);
}

#[test]
fn an_open_event_is_written_when_mux_tail_is_stopped() {
    let env = TestEnv::new();
    env.write("app.log", "");
    let mut run =
        env.cmd().args(["--multiline", "java", "--multiline-timeout", "1h", "app.log"]).spawn();
    env.append("app.log", format!("2026-12-02 10:00:00 INFO up\n{TRACE}"));
    // The first event is complete once the trace starts; the trace stays open (1 h).
    run.wait_stdout("[app.log] 2026-12-02 10:00:00 INFO up\n");
    let status = run.stop();
    assert_eq!(status.code(), Some(143), "SIGTERM: 128 + 15");
    let want: String = TRACE.lines().map(|l| format!("[app.log] {l}\n")).collect();
    assert_eq!(run.stdout_string(), format!("[app.log] 2026-12-02 10:00:00 INFO up\n{want}"));
}

#[test]
fn a_trace_written_in_pieces_stays_contiguous_beside_a_busy_source() {
    let env = TestEnv::new();
    env.write("busy.log", "");
    let run = env
        .cmd()
        .args(["--multiline", "java", "--multiline-timeout", "2s", "busy.log", "net=tcp:0"])
        .spawn();
    let port = run.port("tcp:0");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let busy = {
        let (path, stop) = (env.path("busy.log"), stop.clone());
        thread::spawn(move || {
            let mut log = Appender::open(&path);
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                log.line(&format!("busy {i}"));
                thread::sleep(std::time::Duration::from_millis(2));
            }
        })
    };
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    for line in TRACE.lines() {
        conn.write_all(format!("{line}\n").as_bytes()).unwrap();
        // The busy file's lines keep coming meanwhile.
        run.wait_stdout(&format!("busy {}\n", 1));
        thread::sleep(std::time::Duration::from_millis(30));
    }
    // A new event ends the trace's.
    conn.write_all(b"2026-12-02 10:00:09 INFO after\n").unwrap();
    run.wait_stdout("[net] \t... 3 more\n");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    busy.join().unwrap();
    let out = run.stdout.bytes();
    let text = String::from_utf8_lossy(&out);
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| l.ends_with("ERROR request failed")).unwrap();
    let want: Vec<String> = TRACE.lines().map(|l| format!("[net] {l}")).collect();
    assert_eq!(&lines[at..at + want.len()], &want[..], "{text}");
    assert!(contains(&out, b"[busy.log] busy "));
    assert!(lines_of(&out, "busy.log").len() > 5, "the busy file went on: {text}");
}

#[test]
fn two_connections_lines_never_join() {
    let env = TestEnv::new();
    let run =
        env.cmd().args(["--multiline", "indent", "--multiline-timeout", "5s", "net=tcp:0"]).spawn();
    let port = run.port("tcp:0");
    let mut a = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut b = TcpStream::connect(("127.0.0.1", port)).unwrap();
    a.write_all(b"a starts\n").unwrap();
    b.write_all(b"b starts\n").unwrap();
    b.write_all(b"  b goes on\n").unwrap();
    // Closing b ends its event at once (no timeout); a's is still open.
    drop(b);
    run.wait_stdout("[net]   b goes on\n");
    assert_eq!(run.stdout_string(), "[net] b starts\n[net]   b goes on\n");
    a.write_all(b"  a goes on\n").unwrap();
    drop(a);
    run.wait_stdout("[net]   a goes on\n");
    assert_eq!(
        run.stdout_string(),
        "[net] b starts\n[net]   b goes on\n[net] a starts\n[net]   a goes on\n"
    );
}

#[test]
fn two_udp_senders_interleaved_keep_their_events_apart() {
    let env = TestEnv::new();
    let run = env
        .cmd()
        .args(["--multiline", "java", "--multiline-timeout", "300ms", "--format", "<{line}>"])
        .arg("udp:127.0.0.1:0")
        .spawn();
    let port = run.port("udp:127.0.0.1:0");
    let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = ("127.0.0.1", port);
    a.send_to(b"ERROR a failed", to).unwrap();
    b.send_to(b"INFO b", to).unwrap();
    a.send_to(b"\tat a.A.run(A.java:1)", to).unwrap();
    b.send_to(b"\tat b.B.run(B.java:2)", to).unwrap();
    run.wait_stdout("<INFO b\n\tat b.B.run(B.java:2)>\n");
    let text = run.stdout_string();
    assert!(text.contains("<ERROR a failed\n\tat a.A.run(A.java:1)>\n"), "{text}");
    assert_eq!(text.matches('<').count(), 2, "two events: {text}");
}
