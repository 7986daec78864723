use super::*;
use proptest::prelude::*;

/// Groups `text`'s lines fed `per` lines at a time; the events as their lines.
fn group_chunked(rules: Rules, text: &str, per: usize) -> Vec<Vec<String>> {
    let lines: Vec<Vec<u8>> = text.lines().map(|l| l.as_bytes().to_vec()).collect();
    let rules = Arc::new(rules);
    let mut cache = rules.cache();
    let mut g = Grouper::new(rules);
    let mut out = Vec::new();
    let take = |batch: Option<Batch>, out: &mut Vec<Vec<String>>| {
        if let Some(b) = batch {
            for r in b.events() {
                out.push(r.map(|i| String::from_utf8_lossy(b.line(i)).into_owned()).collect());
            }
        }
    };
    for chunk in lines.chunks(per.max(1)) {
        let fed = g.feed(Batch::from(chunk.to_vec()), &mut cache);
        take(fed.completed, &mut out);
        take(fed.within, &mut out);
    }
    take(g.flush(), &mut out);
    out
}

fn group(preset: Preset, text: &str) -> Vec<Vec<String>> {
    let all = group_chunked(Rules::preset(preset, 1000, 1 << 20), text, 1000);
    // Line by line gives the same events.
    assert_eq!(group_chunked(Rules::preset(preset, 1000, 1 << 20), text, 1), all);
    all
}

/// The number of lines of each event.
fn sizes(events: &[Vec<String>]) -> Vec<usize> {
    events.iter().map(Vec::len).collect()
}

const JAVA_TRACE: &str = "\
2026-12-02 10:00:00.123 INFO  [main] c.e.App - started in 1.2s
2026-12-02 10:00:01.456 ERROR [http-nio-8080-exec-1] c.e.Api - request failed
java.lang.IllegalStateException: could not load user 42
\tat com.example.UserService.load(UserService.java:88)
\tat com.example.Api.handle(Api.java:31)
\tat java.base/java.lang.Thread.run(Thread.java:1583)
Caused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available
\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)
\t... 12 more
\tSuppressed: java.lang.RuntimeException: close failed
\t\tat com.example.Db.close(Db.java:12)
\t\t... 3 common frames omitted
2026-12-02 10:00:02.000 WARN  [main] c.e.App - slow: 3s
Exception in thread \"main\" java.lang.NullPointerException: Cannot invoke \"String.length()\"
\tat Main.main(Main.java:5)
2026-12-02 10:00:03.000 INFO  [main] c.e.App - Error handling is fine here
";

#[test]
fn java_a_logged_exception_with_causes_is_one_event() {
    let events = group(Preset::Java, JAVA_TRACE);
    // An uncaught exception right after a log line joins it, as a logged one does.
    assert_eq!(sizes(&events), [1, 11, 3, 1]);
    assert!(events[1][0].ends_with("request failed"));
    assert!(events[1][10].ends_with("3 common frames omitted"));
}

#[test]
fn java_a_header_not_after_a_log_line_starts_an_event() {
    let text = "\
first
\tat a.B.c(B.java:1)
java.lang.RuntimeException: second
\tat a.B.d(B.java:2)
";
    // The header comes after a frame, not right after a log line.
    assert_eq!(sizes(&group(Preset::Java, text)), [2, 2]);
}

const PYTHON_CHAINED: &str = "\
2026-12-02 10:00:00,001 INFO app: starting
2026-12-02 10:00:01,002 ERROR app: job failed
Traceback (most recent call last):
  File \"/srv/app/jobs.py\", line 12, in run
    total = 1 / count
            ~~^~~~~~~
