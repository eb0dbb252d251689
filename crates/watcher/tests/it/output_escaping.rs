//! What a backend prints reaches the daemon's log and the response message only escaped
//! (issue 10, #10): line separators and bidi controls could make either read differently.

use gfs2_fence_protocol::text::is_hidden;
use gfs2_fence_protocol::Action;

use crate::common::{spool, start, DRAIN, PATIENCE};

/// Regression: U+2028, U+2029 and U+202E printed by a backend reached the text log and the
/// response message raw.
#[test]
fn u2028_and_u202e_from_a_backend_reach_the_log_and_the_response_raw() {
    let spool = spool();
    let script = spool.path("bidi.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf 'Success: \\342\\200\\250STATUS=completed \\342\\200\\256dellif\\342\\200\\251x\\n'\n",
    )
    .expect("script");
    let cfg = spool.config(&format!(
        r#"
        [backends.cmd]
        type = "command"
        argv = ["/bin/sh", "{}"]
        [[topology]]
        nodes = ["*"]
        levels = ["cmd"]
        "#,
        script.display()
    ));
    let d = start(&spool, &["--config", cfg.to_str().expect("utf-8")]);
    let (name, _) = spool.request("cn-bidi", Action::Off, PATIENCE);
    let resp = spool.wait_response(name.as_str());
    assert!(resp.success, "{resp:?}");
    assert!(
        resp.message
            .contains("\\u{2028}STATUS=completed \\u{202e}dellif\\u{2029}x"),
        "{:?}",
        resp.message
    );
    assert!(!resp.message.chars().any(is_hidden), "{:?}", resp.message);
    assert!(spool.claimed_drained(DRAIN));
    let log = d.log_text();
    assert!(log.contains("dellif"), "the decision is logged:\n{log}");
    assert!(
        !log.chars().any(|c| c != '\n' && is_hidden(c)),
        "raw hidden characters in the log:\n{log:?}"
    );
}
