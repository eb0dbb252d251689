//! The guides in `docs/` run as written (`system_tests::guides`): every ` ```sh ` block of the
//! deployment and migration guides, in one shell session, against the real single-node test
//! cluster, with a real `fence_watcher` answering through a real (command) backend; then the
//! results are checked in the CIB, Pacemaker's fencing history and the spool.
//!
//! The guides use an installation's default paths (`/etc/gfs2-fencing`, `/run/gfs2-fencing`,
//! `/var/lib/gfs2-fencing`, `/var/log/gfs2-fencing`): the host's own are set aside meanwhile
//! (`system_tests::host_dirs`). The test starts the daemon itself where a guide says
//! `systemctl` (the test host has no systemd), exactly as the unit does: no flags, the
//! configuration file's `[spool]`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use system_tests::guides::{self, Block, Kind, Transcript};
use system_tests::host_dirs::{HostDirs, DEFAULT_DIRS};
use system_tests::pacemaker::{self, Cluster};
use system_tests::{peers, Daemon, Spool};

mod fence_ssh;
use fence_ssh::{OldFenceSsh, OLD_DEVICES};

/// The persistent response directory the guides configure.
const RESPONSES: &str = "/var/lib/gfs2-fencing/responses";
/// The node the guides fence (not a member of the test cluster: fencing the only member would
/// stop the cluster; Pacemaker fences any node of a device's `pcmk_host_list`).
const TARGET: &str = "compute-node-1";
/// One guide's session at most (a fence through Pacemaker takes well under a second here).
const BOUND: Duration = Duration::from_secs(600);

/// The site's fencing program: records each call, and answers `status` probes.
const SITE_FENCE: &str = "#!/bin/sh\necho \"$1 $2\" >> \"$(dirname \"$0\")/site-fence.calls\"\n";

/// Promise: the deployment guide's commands, as written, configure a device that Pacemaker
/// starts, a fencing level and the cluster's timeout, and fence a node for real through
/// Pacemaker, the agent and the daemon; the guide's unfence then archives the record.
#[test]
fn deployment_guide_runs_as_written() {
    let Some(site) = Site::start("deployment_guide_runs_as_written", &[]) else {
        return;
    };
    let t = site.run("deploying-with-pcs.md");
    t.assert_success("docs/deploying-with-pcs.md");
    report_left_out("deploying-with-pcs.md", &t);
    let hosts = format!(
        "compute-node-1 compute-node-2 compute-node-3 {}",
        pacemaker::NODE
    );
    device_is_configured(&[("pcmk_host_list", &hosts)]);
    assert!(
        cib().contains("name=\"provides\" value=\"unfencing\""),
        "{}",
        cib()
    );
    assert_eq!(property("stonith-timeout"), "90s");
    fenced_through_the_chain(&site);
    unfenced_by_pacemaker(&site);
}

/// Promise: the migration guide's seven steps, as written, replace per-node `fence_ssh`
/// devices by the recorder: the old devices are deleted, never used for the test fence, and
/// the new device fences through the daemon.
#[test]
fn migration_guide_runs_as_written() {
    let old = OldFenceSsh::install();
    let Some(site) = Site::start("migration_guide_runs_as_written", &[&old.path]) else {
        return;
    };
    old.create_devices();
    let t = site.run("migrating-from-fence-ssh.md");
    t.assert_success("docs/migrating-from-fence-ssh.md");
    report_left_out("migrating-from-fence-ssh.md", &t);
    device_is_configured(&[("fence_timeout", "75")]);
    let cib = cib();
    for gone in OLD_DEVICES {
        assert!(
            !cib.contains(&format!("id=\"{gone}\"")),
            "{gone} left:\n{cib}"
        );
    }
    fenced_through_the_chain(&site);
    let calls = std::fs::read_to_string(&old.calls).unwrap_or_default();
    assert!(
        !calls
            .lines()
            .any(|l| l.contains("reboot") || l.contains("off")),
        "the old fence_ssh device fenced:\n{calls}"
    );
}

/// Promise: the runbooks' commands (the views `status`, `history`, `fenced`, `doctor`, ...
/// included) run as written against the cluster the deployment guide set up.
#[test]
fn runbooks_run_as_written() {
    let Some(site) = Site::start("runbooks_run_as_written", &[]) else {
        return;
    };
    site.run("deploying-with-pcs.md")
        .assert_success("docs/deploying-with-pcs.md");
    let t = site.run("runbooks.md");
    t.assert_success("docs/runbooks.md");
    report_left_out("runbooks.md", &t);
}