ZeroDivisionError: division by zero

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File \"/srv/app/jobs.py\", line 14, in run
    raise ValueError(\"no items\") from None
ValueError: no items
2026-12-02 10:00:02,003 INFO app: next job
Traceback (most recent call last):
  File \"<stdin>\", line 1, in <module>
KeyError: 'x'
WARNING:root:careful
";

#[test]
fn python_chained_tracebacks_are_one_event() {
    let events = group(Preset::Python, PYTHON_CHAINED);
    assert_eq!(sizes(&events), [1, 13, 4, 1]);
    assert_eq!(events[1][12], "ValueError: no items");
    assert_eq!(events[2][1], "Traceback (most recent call last):");
    assert_eq!(events[3][0], "WARNING:root:careful");
}

const GO_PANIC: &str = "\
2026/12/02 10:00:00 listening on :8080
panic: runtime error: index out of range [5] with length 3

goroutine 1 [running]:
main.lookup(...)
\t/srv/app/main.go:12
main.main()
\t/srv/app/main.go:8 +0x1d

goroutine 18 [chan receive]:
net/http.(*conn).serve(0xc000114000, {0x6f7a30, 0xc0000a2000})
\t/usr/local/go/src/net/http/server.go:2009 +0x5f4
created by net/http.(*Server).Serve in goroutine 1
\t/usr/local/go/src/net/http/server.go:3086 +0x5cb
exit status 2
2026/12/02 10:00:05 restarted
2026/12/02 10:00:06 http: panic serving 10.0.0.7:51234: boom
goroutine 34 [running]:
net/http.(*conn).serve.func1()
\t/usr/local/go/src/net/http/server.go:1868 +0xb9
fatal error: all goroutines are asleep - deadlock!

goroutine 1 [chan receive]:
main.main()
\t/tmp/x.go:5 +0x25
";

#[test]
fn go_a_panic_through_its_goroutines_is_one_event() {
    let events = group(Preset::Go, GO_PANIC);
    assert_eq!(sizes(&events), [1, 14, 1, 4, 5]);
    assert_eq!(events[1][13], "exit status 2");
    assert!(events[4][0].starts_with("fatal error:"));
}

#[test]
fn indent_and_a_start_pattern() {
    let text = "a\n  b\n\tc\nd\ne\n e2\n";
    assert_eq!(sizes(&group(Preset::Indent, text)), [3, 1, 2]);
    let start = Regex::new(r"^\d{4}-").unwrap();
    let text = "2026-1 a\nmore\n  more\n2026-2 b\n2026-3 c\nx\n";
    let events = group_chunked(Rules::start_pattern(start, 1000, 1 << 20), text, 2);
    assert_eq!(sizes(&events), [3, 1, 2]);
}

#[test]
fn an_event_is_cut_at_its_limits_and_goes_on() {
    let text = "e\n x\n x\n x\n x\n x\nf\n";
    let events = group_chunked(Rules::preset(Preset::Indent, 4, 1 << 20), text, 3);
    assert_eq!(sizes(&events), [4, 2, 1]);
    let events = group_chunked(Rules::preset(Preset::Indent, 100, 5), text, 3);
    assert_eq!(sizes(&events), [3, 2, 1, 1], "bytes: e, ' x', ' x' is 5");
}

#[test]
fn an_idle_grouper_holds_nothing() {
    let rules = Arc::new(Rules::preset(Preset::Java, 1000, 1 << 20));
    let mut cache = rules.cache();
    let mut g = Grouper::new(rules);
    assert!(!g.is_open() && g.held() == 0);
    let fed = g.feed(Batch::from(vec![b"a".to_vec(), b"b".to_vec()]), &mut cache);
    assert!(fed.completed.is_none() && fed.started);
    assert_eq!(fed.within.unwrap().len(), 1);
    assert!(g.is_open());
    assert_eq!(g.flush().unwrap().len(), 1);
    assert!(!g.is_open() && g.held() == 0);
    assert!(g.flush().is_none());
}

proptest! {
    #[test]
    fn grouping_never_loses_reorders_or_repeats_a_line(
        lines in proptest::collection::vec(
            prop_oneof![
                Just("2026 INFO x".to_string()),
                Just("\tat a.B(B.java:1)".to_string()),
                Just("java.lang.Error: x".to_string()),
                Just("Caused by: y".to_string()),
                Just("".to_string()),
                Just("Traceback (most recent call last):".to_string()),
                Just("goroutine 1 [running]:".to_string()),
                Just("panic: z".to_string()),
                "[a-z \t]{0,6}",
            ],
            0..60),
        chunks in proptest::collection::vec(1usize..8, 1..20),
        preset in prop_oneof![Just(Preset::Java), Just(Preset::Python), Just(Preset::Go), Just(Preset::Indent)],
        max_lines in 1usize..6,
    ) {
        let rules = || Arc::new(Rules::preset(preset, max_lines, 1 << 20));
        let input: Vec<Vec<u8>> = lines.iter().map(|l| l.as_bytes().to_vec()).collect();
        let run = |cuts: &[usize]| {
            let rules = rules();
            let mut cache = rules.cache();
            let mut g = Grouper::new(rules);
            let mut events: Vec<Vec<Vec<u8>>> = Vec::new();
            let push = |b: Option<Batch>, events: &mut Vec<Vec<Vec<u8>>>| {
                if let Some(b) = b {
                    for r in b.events() {
                        events.push(r.map(|i| b.line(i).to_vec()).collect());
                    }
                }
            };
            let mut rest = &input[..];
            let mut k = 0;
            while !rest.is_empty() {
                let n = cuts[k % cuts.len()].min(rest.len());
                k += 1;
                let fed = g.feed(Batch::from(rest[..n].to_vec()), &mut cache);
                push(fed.completed, &mut events);
                push(fed.within, &mut events);
                rest = &rest[n..];
            }
            push(g.flush(), &mut events);
            events
        };
        let chunked = run(&chunks);
        let flat: Vec<Vec<u8>> = chunked.iter().flatten().cloned().collect();
        prop_assert_eq!(&flat, &input);
        prop_assert!(chunked.iter().all(|e| !e.is_empty() && e.len() <= max_lines));
        // How the lines were cut into batches changes nothing.
        prop_assert_eq!(run(&[1]), chunked.clone());
        prop_assert_eq!(run(&[1000]), chunked);
    }
}
