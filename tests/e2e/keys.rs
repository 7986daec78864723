//! Keys, through a pseudo-terminal: every key with stdout on the terminal (status line) and
//! piped, terminal restoration on every way out, job control.

use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::Instant;

use rustix::process::Signal;
use rustix::termios::{LocalModes, OutputModes, SpecialCodeIndex, Termios};

use crate::util::{
    bin, contains, listening_port, pty::Pty, wait_until, Collected, TestEnv, DEADLINE,
};

/// mux-tail on a terminal: stdout and keys on the pty, stderr collected apart.
struct OnTerminal {
    pty: Pty,
    child: Child,
    stderr: Collected,
    before: Termios,
}

impl OnTerminal {
    fn start(env: &TestEnv, args: &[&str]) -> OnTerminal {
        Self::start_limited(env, args, None)
    }

    /// [`OnTerminal::start`] with at most `fds` open files.
    fn start_limited(env: &TestEnv, args: &[&str], fds: Option<u64>) -> OnTerminal {
        let pty = Pty::new(120, 40);
        let before = pty.termios();
        let mut cmd = pty.command(env);
        cmd.args(args).env("NO_COLOR", "1").stderr(Stdio::piped());
        if let Some(n) = fds {
            crate::util::limit_fds(&mut cmd, n);
        }
        let mut child = pty.spawn(cmd);
        let stderr = Collected::from_pipe(child.stderr.take().unwrap());
        let t = OnTerminal { pty, child, stderr, before };
        t.wait_key_mode();
        t
    }

    /// Waits until mux-tail has put the terminal in key mode.
    fn wait_key_mode(&self) {
        wait_until("key mode", || !self.pty.termios().local_modes.contains(LocalModes::ICANON));
    }

    fn keys(&self, keys: &str) {
        self.pty.send(keys.as_bytes());
    }

    fn wait_screen(&self, needle: &str) {
        self.pty
            .screen
            .wait_for(&format!("{needle:?} on the terminal"), |b| contains(b, needle.as_bytes()));
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.pty.screen.bytes()).into_owned()
    }

    /// Presses `l` until the list shows `row` (a source's line count is a barrier: lines up to
    /// it have reached the mux).
    fn wait_list_row(&self, row: &str) {
        let end = Instant::now() + DEADLINE;
        loop {
            let tables = self.screen().matches("#  label").count();
            self.keys("l");
            self.pty.screen.wait_for("a list", |b| {
                String::from_utf8_lossy(b).matches("#  label").count() > tables
            });
            let screen = self.screen();
            let last = screen[screen.rfind("#  label").unwrap()..].to_string();
            self.dismiss();
            if last.contains(row) {
                return;
            }
            assert!(Instant::now() < end, "the list never showed {row:?}:\n{last}");
        }
    }

    /// A key after a list or the help: output goes on.
    fn dismiss(&self) {
        let n = self.screen().matches("output goes on").count();
        self.keys("\x1b");
        self.pty.screen.wait_for("output to go on", |b| {
            String::from_utf8_lossy(b).matches("output goes on").count() > n
        });
    }

    fn wait_exit(&mut self) -> Option<i32> {
        crate::util::wait_child(&mut self.child).code()
    }

    fn assert_restored(&self) {
        assert_same_mode(&self.before, &self.pty.termios());
    }
}

impl Drop for OnTerminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn assert_same_mode(a: &Termios, b: &Termios) {
    assert_eq!(a.local_modes, b.local_modes, "local modes differ");
    assert_eq!(a.input_modes, b.input_modes, "input modes differ");
    assert_eq!(a.output_modes, b.output_modes, "output modes differ");
    assert_eq!(a.control_modes, b.control_modes, "control modes differ");
    for i in [SpecialCodeIndex::VMIN, SpecialCodeIndex::VTIME, SpecialCodeIndex::VINTR] {
        assert_eq!(a.special_codes[i], b.special_codes[i]);
    }
}

#[test]
fn key_mode_keeps_output_processing_and_signals() {
    let env = TestEnv::new();
    env.write("a.log", "x\n");
    let t = OnTerminal::start(&env, &["a.log"]);
    let mode = t.pty.termios();
    assert!(!mode.local_modes.contains(LocalModes::ECHO));
    assert!(mode.local_modes.contains(LocalModes::ISIG), "Ctrl-C must stay a signal");
    assert!(mode.output_modes.contains(OutputModes::OPOST), "output processing must stay on");
}

