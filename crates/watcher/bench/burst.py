#!/usr/bin/env python3
"""Burst, memory and idle-CPU benchmark of fence_watcher (release, --simulate, no delay)."""
import json, os, subprocess, sys, tempfile, time, uuid, datetime

BIN = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
IDLE = int(sys.argv[3]) if len(sys.argv) > 3 else 60
tmp = tempfile.mkdtemp(dir="/var/tmp")
req, resp, stage = (os.path.join(tmp, d) for d in ("requests", "responses", "stage"))
os.makedirs(stage)
log = open(os.path.join(tmp, "daemon.log"), "w")
env = {k: v for k, v in os.environ.items() if k not in ("REQUEST_DIR", "RESPONSE_DIR", "NOTIFY_SOCKET")}
p = subprocess.Popen([BIN, "--simulate", "--request-dir", req, "--response-dir", resp], stderr=log, env=env)
while not os.path.exists(os.path.join(resp, ".fence_watcher.heartbeat")):
    time.sleep(0.01)
now = datetime.datetime.now(datetime.timezone.utc)
dl = (now + datetime.timedelta(seconds=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
names = []
for i in range(N):
    rid = str(uuid.uuid4())
    r = {"schema_version": 1, "request_id": rid, "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
         "action": "reboot", "target_node": f"cn-{i}", "gfs2_filesystems": [], "deadline": dl}
    with open(os.path.join(stage, rid + ".json"), "w") as f:
        json.dump(r, f)
    names.append(rid + ".json")

def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (ticks)

def hwm(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(("VmHWM", "VmRSS")):
            print("  " + line.strip())

print(f"before burst:"); hwm(p.pid)
t0 = time.monotonic()
for n in names:  # "published at once": atomic renames into REQUEST_DIR in a tight loop
    os.rename(os.path.join(stage, n), os.path.join(req, n))
t_pub = time.monotonic() - t0
want = set(names)
fds0, peak_fds = len(os.listdir(f"/proc/{p.pid}/fd")), 0
while True:
    peak_fds = max(peak_fds, len(os.listdir(f"/proc/{p.pid}/fd")))
    have = set(os.listdir(resp)) & want
    if len(have) == N:
        break
    time.sleep(0.005)
t_all = time.monotonic() - t0
ok = sum(json.load(open(os.path.join(resp, n)))["success"] for n in names)
print(f"burst: {N} requests published in {t_pub:.3f}s, all {N} answered in {t_all:.3f}s, success={ok}")
print(f"fds: {fds0} before, at most {peak_fds} during the burst")
print("after burst:"); hwm(p.pid)
time.sleep(1)
c0 = stat(p.pid); t0 = time.monotonic()
time.sleep(IDLE)
c1 = stat(p.pid); dt = time.monotonic() - t0
hz = os.sysconf("SC_CLK_TCK")
print(f"idle: {(c1 - c0)} ticks ({(c1-c0)/hz:.3f}s CPU) over {dt:.1f}s = {100*(c1-c0)/hz/dt:.4f}% CPU")
p.terminate(); p.wait()
print(f"exit after SIGTERM: {p.returncode}")
subprocess.run(["rm", "-rf", tmp])
