#!/usr/bin/env bash
# Verifies model/fencing.pml with spin: safety (assertions, invalid end states) and the LTL
# properties, for each responder set-up, then the mutants (which must fail). Needs spin and gcc
# (apt-get install spin). Prints one line per run: what, result, states stored.
set -euo pipefail
MODEL="$(cd "$(dirname "$0")" && pwd)/fencing.pml"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
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
    printf '%-58s %-5s (expected %-4s) %10s states  %s\n' "$name" "$got" "$expect" "${states:-?}" "$verdict"
    if [[ $verdict != ok ]]; then grep -E 'pan:|assert' pan.out | head -n 5; fi
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
exit $fail
