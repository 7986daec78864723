//! Files followed by name: append, rotation, truncation, deletion, late creation, symlinks.

use std::fs;
use std::io::Write;
use std::thread;

use crate::util::{assert_numbered, lines_of, Appender, TestEnv};

#[test]
fn follows_appends_to_several_files_with_labels() {
    let env = TestEnv::new();
    env.write("a.log", "a1\n");
    env.write("b.log", "b1\n");
    let run = env.cmd().args(["a.log", "api=b.log"]).spawn();
    run.wait_stdout("[a.log] a1\n");
    run.wait_stdout("[api] b1\n");
    env.append("a.log", "a2\n");
    env.append("b.log", "b2\n");
    run.wait_stdout("[a.log] a2\n");
    run.wait_stdout("[api] b2\n");
    assert_eq!(run.stderr_string(), "", "stderr stays quiet while all is well");
}

#[test]
fn initial_lines_last_n_from_n_and_none() {
    let env = TestEnv::new();
    let content: String = (1..=20).map(|i| format!("{i}\n")).collect();
    env.write("f.log", &content);

    let out = env.cmd().args(["--no-follow", "f.log"]).run();
    assert_eq!(out.code(), Some(0));
    assert_eq!(
        lines_of(&out.stdout, "f.log"),
        (11..=20).map(|i| i.to_string()).collect::<Vec<_>>()
    );

    let out = env.cmd().args(["--no-follow", "-n", "3", "f.log"]).run();
    assert_eq!(out.stdout_string(), "[f.log] 18\n[f.log] 19\n[f.log] 20\n");

    let out = env.cmd().args(["--no-follow", "-n", "+19", "f.log"]).run();
    assert_eq!(out.stdout_string(), "[f.log] 19\n[f.log] 20\n");

    // Once a line from stdin shows, every source has started: f.log's start is fixed.
    let mut run = env.cmd().args(["-n", "0", "f.log", "-"]).stdin_pipe().spawn();
    run.stdin.as_mut().unwrap().write_all(b"ready\n").unwrap();
    run.wait_stdout("[-] ready\n");
    env.append("f.log", "21\n");
    run.wait_stdout("[f.log] 21\n");
    assert_eq!(run.stdout_string(), "[-] ready\n[f.log] 21\n", "-n 0 shows only new lines");
}

#[test]
fn first_lines_come_in_command_line_order() {
    let env = TestEnv::new();
    let names = ["c.log", "a.log", "d.log", "b.log"];
    for name in names {
        env.write(name, format!("{name} 1\n{name} 2\n"));
    }
    for _ in 0..5 {
        let out = env.cmd().arg("--no-follow").args(names).run();
        let want: String = names.iter().map(|n| format!("[{n}] {n} 1\n[{n}] {n} 2\n")).collect();
        assert_eq!(out.stdout_string(), want);
    }
}

#[test]
fn no_follow_prints_a_last_line_without_newline_and_exits() {
    let env = TestEnv::new();
    env.write("f.log", "one\ntwo");
    let out = env.cmd().args(["--no-follow", "f.log"]).run();
    assert_eq!(out.code(), Some(0));
    assert_eq!(out.stdout_string(), "[f.log] one\n[f.log] two\n");
}

#[test]
fn no_follow_missing_file_is_an_error_but_others_print() {
    let env = TestEnv::new();
    env.write("f.log", "one\n");
    let out = env.cmd().args(["--no-follow", "nope.log", "f.log"]).run();
    assert_eq!(out.code(), Some(1));
    assert_eq!(out.stdout_string(), "[f.log] one\n");
    assert_eq!(out.stderr, "mux-tail: nope.log: cannot open: no such file\n");
}

#[test]
fn partial_line_is_held_until_its_newline() {
    let env = TestEnv::new();
    env.write("f.log", "");
    let run = env.cmd().arg("f.log").spawn();
    env.append("f.log", "first ");
    env.append("f.log", "half\nsecond\n");
    run.wait_stdout("[f.log] second\n");
    assert_eq!(run.stdout_string(), "[f.log] first half\n[f.log] second\n");
}

