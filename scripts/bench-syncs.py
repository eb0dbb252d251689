#!/usr/bin/env python3
"""Fence latency next to its physical floor, and the syncs one exchange costs (not a test).

For each directory given, on the file system that holds it:

- starts `fence_watcher --simulate --simulate-delay 0` on a fresh spool there;
- runs N fences one after the other (`fence_gfs2_recorder`, action=off, options on stdin) and
  times each from spawn to exit;
- interleaved with them, N samples of the *physical floor*: spawning a trivial process
  (/bin/true) plus two durable publishes (`.tmp` O_CREAT|O_EXCL, write, fsync, rename, directory
  fsync) of a request-sized file on the same file system, i.e. what one exchange must cost at
  least if the agent publishes a request and the daemon a response, each made durable;
- then, on the same spool, runs a few more exchanges with both processes under `strace -f -c`
  and counts fsync/fdatasync/sync_file_range/syncfs per exchange, for each process;
- and, without any process, replays the file operations of one exchange with the syncs the
  code had before issue 10 (12) and with the ones DESIGN.md keeps (6: "Durability: which syncs
  and why"), to show what the syncs alone cost on that file system and what the change saved.

Prints one block per directory: file system type, fence p50/p90/p99, floor p50/p90, the
difference of the p50s, and syncs per exchange. Run with the release binaries:

    cargo build --release -p fence-watcher -p fence-gfs2-recorder
    scripts/bench-syncs.py [-n 300] [--strace-n 20] DIR [DIR ...]   # e.g. /dev/shm /var/tmp

Needs python3 and strace (for the sync count; `--strace-n 0` skips it).
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYNC_CALLS = ("fsync", "fdatasync", "sync_file_range", "syncfs", "sync")
PAYLOAD = b"{" + b'"x": "' + b"a" * 400 + b'"}\n'  # about the size of a request or response


def fs_type(path):
    """The file system type of the mount that holds `path` (longest matching mount point)."""
    best, kind = "", "?"
    real = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        for line in f:
            dev, mnt, typ = line.split()[:3]
            mnt = mnt.replace("\\040", " ")
            if (real == mnt or real.startswith(mnt.rstrip("/") + "/")) and len(mnt) > len(best):
                best, kind = mnt, f"{typ} ({dev} on {mnt})"
    return kind


def durable_publish(dirfd, name, data):
    """The spool's publish: .tmp exclusive, write, fsync, rename into place, directory fsync."""
    tmp = f".{name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o640,
                 dir_fd=dirfd)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, name, src_dir_fd=dirfd, dst_dir_fd=dirfd)
    os.fsync(dirfd)


def floor_sample(floor_dir, dirfds, i):
    t0 = time.perf_counter()
    subprocess.run(["/bin/true"], input=b"", check=True)
    durable_publish(dirfds[0], f"floor-{i}.json", PAYLOAD)
    durable_publish(dirfds[1], f"floor-{i}.json", PAYLOAD)
    return (time.perf_counter() - t0) * 1000.0


def append_line(dirfd, name, durable):
    fd = os.open(name, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640, dir_fd=dirfd)
    try:
        os.write(fd, PAYLOAD)
        if durable:
            os.fdatasync(fd)
    finally:
        os.close(fd)


def replay(fds, i, today):
    """The file operations of one exchange (request, claim, response, claim removal, three log
    lines) with the syncs before issue 10 (`today`) or the kept ones; returns milliseconds."""
    req, claimed, resp, logs, parent = fds
    name = f"r-{i}.json"
    t0 = time.perf_counter()
    tmp = f".{name}.tmp"
    for d in (req, resp):  # both publishes: content fsynced before the rename (A1, D3)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o640, dir_fd=d)
        os.write(fd, PAYLOAD)
        os.fsync(fd)
        os.close(fd)
        if d == req:
            os.rename(tmp, name, src_dir_fd=req, dst_dir_fd=req)
            if today:
                os.fsync(req)  # A2
            os.rename(name, name, src_dir_fd=req, dst_dir_fd=claimed)  # the claim
            if today:
                os.fsync(claimed)  # D1
                os.fsync(req)  # D2
        else:
            os.rename(tmp, name, src_dir_fd=resp, dst_dir_fd=resp)
            os.fsync(resp)  # today D4 (daemon); kept: A8 (agent), the same call
    os.unlink(name, dir_fd=claimed)
    if today:
        os.fsync(claimed)  # D5
    for log in ("a.log", "b.log", "c.jsonl"):
        append_line(logs, log, True)  # A3-5
    if today:
        os.fsync(logs)  # A6
        os.fsync(parent)  # A7
    return (time.perf_counter() - t0) * 1000.0


