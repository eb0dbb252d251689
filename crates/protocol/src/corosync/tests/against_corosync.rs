//! Every rule checked against the real parser: `corosync -c FILE -t` prints
//! `parser error: FILE:LINE: ...` for a file its parser refuses; any other outcome (accepted, or
//! refused later for a reason that is not syntax, such as no local node) means it parsed.
//! Byte 0xA0 is left out: corosync treats it as a blank only since 3.1.8.

use std::path::Path;
use std::process::Command;

use super::{parse, MAX_LINE};

const COROSYNC: &str = "/usr/sbin/corosync";

fn cases() -> Vec<String> {
    let node = |body: &str| format!("nodelist {{\n node {{\n{body}\n }}\n}}\n");
    let mut all: Vec<String> = [
        "totem {\n version: 2\n cluster_name: c\n}\nnodelist {\n node {\n ring0_addr: 10.0.0.1\n name: a # c\n nodeid: 1\n }\n}\n",
        "nodelist {\n node { ring0_addr: cn9\n nodeid: 9 }\n}\n",
        "nodelist {\n node {\n nodeid: 9 }\n}\n",
        "nodelist {\n node {\n }}\n}\n",
        "nodelist {\n {\n}\n}\n",
        "nodelist: {\nnode{\nnodeid: 7\n}\n}\n",
        "nodelist {\n node {\n nodeid: 1\n }\n",
        "totem {\n}\n}\n",
        "totem {\n version 2\n}\n",
        "totem {\n : 2\n}\n",
        // Not `totem {\n :2\n}`: an empty key inside a section is refused since corosync
        // 3.1.10 (we refuse it), accepted by 3.1.7 (Debian 12). At the top level both refuse:
        ":2\n",
        ": {\n}\n",
        "{x\n}\n",
        "{ x\n}\n",
        "a::b: {\n}\n",
        "totem {\n a::b\n k :  : v\n}\n",
        "totem {\n}\n}}\n",
        "totem {\r\n x: y\r\n}\r\n",
        "x {\n nodelist {\n node {\n nodeid: 1\n }\n }\n}\n",
        "nodelist {\n}",
        "",
    ]
    .map(String::from)
    .into();
    for id in [
        "4294967295",
        "+007",
        "4294967296",
        "-1",
        "0x10",
        "1 2",
        "",
        "x",
    ] {
        all.push(node(&format!("nodeid: {id}")));
    }
    all.push(node("name: \"q\"\nring0_addr: fe80::1\nring1_addr: b"));
    all.push(node("name: a\nextra {\nname: b\n}\nnodeid: 1"));
    all.push(format!("totem {{\n k: {}\n}}\n", "v".repeat(MAX_LINE - 4)));
    all.push(format!("totem {{\n k: {}\n}}\n", "v".repeat(MAX_LINE - 3)));
    all.push(format!("totem {{\n{}: 1\n}}\n", "k".repeat(248)));
    all.push(format!("totem {{\n{}: 1\n}}\n", "k".repeat(249)));
    all
}

/// The line corosync's parser refuses `path` at, `None` if its parser accepts it.
fn corosync_verdict(path: &Path) -> Option<usize> {
    let out = Command::new(COROSYNC)
        .arg("-c")
        .arg(path)
        .arg("-t")
        .env_clear()
        .output()
        .expect("run corosync -t");
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let prefix = format!("parser error: {}:", path.display());
    let rest = &text[text.find(&prefix)? + prefix.len()..];
    let line = rest.split(':').next().expect("line number");
    Some(line.parse().expect("a line number"))
}

#[test]
fn every_case_parses_or_fails_at_the_same_line_as_in_corosync() {
    let test = "every_case_parses_or_fails_at_the_same_line_as_in_corosync";
    if !system_tests::peers::require(test, &[system_tests::peers::installed(COROSYNC)]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("corosync.conf");
    for text in cases() {
        std::fs::write(&path, &text).expect("write");
        let ours = parse(&text).err().map(|e| e.line);
        assert_eq!(ours, corosync_verdict(&path), "{text:?}");
    }
}
