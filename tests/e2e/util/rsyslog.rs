//! A real rsyslogd with a private configuration: syslog messages sent to it over UDP are
//! forwarded by `action` (an `omfwd` to mux-tail) until they arrive.

use std::io::Read;
use std::net::UdpSocket;
use std::process::{Command, Stdio};

use super::{peer_path, wait_until, TestEnv};

/// Runs rsyslogd with `global(workDirectory=… GLOBAL)`, a UDP input and `action`; sends it
/// `<14>… MESSAGE N` until `arrived()` says one came through; returns what rsyslogd said on
/// stderr.
pub fn forward(
    env: &TestEnv,
    global: &str,
    action: &str,
    message: &str,
    arrived: impl Fn() -> bool,
) -> String {
    let input = UdpSocket::bind("127.0.0.1:0").unwrap();
    let input_port = input.local_addr().unwrap().port();
    drop(input);
    std::fs::create_dir_all(env.path("work")).unwrap();
    let conf = format!(
        "global(workDirectory=\"{work}\" {global})\n\
         module(load=\"imudp\")\n\
         input(type=\"imudp\" address=\"127.0.0.1\" port=\"{input_port}\")\n\
         {action}\n",
        work = env.path("work").display()
    );
    env.write("rsyslog.conf", conf);
    let mut rsyslogd = Command::new(peer_path("rsyslogd").unwrap())
        .args(["-n", "-f"])
        .arg(env.path("rsyslog.conf"))
        .arg("-i")
        .arg(env.path("rsyslogd.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rsyslogd (rsyslog) is needed");
    // rsyslogd takes a moment to listen: send until a message comes through.
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut n = 0;
    wait_until("a message forwarded by rsyslogd", || {
        n += 1;
        let msg = format!("<14>Nov 26 12:00:00 host app: {message} {n}");
        sender.send_to(msg.as_bytes(), ("127.0.0.1", input_port)).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        arrived()
    });
    let _ = rsyslogd.kill();
    let mut err = String::new();
    let _ = rsyslogd.stderr.take().unwrap().read_to_string(&mut err);
    let _ = rsyslogd.wait();
    err
}
