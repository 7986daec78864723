//! `tls:` listeners through the real binary, with socat's OPENSSL client and certificates the
//! test makes with `openssl req`: verification off and on, mutual TLS, a plain TCP client
//! dropped while the others go on, and one-line errors for missing or wrong files.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::util::{peer, TestEnv};

/// A self-signed certificate for localhost / 127.0.0.1 as `NAME.pem` and its key `NAME.key`.
fn certificate(env: &TestEnv, name: &str) {
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj"])
        .arg(format!("/CN={name}"))
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(env.path(&format!("{name}.key")))
        .arg("-out")
        .arg(env.path(&format!("{name}.pem")))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

/// A client certificate `NAME.pem` (key `NAME.key`) signed by the certificate authority `CA`.
fn signed(env: &TestEnv, ca: &str, name: &str) {
    let run = |args: &[&str]| {
        let status = Command::new("openssl")
            .current_dir(env.root())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "openssl {args:?}");
    };
    let (key, csr, pem) = (format!("{name}.key"), format!("{name}.csr"), format!("{name}.pem"));
    let subject = format!("/CN={name}");
    run(&[
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", &subject, "-keyout", &key, "-out", &csr,
    ]);
    env.write("client.ext", "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n");
    let (ca_pem, ca_key) = (format!("{ca}.pem"), format!("{ca}.key"));
    run(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca_pem,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "client.ext",
        "-out",
        &pem,
    ]);
}

/// Sends `text` with socat to `address` (`OPENSSL:…` or `TCP:…`); whether socat succeeded.
fn socat(env: &TestEnv, address: &str, text: &str) -> bool {
    let mut child = Command::new("socat")
        .current_dir(env.root())
        .args(["-", address])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    child.wait().unwrap().success()
}

#[test]
fn tls_clients_are_read_and_a_plain_one_is_dropped() {
    if !peer("socat") || !peer("openssl") {
        return;
    }
    let env = TestEnv::new();
    certificate(&env, "server");
    let run = env
        .cmd()
        .args(["--tls-cert", "server.pem", "--tls-key", "server.key", "sec=tls:0", "tcp:0"])
        .spawn();
    let port = run.port("tls:0");
    let at = format!("127.0.0.1:{port}");
    assert!(socat(&env, &format!("OPENSSL:{at},verify=0"), "unverified\n"));
    run.wait_stdout("[sec] unverified\n");
    // Plain TCP to the TLS port: refused with a note, never shown.
    socat(&env, &format!("TCP:{at}"), "in the clear\n");
    run.wait_stderr("refused a connection from 127.0.0.1");
    assert!(run.stderr_string().contains("TLS handshake failed"), "{}", run.stderr_string());
    // Verified against the test's own certificate; the listener went on.
    assert!(socat(
        &env,
        &format!("OPENSSL:{at},cafile=server.pem,commonname=localhost"),
        "verified\n"
    ));
    run.wait_stdout("[sec] verified\n");
    assert!(!run.stdout_string().contains("in the clear"));
}

#[test]
fn mutual_tls_takes_only_clients_with_a_known_certificate() {
    if !peer("socat") || !peer("openssl") {
        return;
    }
    let env = TestEnv::new();
    certificate(&env, "server");
    certificate(&env, "ca");
    certificate(&env, "other-ca");
    signed(&env, "ca", "client");
    signed(&env, "other-ca", "stranger");
    let run = env
        .cmd()
        .args(["--tls-cert", "server.pem", "--tls-key", "server.key", "--tls-client-ca", "ca.pem"])
        .arg("tls:0")
        .spawn();
    let at = format!("127.0.0.1:{}", run.port("tls:0"));
    socat(&env, &format!("OPENSSL:{at},verify=0,cert=stranger.pem,key=stranger.key"), "stranger\n");
    run.wait_stderr("TLS handshake failed");
    assert!(socat(
        &env,
        &format!("OPENSSL:{at},verify=0,cert=client.pem,key=client.key"),
        "known\n"
    ));
    run.wait_stdout("[tls:0] known\n");
    assert!(!run.stdout_string().contains("stranger"));
}

#[test]
fn missing_or_wrong_files_are_one_line_errors() {
    if !peer("openssl") {
        return;
    }
    let env = TestEnv::new();
    certificate(&env, "server");
    let cases: [(&[&str], i32, &str); 4] = [
        (
            &["--tls-cert", "nope.pem", "--tls-key", "server.key", "tls:0"],
            1,
            "--tls-cert nope.pem: cannot read",
        ),
        (
            &["--tls-cert", "server.key", "--tls-key", "server.key", "tls:0"],
            1,
            "--tls-cert server.key: no certificate in it",
        ),
        (&["tls:0"], 2, "tls:0: needs --tls-cert FILE and --tls-key FILE"),
        (&["--tls-cert", "server.pem", "a.log"], 2, "are for tls: sources"),
    ];
    for (args, code, msg) in cases {
        let out = env.cmd().args(args).run();
        assert_eq!(out.code(), Some(code), "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(msg) && out.stderr.lines().count() == 1,
            "{args:?}: {}",
            out.stderr
        );
    }
}

/// rsyslog's TLS network driver, if installed (Debian: rsyslog-gnutls).
fn rsyslog_gtls() -> bool {
    let found =
        ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/lib64"]
            .iter()
            .any(|d| std::path::Path::new(d).join("rsyslog/lmnsd_gtls.so").exists());
    assert!(
        found || std::env::var_os("MUX_TAIL_REQUIRE_PEERS").is_none(),
        "rsyslog-gnutls is required (MUX_TAIL_REQUIRE_PEERS is set) but not installed"
    );
    found
}

#[test]
fn rsyslogd_forwards_over_tls() {
    if !peer("rsyslogd") || !peer("openssl") || !rsyslog_gtls() {
        return;
    }
    let env = TestEnv::new();
    certificate(&env, "server");
    let run = env
        .cmd()
        .args(["--no-label", "--tls-cert", "server.pem", "--tls-key", "server.key", "tls:0"])
        .spawn();
    let port = run.port("tls:0");
    let global = format!("DefaultNetstreamDriverCAFile=\"{}\"", env.path("server.pem").display());
    let action = format!(
        "action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{port}\" protocol=\"tcp\" \
         StreamDriver=\"gtls\" StreamDriverMode=\"1\" StreamDriverAuthMode=\"anon\")"
    );
    let err =
        crate::util::rsyslog::forward(&env, &global, &action, "through rsyslog over tls", || {
            run.stdout_string().contains("through rsyslog over tls")
        });
    for line in run.stdout_string().lines() {
        assert!(line.contains("through rsyslog over tls"), "{line:?} ({err})");
    }
}
