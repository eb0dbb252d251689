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
 *
 * POWER (RESPONDER 1 only): adds a power loss of the host, which ends the agent, fence_watcher
 * and everything not yet on disk (see "Power loss" below). The syncs are then explicit steps:
 * by default exactly the ones DESIGN.md ("Durability: which syncs and why") keeps; SYNCS_TODAY
 * models the syncs of the code before that change; DROP_REQ_DATA_SYNC, DROP_RESP_DATA_SYNC and
 * DROP_AGENT_RESP_SYNC each remove one kept sync, and must fail.
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

#define NONE    0
#define OK      1  /* success: true */
#define FAIL    2  /* every level failed */
#define NOEXEC  3  /* cancelled or expired: answered without executing */
#define INVALID 4  /* the request file was unusable: answered without executing */
#define EMPTY   5  /* a response name that survived a power loss without its content */

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
byte agent = 0;             /* 0 running, 1 exit 0 (fenced), 2 exit 1, 3 died in a power loss */
byte powers = 0;            /* power losses so far */

#ifdef POWER
/*
 * Power loss. A file's content is on disk once the file was fsynced; a directory entry (a
 * rename, an unlink) once its directory was fsynced, or whenever the kernel writes it back on its
 * own (the Flusher, at any moment). The request side (REQUEST_DIR and .claimed, one file system:
 * the claim is a rename between them) and RESPONSE_DIR (perhaps another file system) reach the
 * disk independently. On a journaled file system (ext4, xfs) a rename is one transaction and
 * metadata reaches the disk in the order it was changed, so each side's disk state is the
 * volatile state of some earlier moment (a snapshot, d_*). A power loss puts back the snapshots:
 * a name whose content was never fsynced comes back empty. It ends the agent (same host: nobody
 * waits for its request any more, Pacemaker re-issues the fence) and fence_watcher, which
 * restarts with recovery; the deadline may pass meanwhile.
 */
#if RESPONDER != 1
#error "POWER models fence_watcher only (RESPONDER=1)"
#endif
#define MAXPOWER 1

bool req_synced = false;    /* the content of the file named X.json is on disk */
bool req_empty = false;     /* X.json came back from a power loss without its content */
bool claim_synced = false;
bool claim_empty = false;
bool resp_synced = false;

bool d_req = false; bool d_req_cancelled = false; bool d_req_synced = false;
bool d_req_empty = false; bool d_cancel_tmp = false; bool d_claimed = false;
bool d_claim_cancelled = false; bool d_claim_synced = false; bool d_claim_empty = false;
bool d_withdrawn = false;
byte d_resp = NONE; bool d_resp_synced = false;

#define REQ_DIRTY (d_req != req || d_req_cancelled != req_cancelled || d_cancel_tmp != cancel_tmp \
                   || d_claimed != claimed || d_claim_cancelled != claim_cancelled \
                   || d_withdrawn != withdrawn)
#define RESP_DIRTY (d_resp != resp || d_resp_synced != resp_synced)

inline commit_requests() {
    d_req = req; d_req_cancelled = req_cancelled; d_req_synced = req_synced;
    d_req_empty = req_empty; d_cancel_tmp = cancel_tmp; d_claimed = claimed;
    d_claim_cancelled = claim_cancelled; d_claim_synced = claim_synced;
    d_claim_empty = claim_empty; d_withdrawn = withdrawn
}
inline commit_responses() { d_resp = resp; d_resp_synced = resp_synced }

/* The syncs that stay (DESIGN.md): the content of every published file, and the agent's fsync
   of RESPONSE_DIR between reading a success and reporting it. */
