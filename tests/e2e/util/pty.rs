//! Pseudo-terminals for tests: run a command with a terminal as its controlling terminal.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
use rustix::termios::{tcsetwinsize, Winsize};

use super::{bin, Collected, TestEnv};

/// The master side of a pseudo-terminal, with everything the terminal showed collected.
pub struct Pty {
    master: File,
    slave: OwnedFd,
    /// What the terminal received (output of the programs on it).
    pub screen: Collected,
}

impl Pty {
    /// A new terminal of `cols` x `rows`.
    pub fn new(cols: u16, rows: u16) -> Pty {
        let master =
            openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).unwrap();
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let name = ptsname(&master, Vec::new()).unwrap();
        let slave: OwnedFd =
            File::options().read(true).write(true).open(name.to_str().unwrap()).unwrap().into();
        let size = Winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
        tcsetwinsize(&slave, size).unwrap();
        let master = File::from(master);
        let screen = Collected::from(master.try_clone().unwrap());
        Pty { master, slave, screen }
    }

    /// A handle on the terminal device itself (as a program on it sees it).
    pub fn slave(&self) -> &OwnedFd {
        &self.slave
    }

    /// A `Stdio` for the terminal device.
    pub fn stdio(&self) -> Stdio {
        Stdio::from(self.slave.try_clone().unwrap())
    }

    /// mux-tail as a user starts it on this terminal: in `env`'s directory, a clean environment
    /// with `TERM=xterm`, stdout and stderr on the terminal, stdin closed. Change what the test
    /// needs, then [`Pty::spawn`] it.
    pub fn command(&self, env: &TestEnv) -> Command {
        self.command_of(env, bin())
    }

    /// [`Pty::command`] for another program (a shell running a pipeline).
    pub fn command_of(&self, env: &TestEnv, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = env.clean_command(program);
        cmd.env("TERM", "xterm").stdout(self.stdio()).stderr(self.stdio());
        cmd
    }

    /// Starts `cmd` in a new session with this terminal as its controlling terminal.
    ///
    /// The caller chooses which of stdin, stdout and stderr are the terminal.
    pub fn spawn(&self, mut cmd: Command) -> Child {
        let fd = self.slave.as_raw_fd();
        // SAFETY: only async-signal-safe system calls run between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                rustix::process::setsid()?;
                let tty = std::os::fd::BorrowedFd::borrow_raw(fd);
                rustix::process::ioctl_tiocsctty(tty)?;
                Ok(())
            });
        }
        cmd.spawn().expect("cannot start a command on the pty")
    }

    /// Types bytes on the terminal's keyboard.
    pub fn send(&self, bytes: &[u8]) {
        (&self.master).write_all(bytes).unwrap();
    }

    /// The terminal's current mode, as a program on it sees it.
    pub fn termios(&self) -> rustix::termios::Termios {
        rustix::termios::tcgetattr(self.slave.as_fd()).unwrap()
    }
}
