//! Output shaping: filters, highlight, templates, timestamps, JSON, generated docs.

use std::io::Write;
use std::net::TcpStream;
use std::process::Command;

use crate::util::{bin, TestEnv};

fn no_follow(env: &TestEnv, args: &[&str]) -> crate::util::Finished {
    env.cmd().arg("--no-follow").args(args).run()
}

#[test]
fn grep_keeps_any_exclude_drops_and_labels_are_not_matched() {
    let env = TestEnv::new();
    env.write("a.log", "error one\nwarn two\ninfo three\nerror healthcheck\nERROR four\n");
    let out = no_follow(&env, &["-e", "error", "-e", "warn", "-v", "health", "error=a.log"]);
    assert_eq!(out.stdout_string(), "[error] error one\n[error] warn two\n");
    let out = no_follow(&env, &["-i", "-e", "error", "-v", "HEALTH", "a.log"]);
    assert_eq!(out.stdout_string(), "[a.log] error one\n[a.log] ERROR four\n");
}

#[test]
fn an_invalid_regex_is_a_usage_error_quoting_it() {
    let env = TestEnv::new();
    for flag in ["-e", "-v", "--highlight"] {
        let out = env.cmd().args([flag, "a(b", "a.log"]).run();
        assert_eq!(out.code(), Some(2), "{flag}");
        assert_eq!(out.stderr, "mux-tail: invalid regex 'a(b': unclosed group\n");
    }
}

#[test]
fn highlight_only_when_colouring() {
    let env = TestEnv::new();
    env.write("a.log", "an error here\n");
    let out = no_follow(&env, &["--highlight", "err", "a.log"]);
    assert_eq!(out.stdout_string(), "[a.log] an error here\n", "piped output is unchanged");
    let out = no_follow(&env, &["--color=always", "-i", "--highlight", "ERR", "a.log"]);
    assert!(
        out.stdout_string().ends_with("an \x1b[1;41merr\x1b[0mor here\n"),
        "{:?}",
        out.stdout_string()
    );
}

#[test]
fn format_fills_every_placeholder() {
    let env = TestEnv::new();
    let run = env
        .cmd()
        .args(["--format", "{time}|{label}|{source}|{peer}|{line}|{{x}}", "net=tcp:0", "a.log"])
        .spawn();
    let port = run.port("tcp:0");
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.write_all(b"hello\n").unwrap();
    let local = conn.local_addr().unwrap().to_string();
    run.wait_stdout("|hello|{x}\n");
    env.append("a.log", "from file\n");
    run.wait_stdout("|from file|{x}\n");
    let out = run.stdout_string();
    let net = out.lines().find(|l| l.contains("hello")).unwrap();
    let fields: Vec<&str> = net.split('|').collect();
    assert_time(fields[0]);
    assert_eq!(&fields[1..], ["net", "tcp:0", &local, "hello", "{x}"]);
    let file = out.lines().find(|l| l.contains("from file")).unwrap();
    assert_eq!(
        &file.split('|').collect::<Vec<_>>()[1..],
        ["a.log", "a.log", "", "from file", "{x}"]
    );
}

fn assert_time(t: &str) {
    // 2026-11-26T13:45:12.345Z
    let b = t.as_bytes();
    assert_eq!(b.len(), 24, "{t}");
    for (i, c) in b.iter().enumerate() {
        match i {
            4 | 7 => assert_eq!(*c, b'-', "{t}"),
            10 => assert_eq!(*c, b'T', "{t}"),
            13 | 16 => assert_eq!(*c, b':', "{t}"),
            19 => assert_eq!(*c, b'.', "{t}"),
            23 => assert_eq!(*c, b'Z', "{t}"),
            _ => assert!(c.is_ascii_digit(), "{t}"),
        }
    }
}