#ifdef DROP_REQ_DATA_SYNC
#define REQ_DATA_SYNCED false
#else
#define REQ_DATA_SYNCED true
#endif
#ifdef DROP_RESP_DATA_SYNC
#define RESP_DATA_SYNCED false
#else
#define RESP_DATA_SYNCED true
#endif
#if defined(DROP_AGENT_RESP_SYNC) || defined(SYNCS_TODAY)
#define AGENT_FSYNC_RESPONSES skip
#else
#define AGENT_FSYNC_RESPONSES atomic { commit_responses() }
#endif
/* The directory syncs the code had before (each fsync of REQUEST_DIR or .claimed writes the
   request side's metadata, on a journaled file system). */
#ifdef SYNCS_TODAY
#define TODAY_FSYNC_REQUESTS atomic { commit_requests() }
#define TODAY_FSYNC_RESPONSES atomic { commit_responses() }
#else
#define TODAY_FSYNC_REQUESTS skip
#define TODAY_FSYNC_RESPONSES skip
#endif
#define SET_REQ_SYNCED(v) req_synced = v; req_empty = false
#define CLAIM_TAKES_REQ claim_synced = req_synced; claim_empty = req_empty
#define PUBLISH_RESP_SYNCED resp_synced = RESP_DATA_SYNCED

/* The kernel's own write-back: any side's metadata may reach the disk at any moment. */
proctype Flusher() {
end:
    do
    :: atomic { REQ_DIRTY -> commit_requests() }
    :: atomic { RESP_DIRTY -> commit_responses() }
    od
}

proctype Power() {
    do
    :: atomic {
        powers < MAXPOWER && !crash_w && !crash_n ->
        powers++;
        /* A reported success is never lost: once the agent exited 0, the response that says so
           is on disk, whole. */
        assert(agent != 1 || (d_resp == OK && d_resp_synced));
        /* A run whose response is not on disk may be forgotten and run again: a cause. */
        if
        :: inflight_w || (execs > 0 && d_resp == NONE) -> cause++
        :: else -> skip
        fi;
        inflight_w = false;
        req = d_req; req_cancelled = d_req_cancelled; req_synced = d_req_synced;
        cancel_tmp = d_cancel_tmp; claimed = d_claimed; claim_cancelled = d_claim_cancelled;
        claim_synced = d_claim_synced; withdrawn = d_withdrawn;
        req_empty = d_req_empty; claim_empty = d_claim_empty;
        resp = d_resp; resp_synced = d_resp_synced;
        /* a name whose content was never fsynced: written back in time, or empty */
        if
        :: req && !req_synced -> req_empty = true
        :: skip
        fi;
        if
        :: claimed && !claim_synced -> claim_empty = true
        :: skip
        fi;
        if
        :: resp != NONE && !resp_synced -> resp = EMPTY
        :: skip
        fi;
        commit_requests(); commit_responses();
        if
        :: expired = true
        :: skip
        fi;
        if
        :: agent == 0 -> agent = 3
        :: else -> skip
        fi;
        crash_w = true
       }
    :: break
    od
}
#else
#define AGENT_FSYNC_RESPONSES skip
#define TODAY_FSYNC_REQUESTS skip
#define TODAY_FSYNC_RESPONSES skip
#define REQ_DATA_SYNCED true
#define SET_REQ_SYNCED(v) skip
#define CLAIM_TAKES_REQ skip
#define PUBLISH_RESP_SYNCED skip
bool claim_empty = false;   /* only a power loss empties a file */
#endif

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
    {
    /* publish: write .X.json.tmp, fsync, rename to X.json (then fsync REQUEST_DIR: today) */
    atomic { req = true; SET_REQ_SYNCED(REQ_DATA_SYNCED); published = true };
    TODAY_FSYNC_REQUESTS;
    if
    :: resp != NONE ->
        if
        :: resp == OK ->
            /* a success is made durable before it is reported (fsync of RESPONSE_DIR) */
            AGENT_FSYNC_RESPONSES;
            atomic {
                agent = 1;
                /* No false success: exit 0 only after a confirmed fence. */
                assert(exec_ok)
            }
        :: else -> agent = 2
        fi
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
        TODAY_FSYNC_REQUESTS;
        if
        :: cancel_tmp ->
            /* the withdrawer owns it: publish it again, "cancelled": true, deadline now */
            atomic { req = true; req_cancelled = true; SET_REQ_SYNCED(REQ_DATA_SYNCED) };
            TODAY_FSYNC_REQUESTS;
            cancel_tmp = false;     /* remove the held copy */
            TODAY_FSYNC_REQUESTS
        :: else -> skip
        fi;
        agent = 2
    fi
    } unless { agent == 3 }    /* died in a power loss */
}

