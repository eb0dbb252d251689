#!/usr/bin/env bash
# Runs every fuzz target for a bounded time, starting from the seed corpus in fuzz/corpus/.
#
#   fuzz/run.sh                 # 20 s per target (what CI runs)
#   fuzz/run.sh 300             # 5 minutes per target
#   fuzz/run.sh 300 request     # only some targets
#
# cargo-fuzz needs nightly-only compiler flags (sanitizers, coverage); with a stable toolchain
# RUSTC_BOOTSTRAP=1 enables them. Installs cargo-fuzz from crates.io when it is missing. New
# inputs libFuzzer finds go to a scratch corpus outside the tree (the seeds are not modified);
# a crash is saved in fuzz/artifacts/<target>/ and fails the script.
set -euo pipefail

cd "$(dirname "$0")"
SECS="${1:-20}"
shift || true
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=(request response names agent_options watcher_config)

export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/gfs2-fuzz.XXXXXX")"
trap 'rm -rf "$WORK" /tmp/gfs2-fuzz-secret' EXIT
export FUZZ_SCRATCH="$WORK"
# A secret file the backend seeds point at, so building them goes past the password check.
(umask 077 && echo fuzz-password >/tmp/gfs2-fuzz-secret)

for t in "${TARGETS[@]}"; do
    mkdir -p "$WORK/corpus-$t"
    echo "=== fuzz $t for ${SECS} s"
    # -timeout: one input taking 10 s is a hang worth reporting; -rss_limit_mb: a parser must
    # not balloon; -max_len: spool files are capped at 64 KiB (MAX_SPOOL_FILE).
    rc=0
    cargo fuzz run -O "$t" "$WORK/corpus-$t" "corpus/$t" -- \
        -max_total_time="$SECS" -timeout=10 -rss_limit_mb=1024 -max_len=65536 \
        -print_final_stats=1 >"$WORK/log-$t" 2>&1 || rc=$?
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)' "$WORK/log-$t" || true
    if [[ $rc -ne 0 ]]; then
        tail -n 60 "$WORK/log-$t" >&2
        echo "fuzz target $t failed (exit $rc): the input is in fuzz/artifacts/$t/" >&2
        exit 1
    fi
done