def replay_bench(root, n):
    dirs = [os.path.join(root, "replay", d) for d in ("requests", "requests/.claimed",
                                                      "responses", "logs")]
    for d in dirs:
        os.makedirs(d, 0o750)
    fds = [os.open(d, os.O_RDONLY | os.O_DIRECTORY) for d in dirs]
    fds.append(os.open(os.path.join(root, "replay"), os.O_RDONLY | os.O_DIRECTORY))
    try:
        today, kept = [], []
        for i in range(n):  # interleaved, as above
            today.append(replay(fds, f"t{i}", True))
            kept.append(replay(fds, f"k{i}", False))
        return today, kept
    finally:
        for fd in fds:
            os.close(fd)


class Spool:
    def __init__(self, parent):
        self.root = tempfile.mkdtemp(prefix="gfs2-bench-syncs.", dir=parent)
        os.chmod(self.root, 0o750)
        self.req, self.resp, self.log = (os.path.join(self.root, d)
                                         for d in ("requests", "responses", "logs"))
        for d in (self.req, self.resp):
            os.mkdir(d, 0o750)
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("REQUEST_DIR", "RESPONSE_DIR", "LOG_DIR", "NOTIFY_SOCKET",
                                 "NNF_FENCE_REQUEST_DIR", "NNF_FENCE_RESPONSE_DIR")}

    def agent_input(self, node):
        return (f"action=off\nport={node}\nrequest_dir={self.req}\nresponse_dir={self.resp}\n"
                f"log_dir={self.log}\nfence_timeout=60\ngfs2_discovery=false\n"
                f"require_heartbeat=false\nallow_simulate=true\n").encode()

    def heartbeat(self):
        return os.path.join(self.resp, ".fence_watcher.heartbeat")


def start_daemon(bins, spool, prefix=()):
    try:
        os.unlink(spool.heartbeat())
    except FileNotFoundError:
        pass
    log = open(os.path.join(spool.root, "daemon.log"), "a")
    p = subprocess.Popen([*prefix, os.path.join(bins, "fence_watcher"), "--simulate",
                          "--simulate-delay", "0", "--request-dir", spool.req,
                          "--response-dir", spool.resp], stdin=subprocess.DEVNULL,
                         stdout=log, stderr=log, env=spool.env)
    deadline = time.monotonic() + 60
    while True:  # the heartbeat file is the daemon's "ready"; there is no event to wait on
        try:
            with open(spool.heartbeat()) as f:
                pid = int(re.search(r'"pid"\s*:\s*(\d+)', f.read()).group(1))
            return p, pid
        except (FileNotFoundError, AttributeError, ValueError):
            if p.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"fence_watcher did not start; see {spool.root}/daemon.log")
            time.sleep(0.01)


def stop_daemon(p, pid):
    os.kill(pid, signal.SIGTERM)  # the daemon's own pid: under strace, p is strace
    p.wait(timeout=60)


def fence(bins, spool, node, prefix=()):
    t0 = time.perf_counter()
    r = subprocess.run([*prefix, os.path.join(bins, "fence_gfs2_recorder")],
                       input=spool.agent_input(node), stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, env=spool.env)
    ms = (time.perf_counter() - t0) * 1000.0
    if r.returncode != 0:
        sys.exit(f"fence of {node} failed ({r.returncode}): {r.stderr.decode(errors='replace')}")
    return ms


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def strace_counts(path):
    """Calls per sync system call from an `strace -c` summary."""
    counts = dict.fromkeys(SYNC_CALLS, 0)
    with open(path) as f:
        for line in f:
            cols = line.split()
            if len(cols) >= 5 and cols[-1] in counts and cols[3].isdigit():
                counts[cols[-1]] += int(cols[3])
    return sum(counts.values()), {k: v for k, v in counts.items() if v}


