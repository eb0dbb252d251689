//! The rules of corosync's parser, each where the two former parsers (the watcher's and
//! discovery's) disagreed, and a check of every case against the real `corosync -t`.

use super::*;

fn parse(text: &str) -> Result<Nodelist, SyntaxError> {
    Nodelist::parse(text.as_bytes())
}

fn nodes(text: &str) -> Vec<Node> {
    parse(text).expect("corosync accepts it").nodes
}

fn refused(text: &str) -> (usize, Reason) {
    let e = parse(text).expect_err("corosync refuses it");
    (e.line, e.reason)
}

fn node(text: &str) -> Node {
    let mut all = nodes(&format!("nodelist {{\n node {{\n{text}\n }}\n}}\n"));
    assert_eq!(all.len(), 1);
    all.remove(0)
}

const CONF: &str = "\
totem {
    version: 2
    cluster_name: gfs2
    interface {
        linknumber: 0
    }
}
# nodeid: 99 in a comment
nodelist {
    node {
        ring0_addr: 10.0.0.1
        name: rabbit-1.example.com
        nodeid: 1
    }
    node {
        name: cn-2
        ring0_addr: 10.0.0.2
        ring1_addr: 192.168.0.2
        nodeid: 2
    }
    node {
        ring0_addr: cn-3
        nodeid: 3
    }
    node {
        ring0_addr: fe80::4
        name: 10.0.0.1
        nodeid: 4
    }
}
quorum {
    provider: corosync_votequorum
}
";

#[test]
fn reads_name_nodeid_and_every_ring_address() {
    let n = nodes(CONF);
    assert_eq!(n.len(), 4);
    assert_eq!(n[1].name.as_deref(), Some("cn-2"));
    assert_eq!(n[1].nodeid, Some(2));
    let rings = vec![(0, "10.0.0.2".into()), (1, "192.168.0.2".into())];
    assert_eq!(n[1].rings, rings);
    assert_eq!(n[2].name, None);
    // The first ':' splits: IPv6 addresses keep theirs.
    assert_eq!(n[3].ring_addr(0), Some("fe80::4"));
}

#[test]
fn lookup_by_name_then_ring0_addr_then_short_name() {
    let list = parse(CONF).expect("no error");
    assert_eq!(list.node_id("cn-2"), Ok(2));
    // ring0_addr names a node without `name`, as corosync and Pacemaker do.
    assert_eq!(list.node_id("cn-3"), Ok(3));
    // A name beats a ring0_addr anywhere in the list: node 4 is *named* 10.0.0.1.
    assert_eq!(list.node_id("10.0.0.1"), Ok(4));
    assert_eq!(list.node_id("10.0.0.2"), Ok(2));
    // Short names, both ways (the former watcher parser's rule, corosync's third rule).
    assert_eq!(list.node_id("rabbit-1"), Ok(1));
    assert_eq!(list.node_id("cn-2.example.com"), Ok(2));
    assert_eq!(list.node_id("cn-3.lab"), Ok(3));
    // Only link 0 names a node; an IP target is never shortened.
    let none = |n: &str| Err(LookupError::NoNode { node: n.into() });
    assert_eq!(list.node_id("192.168.0.2"), none("192.168.0.2"));
    assert_eq!(list.node_id("10.0.0.9"), none("10.0.0.9"));
    assert_eq!(list.node_id("cn-9"), none("cn-9"));
}

#[test]
fn a_name_shared_by_nodes_with_different_ids_is_ambiguous() {
    let text =
        "nodelist {\n node {\n name: a.x\n nodeid: 1\n }\n node {\n name: a.y\n nodeid: 2\n }\n}\n";
    let list = parse(text).expect("no error");
    assert_eq!(list.node_id("a.x"), Ok(1));
    assert_eq!(
        list.node_id("a"),
        Err(LookupError::Ambiguous {
            node: "a".into(),
            ids: vec![Some(1), Some(2)]
        })
    );
}

#[test]
fn a_node_without_nodeid_is_found_but_has_no_id() {
    let list = parse("nodelist {\n node {\n ring0_addr: cn5\n }\n}\n").expect("no error");
    assert!(list.find("cn5").is_ok());
    let err = LookupError::NoNodeId { node: "cn5".into() };
    assert_eq!(list.node_id("cn5"), Err(err));
}

/// Disagreement: the watcher's parser cut every line at `#`; corosync (and discovery) only skip
/// lines that start with it, so a trailing `# ...` is part of the value.
#[test]
fn only_whole_lines_are_comments() {
    let n = node("  # name: commented\n\t# nodeid: 99\n name: cn-2 # old name\n nodeid: 2");
    assert_eq!(n.name.as_deref(), Some("cn-2 # old name"));
    assert_eq!(n.nodeid, Some(2));
}

