#!/bin/sh
# The chaos campaign at CI size: builds the release binaries, then runs about 500 exchanges with
# every fault class under a fresh random seed, printed first so a failure replays:
#   target/release/gfs2-chaos --seed SEED --exchanges 500 --faults all --concurrency 8 ...
# (the exact replay command is the campaign's first line). Needs root (the disk faults mount
# tmpfs; the campaign's processes run as a dedicated uid) and libfaketime
# (apt-get install -y faketime).
#
# Bounded to 4 minutes with a cached build: agents are started for at most 120 s, then the
# quiescent period (at most 90 s) and the resource check (at most 20 s). A campaign cut short by
# that bound says so (a warning: fewer exchanges, not a violation).
#
# Exit status: 0 every oracle held; 1 a violation; 2 the campaign could not run (or printed no
# summary). The campaign runs in a private
# directory /tmp/gfs2-chaos.ci-XXXXXX (its TMPDIR; CHAOS_TMP=/dev/shm puts it in memory):
# removed on success, kept and named on any
# failure, whatever ended the campaign (a crash, a signal, a time-out of this script).
set -eu
cd "$(dirname "$0")/../.."
SEED="${CHAOS_SEED:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}"
EXCHANGES="${CHAOS_EXCHANGES:-500}"
CONCURRENCY="${CHAOS_CONCURRENCY:-8}"
# Fault classes (gfs2-chaos --faults): all, or a comma-separated list.
FAULTS="${CHAOS_FAULTS:-all}"
echo "run-ci.sh: chaos seed $SEED, $EXCHANGES exchanges, concurrency $CONCURRENCY, faults $FAULTS"
cargo build --release -p fence-watcher -p fence-gfs2-recorder -p gfs2-chaos
WORK=$(mktemp -d "${CHAOS_TMP:-/tmp}/gfs2-chaos.ci-XXXXXX")
# The campaign's processes run as another uid and must reach their tree inside.
chmod 755 "$WORK"
REPORT="${CHAOS_REPORT:-target/chaos-report.json}"
child=
# Ctrl-C or SIGTERM of this script: the campaign ends through its own cleanup first.
trap 'if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null || true; fi' INT TERM
start=$(date +%s)
status=0
TMPDIR="$WORK" target/release/gfs2-chaos --seed "$SEED" --exchanges "$EXCHANGES" --faults "$FAULTS" \
    --concurrency "$CONCURRENCY" --backend-min-ms 10 --backend-max-ms 200 --fault-every 10 \
    --max-secs 120 --keep --report "$WORK/report.json" >"$WORK/out.txt" 2>&1 &
child=$!
wait "$child" || status=$?
# A signal interrupts the first wait; the campaign is still cleaning up.
while kill -0 "$child" 2>/dev/null; do wait "$child" || status=$?; done
child=
cat "$WORK/out.txt"
[ -f "$WORK/report.json" ] && cp "$WORK/report.json" "$REPORT"
if grep -q '"cut_short":true' "$WORK/out.txt"; then
    echo "run-ci.sh: warning: the campaign was cut short by its time bound (fewer exchanges)"
fi
if [ "$status" = 0 ] && ! grep -q '^SUMMARY ' "$WORK/out.txt"; then
    status=2
fi
echo "run-ci.sh: seed $SEED, exit $status, $(( $(date +%s) - start )) s, report $REPORT"
if [ "$status" = 0 ]; then
    # Unmount anything a killed campaign could have left before removing the tree.
    grep -o " $WORK/[^ ]*" /proc/mounts | while read -r m; do umount -l "$m" || true; done
    rm -rf "$WORK"
else
    echo "run-ci.sh: FAILED; campaign directory kept: $WORK"
fi
exit "$status"
