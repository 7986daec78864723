use super::*;

/// Now is 2026-12-02T12:00:00Z; local time is UTC+1.
fn clock() -> Clock {
    let tz = TimeZone::fixed(Offset::from_hours(1).unwrap());
    Clock::new(tz, "2026-12-02T12:00:00Z".parse().unwrap())
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Real lines and the time each was written at (`None`: it says none).
const LINES: &[(&str, &str, Option<&str>)] = &[
    ("rfc3339", "2026-12-02T10:00:00.123Z INFO up", Some("2026-12-02T10:00:00.123Z")),
    ("offset", "2026-12-02T10:00:00+02:00 x", Some("2026-12-02T08:00:00Z")),
    ("offset no colon", "2026-12-02T10:00:00.5-0130 x", Some("2026-12-02T11:30:00.5Z")),
    ("local, space", "2026-12-02 10:00:00 INFO up", Some("2026-12-02T09:00:00Z")),
    ("python comma", "2026-12-02 10:00:00,250 - app - ERROR - x", Some("2026-12-02T09:00:00.25Z")),
    ("nginx error", "2026/12/02 10:00:01 [error] 1#1: x", Some("2026-12-02T09:00:01Z")),
    ("slog", "time=2026-12-02T10:00:03.000Z level=INFO msg=x", Some("2026-12-02T10:00:03Z")),
    ("bsd syslog", "Dec  2 10:00:00 web sshd[42]: Accepted", Some("2026-12-02T09:00:00Z")),
    ("bsd two-digit day", "Nov 30 23:59:59 web cron[1]: x", Some("2026-11-30T22:59:59Z")),
    ("bsd last year", "Dec 31 10:00:00 web x", Some("2025-12-31T09:00:00Z")),
    ("rfc3164 pri", "<34>Dec  2 10:00:00 web su: x", Some("2026-12-02T09:00:00Z")),
    (
        "rfc5424",
        "<165>1 2026-12-02T10:00:00.003Z host app - ID47 - x",
        Some("2026-12-02T10:00:00.003Z"),
    ),
    (
        "clf",
        r#"10.0.0.1 - - [02/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5"#,
        Some("2026-12-02T10:00:00Z"),
    ),
    (
        "clf offset",
        r#"::1 - frank [02/Dec/2026:10:00:00 -0700] "GET /a" 200"#,
        Some("2026-12-02T17:00:00Z"),
    ),
    (
        "apache error",
        "[Wed Dec 02 10:00:00.123456 2026] [core:error] [pid 1] x",
        Some("2026-12-02T09:00:00.123456Z"),
    ),
    ("apache 2.2", "[Wed Dec 02 10:00:00 2026] [error] x", Some("2026-12-02T09:00:00Z")),
    (
        "klog",
        "E1202 10:00:00.123456    4242 reflector.go:138] x",
        Some("2026-12-02T09:00:00.123456Z"),
    ),
    (
        "json rfc3339",
        r#"{"level":"info","time":"2026-12-02T10:00:00Z","msg":"x"}"#,
        Some("2026-12-02T10:00:00Z"),
    ),
    (
        "json @timestamp",
        r#"{"@timestamp":"2026-12-02T10:00:00.5+01:00","message":"x"}"#,
        Some("2026-12-02T09:00:00.5Z"),
    ),
    ("pino ms", r#"{"level":30,"time":1796205600123,"msg":"x"}"#, Some("2026-12-02T10:00:00.123Z")),
    (
        "zap seconds",
        r#"{"level":"info","ts":1796205600.5,"msg":"x"}"#,
        Some("2026-12-02T10:00:00.5Z"),
    ),
    ("json t", r#"{"t":"2026-12-02 10:00:00","m":"x"}"#, Some("2026-12-02T09:00:00Z")),
    ("json without", r#"{"msg":"2026-12-02T10:00:00Z in text"}"#, None),
    ("frame", "\tat com.example.A.b(A.java:1)", None),
    ("plain", "GET /api 200 12ms", None),
    ("version", "release-2026-12 is out", None),
    ("not a date", "12345-12-02T10:00:00Z", None),
    ("bad month", "2026-13-02T10:00:00Z x", None),
    ("cut apache", "[ok] May", None),
    ("cut bsd", "Dec  2", None),
    ("cut klog", "E1202 1", None),
    ("cut clf", "[02/Dec/20", None),
    ("angle, not a pri", "<worker> 2026-12-02T10:00:00Z x", Some("2026-12-02T10:00:00Z")),
];

#[test]
fn real_lines_give_the_time_they_were_written_at() {
    let c = clock();
    let mut wrong = Vec::new();
    for &(what, line, want) in LINES {
        let got = timestamp(line.as_bytes(), &c);
        if got != want.map(ts) {
            wrong.push(format!("{what}: {got:?}, want {want:?}\n    {line}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn only_a_prefix_is_looked_at() {
    let c = clock();
    let late = format!("{} 2026-12-02T10:00:00Z", "x".repeat(PREFIX));
    assert_eq!(timestamp(late.as_bytes(), &c), None);
}

#[test]
fn when_is_ago_a_time_a_date_or_today() {
    let c = clock();
    let when = |s: &str| when(s, &c).map(|t| t.to_string());
    assert_eq!(when("90s").unwrap(), "2026-12-02T11:58:30Z");
    assert_eq!(when("10m").unwrap(), "2026-12-02T11:50:00Z");
    assert_eq!(when("2h").unwrap(), "2026-12-02T10:00:00Z");
    assert_eq!(when("1d").unwrap(), "2026-12-01T12:00:00Z");
    assert_eq!(when("2026-12-02T03:00:00Z").unwrap(), "2026-12-02T03:00:00Z");
    assert_eq!(when("2026-12-02T03:00:00+03:00").unwrap(), "2026-12-02T00:00:00Z");
    // Local (UTC+1) unless zoned.
    assert_eq!(when("2026-12-02 03:00").unwrap(), "2026-12-02T02:00:00Z");
    assert_eq!(when("2026-12-02 03:00:30").unwrap(), "2026-12-02T02:00:30Z");
    assert_eq!(when("2026-12-02").unwrap(), "2026-12-01T23:00:00Z");
    assert_eq!(when("03:00").unwrap(), "2026-12-02T02:00:00Z");
    for bad in ["yesterday", "25:00", "2026-13-01", "10x", "", "-5m"] {
        let e = when(bad).unwrap_err();
        assert!(e.starts_with(&format!("invalid time '{bad}'")), "{e}");
    }
}
