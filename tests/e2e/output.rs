//! Output: stdin, closed pipes, terminals (padding, colour, escaping, NO_COLOR).

use std::io::{BufRead, BufReader, Write};
use std::process::Command;

use crate::util::{bin, pty::Pty, TestEnv};

#[test]
fn stdin_lines_then_exit_at_its_end() {
    let env = TestEnv::new();
    let out = env.cmd().stdin_bytes("one\r\ntwo\nthree").run();
    assert_eq!(out.code(), Some(0));
    assert_eq!(out.stdout_string(), "[-] one\n[-] two\n[-] three\n");
    assert_eq!(out.stderr, "");
}

#[test]
fn stdin_beside_a_file_with_labels() {
    let env = TestEnv::new();
    env.write("a.log", "a1\n");
    let mut run = env.cmd().args(["in=-", "a.log"]).stdin_pipe().spawn();
    run.wait_stdout("[a.log] a1\n");
    let mut stdin = run.stdin.take().unwrap();
    stdin.write_all(b"typed\n").unwrap();
    run.wait_stdout("[in] typed\n");
    drop(stdin);
    env.append("a.log", "a2\n");
    run.wait_stdout("[a.log] a2\n");
    // The file is still followed after stdin ended.
    assert!(run.child.try_wait().unwrap().is_none());
}

#[test]
fn closed_pipe_ends_quietly_and_promptly_without_input() {
    let env = TestEnv::new();
    env.write("a.log", "first\nsecond\n");
    let (mut child, stderr) = env.cmd().arg("a.log").spawn_stdout_unread();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "[a.log] first\n");
    // Like `| head -1`: the reader goes away while no more input arrives.
    drop(reader);
    let status = crate::util::wait_child(&mut child);
    stderr.wait_closed();
    assert_eq!(status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&stderr.bytes()), "");
}