#[test]
fn unknown_placeholder_is_a_usage_error_naming_it() {
    let env = TestEnv::new();
    let out = env.cmd().args(["--format", "{label} {lien}", "a.log"]).run();
    assert_eq!(out.code(), Some(2));
    assert!(
        out.stderr.starts_with("mux-tail: unknown placeholder {lien} in --format"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1);
}

#[test]
fn timestamps_prefix_the_arrival_time() {
    let env = TestEnv::new();
    env.write("a.log", "x\n");
    let out = no_follow(&env, &["-t", "a.log"]);
    let line = out.stdout_string();
    let (time, rest) = line.split_once(' ').unwrap();
    assert_time(time);
    assert_eq!(rest, "[a.log] x\n");
}

#[test]
fn json_parses_with_python_and_jq_and_keeps_exact_bytes() {
    if !crate::util::peer("jq") || !crate::util::peer("python3") {
        return;
    }
    let env = TestEnv::new();
    env.write("a.log", b"plain \"quoted\" \\ tab\t\n\xff\xfe latin \xe9\n\x1b[31mred\n");
    let run = env.cmd().args(["--json", "a.log", "net=tcp:0"]).spawn();
    let port = run.port("tcp:0");
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.write_all(b"over tcp\n").unwrap();
    run.wait_stdout("over tcp");
    run.stdout.wait_for("4 lines", |b| crate::util::count_lines(b) >= 4);
    let json = run.stdout.bytes();
    std::fs::write(env.path("out.json"), &json).unwrap();
    let check = r#"
import base64, json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
by_line = {r["line"]: r for r in rows}
assert by_line['plain "quoted" \\ tab\t']["label"] == "a.log"
bad = [r for r in rows if "line_base64" in r][0]
assert base64.b64decode(bad["line_base64"]) == b"\xff\xfe latin \xe9", bad
assert by_line["\x1b[31mred"]["source"] == "a.log"
net = by_line["over tcp"]
assert net["label"] == "net" and net["source"] == "tcp:0" and net["peer"].startswith("127.0.0.1:")
assert all("peer" not in r for r in rows if r["label"] == "a.log")
assert all(r["time"].endswith("Z") for r in rows)
print(len(rows))
"#;
    let py =
        Command::new("python3").arg("-c").arg(check).arg(env.path("out.json")).output().unwrap();
    assert!(py.status.success(), "{}", String::from_utf8_lossy(&py.stderr));
    assert_eq!(String::from_utf8_lossy(&py.stdout).trim(), "4");
    let jq = Command::new("jq").args(["-r", ".label"]).arg(env.path("out.json")).output().unwrap();
    assert!(jq.status.success(), "jq: {}", String::from_utf8_lossy(&jq.stderr));
    assert_eq!(String::from_utf8_lossy(&jq.stdout).lines().count(), 4);
}

/// The generated files as the repository holds them.
const GENERATED: [(&str, &str); 6] = [
    ("man", "man/mux-tail.1"),
    ("complete-bash", "completions/mux-tail.bash"),
    ("complete-zsh", "completions/_mux-tail"),
    ("complete-fish", "completions/mux-tail.fish"),
    ("complete-powershell", "completions/_mux-tail.ps1"),
    ("complete-elvish", "completions/mux-tail.elv"),
];

fn repo(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn generated_man_page_and_completions_are_up_to_date() {
    // MUX_TAIL_BLESS=1 cargo test generated  rewrites them.
    let bless = std::env::var_os("MUX_TAIL_BLESS").is_some();
    let mut stale = Vec::new();
    for (what, path) in GENERATED {
        let out = Command::new(bin()).args(["--generate", what]).output().unwrap();
        assert!(out.status.success(), "--generate {what}");
        let checked_in = std::fs::read(repo(path)).unwrap_or_default();
        if checked_in != out.stdout {
            if bless {
                std::fs::write(repo(path), &out.stdout).unwrap();
            } else {
                stale.push(path);
            }
        }
    }
    assert!(stale.is_empty(), "{stale:?} differ from --generate; rerun with MUX_TAIL_BLESS=1");
}

#[test]
fn man_page_renders_without_warnings() {
    if !crate::util::peer("man") {
        return;
    }
    let out = Command::new("man")
        .args(["--warnings", "-l"])
        .arg(repo("man/mux-tail.1"))
        .env("MANWIDTH", "80")
        .env("MANPAGER", "cat")
        .output()
        .expect("man (man-db) is needed: apt-get install man-db");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let text = String::from_utf8_lossy(&out.stdout);
    for section in ["SOURCES", "OPTIONS", "KEYS", "EXIT STATUS", "ENVIRONMENT", "EXAMPLES"] {
        assert!(text.contains(&format!("\n{section}\n")), "no {section} section");
    }
    // Header and footer agree: the manual is "User Commands", the source is the version.
    let (first, last) = (text.lines().next().unwrap(), text.trim_end().lines().last().unwrap());
    assert!(first.contains("User Commands"), "{first}");
    assert!(last.starts_with("mux-tail 0.") && !last.contains("General"), "{last}");
    for kind in ["TCP", "UDP", "Unix", "commands", "globs"] {
        assert!(text[..text.find("\nSOURCES\n").unwrap()].contains(kind), "DESCRIPTION: {kind}");
    }
}

fn shell(program: &str, script: &str) -> std::process::Output {
    Command::new(program)
        .arg("-c")
        .arg(script)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|e| panic!("{program} is needed for this test ({e})"))
}

#[test]
fn completions_load_in_bash() {
    let out = shell("bash", "source completions/mux-tail.bash && complete -p mux-tail");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("mux-tail"));
    // SOURCE kinds are offered beside file names.
    let out = shell(
        "bash",
        "source completions/mux-tail.bash; COMP_WORDS=(mux-tail c); COMP_CWORD=1; \
         _mux__tail_sources mux-tail c mux-tail; printf '%s\\n' \"${COMPREPLY[@]}\"",
    );
    let offered = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(offered.lines().any(|l| l == "cmd:"), "{offered}");
    assert!(offered.lines().any(|l| l == "completions"), "files too: {offered}");
}