#[test]
fn mute_and_unmute_with_the_status_line() {
    let env = TestEnv::new();
    env.write("a.log", "a1\n");
    env.write("b.log", "b1\n");
    let t = OnTerminal::start(&env, &["a.log", "b.log"]);
    t.wait_screen("? help | [1] a.log  [2] b.log");
    t.wait_screen("[a.log] a1\r\n");
    t.keys("1");
    t.wait_screen("muted [1] a.log");
    env.append("a.log", "a2\n");
    env.append("b.log", "b2\n");
    t.wait_screen("[b.log] b2\r\n");
    t.wait_list_row("   1  a.log                    muted               2");
    assert!(!t.screen().contains("a2"), "a muted source's lines are dropped");
    t.keys("1");
    t.wait_screen("unmuted [1] a.log");
    env.append("a.log", "a3\n");
    t.wait_screen("[a.log] a3\r\n");
}

#[test]
fn detach_a_file_and_a_listener() {
    let env = TestEnv::new();
    env.write("a.log", "a1\n");
    let mut t = OnTerminal::start(&env, &["a.log", "tcp:0"]);
    let port = listening_port(&t.stderr, "tcp:0");
    let conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    t.keys("d2");
    t.wait_screen("detached [2] tcp:0");
    // The listener and its connections are closed.
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "the port still accepts");
    let mut buf = [0u8; 1];
    use std::io::Read;
    assert_eq!((&conn).read(&mut buf).unwrap_or(0), 0, "the open connection was not closed");
    t.keys("d1");
    t.wait_screen("detached [1] a.log");
    // With every source detached, nothing is left to follow.
    assert_eq!(t.wait_exit(), Some(0));
    t.assert_restored();
}

#[test]
fn attach_a_file_and_a_listener_and_refuse_a_bad_spec() {
    let env = TestEnv::new();
    env.write("a.log", "a1\n");
    env.write("new.log", "old line\n");
    let t = OnTerminal::start(&env, &["a.log"]);
    t.keys("anew.log\r");
    t.wait_screen("attached [2] new.log");
    env.append("new.log", "fresh\n");
    t.wait_screen("[new.log] fresh\r\n");
    assert!(!t.screen().contains("old line"), "an attached file is followed from now on");
    t.keys("anet=tcp:0\r");
    t.wait_screen("attached [3] net");
    let port = listening_port(&t.stderr, "tcp:0");
    use std::io::Write;
    TcpStream::connect(("127.0.0.1", port)).unwrap().write_all(b"over the wire\n").unwrap();
    t.wait_screen("[net]     over the wire\r\n");
    t.keys("atcp:abc\r");
    t.wait_screen("cannot attach tcp:abc: invalid port 'abc'");
    t.keys("l");
    t.wait_screen("   3  net                      following");
    assert!(!t.screen().contains("   4  "), "a bad spec adds nothing");
}

#[test]
fn the_list_shows_files_waiting_for_descriptors() {
    let env = TestEnv::new();
    for i in 0..120 {
        env.write(&format!("f{i:03}.log"), "x\n");
    }
    let t = OnTerminal::start_limited(&env, &["f*.log"], Some(100));
    t.stderr.wait_for("the note", |b| contains(b, b"out of file descriptors (limit 100)"));
    t.wait_list_row("waiting (no descriptors)");
    // A file that got its descriptor is following.
    t.wait_list_row("f000.log                 following");
}