#[test]
fn rename_rotation_under_a_continuous_writer_loses_nothing() {
    let env = TestEnv::new();
    let path = env.path("app.log");
    let total = 30_000;
    env.write("app.log", "");
    let run = env.cmd().args(["-n", "+1", "app.log"]).spawn();
    let writer = {
        let path = path.clone();
        let rotated = env.path("app.log.1");
        let seen = run.stdout.clone();
        thread::spawn(move || {
            let mut log = Appender::open(&path);
            for i in 1..=total {
                log.line(&i.to_string());
                if i % 1000 == 0 {
                    // A file renamed away before anyone looked at it cannot be followed by
                    // name: make sure this generation was seen before rotating it.
                    let first = format!("[app.log] {}\n", i - 999);
                    seen.wait_for(&first, |b| crate::util::contains(b, first.as_bytes()));
                    // Rotate as logrotate does, and keep writing to the old descriptor for a
                    // while (a daemon that has not reopened yet) before reopening.
                    fs::rename(&path, &rotated).unwrap();
                    if i % 2000 == 0 {
                        fs::File::create(&path).unwrap(); // logrotate's `create`
                    }
                    for _ in 0..3 {
                        thread::yield_now();
                    }
                    log = Appender::open(&path);
                }
            }
        })
    };
    writer.join().unwrap();
    run.wait_stdout(&format!("[app.log] {total}\n"));
    assert_numbered(&lines_of(&run.stdout.bytes(), "app.log"), total);
}

#[test]
fn writes_to_the_old_descriptor_after_rotation_come_first() {
    let env = TestEnv::new();
    env.write("app.log", "1\n");
    let run = env.cmd().arg("app.log").spawn();
    run.wait_stdout("[app.log] 1\n");
    let mut old = Appender::open(&env.path("app.log"));
    fs::rename(env.path("app.log"), env.path("app.log.1")).unwrap();
    fs::File::create(env.path("app.log")).unwrap();
    old.line("2");
    old.line("3");
    run.wait_stdout("[app.log] 3\n");
    env.append("app.log", "4\n");
    run.wait_stdout("[app.log] 4\n");
    assert_numbered(&lines_of(&run.stdout.bytes(), "app.log"), 4);
}

#[test]
fn copytruncate_starts_again_with_a_note() {
    let env = TestEnv::new();
    env.write("app.log", "1\n2\n3\n");
    let run = env.cmd().arg("app.log").spawn();
    run.wait_stdout("[app.log] 3\n");
    fs::copy(env.path("app.log"), env.path("app.log.1")).unwrap();
    fs::OpenOptions::new().write(true).open(env.path("app.log")).unwrap().set_len(0).unwrap();
    run.wait_stderr("mux-tail: app.log: file truncated; reading from the start\n");
    env.append("app.log", "4\n5\n");
    run.wait_stdout("[app.log] 5\n");
    assert_numbered(&lines_of(&run.stdout.bytes(), "app.log"), 5);
}

#[test]
fn delete_and_recreate() {
    let env = TestEnv::new();
    env.write("app.log", "1\n");
    let run = env.cmd().arg("app.log").spawn();
    run.wait_stdout("[app.log] 1\n");
    fs::remove_file(env.path("app.log")).unwrap();
    run.wait_stderr("app.log: file is gone; waiting for it to appear");
    env.write("app.log", "2\n");
    run.wait_stdout("[app.log] 2\n");
    env.append("app.log", "3\n");
    run.wait_stdout("[app.log] 3\n");
    assert_numbered(&lines_of(&run.stdout.bytes(), "app.log"), 3);
}

#[test]
fn missing_file_and_missing_directory_appear_later() {
    let env = TestEnv::new();
    let run = env.cmd().args(["late.log", "deep/er/late.log"]).spawn();
    run.wait_stderr("mux-tail: late.log: no such file; waiting for it to appear\n");
    run.wait_stderr("mux-tail: deep/er/late.log: no such file; waiting for it to appear\n");
    env.write("late.log", "early bird\n");
    run.wait_stdout("[late.log] early bird\n");
    fs::create_dir(env.path("deep")).unwrap();
    fs::create_dir(env.path("deep/er")).unwrap();
    env.write("deep/er/late.log", "from the deep\n");
    run.wait_stdout("[deep/er/late.log] from the deep\n");
    env.append("deep/er/late.log", "more\n");
    run.wait_stdout("[deep/er/late.log] more\n");
}

#[test]
fn directory_deleted_and_recreated() {
    let env = TestEnv::new();
    fs::create_dir(env.path("d")).unwrap();
    env.write("d/x.log", "1\n");
    let run = env.cmd().arg("d/x.log").spawn();
    run.wait_stdout("[d/x.log] 1\n");
    fs::remove_dir_all(env.path("d")).unwrap();
    run.wait_stderr("d/x.log: file is gone");
    fs::create_dir(env.path("d")).unwrap();
    env.write("d/x.log", "2\n");
    run.wait_stdout("[d/x.log] 2\n");
    env.append("d/x.log", "3\n");
    run.wait_stdout("[d/x.log] 3\n");
}