proctype Watcher() {
    byte r;
    do
    :: {
        /* start-up: a claim left by a crash is answered already (remove it) or is run again */
        if
        :: claimed && resp != NONE -> claimed = false; TODAY_FSYNC_REQUESTS
#ifndef MUTANT_NO_RECOVERY
        :: claimed && resp == NONE -> goto handle
#endif
        :: else -> skip
        fi;
scan:
end_scan:
        req;    /* inotify: wait for X.json */
        if
        :: resp != NONE -> req = false; TODAY_FSYNC_REQUESTS; goto scan   /* answered: remove */
        :: else -> skip
        fi;
        /* claim: rename(X.json, .claimed/X.json); exactly one claimer wins */
        atomic {
            if
            :: req -> req = false; claimed = true; claim_cancelled = req_cancelled;
                      CLAIM_TAKES_REQ
            :: else -> goto scan
            fi
        };
        TODAY_FSYNC_REQUESTS;   /* today: fsync .claimed and REQUEST_DIR */
handle:
        r = NONE;
        if
        :: claim_empty -> r = INVALID   /* an empty file does not parse */
#ifndef MUTANT_IGNORE_CANCEL
        :: !claim_empty && (claim_cancelled || expired) -> r = NOEXEC
#endif
        :: else -> skip
        fi;
        if
        :: r == NOEXEC || r == INVALID -> skip
        :: else ->
            /* A withdrawn request is never executed by fence_watcher. */
            assert(!withdrawn);
            inflight_w = true;
            run_backend(r)
        fi;
        /* publish the response (.tmp written and fsynced, renamed with RENAME_NOREPLACE): an
           existing response stays */
        atomic {
            if
            :: resp == NONE -> resp = r; PUBLISH_RESP_SYNCED
            :: else -> skip
            fi;
            inflight_w = false
        };
        TODAY_FSYNC_RESPONSES;
        claimed = false;    /* remove .claimed/X.json */
        TODAY_FSYNC_REQUESTS;
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
   left in the request directory, .claimed or the withdrawer's hands. After a power loss the
   agent is gone and Pacemaker has re-issued the fence, so its request may be gone too (never
   published, or withdrawn, as far as the disk knows), and a withdrawer's held copy may remain (a
   dot-file no reader looks at); but nothing may be left unanswered, a reported success must
   still be there, and no answer may be an empty file or an "invalid" for a request that the
   agent wrote whole. */
active proctype Quiescent() {
    atomic {
        timeout ->
        /* nothing left unanswered, claimed or unpublished while the agent lived */
        assert((published || agent == 3) && agent != 0 && !req && !claimed);
        /* answered, and the withdrawer's copy gone (a power loss may lose both) */
        assert(powers > 0 || (resp != NONE && !cancel_tmp));
        /* a reported success is still on record */
        assert(agent != 1 || resp == OK);
        /* no unexplained record: an empty response, or "invalid" for a request written whole */
        assert(resp != EMPTY && resp != INVALID)
    }
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
        run Crasher();
#ifdef POWER
        run Flusher();
        run Power()
#endif
    }
}

/* The same properties in LTL (spin -search -ltl NAME). */
ltl no_false_success { [] (agent == 1 -> exec_ok) }
ltl answered { <> (resp != NONE) }
ltl no_double_run { [] (TWO_RESPONDERS || execs <= 1 + cause) }