/// Promise: every `runbook_url`-style link of the shipped alert rules
/// (`docs/runbooks.md#ANCHOR`) names a heading of the runbooks, and the runbooks have the
/// sections issue 15 asks for. Needs no cluster.
#[test]
fn alert_rules_link_runbook_sections() {
    let root = docs().join("..");
    let rules = std::fs::read_to_string(root.join("packaging/prometheus/gfs2-fencing.rules.yml"))
        .expect("read the alert rules");
    let runbooks = std::fs::read_to_string(docs().join("runbooks.md")).expect("read runbooks.md");
    let have = guides::anchors(&runbooks);
    let linked: Vec<&str> = rules
        .split("docs/runbooks.md#")
        .skip(1)
        .filter_map(|rest| {
            rest.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_'))
                .next()
        })
        .collect();
    assert!(!linked.is_empty(), "the rules link no runbook");
    let issue_15 = [
        "a-fence-that-timed-out",
        "a-request-stuck-claimed",
        "a-node-that-stays-fenced",
        "a-device-failed-in-crm_mon",
        "restoring-after-a-storage-node-reboot",
    ];
    for want in linked.iter().copied().chain(issue_15) {
        assert!(
            have.iter().any(|h| h == want),
            "runbooks.md has no #{want}: {have:?}"
        );
    }
}

/// The executed guides, in the order a new site reads them.
const GUIDES: [&str; 3] = [
    "deploying-with-pcs.md",
    "migrating-from-fence-ssh.md",
    "runbooks.md",
];

/// Promise: every guide follows the convention of `system_tests::guides` (no ```bash block,
/// every marker with its block and reason), tells its contributors so, and has commands to
/// run, so that a broken fence is found without a cluster. Needs no cluster.
#[test]
fn guides_follow_the_convention() {
    for guide in GUIDES {
        let text = std::fs::read_to_string(docs().join(guide))
            .unwrap_or_else(|e| panic!("cannot read docs/{guide}: {e}"));
        let blocks = guides::blocks(&text).unwrap_or_else(|e| panic!("docs/{guide}: {e}"));
        let run = blocks.iter().filter(|b| b.kind == Kind::Run).count();
        assert!(run > 0, "docs/{guide} has no ```sh block to run");
        assert!(
            text.contains("this guide is executed") || text.contains("this page is executed"),
            "docs/{guide} does not tell its contributors that it is executed"
        );
    }
}

/// A cluster, the host's directories set aside, and a daemon on the guides' configuration.
/// The directories are taken only once the cluster (and so the host-wide cluster lock) is
/// there, and put back before it goes: no other test sees the guides' files in them.
struct Site {
    // Dropped in this order: the daemon, the directories put back, the cluster.
    daemon: Daemon,
    _dirs: HostDirs,
    _cluster: Cluster,
    spool: Spool,
    calls: PathBuf,
}

impl Site {
    /// `None` when the test skips (not root, no Pacemaker or pcs; a failure under CI=true).
    fn start(test: &str, extra: &[&Path]) -> Option<Site> {
        let mut needs = vec![peers::root(), peers::installed("/usr/sbin/pcs")];
        needs.extend(pacemaker::installed());
        needs.extend(
            extra
                .iter()
                .map(|p| (p.exists(), format!("{} is missing", p.display()))),
        );
        if !peers::require(test, &needs) {
            return None;
        }
        let cluster = Cluster::start();
        let dirs = HostDirs::take(&DEFAULT_DIRS);
        let spool = Spool::at(
            "/run/gfs2-fencing/requests",
            RESPONSES,
            "/var/log/gfs2-fencing",
        );
        let calls = spool.path("site-fence.calls");
        write_config(&spool);
        let daemon = Daemon::builder(&spool).dirs_from_config().start();
        Some(Site {
            daemon,
            _dirs: dirs,
            _cluster: cluster,
            spool,
            calls,
        })
    }

    fn run(&self, guide: &str) -> Transcript {
        let path = docs().join(guide);
        let t = guides::run(&path, self.spool.root(), BOUND);
        println!("--- {guide}, as run\n{}", t.text);
        if !t.success {
            eprintln!("--- fence_watcher log\n{}", self.daemon.log_text());
        }
        t
    }
}

/// `/etc/gfs2-fencing/fence-watcher.toml`: the guides' `[spool]`, and one `command` backend
/// (a site's own fencing program) for every node: the compute nodes it fences, and the
/// cluster's own node, which Pacemaker unfences once the device provides unfencing.
fn write_config(spool: &Spool) {
    let program = spool.write("site-fence", SITE_FENCE, 0o755);
    let p = program.display();
    let config = format!(
        "[spool]\nrequest_dir = \"/var/run/gfs2-fencing/requests\"\n\
         response_dir = \"{RESPONSES}\"\n\
         [backends.site]\ntype = \"command\"\n\
         argv = [\"{p}\", \"{{action}}\", \"{{node}}\"]\n\
         status_argv = [\"{p}\", \"status\", \"{{node}}\"]\n\
         [[topology]]\nnodes = [\"*\"]\nlevels = [\"site\"]\n\
         [health]\nnodes = [\"compute-node-1\", \"compute-node-2\", \"compute-node-3\"]\n"
    );
    std::fs::create_dir_all("/etc/gfs2-fencing").expect("create /etc/gfs2-fencing");
    let file = "/etc/gfs2-fencing/fence-watcher.toml";
    std::fs::write(file, config).unwrap_or_else(|e| panic!("cannot write {file}: {e}"));
}

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

