//! No form of a BMC password leaves the daemon (issue 11, #2): the real `fence_watcher` with a
//! `redfish` backend against the hostile BMC of `system_tests::hostile_redfish` (a mock by necessity: no real
//! BMC can be made to echo our request headers on purpose), whose 500, 403 and 404 bodies
//! quote the request's headers and the decoded credentials in several encodings.

use std::time::Duration;

use gfs2_fence_protocol::Action;
use system_tests::bmc::sushy::write_secret;

use crate::common;
use system_tests::hostile_redfish::{HostileBmc, Req, Resp};

/// A password every encoding changes: `@`, `:`, `/`, quotes, `&`, `%`, `+`, space, non-ASCII.
const PASSWORD: &str = "p@ss:w/rd \"Q\"&%+é-4242";

/// What the hostile BMC sends back: the credentials it decoded, in every usual encoding,
/// first (so a bounded excerpt still reaches them), then the raw request head.
fn echo(req: &Req) -> String {
    let auth = basic_token(req).unwrap_or_default();
    format!(
        "auth={auth} decoded=admin:{PASSWORD} url={} json={} colon={} head={}",
        percent(PASSWORD),
        serde_json::to_string(PASSWORD).expect("json"),
        base64(format!(":{PASSWORD}").as_bytes()),
        req.head
    )
}

fn basic_token(req: &Req) -> Option<String> {
    req.head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        let v = v.trim();
        (k.eq_ignore_ascii_case("authorization") && v.starts_with("Basic "))
            .then(|| v["Basic ".len()..].to_owned())
    })
}

/// Regression (issue 11, #2): "The BMC password leaks through error bodies". Before the fix
/// the response and the log carried `Authorization: Basic <base64 of admin:password>` (only
/// the literal password was scrubbed).
#[test]
fn the_bmc_password_leaks_through_error_bodies() {
    let bmc = HostileBmc::start(|req| {
        let text = echo(req);
        match req.path.as_str() {
            "/redfish/v1/Systems/s500" => Resp::new(500, text),
            "/redfish/v1/Systems/s403" => {
                let json = serde_json::json!({ "error": { "message": text } });
                Resp::new(403, json.to_string())
            }
            _ => Resp::new(404, format!("<html><body><pre>{text}</pre></body></html>")),
        }
    })
    .expect("hostile bmc");
    let spool = common::spool();
    let pw = spool.path("bmc.pw");
    write_secret(&pw, PASSWORD);
    let table = bmc.backend_toml(&pw, "timeout_secs = 5\n");
    let table: String = table.lines().map(|l| format!("{l}\n")).collect();
    let cfg = spool.config(&format!(
        "[backends.bmc]\ntype = \"redfish\"\n{table}\
         [backends.bmc.nodes.n500]\nsystem_id = \"s500\"\n\
         [backends.bmc.nodes.n403]\nsystem_id = \"s403\"\n\
         [backends.bmc.nodes.n404]\nsystem_id = \"s404\"\n\
         [[topology]]\nnodes = [\"n*\"]\nlevels = [\"bmc\"]\n"
    ));
    let d = common::start(&spool, &["--config", cfg.to_str().expect("utf-8")]);
    let names: Vec<_> = ["n500", "n403", "n404"]
        .iter()
        .map(|n| spool.request(n, Action::Off, Duration::from_secs(60)).0)
        .collect();
    let mut texts = Vec::new();
    for (name, status) in names.iter().zip(["500", "403", "404"]) {
        let r = spool.wait_response(name.as_str());
        assert!(!r.success, "{}", r.message);
        assert!(
            r.message.contains(&format!("http {status}")),
            "{}",
            r.message
        );
        // The excerpt is there (bounded), with the secrets replaced.
        assert!(r.message.contains("auth=***"), "{}", r.message);
        let raw = std::fs::read_to_string(spool.responses.join(name.as_str())).expect("read");
        texts.push(raw);
    }
    let token = bmc
        .requests()
        .iter()
        .find_map(basic_token)
        .expect("the backend sent basic auth");
    assert_eq!(token, base64(format!("admin:{PASSWORD}").as_bytes()));
    texts.push(d.log_text());
    let forms = [
        PASSWORD.to_owned(),
        token,
        base64(format!(":{PASSWORD}").as_bytes()),
        percent(PASSWORD),
        serde_json::to_string(PASSWORD)
            .expect("json")
            .trim_matches('"')
            .to_owned(),
        // A fragment of the password is a leak too.
        "w/rd".to_owned(),
    ];
    for text in &texts {
        for form in &forms {
            assert!(
                !text.contains(form.as_str()),
                "{form:?} leaked into:\n{text}"
            );
        }
    }
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
