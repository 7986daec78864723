//! Time through the real binary: `--since` across rotated and compressed history, `--until`
//! (also ending a source under `--no-follow`), times relative to now, local time from `TZ`,
//! `{ts}` and `"ts"`.

use std::io::Write;
use std::time::{Duration, SystemTime};

use crate::util::TestEnv;

fn gzip(text: &str) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap()
}

/// Sets the file's modification time to `secs` seconds ago.
fn age(env: &TestEnv, name: &str, secs: u64) {
    let f = std::fs::File::options().write(true).open(env.path(name)).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(secs)).unwrap();
}

#[test]
fn since_reads_rotated_and_compressed_history_oldest_first() {
    let env = TestEnv::new();
    env.write("a.log.3.gz", gzip("2026-11-29T10:00:00Z three\n"));
    env.write(
        "a.log.2.gz",
        gzip("2026-12-01T09:00:00Z two early\n2026-12-01T11:00:00Z two late\n  its frame\n"),
    );
    env.write("a.log.1", "2026-12-01T12:00:00Z one a\n2026-12-01T13:00:00Z one b\n");
    env.write("a.log", "2026-12-01T14:00:00Z now a\n2026-12-01T15:00:00Z now b\n");
    env.write("a.log.old", "2026-12-01T12:30:00Z not a rotation\n");
    env.write("b.log.1", "2026-12-01T12:30:00Z another file's\n");
    // Last written long before WHEN: skipped unopened, whatever it says inside.
    age(&env, "a.log.3.gz", 400 * 86_400);
    let out = env
        .cmd()
        .args(["--no-follow", "--no-label", "--since", "2026-12-01T10:00:00Z", "a.log"])
        .env("TZ", "UTC")
        .run();
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert_eq!(
        out.stdout_string(),
        "2026-12-01T11:00:00Z two late\n  its frame\n2026-12-01T12:00:00Z one a\n\
         2026-12-01T13:00:00Z one b\n2026-12-01T14:00:00Z now a\n2026-12-01T15:00:00Z now b\n"
    );
}

#[test]
fn until_stops_and_local_times_follow_tz() {
    let env = TestEnv::new();
    env.write(
        "a.log",
        "2026-12-02T07:59:00Z a\n2026-12-02 10:01:00 local b\n  frame of b\n2026-12-02T08:30:00Z c\n",
    );
    // TZ two hours east: 10:00 there is 08:00Z; a line without a zone is local too.
    let out = env
        .cmd()
        .args(["--no-follow", "--since", "2026-12-02 10:00", "--until", "2026-12-02 10:20"])
        .args(["--format", "{ts} {line}", "a.log"])
        .env("TZ", "XST-2")
        .run();
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    // The frame has no time of its own (empty {ts}) and goes with its line.
    assert_eq!(
        out.stdout_string(),
        "2026-12-02T08:01:00.000Z 2026-12-02 10:01:00 local b\n   frame of b\n"
    );
    let out = env
        .cmd()
        .args(["--no-follow", "--no-label", "--until", "2026-12-02T08:10:00Z", "a.log"])
        .env("TZ", "XST-2")
        .run();
    assert_eq!(
        out.stdout_string(),
        "2026-12-02T07:59:00Z a\n2026-12-02 10:01:00 local b\n  frame of b\n"
    );
    for bad in ["yesterday", "25:00"] {
        let out = env.cmd().args(["--since", bad, "a.log"]).run();
        assert_eq!(out.code(), Some(2));
        assert!(out.stderr.contains(&format!("--since: invalid time '{bad}'")), "{}", out.stderr);
    }
}

#[test]
fn until_ends_an_endless_source_under_no_follow() {
    let env = TestEnv::new();
    // Every line is stamped now, after --until (a minute ago): the source ends at its first.
    let script = "while :; do date -u +%Y-%m-%dT%H:%M:%SZ; sleep 0.02; done";
    let out = env.cmd().args(["--no-follow", "--until", "1m"]).arg(format!("cmd:{script}")).run();
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert_eq!(out.stdout_string(), "");
}

#[test]
fn since_relative_to_now_and_the_line_time_in_output() {
    let env = TestEnv::new();
    let stamp = |ago: u64| {
        let t = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(ago as i64);
        t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    };
    let now = stamp(0);
    let text = format!(
        "{} thirty\n{} twenty\n{} five\n{now} zero\n",
        stamp(1800),
        stamp(1200),
        stamp(300)
    );
    env.write("a.log", &text);
    let out = env.cmd().args(["--no-follow", "--no-label", "--since", "10m", "a.log"]).run();
    let shown: Vec<String> = out.stdout_string().lines().map(|l| l[21..].to_string()).collect();
    assert_eq!(shown, ["five", "zero"]);
    let out = env.cmd().args(["--no-follow", "--json", "-n", "1", "a.log"]).run();
    let want = format!("\"ts\":\"{}.000Z\"", &now[..19]);
    assert!(out.stdout_string().contains(&want), "{}", out.stdout_string());
    env.write("b.log", "no time here\n");
    let out = env.cmd().args(["--no-follow", "--json", "b.log"]).run();
    assert!(out.stdout_string().contains("\"ts\":null"), "{}", out.stdout_string());
    let out = env.cmd().args(["--no-follow", "--format", "[{ts}]", "b.log"]).run();
    assert_eq!(out.stdout_string(), "[]\n");
}

#[test]
fn the_backlogs_of_several_files_come_out_merged_by_time_then_live_lines() {
    let env = TestEnv::new();
    env.write("a.log", "2026-12-02T10:00:01Z a1\n  a1 frame\n2026-12-02T10:00:03Z a3\n");
    env.write("b.log", "2026-12-02T10:00:02Z b2\n2026-12-02T10:00:04Z b4\n");
    env.write("c.log", "no time c\n");
    // A file without times goes out once read, before the merged ones.
    let want = "[c.log] no time c\n[a.log] 2026-12-02T10:00:01Z a1\n[a.log]   a1 frame\n\
                [b.log] 2026-12-02T10:00:02Z b2\n[a.log] 2026-12-02T10:00:03Z a3\n\
                [b.log] 2026-12-02T10:00:04Z b4\n";
    let out = env.cmd().args(["--no-follow", "a.log", "c.log", "b.log"]).run();
    assert_eq!(out.stdout_string(), want);
    // Followed: the merged backlog first, then lines as they come.
    let run = env.cmd().args(["c.log", "b.log", "a.log"]).spawn();
    run.wait_stdout("[c.log] no time c\n");
    env.append("c.log", "2026-12-02T09:00:00Z live, older than all\n");
    run.wait_stdout("live, older than all\n");
    let text = run.stdout_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7, "{text}");
    assert_eq!(lines[..6].join("\n") + "\n", want, "the backlog as without following");
    assert_eq!(lines[6], "[c.log] 2026-12-02T09:00:00Z live, older than all");
}

#[test]
fn since_says_so_for_a_file_without_times() {
    let env = TestEnv::new();
    env.write("a.log", "2026-12-02T10:00:00Z a\n");
    env.write("plain.log", "no time here\nnor here\n");
    let out = env
        .cmd()
        .args(["--no-follow", "--since", "2026-12-01T00:00:00Z", "a.log", "plain.log"])
        .run();
    assert_eq!(out.stdout_string(), "[a.log] 2026-12-02T10:00:00Z a\n");
    assert!(
        out.stderr.contains(
            "plain.log: --since: no line in it has a time, so none of what it holds is shown"
        ),
        "{}",
        out.stderr
    );
}
