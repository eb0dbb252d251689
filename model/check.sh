#!/usr/bin/env bash
# Verifies model/fencing.pml with spin: safety (assertions, invalid end states) and the LTL
# properties, for each responder set-up, then the mutants (which must fail). Needs spin and gcc
# (apt-get install spin). Prints one line per run: what, result, states stored; for a run that
# fails as expected, the property spin found violated (TRAIL=1 also prints the counterexample's
# steps). The POWER runs add a power loss that undoes every directory operation not yet on disk
# (the syncs of DESIGN.md "Durability: which syncs and why").
set -euo pipefail
MODEL="$(cd "$(dirname "$0")" && pwd)/fencing.pml"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
cp "$MODEL" fencing.pml   # spin -t looks for the trail beside the model it is given
MODEL=fencing.pml
CRASH="${MAXCRASH:-2}"
fail=0

# verify NAME EXPECT(pass|fail) SPIN_DEFINES PAN_CC_FLAGS PAN_ARGS
verify() {
    local name=$1 expect=$2 defs=$3 ccflags=$4 args=$5
    spin $defs -DMAXCRASH="$CRASH" -a "$MODEL" >spin.out 2>&1 || { cat spin.out; exit 1; }
    gcc -O2 $ccflags -o pan pan.c
    ./pan -m1000000 $args >pan.out 2>&1 || true
    local errors states
    errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' pan.out | head -n1)
    states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' pan.out | head -n1)
    local got=pass
    [[ ${errors:-1} -eq 0 ]] || got=fail
    local verdict=ok
    [[ $got == "$expect" ]] || { verdict=UNEXPECTED; fail=1; }
    printf '%-62s %-5s (expected %-4s) %10s states  %s\n' "$name" "$got" "$expect" "${states:-?}" "$verdict"
    if [[ $verdict != ok ]]; then grep -E 'pan:|assert' pan.out | head -n 5; fi
    if [[ $got == fail && $verdict == ok ]]; then
        grep -m1 -oE 'assertion violated .*|acceptance cycle|invalid end state' pan.out |
            cut -c1-150 | sed 's/^/    counterexample: /'
        if [[ -n ${TRAIL:-} ]]; then
            ./pan -m1000000 -i $args >/dev/null 2>&1 || true   # the shortest counterexample
            spin $defs -DMAXCRASH="$CRASH" -t -p "$MODEL" 2>&1 |
                sed -nE 's/^ *[0-9]+:\s+proc +[0-9]+ \(([A-Za-z]+):[0-9]+\) [^ ]+:([0-9]+) \(state [0-9]+\)\s+\[(.*)\]$/      \1 line \2: \3/p' |
                grep -v ' d_[a-z_]* = ' | head -n 80
        fi
    fi
}

for r in 1 2 3; do
    case $r in 1) who="fence_watcher";; 2) who="nnf-sos-like consumer";; 3) who="both";; esac
    verify "R=$r $who: assertions, end states" pass "-DRESPONDER=$r" "-DSAFETY -DNOCLAIM" ""
    for p in no_false_success answered no_double_run; do
        [[ $r -eq 3 && $p == no_double_run ]] && continue
        verify "R=$r $who: ltl $p (weak fairness)" pass "-DRESPONDER=$r" "-DNFAIR=3" "-a -f -N $p"
    done
done
verify "R=3 both: a second run without a crash?" fail "-DRESPONDER=3 -DSTRICT_DOUBLE" "-DSAFETY -DNOCLAIM" ""
verify "R=2 consumer runs a withdrawn request?" fail "-DRESPONDER=2 -DCONSUMER_WITHDRAW" "-DSAFETY -DNOCLAIM" ""
verify "mutant: watcher ignores cancelled/deadline" fail "-DRESPONDER=1 -DMUTANT_IGNORE_CANCEL" "-DSAFETY -DNOCLAIM" ""
verify "mutant: watcher ignores .claimed at start-up" fail "-DRESPONDER=1 -DMUTANT_NO_RECOVERY" "-DSAFETY -DNOCLAIM" ""

# Power loss, with exactly the kept syncs: they must hold ...
P="-DRESPONDER=1 -DPOWER"
verify "POWER kept syncs: assertions, end states" pass "$P" "-DSAFETY -DNOCLAIM" ""
for p in no_false_success no_double_run; do
    verify "POWER kept syncs: ltl $p (weak fairness)" pass "$P" "-DNFAIR=4" "-a -f -N $p"
done
# ... and each one is needed: without it spin finds a counterexample.
verify "POWER without the request's fsync (before its rename)" fail "$P -DDROP_REQ_DATA_SYNC" "-DSAFETY -DNOCLAIM" ""
verify "POWER without the response's fsync (before its rename)" fail "$P -DDROP_RESP_DATA_SYNC" "-DSAFETY -DNOCLAIM" ""
verify "POWER without the agent's fsync of RESPONSE_DIR" fail "$P -DDROP_AGENT_RESP_SYNC" "-DSAFETY -DNOCLAIM" ""
# The syncs of the code before: twelve, and still a reported success can be lost.
verify "POWER with the syncs of today (all dirs, no agent fsync)" fail "$P -DSYNCS_TODAY" "-DSAFETY -DNOCLAIM" ""
exit $fail