#[test]
fn head_in_a_shell_pipeline_exits_zero() {
    let env = TestEnv::new();
    env.write("a.log", "1\n2\n3\n");
    let script = format!("'{}' a.log | head -1; echo \"status=${{PIPESTATUS[0]}}\"", bin());
    let out = Command::new("bash").arg("-c").arg(script).current_dir(env.root()).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[a.log] 1\nstatus=0\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// Runs mux-tail with its stdout on a terminal, with `env_vars`, until `wait_for` shows.
fn on_terminal(
    env: &TestEnv,
    args: &[&str],
    env_vars: &[(&str, &str)],
    wait_for: &[&str],
) -> String {
    let pty = Pty::new(100, 30);
    let mut cmd = pty.command(env);
    // Keys (and their status line) are tested in keys.rs; here only the log lines count.
    cmd.arg("--keys=never").args(args).stderr(std::process::Stdio::null());
    for (k, v) in env_vars {
        cmd.env(k, v);
    }
    let mut child = pty.spawn(cmd);
    for needle in wait_for {
        pty.screen.wait_for(needle, |b| crate::util::contains(b, needle.as_bytes()));
    }
    let _ = child.kill();
    let _ = child.wait();
    String::from_utf8_lossy(&pty.screen.bytes()).into_owned()
}

#[test]
fn terminal_gets_padded_coloured_labels_and_escaped_control_characters() {
    let env = TestEnv::new();
    env.write("a.log", b"bell\x07 esc\x1b]0;title\x07 \x9b\n");
    env.write("longer.log", "done\n");
    let screen = on_terminal(&env, &["a.log", "longer.log"], &[], &["done", "title"]);
    assert!(screen.contains("[a.log]\x1b[0m      bell^G esc^[]0;title^G \\x9b"), "{screen:?}");
    assert!(screen.contains("\x1b[") && screen.contains("m[longer.log]\x1b[0m done"), "{screen:?}");
    // Output processing is the terminal's: every line ends in CR LF.
    assert!(!screen.contains("done\n") || screen.contains("done\r\n"), "{screen:?}");
}

#[test]
fn no_color_turns_colour_off_on_a_terminal() {
    let env = TestEnv::new();
    env.write("a.log", "plain\n");
    let screen = on_terminal(&env, &["a.log"], &[("NO_COLOR", "1")], &["plain"]);
    assert!(screen.contains("[a.log] plain"), "{screen:?}");
    assert!(!screen.contains('\x1b'), "{screen:?}");
    let screen = on_terminal(&env, &["--color=never", "a.log"], &[], &["plain"]);
    assert!(!screen.contains('\x1b'), "{screen:?}");
}

#[test]
fn colour_can_be_forced_into_a_pipe() {
    let env = TestEnv::new();
    env.write("a.log", "x\n");
    let out = env.cmd().args(["--no-follow", "--color=always", "a.log"]).run();
    let s = out.stdout_string();
    assert!(s.starts_with("\x1b[") && s.ends_with("m[a.log]\x1b[0m x\n"), "{s:?}");
}

#[test]
fn labels_on_a_terminal_are_padded_by_cells_coloured_in_turn_and_capped() {
    let env = TestEnv::new();
    env.write("worker.log", "w1\n");
    env.write("日本.log", "j1\n");
    let long = "cmd:echo c1; sleep 1000 # a long command line";
    let screen =
        on_terminal(&env, &["worker.log", "日本=日本.log", long], &[], &["w1", "j1", "c1"]);
    // Colours in order of appearance: three sources, three colours.
    let pad = |label: &str, cells: usize| format!("[{label}]\x1b[0m{} ", " ".repeat(24 - cells));
    assert!(screen.contains(&format!("\x1b[36m{}w1", pad("worker.log", 10))), "{screen:?}");
    assert!(screen.contains(&format!("\x1b[33m{}j1", pad("日本", 4))), "{screen:?}");
    // The long label is shortened in its middle to 24 cells, and the others are padded to it.
    let short = "cmd:echo c1…command line";
    assert!(screen.contains(&format!("\x1b[32m[{short}]\x1b[0m c1")), "{screen:?}");
    // Piped, the labels stay whole.
    let out = env.cmd().args(["--no-follow", "日本=日本.log"]).run();
    assert_eq!(out.stdout_string(), "[日本] j1\n");
}

#[test]
fn a_commands_stderr_lines_are_marked_on_a_terminal() {
    let env = TestEnv::new();
    let cmd = "b=cmd:echo to-out; echo to-err >&2; sleep 1000";
    let screen = on_terminal(&env, &[cmd], &[("NO_COLOR", "1")], &["to-out", "to-err"]);
    assert!(screen.contains("[b] ! to-err\r\n"), "{screen:?}");
    assert!(screen.contains("[b] to-out\r\n"), "{screen:?}");
}

/// A piece of 100 lines of 100 bytes: lines `n * 100 ..`.
fn piece(n: usize) -> String {
    (n * 100..(n + 1) * 100).map(|i| format!("{i:099}\n")).collect()
}

/// Starts `mux-tail --no-label a.log` with stdout left unread and fills that pipe a piece at a
/// time, each piece written alone (the way a line that arrives alone is), until the pipe takes
/// only part of one; then appends `extra` pieces more. Gives the child, its stdout, its stderr
/// and the number of pieces appended.
fn fill_stdout(
    env: &TestEnv,
    extra: usize,
) -> (std::process::Child, std::process::ChildStdout, crate::util::Collected, usize) {
    env.write("a.log", "ready\n");
    let (mut child, stderr) = env.cmd().args(["--no-label", "a.log"]).spawn_stdout_unread();
    let stdout = child.stdout.take().unwrap();
    let in_pipe = || rustix::io::ioctl_fionread(&stdout).unwrap() as usize;
    // The file is followed once its first line is out.
    crate::util::wait_until("the first line", || in_pipe() == "ready\n".len());
    let mut pieces = 0;
    loop {
        let before = in_pipe();
        env.append("a.log", piece(pieces));
        pieces += 1;
        crate::util::wait_until("a piece in the pipe", || in_pipe() != before);
        // A write is one step for the pipe: only a full one takes part of a piece.
        if in_pipe() != before + 10_000 {
            break;
        }
    }
    for _ in 0..extra {
        env.append("a.log", piece(pieces));
        pieces += 1;
    }
    (child, stdout, stderr, pieces)
}

#[test]
fn a_full_pipe_holds_lines_back_and_loses_none() {
    let env = TestEnv::new();
    let (mut child, stdout, stderr, pieces) = fill_stdout(&env, 3);
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    for i in 0..pieces * 100 {
        line.clear();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line, format!("{i:099}\n"), "line {i}");
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(String::from_utf8_lossy(&stderr.bytes()), "");
}

#[test]
fn a_full_pipe_never_stops_a_signal() {
    let env = TestEnv::new();
    let (mut child, _stdout, _stderr, _) = fill_stdout(&env, 20);
    // mux-tail's reading side is not held up by the write it cannot finish.
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    assert_eq!(crate::util::wait_child(&mut child).code(), Some(143));
}
