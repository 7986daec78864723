#!/usr/bin/env python3
"""Rotation torture: a writer at full speed, rotated every few thousand lines, against mux-tail.

    python3 benches/rotation_torture.py                 # 1,000,000 lines, rotated every 10,000
    python3 benches/rotation_torture.py --lines 200000  # quicker

Variants, each on a fresh file, each checked line by line:
  rename       mv app.log app.log.1, the writer reopens app.log at once
  rename-late  mv, logrotate's `create` makes a new empty app.log, and the writer keeps writing to
               the old descriptor for a while (as daemons do until they are told to reopen)
  delete       rm app.log, the writer reopens (creates) app.log
  copytruncate cp app.log app.log.1, then truncate app.log under the writer (logrotate's
               copytruncate); lines written between mux-tail's last read and the truncation are
               lost by design of copytruncate (they are in the copy only) -- counted, not hidden

Every line must arrive exactly once and in order (copytruncate: none repeated, none out of
order). The small variants of these run in the test suite (tests/e2e/files.rs, hardening.rs).
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "mux-tail")


def writer(variant, path, total, every, late):
    """Writes lines 1..total (then `end`) to `path`, rotating every `every` lines; returns the
    number of rotations."""
    rotations = 0
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    i = 0
    while i < total:
        i += 1
        os.write(fd, b"%d\n" % i)
        if i % every or i == total:
            continue
        rotations += 1
        if variant in ("rename", "rename-late"):
            os.rename(path, path + ".1")
            if variant == "rename-late":
                open(path, "w").close()  # logrotate's create
                for _ in range(late):  # still writing to the old descriptor
                    if i == total:
                        break
                    i += 1
                    os.write(fd, b"%d\n" % i)
            os.close(fd)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        elif variant == "delete":
            os.remove(path)
            os.close(fd)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        elif variant == "copytruncate":
            shutil.copyfile(path, path + ".1")
            os.ftruncate(fd, 0)
    os.write(fd, b"end\n")
    os.close(fd)
    return rotations


def peak_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def run(variant, total, every, late):
    d = tempfile.mkdtemp(prefix="mux-tail-torture-", dir="/dev/shm")
    path = os.path.join(d, "app.log")
    open(path, "w").close()
    out_path = os.path.join(d, "out")
    with open(out_path, "wb") as out:
        proc = subprocess.Popen([BIN, "--keys=never", "--no-label", "-n", "+1", path], stdout=out,
                                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    time.sleep(0.3)
    start = time.monotonic()
    rotations = writer(variant, path, total, every, late)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with open(out_path, "rb") as f:
            f.seek(max(0, os.path.getsize(out_path) - 16))
            if f.read().endswith(b"end\n"):
                break
        time.sleep(0.01)
    elapsed = time.monotonic() - start
    rss = peak_rss(proc.pid)
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    with open(out_path, "rb") as f:
        lines = f.read().split(b"\n")[:-1]
    shutil.rmtree(d)
    last = 0
    repeated = disorder = cut = 0
    got = 0
    for line in lines:
        if line == b"end":
            continue
        if not line.isdigit():
            cut += 1
            continue
        n = int(line)
        if n <= last:
            if variant == "copytruncate" and str(last + 1).startswith(line.decode()):
                cut += 1  # the start of a line the truncation took
                continue
            if n == last:
                repeated += 1
            else:
                disorder += 1
            continue
        got += 1
        last = n
    lost = total - got
    return {"lines": total, "rotations": rotations, "lost": lost, "repeated": repeated,
            "disorder": disorder, "cut": cut, "seconds": elapsed, "rss": rss,
            "complete": lines[-1:] == [b"end"]}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--every", type=int, default=10_000, help="rotate every N lines")
    p.add_argument("--late", type=int, default=500, help="lines written to the old descriptor (rename-late)")
    p.add_argument("--no-build", action="store_true")
    args = p.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--locked"], cwd=ROOT, check=True)
    print("| variant | lines | rotations | lost | repeated | out of order | cut | time | peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|")
    failed = False
    for variant in ["rename", "rename-late", "delete", "copytruncate"]:
        r = run(variant, args.lines, args.every, args.late)
        print(f"| {variant} | {r['lines']:,} | {r['rotations']} | {r['lost']} | {r['repeated']} | "
              f"{r['disorder']} | {r['cut']} | {r['seconds']:.2f} s | {r['rss'] / 1024:.1f} MB |")
        exact = variant != "copytruncate"
        if r["repeated"] or r["disorder"] or not r["complete"] or (exact and (r["lost"] or r["cut"])):
            failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
