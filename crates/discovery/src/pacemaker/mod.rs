//! The `pacemaker` source: GFS2 `ocf:heartbeat:Filesystem` resources placed on the target.
//!
//! The configuration (`cibadmin --query`) says which Filesystem resources are GFS2 (the
//! `fstype` instance attribute) and crm_mon (`crm_mon --output-as=xml -1`) says where each is
//! active; both run at once. Both tools honour `CIB_file`. When crm_mon fails, placement falls
//! back to the configuration alone (recorded as a problem): a cloned GFS2 filesystem counts
//! (clones run everywhere) unless a negative `rsc_location` bans it from the target, a
//! non-cloned one only with a positive `rsc_location` for the target on it, its group or clone.
//!
//! Name: the mount point (`directory`), else the `device`, else the resource id; the tag is
//! `pacemaker:<resource id>`; directory and device are kept as aliases for merging.

mod cib;
mod status;
pub mod xml;

use std::path::PathBuf;
use std::thread;
use std::time::Instant;

use crate::merge::{Finding, NameKind};
use crate::run::run;
use crate::{DiscoveryConfig, SourceOutcome};

pub use cib::{parse as parse_cib, CibConfig, FsResource};
pub use status::active_on;

/// Runs both tools and returns the findings for `target`.
pub fn discover(target: &str, cfg: &DiscoveryConfig, deadline: Instant) -> SourceOutcome {
    let env: Vec<(&str, PathBuf)> = cfg
        .cib_file
        .iter()
        .map(|f| ("CIB_file", f.clone()))
        .collect();
    let (mon, cib) = thread::scope(|s| {
        let mon = s.spawn(|| run(&cfg.crm_mon, &["--output-as=xml", "-1"], &env, deadline));
        let cib = run(&cfg.cibadmin, &["--query"], &env, deadline);
        (mon.join(), cib)
    });
    let config = match cib {
        Ok(out) => match cib::parse(&String::from_utf8_lossy(&out)) {
            Ok(c) => c,
            Err(e) => return SourceOutcome::failed(e.to_string()),
        },
        Err(e) => return SourceOutcome::failed(e.to_string()),
    };
    let placed = match mon {
        Ok(Ok(out)) => active_on(&String::from_utf8_lossy(&out), target).map_err(|e| e.to_string()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("crm_mon reader panicked".to_string()),
    };
    match placed {
        Ok(active) => SourceOutcome::found(findings(&config, |fs| active.contains(&fs.id))),
        Err(why) => {
            let found = findings(&config, |fs| configured_for(&config, fs, target));
            SourceOutcome {
                found,
                problems: vec![format!("{why}; placement from the configuration only")],
            }
        }
    }
}

/// Placement without crm_mon: clones everywhere unless banned from the target, others by a
/// positive location constraint for the target.
fn configured_for(config: &CibConfig, fs: &FsResource, target: &str) -> bool {
    let on_target = |positive: bool| {
        config.locations.iter().any(|l| {
            l.positive == positive
                && l.node == target
                && (l.rsc == fs.id || fs.parents.contains(&l.rsc))
        })
    };
    (fs.cloned && !on_target(false)) || on_target(true)
}

/// Findings for the GFS2 filesystems of `config` that `placed` accepts, in configuration order.
pub fn findings(config: &CibConfig, placed: impl Fn(&FsResource) -> bool) -> Vec<Finding> {
    config
        .filesystems
        .iter()
        .filter(|fs| fs.is_gfs2() && placed(fs))
        .map(|fs| {
            let name = fs
                .directory
                .as_ref()
                .or(fs.device.as_ref())
                .unwrap_or(&fs.id);
            let mut f = Finding::new(
                name.as_str(),
                NameKind::MountPoint,
                format!("pacemaker:{}", fs.id),
            );
            for a in fs.directory.iter().chain(fs.device.iter()) {
                f = f.alias(a.as_str());
            }
            f
        })
        .collect()
}
