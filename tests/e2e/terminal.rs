//! The terminal as a user sees it: mux-tail inside tmux, a real terminal emulator with a
//! scrollback, resized as a user resizes a window; the screen read back with `capture-pane`.

use std::process::{Command, Output};

use crate::util::{bin, peer, wait_until, TestEnv};

/// A tmux server of its own, running one window.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `args` (after the mux-tail binary) in a `cols` x `rows` window in `env`'s directory.
    pub fn start(env: &TestEnv, cols: u16, rows: u16, args: &str) -> Tmux {
        let socket = format!("mux-tail-test-{}", env.root().file_name().unwrap().to_string_lossy());
        let t = Tmux { socket };
        let command = format!("exec '{}' {args}", bin());
        let (x, y) = (cols.to_string(), rows.to_string());
        let root = env.root().to_str().unwrap();
        t.run(&["-f", "/dev/null", "new-session", "-d", "-s", "t", "-c", root, "-x", &x, "-y", &y]);
        t.run(&["set-option", "-g", "history-limit", "100000"]);
        t.run(&["set-option", "-g", "remain-on-exit", "on"]);
        t.run(&["respawn-pane", "-k", "-t", "t", &command]);
        t
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = Command::new("tmux").arg("-L").arg(&self.socket).args(args).output().unwrap();
        assert!(out.status.success(), "tmux {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out
    }

    /// The rows on screen now.
    pub fn screen(&self) -> Vec<String> {
        let out = self.run(&["capture-pane", "-p", "-t", "t"]);
        String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
    }

    /// Everything the window holds: the scrollback, then the screen.
    pub fn history(&self) -> Vec<String> {
        let out = self.run(&["capture-pane", "-p", "-t", "t", "-S", "-", "-E", "-"]);
        String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
    }

    /// Waits until some row on screen satisfies `cond`.
    pub fn wait_row(&self, what: &str, cond: impl Fn(&str) -> bool) {
        wait_until(what, || self.screen().iter().any(|r| cond(r)));
    }

    /// Types `text` (literally: no key names).
    pub fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "t", "-l", text]);
    }

    pub fn resize(&self, cols: u16, rows: u16) {
        self.run(&["resize-window", "-t", "t", "-x", &cols.to_string(), "-y", &rows.to_string()]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").arg("-L").arg(&self.socket).arg("kill-server").output();
    }
}

#[test]
fn resizing_the_window_never_loses_a_line() {
    if !peer("tmux") {
        return;
    }
    let env = TestEnv::new();
    env.write("a.log", "");
    let t = Tmux::start(&env, 140, 40, "--color=never -n 0 a.log");
    t.wait_row("the status line", |r| r.starts_with("? help | [1] a.log"));
    let mut n = 0;
    for (cols, rows) in [(80, 20), (140, 40), (100, 30), (140, 40), (80, 20), (200, 60)] {
        for _ in 0..25 {
            n += 1;
            env.append("a.log", format!("{n}\n"));
        }
        let last = format!("[a.log] {n}");
        t.wait_row(&last, |r| r == last);
        t.resize(cols, rows);
        // The status line is drawn again on the new bottom row.
        wait_until("the status line at the bottom", || {
            let screen = t.screen();
            screen.len() == rows as usize
                && screen.last().is_some_and(|r| r.starts_with("? help | [1] a.log"))
        });
    }
    n += 1;
    env.append("a.log", format!("{n}\n"));
    let last = format!("[a.log] {n}");
    t.wait_row(&last, |r| r == last);
    let shown: Vec<usize> = t
        .history()
        .iter()
        .filter_map(|r| r.strip_prefix("[a.log] ").and_then(|l| l.trim_end().parse().ok()))
        .collect();
    assert_eq!(shown, (1..=n).collect::<Vec<_>>(), "every line, once, in order");
}

#[test]
fn what_is_typed_at_a_prompt_stays_in_view_on_a_narrow_terminal() {
    if !peer("tmux") {
        return;
    }
    let env = TestEnv::new();
    env.write("a.log", "");
    let t = Tmux::start(&env, 30, 12, "--color=never -n 0 a.log");
    t.wait_row("the status line", |r| r.starts_with("? help | [1]"));
    t.type_text("a/var/log/some/long/path/name.log");
    // The prompt's own text gives way: the end of the path, where the cursor is, shows.
    t.wait_row("the typed path's end", |r| {
        r.starts_with('…') && r.trim_end().ends_with("path/name.log")
    });
    t.type_text("\x1b");
    t.wait_row("the status line again", |r| r.starts_with("? help | [1]"));
}

#[test]
fn on_a_terminal_an_events_lines_are_marked_and_l_counts_events() {
    if !peer("tmux") {
        return;
    }
    let env = TestEnv::new();
    env.write("a.log", "");
    let t = Tmux::start(
        &env,
        120,
        30,
        "--color=never -n 0 --multiline java --multiline-timeout 100ms a.log",
    );
    t.wait_row("the status line", |r| r.starts_with("? help | [1] a.log"));
    env.append(
        "a.log",
        "ERROR failed\njava.lang.IllegalStateException: boom\n\tat a.B.c(B.java:1)\n",
    );
    t.wait_row("the last frame", |r| {
        r.starts_with("[a.log] │ ") && r.trim_end().ends_with("at a.B.c(B.java:1)")
    });
    let screen = t.screen();
    assert!(screen.iter().any(|r| r == "[a.log] ERROR failed"), "{screen:#?}");
    assert!(
        screen.iter().any(|r| r == "[a.log] │ java.lang.IllegalStateException: boom"),
        "{screen:#?}"
    );
    t.run(&["send-keys", "-t", "t", "l"]);
    // One event of three lines.
    t.wait_row("the list", |r| {
        let cells: Vec<&str> = r.split_whitespace().collect();
        cells.len() >= 6 && cells[1] == "a.log" && cells[3] == "1" && cells[4] == "3"
    });
}