def count_syncs(bins, spool, n):
    summary = os.path.join(spool.root, "strace-daemon.txt")
    trace = ["strace", "-f", "-c", "-e", "trace=" + ",".join(SYNC_CALLS)]
    p, pid = start_daemon(bins, spool, prefix=(*trace, "-o", summary))
    agent_total, agent_by = 0, {}
    for i in range(n):
        out = os.path.join(spool.root, f"strace-agent-{i}.txt")
        fence(bins, spool, f"sc-{i}", prefix=(*trace, "-o", out))
        t, by = strace_counts(out)
        agent_total += t
        for k, v in by.items():
            agent_by[k] = agent_by.get(k, 0) + v
    # Every response is published (and its claim removed) before the agent can exit 0, so the
    # daemon's syncs for these n exchanges are all done by now.
    stop_daemon(p, pid)
    daemon_total, daemon_by = strace_counts(summary)
    return agent_total / n, daemon_total / n, agent_by, daemon_by


def bench(bins, parent, n, strace_n, warmup):
    spool = Spool(parent)
    floor_dir = os.path.join(spool.root, "floor")
    os.mkdir(floor_dir, 0o750)
    floors = [os.path.join(floor_dir, d) for d in ("a", "b")]
    for d in floors:
        os.mkdir(d, 0o750)
    dirfds = [os.open(d, os.O_RDONLY | os.O_DIRECTORY) for d in floors]
    try:
        p, pid = start_daemon(bins, spool)
        for i in range(warmup):
            fence(bins, spool, f"warm-{i}")
            floor_sample(floor_dir, dirfds, -1 - i)
        fences, floor = [], []
        for i in range(n):  # interleaved, so both see the same load
            fences.append(fence(bins, spool, f"cn-{i}"))
            floor.append(floor_sample(floor_dir, dirfds, i))
        stop_daemon(p, pid)
        syncs = count_syncs(bins, spool, strace_n) if strace_n else None
        today, kept = replay_bench(spool.root, n)
    finally:
        for fd in dirfds:
            os.close(fd)
        shutil.rmtree(spool.root, ignore_errors=True)
    print(f"== {parent}: {fs_type(parent)}")
    print(f"   load average at the end: {open('/proc/loadavg').read().split()[:3]}")
    print(f"   fence  ({n}): p50 {pct(fences, 50):7.2f} ms  p90 {pct(fences, 90):7.2f} ms  "
          f"p99 {pct(fences, 99):7.2f} ms  mean {statistics.mean(fences):7.2f} ms")
    print(f"   floor  ({n}): p50 {pct(floor, 50):7.2f} ms  p90 {pct(floor, 90):7.2f} ms  "
          f"(spawn /bin/true + 2 durable publishes)")
    print(f"   fence p50 - floor p50: {pct(fences, 50) - pct(floor, 50):7.2f} ms")
    print(f"   replay, syncs before issue 10 (12): p50 {pct(today, 50):7.2f} ms  p90 {pct(today, 90):7.2f} ms;"
          f" kept (6): p50 {pct(kept, 50):7.2f} ms  p90 {pct(kept, 90):7.2f} ms")
    if syncs:
        a, d, a_by, d_by = syncs
        print(f"   syncs per exchange ({strace_n} under strace): agent {a:.2f} {a_by}, "
              f"daemon {d:.2f} {d_by}, total {a + d:.2f}")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="+", help="directories whose file systems hold the spool")
    ap.add_argument("-n", type=int, default=300, help="timed exchanges per directory")
    ap.add_argument("--strace-n", type=int, default=20, help="exchanges counted under strace")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--bin-dir", default=os.path.join(os.environ.get(
        "CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release"))
    args = ap.parse_args()
    for b in ("fence_watcher", "fence_gfs2_recorder"):
        if not os.access(os.path.join(args.bin_dir, b), os.X_OK):
            sys.exit(f"{args.bin_dir}/{b} missing: cargo build --release -p fence-watcher "
                     "-p fence-gfs2-recorder")
    if args.strace_n and not shutil.which("strace"):
        sys.exit("strace not found (or pass --strace-n 0)")
    for d in args.dirs:
        bench(args.bin_dir, d, args.n, args.strace_n, args.warmup)


if __name__ == "__main__":
    main()
