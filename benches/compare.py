#!/usr/bin/env python3
"""Whole-program comparison of mux-tail with the tools it replaces, in one run.

    python3 benches/compare.py            # everything (a few minutes)
    python3 benches/compare.py --quick    # smaller workloads, for a smoke test
    python3 benches/compare.py --only follow,latency

Builds the release binary, then runs it and its peers (GNU `tail -F`, a `tail -F | sed` tagging
pipeline, `socat`) on the same generated workloads, and prints a Markdown table with ratios.
Every run also checks that every line arrived whole and in order (peers included: their lost and
spliced lines are counted, not hidden). Workloads live in /dev/shm (tmpfs, where inotify works).
Peers come from Debian's packages: `apt-get install coreutils sed socat`.
"""

import argparse
import asyncio
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "mux-tail")
LINE = 100  # bytes per generated line, newline included
REPS = 3  # runs per tool for throughput (the median is reported)
TICK = os.sysconf("SC_CLK_TCK")


def fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def spawn(argv, stdout, shell=False, **kw):
    """A peer or mux-tail, in a process group of its own (so a pipeline ends as one)."""
    return subprocess.Popen(argv, stdout=stdout, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            shell=shell, preexec_fn=lambda: (os.setpgrp(), fd_limit()), **kw)


def group_pids(proc):
    """Every process in the run's process group."""
    pids = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.getpgid(int(pid)) == proc.pid:
                    pids.append(int(pid))
            except OSError:
                pass
    return pids


def stats(pids):
    """CPU seconds, context switches and peak RSS (KiB, summed) of processes and their threads."""
    cpu = switches = rss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / TICK
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/status") as f:
                    for line in f:
                        if "ctxt_switches" in line:
                            switches += int(line.split()[1])
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        rss += int(line.split()[1])
        except (OSError, IndexError):
            pass
    return cpu, switches, rss


def cpu_time(pids):
    """CPU seconds the processes' threads have run, to the nanosecond (the scheduler's own
    count; /proc/PID/stat counts in ticks of 10 ms)."""
    total = 0
    for pid in pids:
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                    total += int(f.read().split()[0])
        except (OSError, IndexError, ValueError):
            pass
    return total / 1e9


def stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_size(path, size, timeout):
    """Waits until the file at `path` holds `size` bytes; returns the time, or None on timeout."""
    end = time.monotonic() + timeout
    while True:
        now = time.monotonic()
        if os.path.getsize(path) >= size:
            return now
        if now > end:
            return None
        time.sleep(0.002)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port):
    """Waits until something accepts connections on 127.0.0.1:port."""
    while True:
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return
        except OSError:
            time.sleep(0.01)


def make_lines(path, key, count, width=LINE):
    """`count` lines of exactly `width` bytes: `KEY SEQ xxx…\\n`, written to `path`."""
    pad = b"x" * width
    with open(path, "wb") as f:
        chunk = []
        for seq in range(count):
            head = b"%s %010d " % (key, seq)
            chunk.append(head + pad[: width - len(head) - 1] + b"\n")
            if len(chunk) == 10000:
                f.write(b"".join(chunk))
                chunk = []
        f.write(b"".join(chunk))


def check(data, tags, count, width):
    """Counts lost, spliced and out-of-order lines. `tags` maps each key to the prefix its lines
    carry in the output (b"" when untagged)."""
    seen = {key: 0 for key in tags}
    spliced = disorder = 0
    pattern = re.compile(rb"^(.*?)(\w+) (\d{10}) x*\n\Z")
    for line in data.splitlines(keepends=True):
        m = pattern.match(line)
        key = m and m.group(2)
        if not m or key not in tags or m.group(1) != tags[key] or len(line) != len(tags[key]) + width:
            spliced += 1
            continue
        seq = int(m.group(3))
        if seq != seen[key]:
            disorder += 1
        seen[key] = seq + 1
    got = sum(seen.values())
    return {"lost": max(0, count * len(tags) - got - spliced), "spliced": spliced, "disorder": disorder}


# --------------------------------------------------------------------------------------------
# Workloads


# mux-tail and tail -F following the files they are given from their ends.
FOLLOWERS = {
    "mux-tail": lambda files: [BIN, "--keys=never", "-n", "0", *files],
    "tail -F": lambda files: ["tail", "-q", "-n", "0", "-F", *files],
}


def follow_data(work, nfiles, count):
    """The keys of `nfiles` files and the paths of `count` generated lines for each."""
    keys = [b"f%d" % i for i in range(nfiles)]
    data = []
    for i, key in enumerate(keys):
        path = os.path.join(work, f"data{i}")
        make_lines(path, key, count)
        data.append(path)
    return keys, data


def warm_up(files, keys, seen):
    """Appends a warm-up line to every file until `seen()` (the output so far) holds each one:
    the tool follows them all."""
    for _ in range(100):
        for f, key in zip(files, keys):
            with open(f, "ab") as w:
                w.write(b"%s %s\n" % (key, b"w" * 20))
        time.sleep(0.1)
        out = seen()
        if all(b"%s %s" % (k, b"w" * 20) in out for k in keys):
            break
    time.sleep(0.3)


def follow(work, nfiles, count):
    """Files appended as fast as possible; lines/s until every line is out."""
    keys, data = follow_data(work, nfiles, count)
    tools = {
        **FOLLOWERS,
        # Line-buffered output (as a user watching it needs), normal reads.
        "tail -F | sed": lambda files: " & ".join(
            f"tail -n 0 -F {f} | stdbuf -oL sed 's|^|[{f}] |'" for f in files) + " & wait",
    }
    def once(name, check_lines):
        tagged = name != "tail -F"
        tags = {key: (b"[f%d.log] " % i if tagged else b"") for i, key in enumerate(keys)}
        return follow_once(work, tools[name], nfiles, keys, tags, data, count, check_lines)

    return repeat(list(tools), once, data)