#[test]
fn pause_holds_lines_and_resume_loses_none() {
    let env = TestEnv::new();
    env.write("a.log", "");
    let t = OnTerminal::start(&env, &["a.log"]);
    t.keys("p");
    t.wait_screen("PAUSED, 0 lines held");
    let lines: String = (1..=1000).map(|i| format!("{i}\n")).collect();
    env.append("a.log", &lines);
    t.wait_screen("PAUSED, 1000 lines held");
    assert!(!t.screen().contains("[a.log] 1\r\n"), "nothing is shown while paused");
    t.keys(" ");
    t.wait_screen("[a.log] 1000\r\n");
    let screen = t.screen();
    let shown: Vec<u32> = screen
        .split("[a.log] ")
        .skip(1)
        .map(|rest| rest.split('\r').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(shown, (1..=1000).collect::<Vec<_>>());
}

#[test]
fn filter_shows_matching_lines_and_keeps_the_old_one_on_a_bad_regex() {
    let env = TestEnv::new();
    env.write("a.log", "");
    let t = OnTerminal::start(&env, &["a.log"]);
    t.keys("/err|warn\r");
    t.wait_screen("showing only lines matching /err|warn/");
    t.keys("/a[\r");
    t.wait_screen("invalid regex 'a[': unclosed character class");
    env.append("a.log", "info: fine\nerror: bad\nwarning: hmm\nlast\n");
    t.wait_list_row("   1  a.log                    following           4");
    t.wait_screen("[a.log] warning: hmm\r\n");
    let screen = t.screen();
    assert!(screen.contains("[a.log] error: bad\r\n"));
    assert!(!screen.contains("fine") && !screen.contains("[a.log] last"), "{screen}");
    t.keys("/\r");
    t.wait_screen("filter cleared");
    env.append("a.log", "everything\n");
    t.wait_screen("[a.log] everything\r\n");
}

#[test]
fn list_help_and_quit_restore_the_terminal() {
    let env = TestEnv::new();
    env.write("a.log", "a1\n");
    let mut t = OnTerminal::start(&env, &["a.log", "missing.log"]);
    t.wait_screen("[a.log]       a1");
    t.keys("l");
    t.wait_screen("   1  a.log                    following           1            2");
    t.wait_screen("   2  missing.log              waiting             0            0");
    t.wait_screen("output waits: any key goes on");
    t.dismiss();
    t.keys("?");
    t.wait_screen("d N        detach source N");
    t.dismiss();
    t.keys("q");
    assert_eq!(t.wait_exit(), Some(0));
    t.assert_restored();
    // The status text is erased, and the cursor waits at the start of its empty row.
    assert!(t.screen().ends_with("\r\x1b[J"), "{:?}", &t.screen()[t.screen().len() - 40..]);
}

#[test]
fn ctrl_c_sigterm_and_sighup_restore_the_terminal() {
    let env = TestEnv::new();
    env.write("a.log", "a1\n");
    let mut t = OnTerminal::start(&env, &["a.log"]);
    t.keys("\x03");
    assert_eq!(t.wait_exit(), Some(130));
    t.assert_restored();
    for (sig, code) in [(Signal::TERM, 143), (Signal::HUP, 129)] {
        let mut t = OnTerminal::start(&env, &["a.log"]);
        let pid = rustix::process::Pid::from_raw(t.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, sig).unwrap();
        assert_eq!(t.wait_exit(), Some(code));
        t.assert_restored();
    }
}

#[test]
fn ctrl_z_restores_the_terminal_and_fg_puts_key_mode_back() {
    let env = TestEnv::new();
    env.write("a.log", "a1\n");
    let mut t = OnTerminal::start(&env, &["a.log"]);
    t.keys("\x1a");
    let pid = t.child.id();
    wait_until("mux-tail to stop", || process_state(pid) == 'T');
    t.assert_restored();
    // What `fg` does: continue it while it holds the foreground.
    let p = rustix::process::Pid::from_raw(pid as i32).unwrap();
    rustix::process::kill_process(p, Signal::CONT).unwrap();
    t.wait_key_mode();
    t.keys("q");
    assert_eq!(t.wait_exit(), Some(0));
    t.assert_restored();
}

fn process_state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit(") ").next().and_then(|s| s.chars().next()).unwrap_or('?')
}

