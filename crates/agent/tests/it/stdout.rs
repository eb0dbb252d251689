//! What the agent does when its standard output fails (`out.rs` in the agent says why).

use std::process::{Command, Stdio};

use crate::common::{text, Sandbox};

/// The write end of a pipe whose read end is closed: any write to it is EPIPE.
fn closed_pipe() -> Stdio {
    let mut reader = Command::new("true")
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn true");
    let w = reader.stdin.take().expect("pipe");
    reader.wait().expect("true exits");
    Stdio::from(w)
}

fn dev_full() -> Stdio {
    Stdio::from(
        std::fs::File::options()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full"),
    )
}

/// Arguments, what stdout is, the exit status expected.
type Case = (&'static [&'static str], fn() -> Stdio, i32);

/// Issue 11 #11: `-o list | true` (EPIPE) and `-o status -n node1 >/dev/full` aborted with a
/// panic (134 in release, 101 in debug). Status keeps its answer (0 on / 2 off); list and
/// metadata exit 0 when the reader closed the pipe and 1 when the output was lost.
#[test]
fn status_list_and_metadata_do_not_panic_when_stdout_fails() {
    let sb = Sandbox::new();
    sb.write_response(
        "a1.json",
        r#"{"request_id":"a1","success":true,"action_performed":"off","target_node":"node1","message":"m","timestamp":"2025-10-20T14:30:00Z"}"#,
    );
    let cases: [Case; 8] = [
        (&["-o", "list"], closed_pipe, 0),
        (&["-o", "list"], dev_full, 1),
        (&["-o", "list-status"], closed_pipe, 0),
        (&["-o", "status", "-n", "node1"], dev_full, 2),
        (&["-o", "status", "-n", "node1"], closed_pipe, 2),
        (&["-o", "status", "-n", "node2"], dev_full, 0),
        (&["-o", "metadata"], closed_pipe, 0),
        (&["-o", "metadata"], dev_full, 1),
    ];
    for (args, stdout, code) in cases {
        let mut c = sb.command();
        c.args(args).stdin(Stdio::null()).stdout(stdout());
        let out = c.output().expect("agent");
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        if code == 1 {
            assert!(err.contains("cannot write to standard output"), "{err}");
        }
    }
}