def follow_pipe(work, nfiles, count):
    """As `follow`, into a pipe (as `mux-tail … | grep` runs): CPU per line of the tool, with a
    reader that only counts. A file on tmpfs as the output makes the kernel allocate a page for
    every 4 KiB written, for each tool alike; a pipe leaves the tools' own work to compare."""
    keys, data = follow_data(work, nfiles, count)
    tools = FOLLOWERS

    def once(name, _check_lines):
        tag = (lambda i: b"[f%d.log] " % i) if name == "mux-tail" else (lambda i: b"")
        d = tempfile.mkdtemp(dir=work)
        files = [f"f{i}.log" for i in range(nfiles)]
        for f in files:
            open(os.path.join(d, f), "w").close()
        proc = spawn(tools[name](files), subprocess.PIPE, cwd=d)
        got = {"bytes": 0, "seen": bytearray(), "warm": True}
        lock = threading.Lock()

        def reader():
            # Into one buffer: a reader that allocates a megabyte for every read falls behind.
            buf = bytearray(1 << 20)
            while n := os.readv(proc.stdout.fileno(), [buf]):
                with lock:
                    got["bytes"] += n
                    if got["warm"]:
                        got["seen"] += buf[:n]
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        paths = [os.path.join(d, f) for f in files]
        def seen():
            with lock:
                return bytes(got["seen"])
        warm_up(paths, keys, seen)
        with lock:
            got["warm"] = False
            base = got["bytes"]
        expected = base + sum(len(tag(i)) + LINE for i in range(nfiles)) * count
        cpu0 = cpu_time(group_pids(proc))
        start = time.monotonic()
        feeders = [subprocess.Popen(["sh", "-c", f"cat {src} >> {dst}"]) for src, dst in zip(data, paths)]
        end = start + 120
        while got["bytes"] < expected and time.monotonic() < end:
            time.sleep(0.002)
        done = time.monotonic() if got["bytes"] >= expected else None
        cpu1 = cpu_time(group_pids(proc))
        for f in feeders:
            f.wait()
        stop(proc)
        t.join()
        shutil.rmtree(d)
        rate = count * nfiles / (done - start) if done else None
        return rate, None, (cpu1 - cpu0) / count / nfiles

    return repeat(list(tools), once, data)


def against_plain(work, count, name, extra):
    """One file appended as fast as possible, with mux-tail given `extra` and without: lines/s.
    Every generated line is kept by `extra` (it shows no level; each is an event of its own)."""
    key = b"f0"
    path = os.path.join(work, "data0")
    make_lines(path, key, count)
    base = [BIN, "--keys=never", "-n", "0"]
    tools = {
        name: lambda files: [*base, *extra, *files],
        "mux-tail": lambda files: [*base, *files],
    }
    def once(tool, check_lines):
        return follow_once(work, tools[tool], 1, [key], {key: b"[f0.log] "}, [path], count, check_lines)

    return repeat(list(tools), once, [path])


def multiline(work, count):
    """--multiline java against plain mux-tail. The event timeout is 10 ms so that the last
    event's wait does not count as throughput."""
    extra = ["--multiline", "java", "--multiline-timeout", "10ms"]
    return against_plain(work, count, "mux-tail --multiline java", extra)


def level(work, count):
    """--level warn against plain mux-tail: every line's level looked for."""
    return against_plain(work, count, "mux-tail --level warn", ["--level", "warn"])


def repeat(names, once, data):
    """Runs `once(name, check_lines)` REPS times per tool, alternating between the tools so that
    the machine's noise falls on all of them; the line check runs on the first round. Removes the
    generated `data` at the end."""
    results = {name: {"rates": [], "cpus": []} for name in names}
    for rep in range(REPS):
        # Each round starts with another tool: the first run after the workload is made pays
        # for memory the machine had not touched yet (seen here: 2-3x the CPU), and the median
        # leaves that one run out.
        for name in in_turn(names, rep):
            rate, res, cpu = once(name, rep == 0)
            results[name]["rates"].append(rate)
            if rate:
                results[name]["cpus"].append(cpu)
            if res:
                results[name].update(res)
    for path in data:
        os.remove(path)
    for r in results.values():
        r["rate"] = median_rate(r["rates"])
        # CPU seconds per line (all of the tool's processes and threads), median of the runs.
        r["cpu_line"] = statistics.median(r["cpus"]) if r["cpus"] else None
    return results


def in_turn(items, rep):
    """`items` rotated so that round `rep` starts with another one."""
    k = rep % len(items)
    return items[k:] + items[:k]


def median_rate(rates):
    """The median of the runs (an incomplete run counts as the slowest)."""
    return statistics.median(r or 0 for r in rates) or None


def follow_once(work, argv, nfiles, keys, tags, data, count, check_lines):
    d = tempfile.mkdtemp(dir=work)
    files = [f"f{i}.log" for i in range(nfiles)]  # relative to d: the labels
    for f in files:
        open(os.path.join(d, f), "w").close()
    # The output lives apart from the followed files (a write there is not a change to them).
    out_dir = tempfile.mkdtemp(dir=work)
    out_path = os.path.join(out_dir, "out")
    with open(out_path, "ab") as out:
        cmd = argv(files)
        proc = spawn(cmd, out, shell=isinstance(cmd, str), cwd=d)
    files = [os.path.join(d, f) for f in files]
    def seen():
        with open(out_path, "rb") as o:
            return o.read()
    warm_up(files, keys, seen)
    base = os.path.getsize(out_path)
    expected = base + sum(len(tags[k]) + LINE for k in keys) * count
    writers = [["sh", "-c", f"cat {src} >> {dst}"] for src, dst in zip(data, files)]
    # The warm-up lines are not part of the check.
    elapsed, res, cpu = drive(proc, out_path, base, expected, writers, tags, count, check_lines,
                              keep=lambda line: b" www" not in line)
    shutil.rmtree(d)
    shutil.rmtree(out_dir)
    return (count * nfiles / elapsed if elapsed else None), res, cpu / count / nfiles