#[test]
fn keys_work_when_stdout_is_piped_and_output_processing_stays_on() {
    let env = TestEnv::new();
    env.write("a.log", "a1\n");
    env.write("b.log", "b1\n");
    let pty = Pty::new(120, 40);
    let before = pty.termios();
    let mut child = in_pipeline(&env, &pty, "a.log b.log | cat");
    let t = Screen(&pty);
    wait_until("key mode", || !pty.termios().local_modes.contains(LocalModes::ICANON));
    t.wait("[a.log] a1\r\n");
    t.wait("[b.log] b1\r\n");
    pty.send(b"1");
    t.wait("mux-tail: muted [1] a.log\r\n");
    env.append("a.log", "a2\n");
    env.append("b.log", "b2\n");
    t.wait("[b.log] b2\r\n");
    // The list (on stderr) is the barrier: a2 reached the mux, and was dropped.
    let end = Instant::now() + DEADLINE;
    loop {
        // Counted before the key: the list may be out before the next look.
        let n = t.text().matches("#  label").count();
        pty.send(b"l");
        pty.screen
            .wait_for("a list", |b| String::from_utf8_lossy(b).matches("#  label").count() > n);
        let text = t.text();
        let n = text.matches("mux-tail: output goes on").count();
        pty.send(b"\x1b");
        pty.screen.wait_for("output to go on", |b| {
            String::from_utf8_lossy(b).matches("mux-tail: output goes on").count() > n
        });
        if text[text.rfind("#  label").unwrap()..]
            .contains("   1  a.log                    muted               2")
        {
            break;
        }
        assert!(Instant::now() < end, "a2 never reached the mux");
    }
    assert!(!t.text().contains("a2"), "muted lines are dropped");
    pty.send(b"q");
    assert_eq!(crate::util::wait_child(&mut child).code(), Some(0));
    let bytes = pty.screen.bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            assert!(
                i > 0 && bytes[i - 1] == b'\r',
                "a bare \\n at {i}: the output would staircase"
            );
        }
    }
    assert_same_mode(&before, &pty.termios());
}

/// Runs `mux-tail ARGS | …` (the text after the binary) in a shell whose stdout and stderr are
/// the terminal, as a user's pipeline does.
fn in_pipeline(env: &TestEnv, pty: &Pty, after_bin: &str) -> Child {
    let mut cmd = pty.command_of(env, "sh");
    cmd.arg("-c").arg(format!("'{}' {after_bin}", bin()));
    pty.spawn(cmd)
}

struct Screen<'a>(&'a Pty);

impl Screen<'_> {
    /// Waits for key mode and the first line of a.log (`a1`), as the piped tests start.
    fn wait_started(&self) {
        wait_until("key mode", || !self.0.termios().local_modes.contains(LocalModes::ICANON));
        self.wait("[a.log] a1\r\n");
    }

    fn wait(&self, needle: &str) {
        self.0.screen.wait_for(needle, |b| contains(b, needle.as_bytes()));
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.screen.bytes()).into_owned()
    }
}

#[test]
fn keys_are_off_without_a_terminal() {
    let env = TestEnv::new();
    env.write("a.log", "a1\n");
    // The test harness runs mux-tail without a controlling terminal.
    let out = env.cmd().args(["--no-follow", "a.log"]).run();
    assert_eq!(out.stderr, "");
    let out = env.cmd().args(["--keys=always", "--no-follow", "a.log"]).run();
    assert_eq!(out.code(), Some(1));
    assert!(out.stderr.starts_with("mux-tail: --keys=always: no terminal"), "{}", out.stderr);
}

#[test]
fn status_line_is_laid_out_again_when_the_terminal_is_resized() {
    let env = TestEnv::new();
    env.write("a.log", "a1\n");
    let t = OnTerminal::start(&env, &["a.log"]);
    t.wait_screen("[a.log] a1\r\n\x1b[?7l\x1b[7m? help | [1] a.log");
    let size = rustix::termios::Winsize { ws_row: 20, ws_col: 12, ws_xpixel: 0, ws_ypixel: 0 };
    rustix::termios::tcsetwinsize(t.pty.slave(), size).unwrap();
    // The kernel tells the foreground process group (SIGWINCH); the next write erases the old
    // status text from the cursor down and draws it cut to the new width.
    env.append("a.log", "a2\n");
    // Drawn without autowrap, so that a terminal narrower than known clips it.
    t.wait_screen("\r\x1b[J[a.log] a2\r\n\x1b[?7l\x1b[7m? help | […\x1b[0m\x1b[?7h\r");
    // No scroll region and no absolute position: nothing the terminal moves can be hit.
    assert!(!t.screen().contains("r\x1b8") && !t.screen().contains(";1H"), "{:?}", t.screen());
}

