#!/bin/sh
# The chaos campaign at CI size: builds the release binaries, then runs about 500 exchanges with
# every fault class under a fresh random seed, printed first so a failure replays:
#   target/release/gfs2-chaos --seed SEED --exchanges 500 --faults all
# Needs root (the full-disk fault mounts tmpfs; the campaign's processes run as a dedicated uid)
# and libfaketime (apt-get install -y faketime). Exit status: gfs2-chaos's (0 every oracle held,
# 1 a violation, 2 the campaign could not run). Bounded: --max-secs, and every process it starts
# is stopped by PID, its tmpfs unmounted, on success, failure or Ctrl-C.
set -eu
cd "$(dirname "$0")/../.."
SEED="${CHAOS_SEED:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}"
EXCHANGES="${CHAOS_EXCHANGES:-500}"
echo "run-ci.sh: chaos seed $SEED, $EXCHANGES exchanges"
cargo build --release -p fence-watcher -p fence-gfs2-recorder -p gfs2-chaos
REPORT="${CHAOS_REPORT:-target/chaos-report.json}"
start=$(date +%s)
status=0
target/release/gfs2-chaos --seed "$SEED" --exchanges "$EXCHANGES" --faults all \
    --concurrency 4 --max-secs 1200 --report "$REPORT" || status=$?
echo "run-ci.sh: seed $SEED, exit $status, $(( $(date +%s) - start )) s, report $REPORT"
exit "$status"