/// Disagreement: discovery's parser stripped double quotes; corosync has no quoting.
#[test]
fn quotes_are_part_of_the_value() {
    let list = parse("nodelist {\n node {\n name: \"cn3\"\n nodeid: 3\n }\n}\n").expect("no error");
    assert_eq!(list.nodes[0].name.as_deref(), Some("\"cn3\""));
    let err = LookupError::NoNode { node: "cn3".into() };
    assert_eq!(list.node_id("cn3"), Err(err));
}

/// Disagreement: discovery's parser accepted `{`/`}` inside lines, the watcher's ignored such
/// lines; corosync refuses the file, and so do we, naming the line.
#[test]
fn braces_stand_alone_on_their_lines() {
    let head = "totem {\n version: 2\n}\nnodelist {\n";
    let at = |s: &str| refused(&format!("{head}{s}"));
    assert_eq!(
        at(" node { ring0_addr: cn9\n nodeid: 9 }\n}\n"),
        (5, Reason::AfterOpeningBrace)
    );
    assert_eq!(
        at(" node {\n nodeid: 9 }\n}\n"),
        (6, Reason::BadNodeId("9 }".into()))
    );
    assert_eq!(at(" node {\n }}\n}\n"), (6, Reason::AroundClosingBrace));
    assert_eq!(at(" {\n}\n}\n"), (5, Reason::MissingSectionName));
    // `name: {` is a section (corosync drops the trailing ':'), `node{` too.
    assert_eq!(
        nodes("nodelist: {\nnode{\nnodeid: 7\n}\n}\n")[0].nodeid,
        Some(7)
    );
}

/// Disagreement: the watcher's parser accepted unbalanced braces silently.
#[test]
fn braces_must_balance() {
    assert_eq!(
        refused("nodelist {\n node {\n nodeid: 1\n }\n"),
        (4, Reason::MissingClosingBrace)
    );
    assert_eq!(
        refused("totem {\n}\n}\n"),
        (3, Reason::UnexpectedClosingBrace)
    );
}

/// Disagreement: both former parsers skipped lines that are no statement; corosync refuses.
#[test]
fn a_line_that_is_no_statement_is_refused() {
    assert_eq!(
        refused("totem {\n version 2\n}\n"),
        (2, Reason::NotAStatement)
    );
    assert_eq!(refused("totem {\n :2\n}\n"), (2, Reason::EmptyKey));
    // corosync's own quirks, kept so that we refuse exactly what it refuses: with a blank after
    // the separator, a lone `:` is a key and a lone `{` a section name.
    assert!(parse("totem {\n : 2\n}\n").is_ok());
    assert!(parse(": {\n}\n").is_ok());
    assert_eq!(refused("{x\n}\n"), (1, Reason::MissingSectionName));
    assert_eq!(refused("{ x\n}\n"), (1, Reason::AfterOpeningBrace));
}

/// Disagreement: discovery's parser kept the first of two values, the watcher's the last.
#[test]
fn a_repeated_key_keeps_its_last_value() {
    let n = node("name: old\nname: new\nnodeid: 1\nnodeid: 2\nring0_addr: a\nring0_addr: b");
    assert_eq!(n.name.as_deref(), Some("new"));
    assert_eq!(n.nodeid, Some(2));
    assert_eq!(n.rings, vec![(0, "b".into())]);
}

/// Disagreement: discovery's parser forgot a node's keys at a subsection inside it.
#[test]
fn subsections_of_a_node_neither_count_nor_clear_it() {
    let n = node("name: cn1\nextra {\nname: inner\nnodeid: 5\n}\nnodeid: 1");
    assert_eq!((n.name.as_deref(), n.nodeid), (Some("cn1"), Some(1)));
}

/// Disagreement: the watcher ignored a bad nodeid, discovery failed only that lookup; corosync
/// refuses the whole file.
#[test]
fn nodeid_is_a_decimal_u32_or_the_file_is_refused() {
    assert_eq!(node("nodeid: 4294967295").nodeid, Some(u32::MAX));
    assert_eq!(node("nodeid: +007").nodeid, Some(7));
    for bad in ["4294967296", "-1", "0x10", "1 2", "", "x"] {
        let text = format!("nodelist {{\n node {{\n nodeid: {bad}\n }}\n}}\n");
        let reason = Reason::BadNodeId(bad.into());
        assert_eq!(refused(&text), (3, reason), "nodeid {bad:?}");
    }
}

#[test]
fn only_nodelist_node_sections_hold_nodes() {
    let text = "totem {\n node {\n nodeid: 9\n }\n}\nnodelist {\n nodeid: 8\n}\n";
    assert!(nodes(text).is_empty());
    assert!(nodes("x {\n nodelist {\n node {\n nodeid: 1\n }\n }\n}\n").is_empty());
}

/// corosync's node counter restarts at each `nodelist`: a second one rewrites the first nodes.
#[test]
fn a_second_nodelist_refills_from_the_first_node() {
    let one = "nodelist {\n node {\n name: a\n nodeid: 1\n }\n node {\n name: b\n }\n}\n";
    let two = "nodelist {\n node {\n nodeid: 5\n }\n}\n";
    let n = nodes(&format!("{one}{two}"));
    assert_eq!(n.len(), 2);
    assert_eq!((n[0].name.as_deref(), n[0].nodeid), (Some("a"), Some(5)));
}