#[test]
fn detaching_a_command_ends_its_whole_process_group() {
    let env = TestEnv::new();
    // A second source keeps mux-tail running once the command is detached: what it writes just
    // before it ends could be lost in the terminal's hang-up.
    env.write("other.log", "");
    let t = OnTerminal::start(
        &env,
        &[
            "cmd:sleep 1000 & echo $$ $! > pids.tmp; mv pids.tmp pids; echo started; sleep 1001",
            "other.log",
        ],
    );
    t.wait_screen("started\r\n");
    let pids: Vec<i32> = std::fs::read_to_string(env.path("pids"))
        .unwrap()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    let alive = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| !s.rsplit(") ").next().is_some_and(|r| r.starts_with('Z')))
    };
    assert!(pids.iter().all(|&p| alive(p)));
    t.keys("l");
    t.wait_screen("following");
    t.dismiss();
    t.keys("d1");
    t.wait_screen("detached [1]");
    wait_until("the command's processes to end", || pids.iter().all(|&p| !alive(p)));
}

#[test]
fn attaching_stdin_from_its_own_terminal_or_a_file_twice_is_refused() {
    let env = TestEnv::new();
    env.write("a.log", "a1\n");
    let pty = Pty::new(120, 40);
    let port = crate::util::free_port();
    let mut cmd = pty.command(&env);
    cmd.args(["a.log".to_string(), format!("net=tcp:{port}")])
        .stdin(pty.stdio())
        .stderr(Stdio::null());
    let mut child = pty.spawn(cmd);
    wait_until("key mode", || !pty.termios().local_modes.contains(LocalModes::ICANON));
    pty.send(b"a-\r");
    pty.screen.wait_for("a refusal", |b| {
        contains(b, b"cannot attach -: standard input is the terminal the keys come from")
    });
    pty.send(b"aa.log\r");
    pty.screen.wait_for("a refusal", |b| {
        contains(b, b"cannot attach a.log: already followed as [1] a.log")
    });
    // Also under another path, and a listener already listening.
    pty.send(b"a./a.log\r");
    pty.screen.wait_for("a refusal", |b| {
        contains(b, b"cannot attach ./a.log: already followed as [1] a.log")
    });
    pty.send(format!("atcp:127.0.0.1:{port}\r").as_bytes());
    let refusal = format!("cannot attach tcp:127.0.0.1:{port}: already followed as [2] net");
    pty.screen.wait_for("a refusal", |b| contains(b, refusal.as_bytes()));
    // After a rotation the name is another file, which [1] follows now: still refused.
    std::fs::rename(env.path("a.log"), env.path("a.log.1")).unwrap();
    env.write("a.log", "a2\n");
    pty.screen.wait_for("the new file", |b| contains(b, b" a2\r\n"));
    let refusals = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .matches("cannot attach a.log: already followed as [1] a.log")
            .count()
    };
    let before = refusals(&pty.screen.bytes());
    pty.send(b"aa.log\r");
    pty.screen.wait_for("a refusal", |b| refusals(b) > before);
    pty.send(b"q");
    assert_eq!(crate::util::wait_child(&mut child).code(), Some(0));
}

#[test]
fn lines_wait_while_a_prompt_is_typed_on_a_piped_terminal() {
    let env = TestEnv::new();
    env.write("a.log", "a1\n");
    let pty = Pty::new(120, 40);
    let mut child = in_pipeline(&env, &pty, "a.log | cat");
    let t = Screen(&pty);
    t.wait_started();
    pty.send(b"atcp:");
    t.wait("attach (Enter to follow, Esc to cancel): tcp:");
    env.append("a.log", "during the prompt\n");
    pty.send(b"9");
    t.wait("attach (Enter to follow, Esc to cancel): tcp:9");
    pty.send(b"\x1b");
    t.wait("[a.log] during the prompt\r\n");
    let text = t.text();
    let line = text.find("[a.log] during the prompt").unwrap();
    let typed = text.find("Esc to cancel): tcp:9").unwrap();
    assert!(line > typed, "the line ran through the prompt: {text:?}");
    pty.send(b"q");
    assert_eq!(crate::util::wait_child(&mut child).code(), Some(0));
}

#[test]
fn answers_to_prompts_on_a_piped_terminal_start_a_row_of_their_own() {
    let env = TestEnv::new();
    env.write("a.log", "a1\n");
    env.write("b.log", "b1\n");
    let pty = Pty::new(120, 40);
    let mut child = in_pipeline(&env, &pty, "a.log b.log | cat");
    let t = Screen(&pty);
    t.wait("[b.log] b1\r\n");
    // The answer comes while the prompt is still drawn (the prompt closes after the typed
    // text acts): the prompt's row is cleared first, so the two never share it.
    for (keys, answer) in [
        (&b"/b1\r"[..], "mux-tail: showing only lines matching /b1/"),
        (b"m1", "mux-tail: muted [1] a.log"),
        (b"d2", "mux-tail: detached [2] b.log"),
    ] {
        pty.send(keys);
        t.wait(answer);
        let text = t.text();
        let at = text.rfind(answer).unwrap();
        assert!(text[..at].ends_with("\r\x1b[K"), "the answer ran into the prompt: {text:?}");
    }
    pty.send(b"q");
    assert_eq!(crate::util::wait_child(&mut child).code(), Some(0));
}

