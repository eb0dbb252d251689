//! The packages install what `make install` installs: the assets of the Debian package and of
//! the RPM (`[package.metadata.deb]`, `[package.metadata.generate-rpm]` of crates/ctl) are
//! packaging/install.list, line for line, with the same modes and the same configuration files
//! (issue 14). packaging/test-packages.sh checks the built packages against the same list.

use std::collections::BTreeSet;

/// One installed file: destination, octal mode, source, and whether it is a configuration file
/// that an upgrade keeps.
type Entry = (String, String, String, bool);

fn root() -> std::path::PathBuf {
    xtask::repo_root()
}

fn install_list() -> BTreeSet<Entry> {
    let text = std::fs::read_to_string(root().join("packaging/install.list")).expect("list");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert!(f.len() == 3 || f == [f[0], f[1], f[2], "config"], "{l}");
            let mode = f[0].trim_start_matches('0').to_owned();
            (f[1].to_owned(), mode, f[2].to_owned(), f.len() == 4)
        })
        .collect()
}

fn metadata(tool: &str) -> toml::Value {
    let text = std::fs::read_to_string(root().join("crates/ctl/Cargo.toml")).expect("manifest");
    let manifest: toml::Value = toml::from_str(&text).expect("toml");
    manifest["package"]["metadata"][tool].clone()
}

/// A source as the list writes it: relative to the workspace. The RPM packages stripped copies
/// of the binaries (`make rpm`), cargo-deb strips its own.
fn source(s: &str) -> String {
    let s = s.trim_start_matches("../../");
    match s.strip_prefix("target/packages/sbin/") {
        Some(bin) => format!("target/release/{bin}"),
        None => s.to_owned(),
    }
}

fn str_of(v: &toml::Value) -> String {
    v.as_str().expect("a string").to_owned()
}

#[test]
fn the_debian_package_installs_the_list() {
    let deb = metadata("deb");
    let assets: BTreeSet<Entry> = deb["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .map(|a| {
            let dest = format!("/{}", str_of(&a[1]));
            // dpkg makes every file under /etc a conffile.
            let config = dest.starts_with("/etc/");
            (dest, str_of(&a[2]), source(&str_of(&a[0])), config)
        })
        .collect();
    assert_eq!(assets, install_list());
    assert_eq!(str_of(&deb["recommends"]), "fence-agents");
    assert!(str_of(&deb["suggests"]).contains("ipmitool"));
    assert_eq!(deb["systemd-units"]["enable"].as_bool(), Some(false));
    assert_eq!(deb["systemd-units"]["start"].as_bool(), Some(false));
}

#[test]
fn the_rpm_installs_the_list() {
    let rpm = metadata("generate-rpm");
    let assets: BTreeSet<Entry> = rpm["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .map(|a| {
            let config = a.get("config").and_then(toml::Value::as_str) == Some("noreplace");
            (
                str_of(&a["dest"]),
                str_of(&a["mode"]),
                source(&str_of(&a["source"])),
                config,
            )
        })
        .collect();
    assert_eq!(assets, install_list());
    assert!(rpm["recommends"].get("fence-agents-all").is_some());
    assert!(rpm["suggests"].get("ipmitool").is_some());
}

#[test]
fn only_configuration_files_are_under_etc() {
    for (dest, mode, _, config) in install_list() {
        assert_eq!(dest.starts_with("/etc/"), config, "{dest}");
        if dest == "/etc/gfs2-fencing/fence-watcher.toml" {
            assert_eq!(mode, "640");
        }
    }
}

/// Each destination once, in the list and in both packages' tables: the sets above compare
/// equal with a file listed twice (a merge added `docs/cli.md` twice, unnoticed until read).
#[test]
fn no_destination_is_listed_twice() {
    let text = std::fs::read_to_string(root().join("packaging/install.list")).expect("list");
    let list: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_owned))
        .collect();
    let deb: Vec<String> = metadata("deb")["assets"]
        .as_array()
        .expect("deb assets")
        .iter()
        .map(|a| format!("/{}", str_of(&a[1])))
        .collect();
    let rpm: Vec<String> = metadata("generate-rpm")["assets"]
        .as_array()
        .expect("rpm assets")
        .iter()
        .map(|a| str_of(&a["dest"]))
        .collect();
    for (what, dests) in [("install.list", list), ("deb", deb), ("rpm", rpm)] {
        let unique: BTreeSet<&String> = dests.iter().collect();
        assert_eq!(
            unique.len(),
            dests.len(),
            "{what} lists a destination twice"
        );
    }
}
