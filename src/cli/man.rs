//! The man page: clap's synopsis and options, plus the sections a user reads `man` for.

use std::io::{self, Write};

use clap_mangen::roff::{bold, italic, roman, Inline, Roff};
use clap_mangen::Man;

/// Writes the whole man page for `cmd`.
pub fn write(cmd: clap::Command, out: &mut dyn Write) -> io::Result<()> {
    let man = Man::new(cmd).date("").manual("User Commands");
    // An empty date must still be an argument of its own: unquoted, it vanishes, the source
    // becomes the date and the manual's name falls back to "General Commands Manual".
    let mut title = Vec::new();
    man.render_title(&mut title)?;
    let title =
        String::from_utf8_lossy(&title).replacen(".TH mux-tail 1  ", ".TH mux-tail 1 \"\" ", 1);
    out.write_all(title.as_bytes())?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    let mut roff = Roff::new();
    description(&mut roff);
    sources(&mut roff);
    roff.to_writer(out)?;
    man.render_options_section(out)?;
    let mut roff = Roff::new();
    keys(&mut roff);
    output(&mut roff);
    exit_status(&mut roff);
    environment(&mut roff);
    examples(&mut roff);
    roff.to_writer(out)?;
    man.render_version_section(out)
}

fn section(roff: &mut Roff, title: &str) {
    roff.control("SH", [title]);
}

fn para(roff: &mut Roff, text: impl Into<Vec<Inline>>) {
    roff.control("PP", []);
    roff.text(text);
}

/// A tagged paragraph: `tag` in bold, then its text.
fn item(roff: &mut Roff, tag: &str, text: &str) {
    roff.control("TP", []);
    roff.text([bold(tag)]);
    roff.text([roman(text)]);
}

fn description(roff: &mut Roff) {
    section(roff, "DESCRIPTION");
    roff.text([roman(
        "mux-tail follows many log sources at once (files followed by name, globs, standard \
         input, TCP, UDP and Unix sockets, commands) and prints every line the moment it \
         arrives, tagged with where it came from: ",
    )]);
    roff.text([bold("[LABEL] LINE"), roman(".")]);
    para(
        roff,
        [roman(
            "Lines are never lost, repeated or spliced together. A slow reader slows the sources \
             down instead of making mux-tail grow. While it runs, keys read from the terminal \
             mute, detach and attach sources, also when its output is piped into ",
        ), bold("grep"), roman(".")],
    );
}

fn sources(roff: &mut Roff) {
    section(roff, "SOURCES");
    item(
        roff,
        "PATH",
        "A file, followed by name like tail -F: it survives rename rotation (the old file is \
         read to its end first), copytruncate and truncation (read again from the start, with a \
         note), deletion and re-creation, and symlinks switched to another target. A file (or \
         directory) that does not exist yet is waited for, with a note. Label: the path as given.",
    );
    item(roff, "-", "Standard input, until its end. Label: -.");
    item(
        roff,
        "tcp:PORT, tcp:HOST:PORT, tcp:[V6]:PORT",
        "A TCP listener. HOST defaults to 127.0.0.1: all interfaces only when asked \
         (tcp:0.0.0.0:PORT). Any number of clients may connect, up to --max-connections; each \
         connection's lines are kept whole, and a last line without a newline is printed when the \
         client closes. A connection using RFC 6587 octet-counting framing (logger --octet-count, \
         rsyslog) is detected and unframed into one line per message. tcp:0 picks a free port \
         and names it on stderr. Label: the spec.",
    );
    item(
        roff,
        "udp:[HOST:]PORT",
        "A UDP socket (syslog over UDP): each datagram is split into lines; a datagram without a \
         final newline is one line. HOST defaults to 127.0.0.1. Label: the spec.",
    );
    item(
        roff,
        "unix:PATH",
        "A Unix stream socket listener, with the same rules per connection as TCP. The socket \
         file is created owner-only (0600) and removed on exit; a stale one left by a dead \
         program is replaced, a live socket or another file at PATH is an error.",
    );
    item(
        roff,
        "cmd:COMMAND",
        "Runs sh -c COMMAND in a process group of its own; its stdout and stderr lines. The source \
         ends when the command exits (a non-zero status is noted). Detaching it, or quitting, \
         terminates the whole process group. Label: the spec.",
    );
    item(
        roff,
        "GLOB",
        "A path with wildcards (*, ?, [...], {a,b}, ** for any depth) anywhere in it, quoted so \
         that the shell leaves it alone ('logs/**/*.log', 'srv/*/logs/app.log'): every matching \
         file is a source of its own, labelled with its path, also files that appear later, in \
         directories made later too (read from their first line). Files that are deleted end. \
         With LABEL=, files are labelled LABEL:PATH, the path below the glob's fixed start. \
         --exclude-path leaves files out.",
    );
    item(
        roff,
        "LABEL=SOURCE",
        "Any of the above, labelled LABEL. Text before the first = is a label when it contains no \
         / and no :; write ./a=b for a file whose name contains =.",
    );
    para(
        roff,
        [roman(
            "With no SOURCE and standard input not a terminal, the source is -. A directory given \
             as a file, a spec that does not parse, or a port in use is a one-line error naming \
             the source, and nothing is followed.",
        )],
    );
}

