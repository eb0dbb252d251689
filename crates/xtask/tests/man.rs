//! The man pages against the programs they describe: a configuration key, a command-line flag
//! or an agent parameter that exists and is missing from its page fails here (issue 14).

use std::ffi::OsString;
use std::process::Command;

use clap::{CommandFactory, Parser};
use system_tests::peers;
use xtask::{keys, man, roff::escape};

fn page(name: &str) -> String {
    man::pages()
        .expect("pages")
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| text)
        .expect(name)
}

#[test]
fn the_documented_keys_are_the_configurations_keys() {
    let doc = keys::load(&xtask::repo_root()).expect("keys file");
    let problems = keys::check(&doc);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_finds_an_undocumented_key_and_a_wrong_default() {
    let mut doc = keys::load(&xtask::repo_root()).expect("keys file");
    let daemon = doc
        .table
        .iter_mut()
        .find(|t| t.path == "daemon")
        .expect("[daemon]");
    let max = daemon
        .key
        .iter_mut()
        .find(|k| k.name == "max_concurrent")
        .expect("max_concurrent");
    max.default = Some("17".to_owned());
    daemon.key.retain(|k| k.name != "grace_period_secs");
    doc.table
        .retain(|t| t.variant.as_deref() != Some("redfish"));
    let problems = keys::check(&doc).join("\n");
    assert!(
        problems.contains("grace_period_secs exists but is not documented"),
        "{problems}"
    );
    assert!(
        problems.contains("default 17 is not the default"),
        "{problems}"
    );
    assert!(
        problems.contains("[backends.NAME] type: redfish exists"),
        "{problems}"
    );
}

#[test]
fn the_configuration_page_names_every_key_with_type_and_default() {
    let doc = keys::load(&xtask::repo_root()).expect("keys file");
    let page = page("fence-watcher.toml.5");
    for t in &doc.table {
        assert!(page.contains(&keys::heading(t)), "{}", t.title());
        for k in &t.key {
            let entry = format!(".B {}\n({}", escape(&k.name), escape(&k.kind));
            assert!(page.contains(&entry), "{} {}", t.title(), k.name);
            assert!(page.contains(&escape(&k.default_shown())), "{}", k.name);
        }
    }
}

#[test]
fn every_flag_is_in_its_page() {
    for (name, cmd) in [
        ("fence_watcher.8", fence_watcher::config::Cli::command()),
        ("gfs2-fencing.8", gfs2_fencing_ctl::Cli::command()),
    ] {
        let page = page(name);
        let flags = man::flags(&cmd);
        assert!(flags.len() > 5, "{name}: {flags:?}");
        for f in flags {
            assert!(page.contains(&escape(&f)), "{name} does not mention {f}");
        }
    }
    assert!(page("gfs2-fencing.8").contains("\\-\\-heartbeat\\-max\\-age"));
}

#[test]
fn every_agent_parameter_is_in_its_page() {
    let xml = fence_gfs2_recorder::metadata::metadata();
    let page = page("fence_gfs2_recorder.8");
    let params: Vec<&str> = xml
        .split("<parameter name=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    assert!(params.len() > 5, "{params:?}");
    for p in params {
        assert!(
            page.contains(&escape(p)),
            "the agent's page does not mention {p}"
        );
    }
}

#[test]
fn the_pages_render_without_warnings() {
    let groff = peers::installed("/usr/bin/groff");
    if !peers::require("the_pages_render_without_warnings", &[groff]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for path in man::write_all(dir.path()).expect("write") {
        let out = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(&path)
            .output()
            .expect("groff");
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The configuration the packages install is refused until a backend is configured, with a
/// message that says what to add and where to read about it.
#[test]
fn the_shipped_configuration_says_what_to_fill_in() {
    let path = xtask::repo_root().join("packaging/fence-watcher.toml");
    let cli = fence_watcher::config::Cli::parse_from([
        OsString::from("fence_watcher"),
        OsString::from("--config"),
        path.into_os_string(),
    ]);
    let err = fence_watcher::config::load(&cli, &|_| None)
        .expect_err("no backend yet")
        .to_string();
    for needle in [
        "[backends.NAME]",
        "[[topology]]",
        "man 5 fence-watcher.toml",
        "/usr/share/doc/gfs2-fencing/fence-watcher.toml.example",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
}
