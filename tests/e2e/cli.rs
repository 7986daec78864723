//! The command line: bad input, usage errors, exit statuses and signals.

use rustix::process::Signal;

use crate::util::TestEnv;

#[test]
fn bad_specs_are_one_line_errors_naming_them() {
    let env = TestEnv::new();
    for (spec, msg) in [
        ("tcp:abc", "mux-tail: tcp:abc: invalid port 'abc'\n"),
        ("tcp:70000", "mux-tail: tcp:70000: port 70000 is out of range (0-65535)\n"),
        ("=x", "mux-tail: =x: empty label before '='\n"),
    ] {
        let out = env.cmd().args(["a.log", spec]).run();
        assert_eq!(out.code(), Some(1), "{spec}");
        assert_eq!(out.stderr, msg);
        assert_eq!(out.stdout, b"");
    }
}

#[test]
fn a_directory_is_refused() {
    let env = TestEnv::new();
    std::fs::create_dir(env.path("logs")).unwrap();
    let out = env.cmd().arg("logs").run();
    assert_eq!(out.code(), Some(1));
    assert_eq!(out.stderr, "mux-tail: logs: is a directory\n");
}

#[test]
fn usage_errors_exit_2() {
    let env = TestEnv::new();
    let out = env.cmd().args(["-n", "many", "a.log"]).run();
    assert_eq!(out.code(), Some(2));
    assert!(out.stderr.contains("--lines"), "{}", out.stderr);
    // Every listener, whatever its kind: none has an end to read to.
    for listener in ["tcp:9", "udp:9", "unix:x.sock"] {
        let out = env.cmd().args(["--no-follow", "a.log", listener]).run();
        assert_eq!(out.code(), Some(2), "{listener}");
        assert_eq!(
            out.stderr,
            format!("mux-tail: --no-follow: {listener} is a listener and has no end to read to\n")
        );
    }
    assert!(!env.path("x.sock").exists(), "nothing was opened");
    let out = env.cmd().args(["-", "again=-"]).run();
    assert_eq!(out.code(), Some(2));
}

#[test]
fn help_shows_sources_and_examples() {
    let env = TestEnv::new();
    let out = env.cmd().arg("--help").run();
    assert_eq!(out.code(), Some(0));
    let help = out.stdout_string();
    for needle in ["tcp:PORT", "LABEL=SOURCE", "Examples:", "--max-line-bytes", "Exit status"] {
        assert!(help.contains(needle), "--help lacks {needle}");
    }
    let short = env.cmd().arg("-h").run().stdout_string();
    assert!(short.lines().count() < help.lines().count());
}

#[test]
fn signals_end_it_cleanly_with_128_plus_n() {
    let env = TestEnv::new();
    env.write("a.log", "x\n");
    for (sig, code) in [(Signal::INT, 130), (Signal::TERM, 143), (Signal::HUP, 129)] {
        let mut run = env.cmd().arg("a.log").spawn();
        run.wait_stdout("[a.log] x\n");
        run.signal(sig);
        assert_eq!(run.wait_exit().code(), Some(code), "{sig:?}");
        assert_eq!(run.stderr_string(), "");
    }
}

#[test]
fn ends_with_0_when_every_source_ended() {
    let env = TestEnv::new();
    env.write("a.log", "x\n");
    let out = env.cmd().args(["--no-follow", "a.log", "-"]).stdin_bytes("y\n").run();
    assert_eq!(out.code(), Some(0));
    let s = out.stdout_string();
    assert!(s.contains("[a.log] x\n") && s.contains("[-] y\n"), "{s}");
}

#[test]
fn tail_and_compose_habits_just_work() {
    let env = TestEnv::new();
    let lines: String = (1..=50).map(|i| format!("{i}\n")).collect();
    env.write("a.log", &lines);
    let last = |n: usize| (51 - n..=50).map(|i| format!("[a.log] {i}\n")).collect::<String>();
    for args in [&["-3"][..], &["--tail", "3"], &["--tail=3"], &["-n", "3"]] {
        let out = env.cmd().args(args).args(["--no-follow", "a.log"]).run();
        assert_eq!(
            (out.code(), out.stdout_string()),
            (Some(0), last(3)),
            "{args:?}: {}",
            out.stderr
        );
    }
    // Following is the default: -f, -F and --follow are accepted and change nothing.
    for flag in ["-f", "-F", "--follow"] {
        let run = env.cmd().args([flag, "-n", "1", "a.log"]).spawn();
        run.wait_lines(1);
        env.append("a.log", format!("after {flag}\n"));
        run.wait_stdout(&format!("[a.log] after {flag}\n"));
    }
    let out = env.cmd().args(["--color=always", "--no-color", "--no-follow", "-1", "a.log"]).run();
    assert!(!out.stdout_string().contains('\x1b'), "{:?}", out.stdout_string());
    let out = env.cmd().args(["--no-color", "--color=always", "--no-follow", "-1", "a.log"]).run();
    assert!(out.stdout_string().contains('\x1b'), "the later one wins: {:?}", out.stdout_string());
}