#[test]
fn blanks_line_ends_and_lengths_are_corosyncs() {
    // Byte 0xA0 (Latin-1's no-break space) is a blank to corosync; `\r\n` ends a line too.
    let text = b"nodelist {\n node {\n\xA0name:\t cn1\xA0\r\n\tnodeid: 1\r\n }\n}\n";
    let n = &Nodelist::parse(text).expect("no error").nodes[0];
    assert_eq!((n.name.as_deref(), n.nodeid), (Some("cn1"), Some(1)));
    let long = format!("totem {{\n k: {}\n}}\n", "v".repeat(MAX_LINE - 4));
    assert!(parse(&long).is_ok());
    let longer = format!("totem {{\n k: {}\n}}\n", "v".repeat(MAX_LINE - 3));
    assert_eq!(refused(&longer), (2, Reason::LineTooLong));
    let key = "k".repeat(KEYNAME_MAXLEN - 7);
    assert!(parse(&format!("totem {{\n{key}: 1\n}}\n")).is_ok());
    let key = "k".repeat(KEYNAME_MAXLEN - 6);
    assert_eq!(
        refused(&format!("totem {{\n{key}: 1\n}}\n")),
        (2, Reason::PathTooLong)
    );
    assert!(parse("").expect("no error").nodes.is_empty());
    assert!(
        parse("nodelist {\n}").is_ok(),
        "a last line without newline"
    );
}

#[test]
fn read_is_bounded_and_errors_name_the_path() {
    let dir = tempfile::tempdir().expect("no error");
    let path = dir.path().join("corosync.conf");
    let missing = Nodelist::read(&path).expect_err("an error").to_string();
    assert!(missing.starts_with(&format!("cannot read {}", path.display())));
    std::fs::write(&path, "#".repeat(MAX_CONF as usize + 1)).expect("no error");
    assert!(matches!(
        Nodelist::read(&path),
        Err(CorosyncError::TooLarge { .. })
    ));
    std::fs::write(&path, "nodelist {\n node {\n name: a\n }\n}\n").expect("no error");
    let msg = |t: &str| node_id(&path, t).expect_err("an error").to_string();
    let p = path.display();
    assert_eq!(msg("b"), format!("{p}: no node named b in nodelist"));
    assert_eq!(msg("a"), format!("{p}: node a has no nodeid in nodelist"));
    std::fs::write(&path, "nodelist {\n").expect("no error");
    assert_eq!(msg("a"), format!("{p}: line 1: missing closing brace"));
}

/// Debian's corosync package ships one with a single node `node1`, nodeid 1, on 127.0.0.1.
#[test]
fn the_installed_example_reads_as_shipped() {
    // .ci/run installs corosync, whose package ships this file.
    let test = "the_installed_example_reads_as_shipped";
    if !system_tests::peers::require(
        test,
        &[system_tests::peers::installed(DEFAULT_COROSYNC_CONF)],
    ) {
        return;
    }
    let path = Path::new(DEFAULT_COROSYNC_CONF);
    let list = Nodelist::read(path).unwrap_or_else(|e| panic!("{e}"));
    assert!(!list.nodes.is_empty(), "{list:?}");
    for n in &list.nodes {
        let target = n.name.as_deref().or(n.ring_addr(0)).expect("named");
        assert_eq!(list.find(target), Ok(n));
    }
}

/// Discovery's former tests, on its example made valid for corosync (its inline braces and
/// quotes are refused or kept verbatim now: see the two tests above).
#[test]
fn discoverys_example_finds_names_ring0_addr_and_names_the_file() {
    let conf = "\
# Please read the corosync.conf.5 manual page
totem {
    version: 2
    cluster_name: rabbit-cluster
    interface {
        linknumber: 0
    }
}
nodelist {
    node {
        ring0_addr: 10.0.0.1
        name: rabbit-node-1
        nodeid: 1
    }
    node {
        # a comment inside a node
        name: compute-node-3
        ring0_addr: 10.0.0.13
        nodeid: 13
    }
    node {
        ring0_addr: cn9
        nodeid: 9
    }
}
";
    let list = parse(conf).expect("valid");
    assert_eq!(list.node_id("rabbit-node-1"), Ok(1));
    assert_eq!(list.node_id("compute-node-3"), Ok(13));
    assert_eq!(list.node_id("cn9"), Ok(9));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("corosync.conf");
    std::fs::write(&path, conf).expect("write");
    let err = node_id(&path, "cn7").expect_err("unknown");
    let expected = format!("{}: no node named cn7 in nodelist", path.display());
    assert_eq!(err.to_string(), expected);
    assert!(parse("nodelist {\n node {\n").is_err());
}

mod against_corosync;