/// Prints the blocks the session left out, so that a reader of the test log sees them.
fn report_left_out(guide: &str, t: &Transcript) {
    for Block { line, kind, .. } in &t.left_out {
        match kind {
            Kind::NotRun(why) => eprintln!("{guide}:{line}: not run: {why}"),
            Kind::Needs(sub) => eprintln!(
                "GATED: {guide}:{line}: needs `gfs2-fencing {sub}`, not merged yet (the merger \
                 removes this gate)"
            ),
            Kind::Run => {}
        }
    }
}

/// The CIB now.
fn cib() -> String {
    let out = pacemaker::run("cibadmin", &["--query"]);
    assert!(out.status.success(), "cibadmin --query: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn property(name: &str) -> String {
    let args = ["--type", "crm_config", "--name", name, "--query", "-q"];
    let out = pacemaker::run("crm_attribute", &args);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The guides' device exists with the persistent response directory, `extra` attributes and
/// one fencing level for the compute nodes.
fn device_is_configured(extra: &[(&str, &str)]) {
    let cib = cib();
    assert!(
        cib.contains("<primitive id=\"fence-gfs2\" class=\"stonith\" type=\"fence_gfs2_recorder\""),
        "{cib}"
    );
    for (name, value) in [("response_dir", RESPONSES)].iter().chain(extra) {
        let nvpair = format!("name=\"{name}\" value=\"{value}\"");
        assert!(cib.contains(&nvpair), "no {nvpair} in:\n{cib}");
    }
    let level = cib.lines().find(|l| l.contains("<fencing-level"));
    assert!(
        level.is_some_and(|l| l.contains("target-pattern=\"^compute-node-[0-9]+$\"")
            && l.contains("devices=\"fence-gfs2\"")
            && l.contains("index=\"1\"")),
        "{cib}"
    );
}

/// The guide's fence of [`TARGET`] is in Pacemaker's history as a success, reached the site's
/// program as a reboot, and left a success record that the guide's unfence archived.
fn fenced_through_the_chain(site: &Site) {
    let out = pacemaker::run(
        "stonith_admin",
        &["--history", TARGET, "--verbose", "--output-as=xml"],
    );
    let xml = String::from_utf8_lossy(&out.stdout);
    assert!(
        xml.contains("status=\"success\""),
        "history of {TARGET}:\n{xml}"
    );
    let calls = std::fs::read_to_string(&site.calls).unwrap_or_default();
    assert!(
        calls.lines().any(|l| l == format!("reboot {TARGET}")),
        "the site's program was not asked to reboot {TARGET}:\n{calls}"
    );
    let archive = Path::new(RESPONSES).join(".unfenced");
    let archived: Vec<gfs2_fence_protocol::Response> = Spool::list(&archive)
        .iter()
        .filter_map(|n| std::fs::read(archive.join(n)).ok())
        .filter_map(|b| gfs2_fence_protocol::Response::from_json(&b).ok())
        .collect();
    assert!(
        archived
            .iter()
            .any(|r| r.success && r.target_node.as_str() == TARGET),
        "no archived success record of {TARGET} in {}: {archived:?}",
        archive.display()
    );
}

/// Once the device provides unfencing, Pacemaker unfenced the cluster's node through it (the
/// site's program got its `on`), and the device runs: no failed unfencing left it stopped.
fn unfenced_by_pacemaker(site: &Site) {
    let calls = std::fs::read_to_string(&site.calls).unwrap_or_default();
    let on = format!("on {}", pacemaker::NODE);
    assert!(calls.lines().any(|l| l == on), "no {on:?} in:\n{calls}");
    let text = pacemaker::run("crm_mon", &["-1", "--fence-history=2"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(!text.contains("Failed Fencing Actions"), "{text}");
    let xml = pacemaker::run("crm_mon", &["-1", "--output-as=xml"]);
    let xml = String::from_utf8_lossy(&xml.stdout);
    assert!(
        xml.lines()
            .any(|l| l.contains("<resource id=\"fence-gfs2\"") && l.contains("role=\"Started\"")),
        "the device does not run:\n{xml}"
    );
}