def drive(proc, out_path, base, expected, feeders, tags, count, check_lines, keep=None):
    """Starts the feeders, waits until `expected` bytes are out, stops `proc`. Returns the
    seconds that took (None when not everything came), with `check_lines` the line check of
    what came after `base` (the lines `keep` lets through), and the CPU seconds `proc` (its
    processes and threads) used meanwhile."""
    pids = group_pids(proc)
    cpu0 = cpu_time(pids)
    start = time.monotonic()
    running = [subprocess.Popen(argv) for argv in feeders]
    done = wait_size(out_path, expected, 120)
    for r in running:
        r.wait()
    if done is None:
        time.sleep(1)
    # The tool's threads and processes (a pipeline's sed ones too) as they were at the start: a
    # process that ended since took its count with it.
    cpu1 = cpu_time(pids)
    _, _, rss = stats(group_pids(proc))
    stop(proc)
    res = None
    if check_lines:
        with open(out_path, "rb") as f:
            f.seek(base)
            body = f.read()
        if keep:
            body = b"".join(l for l in body.splitlines(keepends=True) if keep(l))
        res = check(body, tags, count, LINE)
        res["rss"] = rss
    return (done - start if done else None), res, cpu1 - cpu0


def tcp(work, clients, total):
    """Clients sending as fast as they can; lines/s until every line is out."""
    per = total // clients
    keys = [b"c%02d" % i for i in range(clients)]
    data = []
    for i, key in enumerate(keys):
        path = os.path.join(work, f"client{i}")
        make_lines(path, key, per)
        data.append(path)
    return repeat(["mux-tail", "socat"],
                  lambda name, check_lines: tcp_once(work, name, keys, data, per, check_lines), data)


def tcp_once(work, name, keys, data, per, check_lines):
    port = free_port()
    d = tempfile.mkdtemp(dir=work)
    out_path = os.path.join(d, "out")
    if name == "mux-tail":
        cmd = [BIN, "--keys=never", f"net=tcp:{port}"]
        tag = b"[net] "
    else:
        cmd = ["socat", "-u", f"TCP-LISTEN:{port},fork,reuseaddr,backlog=1024", "STDOUT"]
        tag = b""
    with open(out_path, "ab") as out:
        proc = spawn(cmd, out)
    wait_listening(port)
    expected = (len(tag) + LINE) * per * len(keys)
    senders = [["socat", "-u", f"FILE:{p}", f"TCP:127.0.0.1:{port}"] for p in data]
    tags = {k: tag for k in keys}
    elapsed, res, cpu = drive(proc, out_path, 0, expected, senders, tags, per, check_lines)
    shutil.rmtree(d)
    return (per * len(keys) / elapsed if elapsed else None), res, cpu / (per * len(keys))


def latency(work, lines):
    """A line appended every 5 ms: time from append to output. Three runs per tool, taking
    turns (a stall of the machine falls on one run, not on one tool); each figure is the median
    of the runs, with the range of the runs' p99."""
    runs = {name: [] for name in ["mux-tail", "tail -F"]}
    for rep in range(REPS):
        for name in in_turn(list(runs), rep):
            runs[name].append(latency_once(work, name, lines))
    results = {}
    for name, rs in runs.items():
        p99s = sorted(r["p99"] for r in rs)
        results[name] = {
            "p50": statistics.median(r["p50"] for r in rs),
            "p99": statistics.median(p99s),
            "p99_range": (p99s[0], p99s[-1]),
            "max": max(r["max"] for r in rs),
            "lost": sum(r["lost"] for r in rs),
        }
    return results


def latency_once(work, name, lines):
    d = tempfile.mkdtemp(dir=work)
    path = os.path.join(d, "app.log")
    open(path, "w").close()
    cmd = [BIN, "--keys=never", "-n", "0", path] if name == "mux-tail" else ["tail", "-n", "0", "-F", path]
    proc = spawn(cmd, subprocess.PIPE)
    samples = []
    got = threading.Event()

    def reader():
        buf = b""
        fd = proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            now = time.monotonic_ns()
            buf += chunk
            *done, buf = buf.split(b"\n")
            for line in done:
                stamp = line.rsplit(b" ", 1)[-1]
                if stamp.isdigit():
                    samples.append((now - int(stamp)) / 1e6)
            got.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    with open(path, "ab", buffering=0) as w:
        while not got.is_set():  # ready?
            w.write(b"warmup\n")
            got.wait(0.1)
        time.sleep(0.1)
        samples.clear()
        next_at = time.monotonic()
        for _ in range(lines):
            next_at += 0.005
            time.sleep(max(0, next_at - time.monotonic()))
            w.write(b"line %d\n" % time.monotonic_ns())
    end = time.monotonic() + 5
    while len(samples) < lines and time.monotonic() < end:
        time.sleep(0.01)
    stop(proc)
    s = sorted(samples)
    shutil.rmtree(d)
    return {
        "p50": statistics.median(s),
        "p99": s[int(len(s) * 0.99) - 1],
        "max": s[-1],
        "lost": lines - len(s),
    }


