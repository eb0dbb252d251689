/*
 * fencing.pml: a Promela model of one fence request's life in the gfs2-fencing file protocol
 * (docs/DESIGN.md): the agent (publish, wait, withdraw by rename when killed or timed out),
 * fence_watcher (claim by rename into .claimed, execute, publish the response NOREPLACE, remove
 * the claim; crash at any step and restart with recovery of .claimed), and a third-party consumer
 * in the manner of nnf-sos (scan, execute, respond, delete the request; no claim, crashes too).
 *
 * Every statement that touches a file is one atomic step, as the system call it stands for is
 * (rename, renameat2(RENAME_NOREPLACE), unlink, the publish's final rename). A read of a file's
 * content and the decision taken on it are separate steps, as they are in the programs.
 *
 * RESPONDER: 1 fence_watcher, 2 the nnf-sos-like consumer, 3 both on the same directories.
 * MAXCRASH: how many times each responder may crash (kill -9) and restart.
 * Mutants, to show the checks can fail: MUTANT_IGNORE_CANCEL (fence_watcher does not look at
 * "cancelled"/deadline), MUTANT_NO_RECOVERY (it ignores .claimed at start-up);
 * CONSUMER_WITHDRAW asks whether the nnf-sos-like consumer can run a withdrawn request.
 * See model/README.md for the commands and the results.
 */

#ifndef RESPONDER
#define RESPONDER 1
#endif
#ifndef MAXCRASH
#define MAXCRASH 2
#endif

/* Two responders on one directory are a cause of a second run; STRICT_DOUBLE counts them not. */
#if defined(STRICT_DOUBLE)
#define TWO_RESPONDERS 0
#else
#define TWO_RESPONDERS (RESPONDER == 3)
#endif

#define NONE   0
#define OK     1  /* success: true */
#define FAIL   2  /* every level failed */
#define NOEXEC 3  /* cancelled or expired: answered without executing */

/* The file system. */
bool req = false;           /* REQUEST_DIR/X.json */
bool req_cancelled = false; /* its content: "cancelled": true (republished by a withdrawer) */
bool cancel_tmp = false;    /* REQUEST_DIR/.X.json.cancel, held by the withdrawing agent */
bool claimed = false;       /* REQUEST_DIR/.claimed/X.json */
bool claim_cancelled = false;
byte resp = NONE;           /* RESPONSE_DIR/X.json: written once, never replaced */

/* Time: the request's deadline has passed (the agent's own timeout is the deadline). */
bool expired = false;

/* Ghost variables for the properties. */
bool published = false;
bool withdrawn = false;     /* the agent's withdraw rename succeeded */
bool exec_ok = false;       /* some backend run confirmed the fence */
byte execs = 0;             /* backend runs in all */
bool inflight_w = false;    /* fence_watcher is between starting a run and publishing */
bool inflight_n = false;    /* the consumer is */
byte cause = 0;             /* crashes during a run: each is a cause for running again */
byte crashes_w = 0;
byte crashes_n = 0;
bool crash_w = false;       /* kill -9 of fence_watcher is due (set by Crasher) */
bool crash_n = false;       /* of the consumer */
byte agent = 0;             /* 0 running, 1 exit 0 (fenced), 2 exit 1 */

inline run_backend(r) {
    atomic {
        execs++;
        /* No double execution without cause (a crash of a responder during a run; with two
           responders on one directory, RESPONDER == 3, a second responder is such a cause). */
        assert(TWO_RESPONDERS || execs <= 1 + cause);
        if
        :: r = OK; exec_ok = true
        :: r = FAIL
        fi
    }
}

proctype Agent() {
    /* publish: write .X.json.tmp, fsync, rename to X.json */
    atomic { req = true; published = true };
    if
    :: resp != NONE ->
        atomic {
            if
            :: resp == OK -> agent = 1;
                /* No false success: exit 0 only after a confirmed fence. */
                assert(exec_ok)
            :: else -> agent = 2
            fi
        }
    :: true ->
        /* Pacemaker's SIGKILL (the guardian withdraws) or the agent's own timeout (the
           deadline passes): withdraw by rename; ENOENT means a responder claimed it. */
        if
        :: expired = true
        :: skip
        fi;
        atomic {
            if
            :: req -> req = false; cancel_tmp = true; withdrawn = true
            :: else -> skip
            fi
        };
        if
        :: cancel_tmp ->
            /* the withdrawer owns it: publish it again, "cancelled": true, deadline now */
            atomic { req = true; req_cancelled = true; cancel_tmp = false }
        :: else -> skip
        fi;
        agent = 2
    fi
}

