#!/bin/sh
# Benchmarks of fence_gfs2_recorder (not a test): wall time of metadata, monitor and status with
# hyperfine, peak RSS with /usr/bin/time -v, and the fence overhead against an instant responder
# (examples/instant_responder.rs) as p50/p99 over RUNS fences.
# Usage: crates/agent/bench.sh   (CARGO_TARGET_DIR and RUNS are honoured; default RUNS=200)
set -eu
cd "$(dirname "$0")/../.."
T=${CARGO_TARGET_DIR:-target}
RUNS=${RUNS:-200}
cargo build -q --release -p fence-gfs2-recorder --bin fence_gfs2_recorder --example instant_responder
BIN=$T/release/fence_gfs2_recorder
RESP=$T/release/examples/instant_responder
D=$(mktemp -d -p /dev/shm gfs2-bench.XXXXXX)
RP=""
cleanup() { [ -n "$RP" ] && kill "$RP" 2>/dev/null; rm -rf "$D"; }
trap cleanup EXIT INT TERM
mkdir -p "$D/rq" "$D/rs" "$D/log"
touch "$D/rs/.fence_watcher.heartbeat"
printf '{"request_id":"r1","success":true,"action_performed":"off","target_node":"cn1"}' > "$D/rs/r1.json"
COMMON="request_dir=$D/rq\nresponse_dir=$D/rs\nlog_dir=$D/log\ngfs2_discovery=false"
printf 'action=metadata\n' > "$D/in.metadata"
printf "action=monitor\n$COMMON\n" > "$D/in.monitor"
printf "action=status\nport=cn1\n$COMMON\n" > "$D/in.status"
printf "action=reboot\nport=cn2\nfence_timeout=10\n$COMMON\n" > "$D/in.fence"

ARGS="--request-dir=$D/rq --response-dir=$D/rs --log-dir=$D/log --gfs2-discovery=false"
echo "== wall time (hyperfine -N, no shell; this hyperfine has no --input, so options go on argv)"
# -i: status exits 2 here (cn1's record says off), which is its success.
hyperfine -N -i --warmup 20 --runs "$RUNS" \
  -n metadata "$BIN -o metadata" \
  -n monitor "$BIN -o monitor $ARGS" \
  -n status "$BIN -o status -n cn1 $ARGS" 2>/dev/null | grep -E 'Benchmark|Time|Range'

echo "== peak RSS (max resident set size, kB)"
for a in metadata monitor status; do
  printf '%-9s ' "$a"; /usr/bin/time -v "$BIN" < "$D/in.$a" 2>&1 >/dev/null | sed -n 's/.*Maximum resident set size (kbytes): //p'
done

echo "== fence overhead with an instant responder (tmpfs, discovery off), $RUNS fences"
"$RESP" "$D/rq" "$D/rs" & RP=$!
sleep 0.2
hyperfine -N --warmup 10 --runs "$RUNS" --export-json "$D/fence.json" -n fence \
  "$BIN -o reboot -n cn2 --fence-timeout=10 $ARGS" >/dev/null 2>&1
python3 - "$D/fence.json" <<'PY'
import json, sys
t = sorted(json.load(open(sys.argv[1]))["results"][0]["times"])
p = lambda q: t[min(len(t) - 1, int(q * len(t)))] * 1000
print(f"fence wall time   p50 {p(0.50):.2f} ms  p99 {p(0.99):.2f} ms  max {t[-1]*1000:.2f} ms  (n={len(t)})")
PY
# The agent's own time from start of the fence to the completed event (duration_ms), without
# process start and exit. The difference to the wall time is mostly the kernel tearing down the
# inotify instance at exit (close() of an inotify fd that had a watch: 8-24 ms on this kernel).
python3 - "$D/log/fence-events-detailed.jsonl" <<'PY'
import json, sys
d = sorted(e["duration_ms"] for e in map(json.loads, open(sys.argv[1])) if e["event"] == "completed")
p = lambda q: d[min(len(d) - 1, int(q * len(d)))]
print(f"fence in-agent    p50 {p(0.50)} ms  p99 {p(0.99)} ms  (duration_ms of completed events, n={len(d)})")
PY
printf '%-9s ' "fence RSS"; /usr/bin/time -v "$BIN" < "$D/in.fence" 2>&1 >/dev/null | sed -n 's/.*Maximum resident set size (kbytes): //p'
