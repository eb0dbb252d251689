//! The pacemaker source against Debian's real `crm_mon` and `cibadmin`, reading CIB files made by
//! the real `crm_simulate` (tests/fixtures/cib/make-cibs.sh).

use crate::support::{config, have, with_cib};
use gfs2_discovery::{discover, Source};
use gfs2_fence_protocol::{Gfs2Discovery, NodeName};

fn run(cib: &str, node: &str) -> Gfs2Discovery {
    let cfg = with_cib(config(&[Source::Pacemaker]), cib);
    discover(&NodeName::parse(node).unwrap(), &cfg)
}

fn listed(d: &Gfs2Discovery) -> Vec<(String, Vec<String>)> {
    d.filesystems
        .iter()
        .map(|f| (f.name.clone(), f.sources.clone()))
        .collect()
}

fn fs(name: &str, id: &str) -> (String, Vec<String>) {
    (name.to_string(), vec![format!("pacemaker:{id}")])
}

#[test]
fn clones_groups_and_cloned_groups_placed_on_each_node() {
    if !have(
        "crm_mon",
        "clones_groups_and_cloned_groups_placed_on_each_node",
    ) {
        return;
    }
    let cn1 = run("running.xml", "cn1");
    assert_eq!(cn1.errors, vec![]);
    assert_eq!(
        listed(&cn1),
        vec![fs("/mnt/shared", "fs-shared"), fs("/mnt/data", "fs-data")]
    );
    let cn2 = run("running.xml", "cn2");
    assert_eq!(
        listed(&cn2),
        vec![
            fs("/mnt/shared", "fs-shared"),
            fs("/mnt/data", "fs-data"),
            fs("/mnt/scratch", "fs-scratch")
        ]
    );
    // data-clone is banned from cn3.
    assert_eq!(
        listed(&run("running.xml", "cn3")),
        vec![fs("/mnt/shared", "fs-shared")]
    );
}

#[test]
fn non_gfs2_filesystems_never_appear() {
    if !have("crm_mon", "non_gfs2_filesystems_never_appear") {
        return;
    }
    // fs-home (xfs) runs on cn2 and fs-nfs (nfs4) on cn1.
    for node in ["cn1", "cn2"] {
        let names = run("running.xml", node).names();
        assert!(
            !names.iter().any(|n| n == "/home" || n == "/mnt/nfs"),
            "{node}: {names:?}"
        );
    }
}

#[test]
fn standby_node_has_none_and_says_why() {
    if !have("crm_mon", "standby_node_has_none_and_says_why") {
        return;
    }
    let cn4 = run("running.xml", "cn4");
    assert!(cn4.enabled);
    assert!(cn4.filesystems.is_empty());
    assert!(cn4.errors.is_empty());
    assert_eq!(
        cn4.reason.as_deref(),
        Some("no gfs2 filesystem found for cn4")
    );
    // A node Pacemaker has never heard of: the same.
    assert!(run("running.xml", "cn9").filesystems.is_empty());
}

#[test]
fn unclean_node_awaiting_fence_keeps_its_filesystems() {
    if !have(
        "crm_mon",
        "unclean_node_awaiting_fence_keeps_its_filesystems",
    ) {
        return;
    }
    let cn2 = run("cn2-failed.xml", "cn2");
    assert_eq!(
        cn2.names(),
        vec!["/mnt/shared", "/mnt/data", "/mnt/scratch"],
        "errors: {:?}",
        cn2.errors
    );
}

#[test]
fn without_crm_mon_placement_comes_from_the_configuration() {
    if !have(
        "cibadmin",
        "without_crm_mon_placement_comes_from_the_configuration",
    ) {
        return;
    }
    let mut cfg = with_cib(config(&[Source::Pacemaker]), "running.xml");
    cfg.crm_mon = "/nonexistent/crm_mon".into();
    let cn2 = discover(&NodeName::parse("cn2").unwrap(), &cfg);
    assert_eq!(
        cn2.names(),
        vec!["/mnt/shared", "/mnt/data", "/mnt/scratch"]
    );
    assert_eq!(cn2.errors.len(), 1);
    assert_eq!(cn2.errors[0].source, "pacemaker");
    assert_eq!(
        cn2.errors[0].reason,
        "crm_mon not found; placement from the configuration only"
    );
    let cn3 = discover(&NodeName::parse("cn3").unwrap(), &cfg);
    assert_eq!(cn3.names(), vec!["/mnt/shared"]);
}

#[test]
fn without_cibadmin_the_source_fails_and_is_recorded() {
    if !have(
        "crm_mon",
        "without_cibadmin_the_source_fails_and_is_recorded",
    ) {
        return;
    }
    let mut cfg = with_cib(config(&[Source::Pacemaker]), "running.xml");
    cfg.cibadmin = "/nonexistent/cibadmin".into();
    let d = discover(&NodeName::parse("cn2").unwrap(), &cfg);
    assert!(d.filesystems.is_empty());
    assert_eq!(d.errors[0].reason, "cibadmin not found");
}

#[test]
fn missing_cib_file_is_a_recorded_tool_failure() {
    if !have("crm_mon", "missing_cib_file_is_a_recorded_tool_failure") {
        return;
    }
    let cfg = with_cib(config(&[Source::Pacemaker]), "does-not-exist.xml");
    let d = discover(&NodeName::parse("cn2").unwrap(), &cfg);
    assert!(d.filesystems.is_empty());
    assert_eq!(d.errors.len(), 1);
    assert!(
        d.errors[0].reason.starts_with("cibadmin exited with"),
        "{:?}",
        d.errors
    );
}
