//! The `nnf` source: `kubectl get nnfstorages -A -o json`, the NnfStorage objects whose
//! `spec.fileSystemType` is `gfs2`.
//!
//! Schema: nnf-sos `api/v1alpha1/nnf_storage_types.go` (NnfStorageSpec: `fileSystemType`
//! enum raw|lvm|zfs|xfs|gfs2|lustre, `allocationSets[]` of NnfStorageAllocationSetSpec with
//! `name`, `capacity`, `nodes[]` of `{name, count}` = the Rabbit nodes holding the allocation).
//! Access, "where the object says so": an NnfStorage names only Rabbit (storage) nodes, never the
//! computes that mount it (those are in NnfAccess/ClientMount objects, not read here). So when the
//! target is named in some storage's allocation nodes it is a Rabbit, and only the storages that
//! name it count; when no storage names it, the objects say nothing about it and every GFS2
//! storage counts. The reported name is `metadata.name`; the tag is `nnf:<namespace>/<name>`.
//! nnf-sos derives the GFS2 lock table from the NnfNodeStorage UID, which NnfStorage does not
//! carry, so NNF entries cannot be matched with DLM lockspaces.

use std::time::Instant;

use serde::Deserialize;

use crate::merge::{Finding, NameKind};
use crate::SourceOutcome;

#[derive(Debug, Deserialize)]
struct List {
    items: Vec<Item>,
}

#[derive(Debug, Deserialize)]
struct Item {
    metadata: Metadata,
    #[serde(default)]
    spec: Spec,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    name: String,
    #[serde(default)]
    namespace: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    file_system_type: String,
    #[serde(default)]
    allocation_sets: Vec<AllocationSet>,
}

#[derive(Debug, Deserialize)]
struct AllocationSet {
    #[serde(default)]
    nodes: Vec<AllocationNode>,
}

#[derive(Debug, Deserialize)]
struct AllocationNode {
    name: String,
}

impl Item {
    fn names_node(&self, node: &str) -> bool {
        self.spec
            .allocation_sets
            .iter()
            .any(|s| s.nodes.iter().any(|n| n.name == node))
    }
}

/// Output that is not a Kubernetes list of NnfStorage objects.
#[derive(Debug, thiserror::Error)]
#[error("kubectl output is not an NnfStorage list: {0}")]
pub struct NnfError(#[from] serde_json::Error);

/// The GFS2 storages `target` can access, as findings.
pub fn parse(json: &[u8], target: &str) -> Result<Vec<Finding>, NnfError> {
    let list: List = serde_json::from_slice(json)?;
    let gfs2: Vec<&Item> = list
        .items
        .iter()
        .filter(|i| i.spec.file_system_type.eq_ignore_ascii_case("gfs2"))
        .collect();
    let target_is_named = list.items.iter().any(|i| i.names_node(target));
    Ok(gfs2
        .into_iter()
        .filter(|i| !target_is_named || i.names_node(target))
        .map(|i| {
            let tag = format!("nnf:{}/{}", i.metadata.namespace, i.metadata.name);
            Finding::new(i.metadata.name.as_str(), NameKind::Object, tag)
        })
        .collect())
}

/// Runs kubectl and returns the GFS2 storages `target` can access.
pub fn discover(target: &str, cfg: &crate::DiscoveryConfig, deadline: Instant) -> SourceOutcome {
    // kubectl gives up on its own a little before we would kill it.
    let secs = deadline
        .saturating_duration_since(Instant::now())
        .as_secs()
        .max(1);
    let request_timeout = format!("--request-timeout={secs}s");
    let mut args = vec!["get", "nnfstorages", "-o", "json", request_timeout.as_str()];
    match &cfg.nnf_namespace {
        Some(ns) => args.extend(["-n", ns.as_str()]),
        None => args.push("-A"),
    }
    let kubeconfig = cfg
        .kubeconfig
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned());
    if let Some(k) = &kubeconfig {
        args.extend(["--kubeconfig", k.as_str()]);
    }
    match crate::run::run(&cfg.kubectl, &args, &[], deadline) {
        Ok(out) => match parse(&out, target) {
            Ok(found) => SourceOutcome::found(found),
            Err(e) => SourceOutcome::failed(e.to_string()),
        },
        Err(e) => SourceOutcome::failed(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `kubectl get nnfstorages -A -o json` as kubectl prints a List (`apiVersion: v1`,
    /// `kind: List`, `items`, `metadata.resourceVersion`), objects with the fields of
    /// nnf-sos api/v1alpha1 NnfStorage; trimmed of managedFields.
    pub const LIST: &str = include_str!("../tests/fixtures/nnf/nnfstorages.json");

    fn names(v: &[Finding]) -> Vec<&str> {
        v.iter().map(|f| f.tag.as_str()).collect()
    }

    #[test]
    fn rabbit_target_gets_only_its_gfs2_storages() {
        let got = parse(LIST.as_bytes(), "rabbit-node-1").unwrap();
        assert_eq!(names(&got), vec!["nnf:default/wf-gfs2-a-0"]);
        assert_eq!(got[0].name, "wf-gfs2-a-0");
        let got = parse(LIST.as_bytes(), "rabbit-node-2").unwrap();
        assert_eq!(
            names(&got),
            vec!["nnf:default/wf-gfs2-a-0", "nnf:jobs/wf-gfs2-b-0"]
        );
    }

    #[test]
    fn target_not_named_anywhere_gets_every_gfs2_storage() {
        let got = parse(LIST.as_bytes(), "compute-node-3").unwrap();
        assert_eq!(
            names(&got),
            vec!["nnf:default/wf-gfs2-a-0", "nnf:jobs/wf-gfs2-b-0"]
        );
    }

    #[test]
    fn empty_list_and_garbage() {
        let empty =
            br#"{"apiVersion":"v1","items":[],"kind":"List","metadata":{"resourceVersion":""}}"#;
        assert!(parse(empty, "x").unwrap().is_empty());
        assert!(parse(b"error: the server doesn't have a resource type", "x").is_err());
        assert!(parse(br#"{"kind":"Status"}"#, "x").is_err());
    }
}