#[test]
fn symlink_switched_to_another_target() {
    let env = TestEnv::new();
    fs::create_dir(env.path("releases")).unwrap();
    env.write("releases/v1.log", "v1 a\n");
    env.write("releases/v2.log", "");
    std::os::unix::fs::symlink("releases/v1.log", env.path("current.log")).unwrap();
    let run = env.cmd().arg("current.log").spawn();
    run.wait_stdout("[current.log] v1 a\n");
    // Writes to the target (in another directory) are seen.
    env.append("releases/v1.log", "v1 b\n");
    run.wait_stdout("[current.log] v1 b\n");
    std::os::unix::fs::symlink("releases/v2.log", env.path("next.log")).unwrap();
    fs::rename(env.path("next.log"), env.path("current.log")).unwrap();
    env.append("releases/v2.log", "v2 a\n");
    run.wait_stdout("[current.log] v2 a\n");
    env.append("releases/v2.log", "v2 b\n");
    run.wait_stdout("[current.log] v2 b\n");
}

#[test]
fn invalid_utf8_nul_and_esc_pass_through_byte_exact() {
    let env = TestEnv::new();
    env.write("bin.log", b"\xff\xfe latin1 \xe9\x00nul \x1b[31mred\r\n");
    let out = env.cmd().args(["--no-follow", "bin.log"]).run();
    assert_eq!(out.stdout, b"[bin.log] \xff\xfe latin1 \xe9\x00nul \x1b[31mred\n");
}

#[test]
fn long_line_is_split_into_pieces() {
    let env = TestEnv::new();
    let mib = 1 << 20;
    let mut line = Vec::new();
    for i in 0..5 * mib {
        line.push(b'a' + (i / mib) as u8);
    }
    line.extend_from_slice(b"tail\n");
    env.write("big.log", &line);
    let out = env.cmd().args(["--no-follow", "big.log"]).run();
    let pieces: Vec<&[u8]> = out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    assert_eq!(pieces.len(), 6);
    for (i, piece) in pieces[..5].iter().enumerate() {
        assert_eq!(piece.len(), "[big.log] ".len() + mib);
        assert!(piece[10..].iter().all(|&b| b == b'a' + i as u8));
    }
    assert_eq!(pieces[5], b"[big.log] tail");

    let out =
        env.cmd().args(["--no-follow", "--max-line-bytes", "4", "--no-label"]).arg("big.log").run();
    assert_eq!(out.stdout.len(), 5 * mib + 5 * mib / 4 + 5);
}

#[test]
fn many_rotations_leak_no_descriptors() {
    let env = TestEnv::new();
    env.write("app.log", "");
    let run = env.cmd().arg("app.log").spawn();
    let fds = || fs::read_dir(format!("/proc/{}/fd", run.child.id())).unwrap().count();
    let list = || {
        let dir = format!("/proc/{}/fd", run.child.id());
        let mut names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| fs::read_link(e.path()).map(|p| p.display().to_string()).unwrap_or_default())
            .collect();
        names.sort();
        names
    };
    let mut n = 0;
    let mut rotate = |times: usize| {
        for _ in 0..times {
            fs::rename(env.path("app.log"), env.path("app.log.1")).unwrap();
            n += 1;
            env.write("app.log", format!("{n}\n"));
            // Each generation must be seen before the next rotation replaces it.
            run.wait_stdout(&format!("[app.log] {n}\n"));
        }
    };
    // A few rounds first: the watch (and its descriptors) is set up in the background.
    rotate(10);
    let before = fds();
    let before_list = list();
    rotate(1000);
    run.wait_stdout(&format!("[app.log] {n}\n"));
    assert!(fds() <= before + 1, "descriptors grew: {before_list:?} -> {:?}", list());
}

#[test]
fn a_dangling_symlink_is_followed_once_its_target_appears() {
    let env = TestEnv::new();
    std::os::unix::fs::symlink("target.log", env.path("link.log")).unwrap();
    fs::create_dir(env.path("other")).unwrap();
    std::os::unix::fs::symlink("other/t.log", env.path("far.log")).unwrap();
    let run = env.cmd().args(["link.log", "far.log"]).spawn();
    run.wait_stderr("link.log: no such file; waiting");
    run.wait_stderr("far.log: no such file; waiting");
    env.write("target.log", "here now\n");
    run.wait_stdout("[link.log] here now\n");
    // Into another directory, and again after the link is switched to a new (missing) target.
    fs::create_dir(env.path("elsewhere")).unwrap();
    std::os::unix::fs::symlink("elsewhere/u.log", env.path("far.new")).unwrap();
    fs::rename(env.path("far.new"), env.path("far.log")).unwrap();
    env.append("other/t.log", "old target\n");
    env.write("elsewhere/u.log", "new target\n");
    run.wait_stdout("[far.log] new target\n");
    assert!(!run.stdout_string().contains("old target"), "{}", run.stdout_string());
}

