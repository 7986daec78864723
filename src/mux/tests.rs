//! The loop, driven with real sources and a stand-in writer that reports what it was sent.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::Notify;

use super::*;
use crate::line::LineLimits;
use crate::source::Lookup;

/// How long any one thing may take to happen.
const DEADLINE: Duration = Duration::from_secs(30);

fn options(follow: bool) -> SourceOptions {
    SourceOptions {
        initial: Initial::From(1),
        follow,
        lines: LineLimits { max_line_bytes: 1 << 20, pending: Default::default() },
        max_connections: 8,
        end_when_gone: false,
        allow: Arc::new([]),
        glob_empty: false,
        glob_ended: None,
        restart: false,
        exclude: Default::default(),
        tls: None,
    }
}

/// What the stand-in writer saw, one string per message: `ID:LINE` for lines.
struct Seen(mpsc::UnboundedReceiver<String>, Vec<String>);

impl Seen {
    /// Waits until a message equal to `want` arrives; everything seen is kept.
    async fn wait(&mut self, want: &str) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while !self.1.iter().any(|s| s == want) {
            match tokio::time::timeout_at(deadline, self.0.recv()).await {
                Ok(Some(s)) => self.1.push(s),
                _ => panic!("never saw {want:?}; saw {:?}", self.1),
            }
        }
    }
}

/// Runs `mux` with a writer that reports each message; returns the commands' sender, what was
/// seen, and the loop's task.
fn start(
    mux: Mux,
) -> (mpsc::Sender<Command>, Seen, tokio::task::JoinHandle<anyhow::Result<ExitCode>>) {
    let (tx, mut rx) = mpsc::channel::<Out>(8);
    let (end_tx, end) = mpsc::unbounded_channel();
    let (seen_tx, seen) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        fn texts(msg: Out) -> Vec<String> {
            match msg {
                Out::Lines(id, lines) => lines
                    .batch
                    .iter()
                    .map(|l| format!("{id}:{}", String::from_utf8_lossy(l)))
                    .collect(),
                Out::Stderr(lines) => lines,
                Out::Forget(id) => vec![format!("forget {id}")],
                Out::Many(all) => all.into_iter().flat_map(texts).collect(),
                other => vec![format!("{other:?}")],
            }
        }
        while let Some(msg) = rx.recv().await {
            for text in texts(msg) {
                let _ = seen_tx.send(text);
            }
        }
        let _ = end_tx.send(OutputEnd::Finished);
    });
    let (commands, received) = mpsc::channel(8);
    let tx = OutSender::queue_only(tx);
    let task = tokio::spawn(mux.run(Output { tx, end }, received, Signals::none()));
    (commands, Seen(seen, Vec::new()), task)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn spec(arg: &str) -> SourceSpec {
    SourceSpec::parse(arg).unwrap()
}

static GATE: Notify = Notify::const_new();

/// A resolver that answers only once the test opens the gate.
fn gated_resolver(_host: String, port: u16) -> Lookup {
    Box::pin(async move {
        GATE.notified().await;
        Ok(SocketAddr::from(([127, 0, 0, 1], port)))
    })
}

#[test]
fn a_slow_name_look_up_does_not_hold_the_other_sources() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    std::fs::write(&log, "first\n").unwrap();
    runtime().block_on(async {
        let mut mux = Mux::new(options(true), Mode::Stderr, Filters::default(), false);
        mux.resolver = gated_resolver;
        mux.attach_all(vec![spec(log.to_str().unwrap())]).await.unwrap();
        let (commands, mut seen, task) = start(mux);
        seen.wait("0:first").await;
        commands.send(Command::Attach("slow=tcp:slow.example:0".into())).await.unwrap();
        // While the name is being looked up, the file's new lines still come through.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .unwrap()
            .write_all(b"second\n")
            .unwrap();
        seen.wait("0:second").await;
        assert!(!seen.1.iter().any(|s| s.starts_with("attached")), "{:?}", seen.1);
        GATE.notify_one();
        seen.wait("attached [2] slow").await;
        commands.send(Command::Quit).await.unwrap();
        assert_eq!(task.await.unwrap().unwrap(), ExitCode::SUCCESS);
    });
}