def idle(work, nfiles, seconds):
    """Idle files: CPU time and context switches over `seconds`."""
    results = {}
    for name in ["mux-tail", "mux-tail --multiline java", "tail -F"]:
        d = tempfile.mkdtemp(dir=work)
        files = [os.path.join(d, f"f{i}.log") for i in range(nfiles)]
        for f in files:
            with open(f, "w") as w:
                w.write("x\n")
        cmd = {"mux-tail": [BIN, "--keys=never", *files],
               "mux-tail --multiline java": [BIN, "--keys=never", "--multiline", "java", *files],
               "tail -F": ["tail", "-F", *files]}[name]
        proc = spawn(cmd, subprocess.DEVNULL)
        time.sleep(1)
        pids = group_pids(proc)
        cpu0, cs0, _ = stats(pids)
        time.sleep(seconds)
        cpu1, cs1, _ = stats(pids)
        stop(proc)
        results[name] = {"cpu": cpu1 - cpu0, "switches": cs1 - cs0}
        shutil.rmtree(d)
    return results


def slow_reader(work, megabytes, rate_mb):
    """One client floods while stdout is read at `rate_mb` MB/s: peak RSS, every line."""
    count = megabytes * 1_000_000 // LINE
    src = os.path.join(work, "flood")
    make_lines(src, b"s", count)
    results = {}
    for name in ["mux-tail", "socat"]:
        port = free_port()
        if name == "mux-tail":
            cmd, tag = [BIN, "--keys=never", "--no-label", f"tcp:{port}"], b""
        else:
            cmd, tag = ["socat", "-u", f"TCP-LISTEN:{port},reuseaddr", "STDOUT"], b""
        proc = spawn(cmd, subprocess.PIPE)
        time.sleep(0.3)
        sender = subprocess.Popen(["socat", "-u", f"FILE:{src}", f"TCP:127.0.0.1:{port}"])
        fd = proc.stdout.fileno()
        received = 0
        newlines = 0
        start = time.monotonic()
        peak = 0
        next_sample = 0
        while newlines < count:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            received += len(chunk)
            newlines += chunk.count(b"\n")
            # Keep to the rate.
            ahead = received / (rate_mb * 1e6) - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
            # VmHWM is the peak so far; sampled while the process lives (socat ends with its
            # client).
            if received >= next_sample:
                peak = max(peak, stats([proc.pid])[2])
                next_sample += 10_000_000
        sender.wait()
        stop(proc)
        results[name] = {"rss": peak, "lost": count - newlines, "bytes_ok": received == count * LINE}
    os.remove(src)
    return results


def many_files(work, nfiles, reps=5):
    """A thousand files: time until the first line of each is out, then RSS once every file has
    a second line out. `reps` runs per tool in turn (one run is a few milliseconds, well within
    the machine's noise): the median time, its range, the highest RSS."""
    runs = {name: [] for name in ["mux-tail", "tail -F"]}
    for rep in range(reps):
        for name in in_turn(list(runs), rep):
            runs[name].append(many_files_once(work, name, nfiles))
    results = {}
    for name, rs in runs.items():
        times = sorted(r["time"] for r in rs)
        results[name] = {"time": statistics.median(times), "min": times[0], "max": times[-1],
                         "lines": min(r["lines"] for r in rs), "expected": 2 * nfiles,
                         "rss": max(r["rss"] for r in rs)}
    return results


def many_files_once(work, name, nfiles):
    d = tempfile.mkdtemp(dir=work)
    files = [os.path.join(d, f"f{i:04d}.log") for i in range(nfiles)]
    for f in files:
        with open(f, "w") as w:
            w.write("first line here\n")
    out_path = os.path.join(d, "out")
    cmd = [BIN, "--keys=never", "-n", "1", *files] if name == "mux-tail" else ["tail", "-q", "-n", "1", "-F", *files]
    with open(out_path, "ab") as out:
        start = time.monotonic()
        proc = spawn(cmd, out)
    end = time.monotonic() + 60
    while open(out_path, "rb").read().count(b"\n") < nfiles and time.monotonic() < end:
        time.sleep(0.001)
    elapsed = time.monotonic() - start
    # Then every file is followed: one more line each.
    for f in files:
        with open(f, "a") as w:
            w.write("second line\n")
    end = time.monotonic() + 30
    while open(out_path, "rb").read().count(b"\n") < 2 * nfiles and time.monotonic() < end:
        time.sleep(0.01)
    lines = open(out_path, "rb").read().count(b"\n")
    _, _, rss = stats(group_pids(proc))
    stop(proc)
    shutil.rmtree(d)
    return {"time": elapsed, "lines": lines, "rss": rss}


def run_measured(cmd, cwd):
    """Runs cmd to its end (under /usr/bin/time, whose peak RSS is the program's own): (wall
    seconds, peak RSS in KiB, lines written)."""
    out_path = os.path.join(cwd, ".out")
    with open(out_path, "wb") as out:
        start = time.monotonic()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], cwd=cwd, stdout=out,
                              stderr=subprocess.PIPE)
        elapsed = time.monotonic() - start
    rss = int(done.stderr.decode().strip().splitlines()[-1])
    lines = open(out_path, "rb").read().count(b"\n")
    os.remove(out_path)
    return elapsed, rss, lines


def glob_files(work, counts):
    """N files in one glob, --no-follow -n 1, against tail -q -n 1 on the same files (as one glob
    and as N arguments): wall time and peak RSS, three runs each, median."""
    results = {}
    for n in counts:
        d = tempfile.mkdtemp(dir=work)
        for i in range(n):
            with open(os.path.join(d, f"f{i:05d}.log"), "w") as w:
                w.write("first\nlast line\n")
        names = sorted(os.listdir(d))
        runs = {"glob": [], "args": [], "tail": []}
        for _ in range(3):
            runs["glob"].append(run_measured([BIN, "--keys=never", "--no-follow", "-n", "1", "*.log"], d))
            runs["args"].append(run_measured([BIN, "--keys=never", "--no-follow", "-n", "1", *names], d))
            runs["tail"].append(run_measured(["tail", "-q", "-n", "1", *names], d))
        results[n] = {k: (statistics.median(t for t, _, _ in v), max(r for _, r, _ in v),
                          min(l for _, _, l in v)) for k, v in runs.items()}
        shutil.rmtree(d)
    return results