#[test]
fn a_file_named_twice_is_followed_once_under_its_first_label() {
    let env = TestEnv::new();
    fs::create_dir(env.path("g")).unwrap();
    env.write("a.log", "a1\n");
    env.write("g/b.log", "b1\n");
    let out = env.cmd().args(["--no-follow", "a.log", "./a.log", "g/*.log", "x=g/b.log"]).run();
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert_eq!(out.stdout_string(), "[a.log] a1\n[g/b.log] b1\n");
    assert!(
        out.stderr.contains("./a.log: the same file as [1] a.log; followed once"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("g/b.log: the same file as [3] g/b.log; followed once"),
        "{}",
        out.stderr
    );
    // Followed: a line written once is shown once, also while the glob looks again.
    let run = env.cmd().args(["-n", "0", "g/b.log", "g/*.log"]).spawn();
    run.wait_stderr("g/b.log: the same file as [1] g/b.log; followed once");
    env.write("g/c.log", "c1\n");
    run.wait_stdout("[g/c.log] c1\n");
    env.append("g/b.log", "b2\n");
    run.wait_stdout("[g/b.log] b2\n");
    env.append("g/c.log", "c2\n");
    run.wait_stdout("[g/c.log] c2\n");
    assert_eq!(run.stdout_string().matches("b2").count(), 1, "{}", run.stdout_string());
    assert_eq!(run.stderr_string().matches("the same file").count(), 1, "{}", run.stderr_string());
}

#[test]
fn a_glob_that_matches_nothing_says_so() {
    let env = TestEnv::new();
    fs::create_dir(env.path("logs")).unwrap();
    let out = env.cmd().args(["--no-follow", "logs/*.log"]).run();
    assert_eq!(out.code(), Some(1), "like a missing file");
    assert_eq!(out.stderr, "mux-tail: logs/*.log: no matching file\n");
    let run = env.cmd().arg("logs/*.log").spawn();
    run.wait_stderr("mux-tail: logs/*.log: no matching file yet; waiting\n");
    env.write("logs/a.log", "first\n");
    run.wait_stdout("[logs/a.log] first\n");
}

#[test]
fn a_glob_of_ten_thousand_files_reads_every_one_under_no_follow() {
    let env = TestEnv::new();
    fs::create_dir(env.path("many")).unwrap();
    for i in 0..10_000 {
        fs::write(env.path(&format!("many/f{i:05}.log")), format!("first\nlast of {i:05}\n"))
            .unwrap();
    }
    // More files than the default soft limit of descriptors, and one descriptor at a time.
    let mut cmd = env.cmd().args(["--no-label", "--no-follow", "-n", "1", "many/*.log"]);
    cmd = cmd.fd_limit(256);
    let done = cmd.run();
    assert_eq!(done.status.code(), Some(0), "{}", done.stderr);
    let out = String::from_utf8(done.stdout).unwrap();
    let want: String = (0..10_000).map(|i| format!("last of {i:05}\n")).collect();
    assert!(out == want, "every file's last line, in order, once");
    assert_eq!(done.stderr, "", "nothing to note");
}

#[test]
fn ten_thousand_files_appearing_at_once_under_a_glob_are_all_followed() {
    let env = TestEnv::new();
    fs::create_dir(env.path("burst")).unwrap();
    let run = env.cmd().args(["--no-label", "burst/*.log"]).spawn();
    run.stderr.wait_for("the glob to wait", |b| crate::util::contains(b, b"no matching file yet"));
    for i in 0..10_000 {
        fs::write(env.path(&format!("burst/f{i:05}.log")), format!("line of {i:05}\n")).unwrap();
    }
    run.stdout.wait_for("every file's line", |b| crate::util::count_lines(b) >= 10_000);
    let out = run.stdout_string();
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort_unstable();
    let want: Vec<String> = (0..10_000).map(|i| format!("line of {i:05}")).collect();
    assert!(lines == want, "each file's line once");
}