#[test]
fn detaching_a_glob_detaches_its_files() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.log", "b.log", "c.txt"] {
        std::fs::write(dir.path().join(name), format!("{name}\n")).unwrap();
    }
    let glob = format!("{}/*.log", dir.path().display());
    runtime().block_on(async {
        let mut mux = Mux::new(options(true), Mode::Stderr, Filters::default(), false);
        mux.attach_all(vec![spec(&glob)]).await.unwrap();
        let (commands, mut seen, task) = start(mux);
        seen.wait("1:a.log").await;
        seen.wait("2:b.log").await;
        commands.send(Command::Detach(1)).await.unwrap();
        seen.wait("forget 0").await;
        seen.wait("forget 1").await;
        seen.wait("forget 2").await;
        seen.wait(&format!("detached [1] {glob}")).await;
        // Nothing is left to follow: the loop ends by itself.
        assert_eq!(task.await.unwrap().unwrap(), ExitCode::SUCCESS);
        drop(commands);
    });
}

#[test]
fn the_loop_ends_when_every_source_ended_and_a_failure_is_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    std::fs::write(&log, "1\n2\n3\n").unwrap();
    runtime().block_on(async {
        let mut mux = Mux::new(options(false), Mode::Off, Filters::default(), false);
        mux.attach_all(vec![spec(log.to_str().unwrap()), spec("cmd:exit 3")]).await.unwrap();
        let (_commands, mut seen, task) = start(mux);
        let code = task.await.unwrap().unwrap();
        for want in ["0:1", "0:2", "0:3"] {
            seen.wait(want).await;
        }
        seen.wait("cmd:exit 3: exited with status 3").await;
        assert_eq!(code, ExitCode::from(1));
    });
}

#[test]
fn exit_codes() {
    let code = |exit: Exit, end: OutputEnd, failed: bool| exit_code(&exit, end, failed).unwrap();
    assert_eq!(code(Exit::Signal(libc::SIGINT), OutputEnd::Finished, true), ExitCode::from(130));
    assert_eq!(code(Exit::Signal(libc::SIGTERM), OutputEnd::Finished, false), ExitCode::from(143));
    assert_eq!(code(Exit::Ended, OutputEnd::Finished, true), ExitCode::from(1));
    assert_eq!(code(Exit::Quit, OutputEnd::Finished, false), ExitCode::SUCCESS);
    // A reader that went away is a quiet end, whatever else happened — but a signal.
    assert_eq!(code(Exit::Output, OutputEnd::Closed, true), ExitCode::SUCCESS);
    assert_eq!(code(Exit::Signal(libc::SIGINT), OutputEnd::Closed, false), ExitCode::from(130));
    let full = std::io::Error::from_raw_os_error(libc::ENOSPC);
    let err = exit_code(&Exit::Output, OutputEnd::Failed(full), false).unwrap_err();
    assert!(format!("{err:#}").starts_with("cannot write to standard output: "), "{err:#}");
}

#[test]
fn output_waits_for_the_dismiss_command_not_the_parsers_flag() {
    runtime().block_on(async {
        let mut mux = Mux::new(options(true), Mode::Stderr, Filters::default(), false);
        mux.show_until_a_key(vec!["a list".into()]);
        assert!(mux.holding());
        // A key: the parser clears the shared flag at once; its `Dismiss` is still on the way,
        // and lines read meanwhile must not pass the ones held before them.
        assert!(mux.dismiss.swap(false, Ordering::Relaxed));
        assert!(mux.holding());
        assert!(!mux.command(Command::Dismiss).await);
        assert!(!mux.holding());
    });
}
