use super::*;

/// Real lines from real programs, and the level each shows (`None`: it shows none).
const LINES: &[(&str, &str, Option<Level>)] = &[
    // nginx
    ("nginx access", r#"127.0.0.1 - - [02/Dec/2026:10:00:00 +0000] "GET /api HTTP/1.1" 200 512 "-" "curl/8.5.0""#, None),
    ("nginx access 500", r#"10.0.0.7 - - [02/Dec/2026:10:00:01 +0000] "POST /login HTTP/2.0" 500 0 "-" "Mozilla/5.0""#, None),
    ("nginx error", "2026/12/02 10:00:00 [error] 1234#1234: *5 connect() failed (111: Connection refused) while connecting to upstream", Some(Level::Error)),
    ("nginx warn", "2026/12/02 10:00:00 [warn] 1234#1234: *1 an upstream response is buffered to a temporary file", Some(Level::Warn)),
    ("nginx notice", "2026/12/02 10:00:00 [notice] 1#1: signal process started", Some(Level::Notice)),
    // Apache
    ("apache 2.4 error", "[Wed Dec 02 10:00:00.123456 2026] [core:error] [pid 4242:tid 140] [client 10.0.0.1:5000] AH00037: Symbolic link not allowed", Some(Level::Error)),
    ("apache 2.4 warn", "[Wed Dec 02 10:00:00.123456 2026] [proxy_fcgi:warn] [pid 7] AH01071: Got error 'x'", Some(Level::Warn)),
    ("apache 2.2", "[Wed Dec 02 10:00:00 2026] [error] [client 10.0.0.1] File does not exist: /var/www/favicon.ico", Some(Level::Error)),
    ("apache access", r#"10.0.0.1 - frank [02/Dec/2026:10:00:00 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#, None),
    // logback / log4j
    ("logback", "2026-12-02 10:00:00.123 [main] INFO  c.e.App - Started App in 1.2 seconds", Some(Level::Info)),
    ("logback warn", "2026-12-02 10:00:00.123  WARN 4242 --- [nio-8080-exec-1] o.s.w.s.PageNotFound : No mapping for GET /x", Some(Level::Warn)),
    ("log4j error", "10:00:00.123 [http-nio-8080-exec-1] ERROR com.example.Api - request failed", Some(Level::Error)),
    ("java frame", "\tat com.example.Api.handle(Api.java:42)", None),
    // Python logging
    ("python default", "WARNING:root:disk almost full", Some(Level::Warn)),
    ("python format", "2026-12-02 10:00:00,123 - app.db - ERROR - query failed", Some(Level::Error)),
    ("python critical", "2026-12-02 10:00:00,123 CRITICAL [app] out of memory", Some(Level::Fatal)),
    ("python exception", "ValueError: invalid literal for int() with base 10: 'x'", None),
    // Go
    ("slog text", r#"time=2026-12-02T10:00:00.000Z level=WARN msg="slow query" took=1.2s"#, Some(Level::Warn)),
    ("slog json", r#"{"time":"2026-12-02T10:00:00Z","level":"ERROR","msg":"boom","err":"EOF"}"#, Some(Level::Error)),
    ("zap json", r#"{"level":"info","ts":1764669600.123,"caller":"app/main.go:42","msg":"listening"}"#, Some(Level::Info)),
    ("zap console", "2026-12-02T10:00:00.000Z\tDEBUG\tapp/main.go:42\tcache warm", Some(Level::Debug)),
    ("go log", "2026/12/02 10:00:00 http: TLS handshake error from 10.0.0.1:5000: EOF", None),
    ("go panic", "panic: runtime error: invalid memory address or nil pointer dereference", Some(Level::Fatal)),
    ("logrus", r#"time="2026-12-02T10:00:00Z" level=info msg="started" port=8080"#, Some(Level::Info)),
    // klog
    ("klog error", "E1202 10:00:00.123456    4242 reflector.go:138] failed to list *v1.Pod: timeout", Some(Level::Error)),
    ("klog info", "I1202 10:00:00.123456       1 leaderelection.go:248] attempting to acquire leader lease", Some(Level::Info)),
    ("klog warn", "W1202 10:00:00.000001       1 warnings.go:70] v1 Endpoints is deprecated", Some(Level::Warn)),
    ("not klog", "Events: 3 pending", None),
    // pino / bunyan
    ("pino", r#"{"level":30,"time":1764669600123,"pid":42,"hostname":"web","msg":"request completed"}"#, Some(Level::Info)),
    ("pino error", r#"{"level":50,"time":1764669600123,"msg":"failed"}"#, Some(Level::Error)),
    ("bunyan", r#"{"name":"api","hostname":"web","pid":42,"level":40,"msg":"slow","time":"2026-12-02T10:00:00.000Z","v":0}"#, Some(Level::Warn)),
    ("bunyan fatal", r#"{"name":"api","level":60,"msg":"exit"}"#, Some(Level::Fatal)),
    ("json severity", r#"{"severity":"WARNING","message":"quota near"}"#, Some(Level::Warn)),
    ("ecs", r#"{"@timestamp":"2026-12-02T10:00:00Z","log.level":"error","message":"x"}"#, Some(Level::Error)),
    ("json without level", r#"{"msg":"ERROR in message text","n":1}"#, None),
    // systemd / syslog
    ("rfc3164", "<34>Dec  2 10:00:00 web su: 'su root' failed for lonvick on /dev/pts/8", Some(Level::Fatal)),
    ("rfc3164 info", "<30>Dec  2 10:00:00 web systemd[1]: Started Session 4 of user root.", Some(Level::Info)),
    ("rfc5424", "<165>1 2026-12-02T10:00:00.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\"] An application event", Some(Level::Notice)),
    ("rfc5424 err", "<11>1 2026-12-02T10:00:00Z host app 42 - - disk failure", Some(Level::Error)),
    ("journal short", "Dec 02 10:00:00 web sshd[4242]: Accepted publickey for root from 10.0.0.1 port 5000", None),
    ("journal text", "Dec 02 10:00:00 web kernel: usb 1-1: new high-speed USB device number 2 using xhci_hcd", None),
    ("not a pri", "<html> error page", None),
    // Sentences and look-alikes
    ("sentence", "no error here, all requests served", None),
    ("mid-line lower", "2026-12-02 10:00:00 request finished with error code 0", None),
    ("compound", "ERROR_CODE=5 written", None),
    ("gcc", "error: expected ';' before '}' token", Some(Level::Error)),
    ("segfault", "Segmentation fault (core dumped)", None),
    ("bracketed lower", "[warning] low disk", Some(Level::Warn)),
    ("first wins", "2026-12-02 INFO retrying after ERROR", Some(Level::Info)),
    ("informational", r#"{"severity":"Informational","message":"x"}"#, Some(Level::Info)),
    ("angle, not a pri", "<worker> ERROR disk full", Some(Level::Error)),
];

#[test]
fn real_lines_get_their_level_and_no_other() {
    let mut wrong = Vec::new();
    for &(what, line, want) in LINES {
        let got = detect(line.as_bytes());
        if got.as_ref().map(|f| f.level) != want {
            wrong.push(format!("{what}: {got:?}, want {want:?}\n    {line}"));
        }
        if let Some(found) = got {
            assert!(found.at.end <= line.len() && found.at.start < found.at.end, "{what}");
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_marker_is_where_the_level_is_written() {
    let at = |line: &str| {
        let f = detect(line.as_bytes()).unwrap();
        line[f.at].to_string()
    };
    assert_eq!(at("2026-12-02 10:00:00.123 [main] INFO  c.e.App - up"), "INFO");
    assert_eq!(at(r#"{"level":"warn","msg":"x"}"#), "warn");
    assert_eq!(at(r#"{"level":40}"#), "40");
    assert_eq!(at("<11>1 2026-12-02T10:00:00Z host"), "<11>");
    assert_eq!(at("E1202 10:00:00.123456 1 a.go:1] x"), "E");
    assert_eq!(at(r#"ts=1 level="error" msg=x"#), "error");
    assert_eq!(at("[Wed Dec 02 2026] [core:error] x"), "error");
}

#[test]
fn only_a_prefix_is_looked_at() {
    let late = format!("{} ERROR", "x".repeat(PREFIX));
    assert_eq!(detect(late.as_bytes()), None);
    let early = format!("ERROR {}", "x".repeat(1 << 20));
    assert_eq!(detect(early.as_bytes()).map(|f| f.level), Some(Level::Error));
}

#[test]
fn names_and_order() {
    assert!(
        Level::Trace < Level::Debug && Level::Warn < Level::Error && Level::Error < Level::Fatal
    );
    for level in Level::ALL {
        assert_eq!(Level::named(level.name().as_bytes()), Some(level));
    }
    assert_eq!(Level::named(b"Warning"), Some(Level::Warn));
    assert_eq!(Level::named(b"loud"), None);
}

#[test]
fn the_fast_check_agrees_with_a_byte_by_byte_one() {
    for b in 0..=255u8 {
        for at in 0..40 {
            let mut hay = vec![b'x'; 40];
            hay[at] = b;
            let want = (b'A'..=b'[').contains(&b) || b == b'=';
            assert_eq!(may_mark(&hay), want, "byte {b} at {at}");
            assert_eq!(may_mark_swar(&hay), want, "byte {b} at {at}");
        }
    }
}