fn keys(roff: &mut Roff) {
    section(roff, "KEYS");
    roff.text([roman(
        "Keys are read from the terminal (/dev/tty), also when stdout is piped, while mux-tail is \
         in the terminal's foreground process group. Sources are numbered in command-line order, \
         attached ones after.",
    )]);
    for (key, text) in [
        ("1-9", "Mute or unmute source N: its lines are dropped while muted."),
        ("m N Enter", "Mute or unmute any source N, also 10 and up."),
        (
            "d N",
            "Detach source N: its watch, listener and connections are closed. With ten or more \
             sources, a number that could go on waits for another digit or Enter.",
        ),
        ("a", "Attach: type a SOURCE and Enter (quotes around it are taken off, as a shell would); it is followed from now on."),
        (
            "p, space",
            "Pause or resume output. Held lines are kept (up to 8 MiB), then the sources are held \
             back; nothing is dropped.",
        ),
        ("/", "Filter: type a regex and Enter; only matching lines are shown. Empty clears it."),
        (
            "L",
            "Level: the least level shown goes all, warn and above, error and above, all again \
             (lines that show no level are always shown).",
        ),
        ("l", "List sources: number, label, state, lines and bytes seen, open connections."),
        ("?", "Help."),
        ("q, Ctrl-C", "Quit."),
    ] {
        item(roff, key, text);
    }
    para(
        roff,
        [roman(
            "The terminal is put in a mode that reads single keys without echo but keeps output \
             processing and signal keys, so a downstream grep writing to the same terminal does \
             not staircase. It is restored on every way out: q, Ctrl-C, SIGTERM, SIGHUP, a panic, \
             stdout closed, all sources ended. Ctrl-Z restores it and stops; fg sets key mode \
             again. When stdout is the terminal, a status line sits under the newest line (the bottom \
             row once the screen is full); resizing never loses a line. Otherwise key feedback \
             goes to stderr. Without a terminal (cron, CI, systemd) there are no keys.",
        )],
    );
}

fn output(roff: &mut Roff) {
    section(roff, "OUTPUT");
    roff.text([roman(
        "One output line per input line. Lines are bytes: invalid UTF-8, NUL and escape \
         sequences pass through unchanged when stdout is not a terminal; a CR before the newline \
         is dropped; lines longer than --max-line-bytes are cut into pieces. A last line without a \
         newline is printed when its source ends or its file is replaced.",
    )]);
    para(
        roff,
        [roman(
            "On a terminal, labels are padded to one width and coloured (a stable colour per \
             label), and control characters from sources are shown escaped (such as ^[ and ^G) \
             instead of being sent to the terminal.",
        )],
    );
    para(
        roff,
        [roman(
            "stderr stays quiet while all is well: notes, prefixed with the source, say that a \
             file is missing, truncated or replaced, a source failed, or a connection was refused. \
             When the reader of stdout goes away (| head -1) mux-tail ends at once with status 0.",
        )],
    );
}

fn exit_status(roff: &mut Roff) {
    section(roff, "EXIT STATUS");
    for (code, text) in [
        (
            "0",
            "Every source ended, q was pressed, or the reader of stdout went away — and no \
             source failed.",
        ),
        (
            "1",
            "A source could not be started or failed (a missing file or a glob matching \
             nothing under --no-follow, a cmd: that exited non-zero — also when q ended the \
             run), or writing failed.",
        ),
        ("2", "Usage error: a bad option, regex or template, or no source with stdin a terminal."),
        ("128+N", "Ended by signal N: 130 for Ctrl-C (SIGINT), 143 for SIGTERM, 129 for SIGHUP."),
    ] {
        item(roff, code, text);
    }
}

fn environment(roff: &mut Roff) {
    section(roff, "ENVIRONMENT");
    for (var, text) in [
        ("NO_COLOR", "When set and not empty, --color=auto does not colour."),
        ("MUX_TAIL_COLOR", "Default for --color."),
        ("MUX_TAIL_KEYS", "Default for --keys."),
        ("MUX_TAIL_MAX_LINE_BYTES", "Default for --max-line-bytes."),
        ("TERM", "When dumb, --color=auto does not colour."),
    ] {
        item(roff, var, text);
    }
}

fn examples(roff: &mut Roff) {
    section(roff, "EXAMPLES");
    for (cmd, text) in [
        ("mux-tail /var/log/nginx/access.log api=app.log", "Two files, one labelled api."),
        ("mux-tail app.log tcp:9000", "A file and TCP port 9000 on 127.0.0.1."),
        (
            "echo hello > /dev/tcp/127.0.0.1/9000",
            "Send that port a line from bash (or: echo hello | socat - TCP:127.0.0.1:9000).",
        ),
        ("make 2>&1 | mux-tail build=- app.log", "Standard input beside a file."),
        ("mux-tail -n 0 app.log | grep -i error", "Only new lines, piped; keys still work."),
        (
            "mux-tail 'logs/*.log' udp:5514 cmd:'journalctl -f'",
            "A glob, syslog over UDP, a command.",
        ),
        ("mux-tail -e error -e warn -v healthcheck a.log", "Errors and warnings, without noise."),
        ("mux-tail --json a.log tcp:9000 | jq .line", "One JSON object per line."),
        ("mux-tail --format '{time} {label}: {line}' a.log", "A layout of your own."),
        ("mux-tail --level warn app.log", "Warnings and worse (and lines without a level)."),
        ("mux-tail -e Timeout -C 3 app.log", "Each match with three lines either side, as grep."),
        (
            "mux-tail --since 03:00 --until 03:30 --no-follow app.log",
            "What was logged from 03:00 to 03:30 today, rotated and compressed history included.",
        ),
        ("mux-tail --since 10m app.log | grep -i timeout", "The last ten minutes, then on."),
        (
            "mux-tail --format '{level} {.msg}' api.log",
            "The level and the msg field of JSON or logfmt lines.",
        ),
    ] {
        roff.control("TP", []);
        roff.text([bold(cmd)]);
        roff.text([italic(text)]);
    }
}