#[test]
fn keys_are_left_to_a_pager_reading_the_output() {
    let env = TestEnv::new();
    env.write("a.log", "a1\n");
    // A stand-in pager: the name is what counts.
    let pager = env.path("less");
    std::fs::write(&pager, "#!/bin/sh\ncat\n").unwrap();
    std::fs::set_permissions(&pager, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let pty = Pty::new(120, 40);
    let before = pty.termios();
    let mut child = in_pipeline(&env, &pty, "a.log | ./less");
    let t = Screen(&pty);
    t.wait("mux-tail: keys are off: the output goes to less, which reads the terminal too");
    t.wait("[a.log] a1\r\n");
    assert_same_mode(&before, &pty.termios());
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn ctrl_c_on_a_pipeline_is_exit_130_even_when_the_pipe_closes_first() {
    let env = TestEnv::new();
    env.write("a.log", "a1\n");
    // Ctrl-C ends cat as well: whichever mux-tail notices first, the signal decides.
    for round in 0..4 {
        let pty = Pty::new(120, 40);
        let mut cmd = pty.command_of(&env, "bash");
        let script = format!(
            "trap true INT; '{}' a.log | cat; echo \"exit ${{PIPESTATUS[0]}}\" > code{round}",
            bin()
        );
        cmd.arg("-c").arg(script);
        let mut child = pty.spawn(cmd);
        let t = Screen(&pty);
        wait_until("key mode", || !pty.termios().local_modes.contains(LocalModes::ICANON));
        t.wait("[a.log] a1\r\n");
        pty.send(b"\x03");
        crate::util::wait_child(&mut child);
        let code = std::fs::read_to_string(env.path(&format!("code{round}"))).unwrap();
        assert_eq!(code, "exit 130\n", "round {round}");
    }
}

#[test]
fn the_status_line_fits_wide_labels_by_cells() {
    let env = TestEnv::new();
    env.write("日本語のログ.log", "j1\n");
    env.write("二つ目.log", "j2\n");
    let pty = Pty::new(30, 10);
    let mut cmd = pty.command(&env);
    cmd.args(["日本語のログ.log", "二つ目.log"]).env("NO_COLOR", "1").stderr(Stdio::null());
    let mut child = pty.spawn(cmd);
    pty.screen.wait_for("the status line, cut", |b| contains(b, "…\x1b[0m".as_bytes()));
    let screen = String::from_utf8_lossy(&pty.screen.bytes()).into_owned();
    let status = screen.rsplit("\x1b[7m").next().unwrap().split("\x1b[0m").next().unwrap();
    let cells =
        |s: &str| s.chars().map(|c| if c.is_ascii() || c == '…' { 1 } else { 2 }).sum::<usize>();
    assert!(cells(status) <= 29, "{status:?} is {} cells wide", cells(status));
    assert!(status.ends_with('…'), "{status:?}");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_filter_typed_while_lines_arrive_applies_to_the_lines_held_meanwhile() {
    let env = TestEnv::new();
    env.write("a.log", "a1\n");
    let pty = Pty::new(120, 40);
    let mut child = in_pipeline(&env, &pty, "a.log | cat");
    let t = Screen(&pty);
    t.wait_started();
    pty.send(b"/kee");
    t.wait("filter regex (empty clears, Esc to cancel): kee");
    for i in 0..20 {
        env.append("a.log", format!("noise {i}\nkeep {i}\n"));
    }
    // A rotation's note comes after the old file's last lines, and notes are not held: once it
    // shows, the mux holds those lines.
    std::fs::rename(env.path("a.log"), env.path("a.log.1")).unwrap();
    env.write("a.log", "fresh\n");
    t.wait("a.log: replaced; following the new file");
    pty.send(b"p\r");
    t.wait("showing only lines matching /keep/");
    env.append("a.log", "noise after\nkeep after\n");
    t.wait("[a.log] keep after\r\n");
    let text = t.text();
    assert!(text.contains("[a.log] keep 19\r\n"), "{text:?}");
    assert!(!text.contains("noise"), "{text:?}");
    pty.send(b"q");
    assert_eq!(crate::util::wait_child(&mut child).code(), Some(0));
}

#[test]
fn piped_output_gets_a_key_hint_on_the_terminal_only() {
    let env = TestEnv::new();
    env.write("a.log", "a1\n");
    let pty = Pty::new(120, 40);
    let mut child = in_pipeline(&env, &pty, "a.log > out.txt");
    let t = Screen(&pty);
    t.wait("mux-tail: keys on: ? for help\r\n");
    wait_until("the line in the file", || {
        std::fs::read_to_string(env.path("out.txt")).is_ok_and(|s| s == "[a.log] a1\n")
    });
    pty.send(b"q");
    assert_eq!(crate::util::wait_child(&mut child).code(), Some(0));
    assert_eq!(std::fs::read_to_string(env.path("out.txt")).unwrap(), "[a.log] a1\n");
}

#[test]
fn a_list_stays_on_screen_until_a_key_and_no_line_is_lost() {
    let env = TestEnv::new();
    env.write("a.log", "a1\n");
    let t = OnTerminal::start(&env, &["a.log"]);
    t.wait_screen("[a.log] a1\r\n");
    t.keys("l");
    t.wait_screen("output waits: any key goes on");
    for i in 0..50 {
        env.append("a.log", format!("busy {i}\n"));
    }
    // The rotation's note comes after the old file's lines: once it shows, the mux has them.
    std::fs::rename(env.path("a.log"), env.path("a.log.1")).unwrap();
    env.write("a.log", "new file\n");
    t.stderr.wait_for("the rotation", |b| contains(b, b"a.log: replaced; following the new file"));
    assert!(!t.screen().contains("busy"), "lines scrolled the list away");
    t.keys("x");
    t.wait_screen("[a.log] new file\r\n");
    let screen = t.screen();
    let list = screen.rfind("#  label").unwrap();
    for i in 0..50 {
        let line = format!("[a.log] busy {i}\r\n");
        assert!(screen[list..].contains(&line), "{line:?} missing from {screen:?}");
    }
}

#[test]
fn l_cycles_the_least_level_on_the_status_line() {
    let env = TestEnv::new();
    env.write("a.log", "");
    let t = OnTerminal::start(&env, &["a.log"]);
    t.keys("L");
    t.wait_screen("showing warn and above");
    t.wait_screen("level >= warn");
    // Lines of one file come in order: once the last is shown, the others were decided.
    env.append("a.log", "INFO i1\nWARN w1\nSegmentation fault\nERROR e1\n");
    t.wait_screen("[a.log] ERROR e1\r\n");
    let screen = t.screen();
    assert!(screen.contains("[a.log] WARN w1\r\n") && screen.contains("Segmentation fault"));
    assert!(!screen.contains("i1"), "{screen}");
    t.keys("L");
    t.wait_screen("showing error and above");
    env.append("a.log", "WARN w2\nERROR e2\n");
    t.wait_screen("[a.log] ERROR e2\r\n");
    assert!(!t.screen().contains("w2"));
    t.keys("L");
    t.wait_screen("showing every level");
    env.append("a.log", "DEBUG d3\n");
    t.wait_screen("[a.log] DEBUG d3\r\n");
}

#[test]
fn l_cycles_the_least_level_when_stdout_is_piped() {
    let env = TestEnv::new();
    env.write("a.log", "a1\n");
    let pty = Pty::new(120, 40);
    let mut child = in_pipeline(&env, &pty, "a.log | cat");
    let t = Screen(&pty);
    t.wait_started();
    pty.send(b"L");
    t.wait("mux-tail: showing warn and above (L: next level)\r\n");
    env.append("a.log", "INFO i1\nERROR e1\n");
    t.wait("[a.log] ERROR e1\r\n");
    assert!(!t.text().contains("i1"));
    pty.send(b"LL");
    t.wait("mux-tail: showing every level\r\n");
    env.append("a.log", "INFO i2\n");
    t.wait("[a.log] INFO i2\r\n");
    pty.send(b"q");
    assert_eq!(crate::util::wait_child(&mut child).code(), Some(0));
}