def idle_connections(work, clients):
    """Idle TCP connections (each sent one line, then nothing): RSS per connection."""
    port = free_port()
    d = tempfile.mkdtemp(dir=work)
    with open(os.path.join(d, "out"), "ab") as out:
        proc = spawn([BIN, "--keys=never", "--max-connections", str(clients + 1), f"tcp:{port}"], out)
    wait_listening(port)
    _, _, before = stats(group_pids(proc))
    conns = []
    for i in range(clients):
        c = socket.create_connection(("127.0.0.1", port))
        c.sendall(b"hello %d\n" % i)
        conns.append(c)
    end = time.monotonic() + 30
    while open(os.path.join(d, "out"), "rb").read().count(b"\n") < clients and time.monotonic() < end:
        time.sleep(0.01)
    _, _, rss = stats(group_pids(proc))
    stop(proc)
    for c in conns:
        c.close()
    shutil.rmtree(d)
    return {"rss": rss, "before": before}


async def burst_clients(port, clients, lines):
    async def one(i):
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
            w.write(b"".join(b"client %04d line %d\n" % (i, j) for j in range(lines)))
            await w.drain()
            w.close()
            await w.wait_closed()
            return True
        except (OSError, asyncio.TimeoutError):
            return False
    return await asyncio.gather(*(one(i) for i in range(clients)))


def many_clients(work, clients, lines):
    """A thousand clients connecting at once, ten lines each: lines delivered, RSS."""
    results = {}
    for name in ["mux-tail", "socat"]:
        port = free_port()
        d = tempfile.mkdtemp(dir=work)
        out_path = os.path.join(d, "out")
        if name == "mux-tail":
            cmd = [BIN, "--keys=never", "--no-label", f"tcp:{port}"]
        else:
            cmd = ["socat", "-u", f"TCP-LISTEN:{port},fork,reuseaddr", "STDOUT"]  # default backlog
        with open(out_path, "ab") as out:
            proc = spawn(cmd, out)
        wait_listening(port)
        start = time.monotonic()
        asyncio.run(burst_clients(port, clients, lines))
        end = time.monotonic() + 10
        while open(out_path, "rb").read().count(b"\n") < clients * lines and time.monotonic() < end:
            time.sleep(0.01)
        elapsed = time.monotonic() - start
        got = open(out_path, "rb").read().count(b"\n")
        _, _, rss = stats(group_pids(proc))
        stop(proc)
        results[name] = {"lines": got, "expected": clients * lines, "rss": rss, "time": elapsed}
        shutil.rmtree(d)
    return results


def history(work, lines):
    """Reading a whole file into a pipe (`--no-follow -n +1 | cat`) against `tail -n +1 | cat`:
    wall time of the pipeline and CPU of the reader, five runs each, taking turns. As in the
    follow runs, the tools run in the file's directory and name it as a user would (`big.log`,
    the label); "mux-tail, absolute path" names it by its whole path, a 54-byte label or so in
    front of every line."""
    d = tempfile.mkdtemp(dir=work)
    path = os.path.join(d, "big.log")
    make_lines(path, b"h", lines)
    tools = [("mux-tail", [BIN, "--keys=never", "--no-follow", "-n", "+1", "big.log"]),
             ("mux-tail, absolute path", [BIN, "--keys=never", "--no-follow", "-n", "+1", path]),
             ("tail", ["tail", "-n", "+1", "big.log"])]
    runs = {name: ([], []) for name, _ in tools}
    # The tools take turns, so that the machine's moods fall on both.
    for rep in range(5):
        for name, cmd in in_turn(tools, rep):
            walls, cpus = runs[name]
            timing = os.path.join(d, "time")
            start = time.monotonic()
            subprocess.run(["sh", "-c", '/usr/bin/time -o "$0" -f "%U %S" "$@" | cat > /dev/null', timing, *cmd],
                           check=True, cwd=d)
            walls.append(time.monotonic() - start)
            user, sys_ = map(float, open(timing).read().split()[-2:])
            cpus.append(user + sys_)
    results = {name: {"wall": statistics.median(w), "min": min(w), "max": max(w), "cpu": statistics.median(c),
                      "cpu_min": min(c), "cpu_max": max(c), "label": len(cmd[-1]) + 3}
               for (name, cmd), (w, c) in zip(tools, runs.values())}
    shutil.rmtree(d)
    return results