proctype Watcher() {
    byte r;
    do
    :: {
        /* start-up: a claim left by a crash is answered already (remove it) or is run again */
        if
        :: claimed && resp != NONE -> claimed = false
#ifndef MUTANT_NO_RECOVERY
        :: claimed && resp == NONE -> goto handle
#endif
        :: else -> skip
        fi;
scan:
end_scan:
        req;    /* inotify: wait for X.json */
        if
        :: resp != NONE -> req = false; goto scan   /* answered before a crash: remove */
        :: else -> skip
        fi;
        /* claim: rename(X.json, .claimed/X.json); exactly one claimer wins */
        atomic {
            if
            :: req -> req = false; claimed = true; claim_cancelled = req_cancelled
            :: else -> goto scan
            fi
        };
handle:
        r = NONE;
#ifndef MUTANT_IGNORE_CANCEL
        if
        :: claim_cancelled || expired -> r = NOEXEC
        :: else -> skip
        fi;
#endif
        if
        :: r == NOEXEC -> skip
        :: else ->
            /* A withdrawn request is never executed by fence_watcher. */
            assert(!withdrawn);
            inflight_w = true;
            run_backend(r)
        fi;
        /* publish the response with RENAME_NOREPLACE: an existing response stays */
        atomic {
            if
            :: resp == NONE -> resp = r
            :: else -> skip
            fi;
            inflight_w = false
        };
        claimed = false;    /* remove .claimed/X.json */
        goto scan
       } unless {
        atomic {
            crash_w -> crash_w = false;
            if
            :: inflight_w -> cause++; inflight_w = false
            :: else -> skip
            fi
        }
       }
    od
}

/* nnf-sos's way: scan the request directory, fence, write the response (it writes the seed's
   six fields and does not read "cancelled"), delete the request. No claim. */
proctype Consumer() {
    byte r;
    do
    :: {
        skip;
scan:
end_scan:
        req;
        if
        :: resp != NONE -> req = false; goto scan
        :: else -> skip
        fi;
#ifdef CONSUMER_WITHDRAW
        /* Does the consumer ever execute a request the agent withdrew? (It may: it does not
           claim, and it reads no "cancelled" field.) */
        assert(!withdrawn);
#endif
        inflight_n = true;
        run_backend(r);
        atomic {
            if
            :: resp == NONE -> resp = r
            :: else -> skip
            fi;
            inflight_n = false
        };
        req = false;        /* unlink X.json (ENOENT if already gone) */
        goto scan
       } unless {
        atomic {
            crash_n -> crash_n = false;
            if
            :: inflight_n -> cause++; inflight_n = false
            :: else -> skip
            fi
        }
       }
    od
}

/* kill -9 at any moment between two system calls, at most MAXCRASH times per responder (an
   `unless` escape takes priority once enabled, so the moment is chosen here). */
proctype Crasher() {
end:
    do
    :: atomic { crashes_w < MAXCRASH && !crash_w && !crash_n -> crash_w = true; crashes_w++ }
    :: atomic { crashes_n < MAXCRASH && !crash_w && !crash_n -> crash_n = true; crashes_n++ }
    :: break
    od
}

/* No lost request: once nothing can move any more, the request was answered and nothing is
   left in the request directory, .claimed or the withdrawer's hands. */
active proctype Quiescent() {
    timeout ->
        assert(published && agent != 0 && resp != NONE && !req && !claimed && !cancel_tmp)
}

init {
    atomic {
        run Agent();
        if
        :: RESPONDER == 1 || RESPONDER == 3 -> run Watcher()
        :: else -> skip
        fi;
        if
        :: RESPONDER == 2 || RESPONDER == 3 -> run Consumer()
        :: else -> skip
        fi;
        run Crasher()
    }
}

/* The same properties in LTL (spin -search -ltl NAME). */
ltl no_false_success { [] (agent == 1 -> exec_ok) }
ltl answered { <> (resp != NONE) }
ltl no_double_run { [] (TWO_RESPONDERS || execs <= 1 + cause) }