#[test]
fn completions_load_in_zsh() {
    if !crate::util::peer("zsh") {
        return;
    }
    let out = shell(
        "zsh",
        "autoload -Uz compinit && compinit -u -d \"${TMPDIR:-/tmp}/mux-tail-zcomp-$$\" && \
         source completions/_mux-tail && print -r -- ${_comps[mux-tail]} && \
         whence -w _mux_tail_source",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(said.trim(), "_mux-tail\n_mux_tail_source: function");
}

#[test]
fn completions_load_in_fish() {
    if !crate::util::peer("fish") {
        return;
    }
    let out = shell("fish", "source completions/mux-tail.fish; complete -C'mux-tail --col'");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--color"));
    let out = shell("fish", "source completions/mux-tail.fish; complete -C'mux-tail tc'");
    assert!(String::from_utf8_lossy(&out.stdout).contains("tcp:"), "{out:?}");
    let out = shell("fish", "source completions/mux-tail.fish; complete -C'mux-tail --format '");
    let offered = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(offered.contains("{label} {line}") && !offered.contains("Cargo.toml"), "{offered}");
}

#[test]
fn grep_habits_fixed_strings_words_lines_and_counts() {
    let env = TestEnv::new();
    env.write("a.log", "a[1] here\nerr: disk\nstderr noise\nan error\nerr\n");
    env.write("b.log", "err\nok\n");
    let run = |args: &[&str]| env.cmd().arg("--no-follow").args(args).run();
    let out = run(&["--fixed-strings", "-e", "a[1]", "a.log"]);
    assert_eq!(out.stdout_string(), "[a.log] a[1] here\n");
    let out = run(&["-w", "-e", "err", "a.log"]);
    assert_eq!(out.stdout_string(), "[a.log] err: disk\n[a.log] err\n");
    let out = run(&["-x", "-v", "err", "b.log"]);
    assert_eq!(out.stdout_string(), "[b.log] ok\n");
    let out = run(&["-c", "-w", "-e", "err", "a.log", "b.log"]);
    assert_eq!((out.code(), out.stdout_string()), (Some(0), "a.log:2\nb.log:1\n".into()));
    // Whole files are counted, as grep -c does, unless -n says otherwise.
    let long: String = (1..=50).map(|i| format!("n {i}\n")).collect();
    env.write("long.log", long);
    assert_eq!(run(&["-c", "-e", "^n 1", "long.log"]).stdout_string(), "long.log:11\n");
    assert_eq!(run(&["-c", "-n", "3", "long.log"]).stdout_string(), "long.log:3\n");
    let out = env.cmd().args(["-c", "a.log"]).run();
    assert_eq!(out.code(), Some(2));
    assert!(out.stderr.contains("--count needs --no-follow"), "{}", out.stderr);
}

#[test]
fn a_commands_stderr_is_told_apart_in_templates_and_json() {
    let env = TestEnv::new();
    let cmd = "cmd:echo to-out; echo to-err >&2";
    let out = env.cmd().args(["--no-follow", "--format", "{stream} {line}", cmd]).run();
    let mut lines: Vec<_> = out.stdout_string().lines().map(str::to_string).collect();
    lines.sort();
    assert_eq!(lines, ["stderr to-err", "stdout to-out"]);
    let out = env.cmd().args(["--no-follow", "--json", cmd]).run();
    assert!(out.stdout_string().contains(r#""line":"to-err","#), "{}", out.stdout_string());
    assert!(out.stdout_string().contains(r#","stream":"stderr"}"#), "{}", out.stdout_string());
    // Other sources have no stream.
    env.write("a.log", "x\n");
    let out = env.cmd().args(["--no-follow", "--format", "[{stream}]", "a.log"]).run();
    assert_eq!(out.stdout_string(), "[]\n");
}