def stamped_file(path, size):
    """A file of about `size` bytes of 64-byte lines stamped one second apart from
    2026-12-01T00:00:00Z (a few seconds each for 3 GiB: the lines are made a day at a time).
    Returns the number of lines."""
    import datetime
    start = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)
    width = 64
    lines = size // width
    pad = b"x" * width
    with open(path, "wb") as f:
        day = 86_400
        for base in range(0, lines, day):
            n = min(day, lines - base)
            t0 = start + datetime.timedelta(seconds=base)
            chunk = []
            for i in range(n):
                head = ((t0 + datetime.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ") + " INFO line %d " % (base + i)).encode()
                chunk.append(head + pad[: width - len(head) - 1] + b"\n")
            f.write(b"".join(chunk))
    return lines


def first_line_time(argv):
    """Seconds from start until the first line of `argv`'s stdout (then it is stopped), and
    that line."""
    start = time.monotonic()
    p = spawn(argv, subprocess.PIPE, shell=isinstance(argv, str))
    line = p.stdout.readline()
    took = time.monotonic() - start
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    return took, line


def since(work, size):
    """--since near the end of a big file: time to the first line, against grep and awk reading
    the file to the same line. Three runs each, alternating; the median."""
    import datetime
    path = os.path.join(work, "since.log")
    lines = stamped_file(path, size)
    at = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=lines * 99 // 100)
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    tools = {
        "mux-tail --since": [BIN, "--keys=never", "--no-follow", "--since", stamp, path],
        "grep": ["grep", "-m1", "-F", stamp, path],
        "awk": ["awk", '$1 >= "%s" { print; exit }' % stamp, path],
    }
    results = {name: [] for name in tools}
    first = {}
    for _ in range(3):
        for name, argv in tools.items():
            took, line = first_line_time(argv)
            results[name].append(took)
            first[name] = line
    os.remove(path)
    same = len({l.split(b"] ")[-1] for l in first.values()}) == 1
    return {name: {"time": statistics.median(t), "min": min(t), "max": max(t), "same": same,
                   "first": first[name]} for name, t in results.items()}


def stamps(work, count):
    """--since a day ago against plain mux-tail on the 1-file benchmark: every line's time
    looked for (the generated lines carry none, so every one is kept)."""
    return against_plain(work, count, "mux-tail --since 1d", ["--since", "1d"])


def burst(work, nfiles):
    """Files appearing at once under a watched glob: time until every file's line is out."""
    d = tempfile.mkdtemp(dir=work)
    os.mkdir(os.path.join(d, "logs"))
    out_path = os.path.join(d, "out")
    with open(out_path, "ab") as out:
        proc = spawn([BIN, "--keys=never", "--no-label", os.path.join(d, "logs", "*.log")], out)
    time.sleep(0.5)
    start = time.monotonic()
    for i in range(nfiles):
        with open(os.path.join(d, "logs", f"f{i:05d}.log"), "w") as w:
            w.write(f"line of {i}\n")
    end = start + 60
    while open(out_path, "rb").read().count(b"\n") < nfiles and time.monotonic() < end:
        time.sleep(0.01)
    elapsed = time.monotonic() - start
    lines = open(out_path, "rb").read().count(b"\n")
    _, _, rss = stats(group_pids(proc))
    stop(proc)
    shutil.rmtree(d)
    return {"time": elapsed, "lines": lines, "rss": rss}


def unfinished(work, clients, size):
    """Clients that each send a long line without its end and keep the connection open: peak
    RSS while they hold them, and every byte out once they close (mux-tail against socat)."""
    results = {}
    for name in ["mux-tail", "socat"]:
        port = free_port()
        d = tempfile.mkdtemp(dir=work)
        out_path = os.path.join(d, "out")
        cmd = ([BIN, "--keys=never", "--no-label", f"tcp:{port}"] if name == "mux-tail"
               else ["socat", "-u", f"TCP-LISTEN:{port},fork,reuseaddr", "STDOUT"])
        with open(out_path, "ab") as out:
            proc = spawn(cmd, out)
        wait_listening(port)
        conns = []
        for _ in range(clients):
            c = socket.create_connection(("127.0.0.1", port))
            c.sendall(b"x" * size)
            conns.append(c)
        time.sleep(1)
        pids = group_pids(proc)
        peak = sum(peak_rss(pid) for pid in pids)
        for c in conns:
            c.close()
        end = time.monotonic() + 30
        want = clients * size
        while os.path.getsize(out_path) < want and time.monotonic() < end:
            time.sleep(0.05)
        data = open(out_path, "rb").read()
        stop(proc)
        results[name] = {"rss": peak, "bytes": data.count(b"x"), "expected": want}
        shutil.rmtree(d)
    return results


def peak_rss(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def few_descriptors(work, nfiles, limit, delete):
    """A glob of more files than descriptors (`prlimit --nofile`): lines shown at start, and
    after `delete` of the open files are deleted (mux-tail against tail -F)."""
    results = {}
    for name in ["mux-tail", "mux-tail --multiline java", "tail -F"]:
        d = tempfile.mkdtemp(dir=work)
        files = [os.path.join(d, f"f{i:03d}.log") for i in range(nfiles)]
        for f in files:
            with open(f, "w") as w:
                w.write(f"first of {os.path.basename(f)}\n")
        out_path = os.path.join(d, "out")
        tool = ([BIN, "--keys=never", "--no-label", "-n", "1", os.path.join(d, "*.log")] if name == "mux-tail"
                else ["tail", "-q", "-n", "1", "-F", *files])
        with open(out_path, "ab") as out:
            proc = subprocess.Popen(["prlimit", f"--nofile={limit}", *tool], stdout=out, stderr=subprocess.DEVNULL,
                                    stdin=subprocess.DEVNULL, preexec_fn=os.setpgrp)
        count = lambda: open(out_path, "rb").read().count(b"first of")
        end = time.monotonic() + 5
        while count() < limit // 2 and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(1)
        at_start = count()
        for f in files[:delete]:
            os.remove(f)
        end = time.monotonic() + 10
        while count() < nfiles and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(0.5)
        results[name] = {"start": at_start, "after": count(), "alive": proc.poll() is None}
        stop(proc)
        shutil.rmtree(d)
    return results


# --------------------------------------------------------------------------------------------
# Report


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.2f}x"


def fmt_rate(r):
    return f"{r / 1e6:.2f}M lines/s" if r else "incomplete"


def fmt_cpu(res):
    c = res.get("cpu_line")
    return f"{c * 1e9:.0f} ns" if c else "n/a"


def integrity(res):
    return f"lost {res['lost']}, spliced {res['spliced']}, out of order {res['disorder']}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smaller workloads (a smoke test)")
    p.add_argument("--only", default="", help="comma-separated: follow,pipe,multiline,level,stamps,since,tcp,latency,idle,slow,files,glob,idleconns,clients,history,burst,unfinished,fds")
    p.add_argument("--no-build", action="store_true", help="use target/release/mux-tail as it is")
    args = p.parse_args()
    only = set(filter(None, args.only.split(",")))
    want = lambda name: not only or name in only
    for tool in ["tail", "sed", "socat"]:
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed: apt-get install coreutils sed socat")
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--locked"], cwd=ROOT, check=True)
    fd_limit()
    q = args.quick
    rows = []
    work = tempfile.mkdtemp(prefix="mux-tail-bench-", dir="/dev/shm")
    try:
        if want("follow") or want("pipe"):
            n = 200_000 if q else 2_000_000
            for nfiles in (1, 4):
                files = f"{nfiles} file{'s' if nfiles > 1 else ''}, {n:,} lines each"
                if want("follow"):
                    r = follow(work, nfiles, n)
                    m, t, s = r["mux-tail"], r["tail -F"], r["tail -F | sed"]
                    rows.append((f"follow, {files}",
                                 f"{fmt_rate(m['rate'])}; {integrity(m)}",
                                 f"tail -F: {fmt_rate(t['rate'])}; {integrity(t)}<br>tail\\|sed: {fmt_rate(s['rate'])}; {integrity(s)}",
                                 f"{ratio(m['rate'], t['rate'])} tail -F, {ratio(m['rate'], s['rate'])} tail\\|sed; "
                                 f"CPU per line {fmt_cpu(m)} vs tail -F {fmt_cpu(t)}: {ratio(m['cpu_line'], t['cpu_line'])}",
                                 "≥ 1.0× tail -F, CPU per line ≤ 1.0×" + (", zero spliced" if nfiles > 1 else "")))
                r = follow_pipe(work, nfiles, n)
                m, t = r["mux-tail"], r["tail -F"]
                rows.append((f"follow into a pipe, {files}",
                             f"{fmt_rate(m['rate'])}; CPU per line {fmt_cpu(m)}",
                             f"tail -F: {fmt_rate(t['rate'])}; CPU per line {fmt_cpu(t)}",
                             f"CPU per line {ratio(m['cpu_line'], t['cpu_line'])} tail -F",
                             "CPU per line ≤ 1.0×"))
        # mux-tail with an option against plain mux-tail, on the 1-file benchmark.
        for key, run, name, title in [
            ("multiline", multiline, "mux-tail --multiline java", "--multiline java"),
            ("level", level, "mux-tail --level warn", "--level warn"),
            ("stamps", stamps, "mux-tail --since 1d", "--since 1d (time looked for on every line)"),
        ]:
            if want(key):
                n = 200_000 if q else 2_000_000
                r = run(work, n)
                m, p = r[name], r["mux-tail"]
                rows.append((f"{title}, 1 file, {n:,} lines",
                             f"{fmt_rate(m['rate'])}; {integrity(m)}",
                             f"plain mux-tail: {fmt_rate(p['rate'])}; {integrity(p)}",
                             ratio(m["rate"], p["rate"]), "≥ 0.8× plain mux-tail"))
        if want("since"):
            size = (256 << 20) if q else (3 << 30)
            r = since(work, size)
            m, g, a = r["mux-tail --since"], r["grep"], r["awk"]
            rows.append((f"--since near the end of a {size >> 20} MiB file: time to the first line",
                         f"{m['time']:.3f} s ({m['min']:.3f}–{m['max']:.3f}); same line as the peers: {m['same']}",
                         f"grep -m1: {g['time']:.3f} s; awk: {a['time']:.3f} s",
                         f"{g['time'] / m['time']:.0f}× faster than grep, {a['time'] / m['time']:.0f}× than awk",
                         "≥ 20× faster, < 0.5 s"))
        if want("tcp"):
            n = 200_000 if q else 2_000_000
            for clients in (1, 16):
                r = tcp(work, clients, n)
                m, s = r["mux-tail"], r["socat"]
                rows.append((f"TCP, {clients} client{'s' if clients > 1 else ''}, {n:,} lines",
                             f"{fmt_rate(m['rate'])}; {integrity(m)}",
                             f"socat: {fmt_rate(s['rate'])}; {integrity(s)}",
                             ratio(m["rate"], s["rate"]), "≥ 1.0× socat, zero spliced"))
        if want("latency"):
            r = latency(work, 200 if q else 1000)
            m, t = r["mux-tail"], r["tail -F"]
            rows.append((f"latency, a line every 5 ms ({REPS} runs each, medians)",
                         f"p50 {m['p50']:.3f} ms, p99 {m['p99']:.3f} ms "
                         f"(runs {m['p99_range'][0]:.3f}–{m['p99_range'][1]:.3f}), max {m['max']:.3f} ms, lost {m['lost']}",
                         f"tail -F: p50 {t['p50']:.3f} ms, p99 {t['p99']:.3f} ms "
                         f"(runs {t['p99_range'][0]:.3f}–{t['p99_range'][1]:.3f}), max {t['max']:.3f} ms",
                         f"p99 {ratio(m['p99'], t['p99'])}", "p99 ≤ 1.5× tail -F and < 1 ms"))
        if want("idle"):
            secs = 3 if q else 10
            r = idle(work, 50, secs)
            m, t, ml = r["mux-tail"], r["tail -F"], r["mux-tail --multiline java"]
            rows.append((f"idle, 50 files, {secs} s",
                         f"CPU {m['cpu']:.2f} s, {m['switches']} context switches; "
                         f"--multiline java: CPU {ml['cpu']:.2f} s, {ml['switches']} switches",
                         f"tail -F: CPU {t['cpu']:.2f} s, {t['switches']} context switches",
                         f"{m['switches']} vs {t['switches']} switches", "0 context switches"))
        if want("slow"):
            mb = 50 if q else 500
            r = slow_reader(work, mb, 20)
            m, s = r["mux-tail"], r["socat"]
            rows.append((f"slow reader, {mb} MB at 20 MB/s",
                         f"peak RSS {m['rss'] / 1024:.1f} MB, lost {m['lost']}",
                         f"socat: peak RSS {s['rss'] / 1024:.1f} MB, lost {s['lost']}",
                         ratio(m["rss"], s["rss"]) + " RSS", "≤ 16 MB RSS, 0 lost"))
        if want("files"):
            r = many_files(work, 1000)
            m, t = r["mux-tail"], r["tail -F"]
            span = lambda x: f"{x['time']:.3f} s ({x['min']:.3f}–{x['max']:.3f})"
            rows.append(("1,000 files (5 runs each, in turn)",
                         f"all followed in {span(m)}; {m['lines']}/{m['expected']} lines; RSS {m['rss'] / 1024:.1f} MB",
                         f"tail -F: {span(t)}; {t['lines']}/{t['expected']} lines; RSS {t['rss'] / 1024:.1f} MB",
                         f"{ratio(m['time'], t['time'])} time", "≤ 2× tail -F; RSS ≤ 32 MB"))
        if want("glob"):
            counts = (1000, 2500) if q else (1000, 2500, 10000, 20000)
            r = glob_files(work, counts)
            for n in counts:
                g, a, t = r[n]["glob"], r[n]["args"], r[n]["tail"]
                rows.append((f"{n:,} files, --no-follow -n 1",
                             f"glob: {g[0]:.3f} s, {g[1] / 1024:.1f} MB, {g[2]:,} lines; as arguments: {a[0]:.3f} s, {a[1] / 1024:.1f} MB, {a[2]:,} lines",
                             f"tail -q -n 1: {t[0]:.3f} s, {t[1] / 1024:.1f} MB, {t[2]:,} lines",
                             f"{ratio(g[0], t[0])} / {ratio(a[0], t[0])} time, {ratio(g[1], t[1])} RSS",
                             "≤ 3× tail; ≤ 48 MB at 10,000"))
            if len(counts) >= 3:
                grow = r[counts[2]]["glob"][0] / r[counts[1]]["glob"][0]
                rows.append((f"growth {counts[1]:,} → {counts[2]:,} glob files", f"{grow:.1f}×", "linear: 4×", "", "≤ 5×"))
        if want("idleconns"):
            n = 1000 if q else 5000
            r = idle_connections(work, n)
            rows.append((f"{n:,} idle TCP connections",
                         f"RSS {r['rss'] / 1024:.1f} MB ({(r['rss'] - r['before']) / n:.1f} KB each)",
                         "—", "", "≤ 40 MB"))
        if want("clients"):
            r = many_clients(work, 1000, 10)
            m, s = r["mux-tail"], r["socat"]
            rows.append(("1,000 TCP clients at once, 10 lines each",
                         f"{m['lines']}/{m['expected']} lines ({m['expected'] - m['lines']} lost); RSS {m['rss'] / 1024:.1f} MB",
                         f"socat: {s['lines']}/{s['expected']} lines ({s['expected'] - s['lines']} lost); RSS {s['rss'] / 1024:.1f} MB",
                         "", "0 lost; RSS ≤ 64 MB"))
        if want("history"):
            n = 500_000 if q else 5_000_000
            r = history(work, n)
            t = r["tail"]
            runs = lambda x: (f"wall {x['wall']:.3f} s (min {x['min']:.3f}, max {x['max']:.3f}), "
                              f"CPU {x['cpu']:.3f} s (min {x['cpu_min']:.3f}, max {x['cpu_max']:.3f})")
            for name in ("mux-tail", "mux-tail, absolute path"):
                m = r[name]
                rows.append((f"history: --no-follow -n +1 of {n:,} lines ({n * LINE // 1_000_000} MB) into a pipe, "
                             f"{'label the path given' if name == 'mux-tail' else 'the absolute path as label'} "
                             f"({m['label']} bytes a line)",
                             runs(m), f"tail -n +1: {runs(t)}",
                             f"{ratio(m['wall'], t['wall'])} wall, {ratio(m['cpu'], t['cpu'])} CPU, max/min {m['max'] / m['min']:.2f} (tail's own {t['max'] / t['min']:.2f})",
                             "≤ 1.0× tail wall, max/min ≤ 1.5, CPU ≤ 1.2×" if name == "mux-tail" else "(how a long label weighs)"))
        if want("burst"):
            n = 2000 if q else 10000
            r = burst(work, n)
            rows.append((f"{n:,} files appearing at once under a watched glob",
                         f"all {r['lines']:,} shown {r['time']:.2f} s after the first; RSS {r['rss'] / 1024:.1f} MB "
                         f"({r['rss'] / n:.1f} KB per followed file)",
                         "—", "", "all within 10 s"))
        if want("unfinished"):
            r = unfinished(work, 100, 1 << 20)
            m, s_ = r["mux-tail"], r["socat"]
            rows.append(("100 connections each holding a 1 MiB unfinished line",
                         f"peak RSS {m['rss'] / 1024:.1f} MB; {m['bytes']:,}/{m['expected']:,} bytes out",
                         f"socat (a process per connection): peak RSS {s_['rss'] / 1024:.1f} MB; {s_['bytes']:,}/{s_['expected']:,} bytes",
                         ratio(m["rss"], s_["rss"]) + " RSS", "≤ 64 MB, nothing lost"))
        if want("fds"):
            r = few_descriptors(work, 150, 100, 70)
            m, t = r["mux-tail"], r["tail -F"]
            rows.append(("150-file glob with 100 descriptors (prlimit), then 70 open files deleted",
                         f"{m['start']} shown at start, {m['after']}/150 after the deletions; running: {m['alive']}",
                         f"tail -F: {t['start']} at start, {t['after']}/150 after; running: {t['alive']}",
                         "", "keeps running; all 150 once descriptors free up"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(f"machine: {os.cpu_count()} cores, {os.uname().release}; {time.strftime('%Y-%m-%d %H:%M')}")
    print()
    print("| workload | mux-tail | peer | ratio | target |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
