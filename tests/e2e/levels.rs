//! Levels, fields and context through the real binary: `--level`, `{level}`, `{.PATH}`,
//! `"level"` in `--json`, level colours on a terminal, `-A`/`-B`/`-C` with `--` separators.

use crate::util::{contains, lines_of, pty::Pty, TestEnv};

/// Lines of several programs, with the level each shows.
const MIXED: &str = "\
2026-12-02 10:00:00.123 [main] INFO  c.e.App - Started App
2026/12/02 10:00:01 [error] 1234#1234: *5 connect() failed (111: Connection refused)
{\"level\":30,\"time\":1764669600123,\"msg\":\"request completed\"}
{\"level\":50,\"time\":1764669600124,\"msg\":\"request failed\"}
W1202 10:00:02.000001       1 warnings.go:70] v1 Endpoints is deprecated
time=2026-12-02T10:00:03Z level=debug msg=\"cache warm\"
<11>1 2026-12-02T10:00:04Z host app 42 - - disk failure
Segmentation fault (core dumped)
no error here, all requests served
";

#[test]
fn level_keeps_its_level_and_above_and_lines_without_one() {
    let env = TestEnv::new();
    env.write("app.log", MIXED);
    let out = env.cmd().args(["--no-follow", "--no-label", "--level", "warn", "app.log"]).run();
    assert_eq!(out.code(), Some(0));
    let want = "\
2026/12/02 10:00:01 [error] 1234#1234: *5 connect() failed (111: Connection refused)
{\"level\":50,\"time\":1764669600124,\"msg\":\"request failed\"}
W1202 10:00:02.000001       1 warnings.go:70] v1 Endpoints is deprecated
<11>1 2026-12-02T10:00:04Z host app 42 - - disk failure
Segmentation fault (core dumped)
no error here, all requests served
";
    assert_eq!(out.stdout_string(), want);
    // Any case; an unknown level is a usage error naming the choices.
    let out = env.cmd().args(["--no-follow", "--no-label", "--level", "ERROR", "app.log"]).run();
    assert_eq!(out.stdout_string().lines().count(), 5, "{}", out.stdout_string());
    let out = env.cmd().args(["--level", "loud", "app.log"]).run();
    assert_eq!(out.code(), Some(2));
    let err = out.stderr.clone();
    assert!(err.contains("invalid value 'loud' for '--level <LEVEL>'"), "{err}");
    assert!(err.contains("warn"), "{err}");
}

#[test]
fn an_event_goes_by_its_first_line() {
    let env = TestEnv::new();
    env.write(
        "app.log",
        "2026 INFO retrying\n\tat a.B.c(B.java:1)\n2026 ERROR failed\n\tat a.B.d(B.java:2)\n",
    );
    let args = ["--no-follow", "--no-label", "--multiline", "java", "--level", "error", "app.log"];
    let out = env.cmd().args(args).run();
    assert_eq!(out.stdout_string(), "2026 ERROR failed\n\tat a.B.d(B.java:2)\n");
}

#[test]
fn level_and_fields_in_templates_and_json() {
    let env = TestEnv::new();
    env.write(
        "api.log",
        "{\"level\":\"warn\",\"msg\":\"slow \\\"query\\\"\",\"http\":{\"status\":503,\"h\":{\"a\": 1}}}\n\
         ts=1 level=info msg=\"all good\" dur=1.5s\n\
         plain text\n",
    );
    let out = env
        .cmd()
        .args([
            "--no-follow",
            "--format",
            "{level}|{.msg}|{.http.status}|{.http.h}|{.dur}",
            "api.log",
        ])
        .run();
    assert_eq!(
        out.stdout_string(),
        "warn|slow \"query\"|503|{\"a\":1}|\ninfo|all good|||1.5s\n||||\n"
    );
    let out = env.cmd().args(["--no-follow", "--json", "api.log"]).run();
    let text = out.stdout_string();
    let levels: Vec<&str> = text
        .lines()
        .map(|l| l.split("\"level\":").last().unwrap().split(',').next().unwrap())
        .collect();
    assert_eq!(levels, ["\"warn\"", "\"info\"", "null"], "{text}");
    let out = env.cmd().args(["--format", "{.a..b}", "api.log"]).run();
    assert_eq!(out.code(), Some(2));
    assert!(out.stderr.contains("invalid field {.a..b} in --format"), "{}", out.stderr);
}

#[test]
fn context_as_grep_with_separators_and_never_across_sources() {
    let env = TestEnv::new();
    let a: String = ["a1", "a2", "ERROR a3", "a4", "a5", "a6", "a7", "ERROR a8", "a9", "a10"]
        .map(|l| format!("{l}\n"))
        .concat();
    env.write("a.log", &a);
    env.write("b.log", "b1\nb2\nb3\nERROR b4\nb5\n");
    let out = env
        .cmd()
        .args(["--no-follow", "-n", "+1", "-e", "ERROR", "-C", "1", "a.log", "b.log"])
        .run();
    let bytes = out.stdout_string().into_bytes();
    assert_eq!(lines_of(&bytes, "a.log"), ["a2", "ERROR a3", "a4", "--", "a7", "ERROR a8", "a9"]);
    // b's context is b's own: no separator before its first group, none from a's lines.
    assert_eq!(lines_of(&bytes, "b.log"), ["b3", "ERROR b4", "b5"]);
    // -A / -B alone, and with --level; adjacent groups join without a separator.
    let out = env
        .cmd()
        .args(["--no-follow", "--no-label", "-n", "+1", "-A", "2", "--level", "error", "a.log"])
        .run();
    assert_eq!(
        out.stdout_string(),
        "a1\na2\nERROR a3\na4\na5\na6\na7\nERROR a8\na9\na10\n",
        "lines without a level are kept by --level, so all of them show"
    );
    let out = env
        .cmd()
        .args(["--no-follow", "--no-label", "-n", "+1", "-B", "4", "-e", "ERROR", "a.log"])
        .run();
    assert_eq!(out.stdout_string(), "a1\na2\nERROR a3\na4\na5\na6\na7\nERROR a8\n");
    let out = env
        .cmd()
        .args(["--no-follow", "--no-label", "-n", "+1", "-A", "1", "-e", "ERROR", "a.log"])
        .run();
    assert_eq!(out.stdout_string(), "ERROR a3\na4\n--\nERROR a8\na9\n");
    // In a template the separator is bare; JSON has none.
    let out = env
        .cmd()
        .args(["--no-follow", "-n", "+1", "-A", "1", "-e", "ERROR", "--format", "{line}", "a.log"])
        .run();
    assert_eq!(out.stdout_string(), "ERROR a3\na4\n--\nERROR a8\na9\n");
    let out = env
        .cmd()
        .args(["--no-follow", "-n", "+1", "-A", "1", "-e", "ERROR", "--json", "a.log"])
        .run();
    assert_eq!(out.stdout_string().lines().count(), 4);
}

#[test]
fn followed_context_holds_before_lines_until_a_match() {
    let env = TestEnv::new();
    env.write("a.log", "");
    let run = env.cmd().args(["--no-label", "-B", "2", "-e", "boom", "a.log"]).spawn();
    env.append("a.log", "one\ntwo\nthree\n");
    env.append("a.log", "boom\n");
    run.wait_stdout("boom\n");
    assert_eq!(run.stdout_string(), "two\nthree\nboom\n");
    env.append("a.log", "x\ny\nz\nw\nboom again\n");
    run.wait_stdout("boom again\n");
    assert_eq!(run.stdout_string(), "two\nthree\nboom\n--\nz\nw\nboom again\n");
}

#[test]
fn levels_are_coloured_on_a_terminal_and_never_with_no_color() {
    let env = TestEnv::new();
    env.write("app.log", "INFO up\nWARN slow\nERROR failed\nFATAL gone\nDEBUG detail\nplain\n");
    let run = |no_color: bool| {
        let pty = Pty::new(120, 40);
        let mut cmd = pty.command(&env);
        cmd.args(["--keys=never", "--no-follow", "--highlight", "fail", "app.log"]);
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let mut child = pty.spawn(cmd);
        crate::util::wait_child(&mut child);
        pty.screen.wait_for("the last line", |b| contains(b, b"plain\r\n"));
        String::from_utf8_lossy(&pty.screen.bytes()).into_owned()
    };
    let screen = run(false);
    assert!(screen.contains("\x1b[33mWARN\x1b[0m slow"), "{screen:?}");
    // The highlight still works beside the level colour.
    assert!(screen.contains("\x1b[31mERROR\x1b[0m \x1b[1;41mfail\x1b[0med"), "{screen:?}");
    assert!(screen.contains("\x1b[1;31mFATAL\x1b[0m gone"), "{screen:?}");
    assert!(screen.contains("\x1b[2mDEBUG\x1b[0m detail"), "{screen:?}");
    assert!(screen.contains("m INFO up\r\n") || screen.contains("] INFO up\r\n"), "{screen:?}");
    let screen = run(true);
    assert!(!screen.contains('\x1b'), "{screen:?}");
    assert!(screen.contains("[app.log] ERROR failed\r\n"), "{screen:?}");
}
