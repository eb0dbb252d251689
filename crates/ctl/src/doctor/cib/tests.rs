//! The CIB reader and `doctor`'s verdicts on it: two CIBs that `cibadmin --query` printed on the
//! single-node test cluster (a device passing its monitor; the same once its responder died),
//! and a hand-written three-node one for what a single node cannot show.

use super::*;
use crate::doctor::cluster::judge;
use crate::doctor::{Finding, Level};

fn fixture(name: &str) -> Cib {
    let path = format!("{}/tests/fixtures/cib/{name}", env!("CARGO_MANIFEST_DIR"));
    let xml = std::fs::read_to_string(&path).expect("fixture");
    parse(&xml).expect("a real CIB parses")
}

/// The findings about `cib` on node `local`, whose own monitor says `here`.
fn verdict(cib: &Cib, local: &str, here: Level) -> Vec<Finding> {
    judge(cib, Some(local), &|_d: &Device| {
        vec![Finding::new(here, "monitor", "marker", None)]
    })
}

fn one<'a>(found: &'a [Finding], check: &str) -> &'a Finding {
    let mut of = found.iter().filter(|f| f.check == check);
    of.next()
        .unwrap_or_else(|| panic!("no {check} in {found:#?}"))
}

#[test]
fn a_real_cib_gives_the_device_its_attributes_and_history() {
    let cib = fixture("doctor-good.xml");
    assert_eq!(cib.nodes, ["node1"]);
    assert_eq!(cib.properties["stonith-enabled"], "true");
    assert_eq!(cib.devices.len(), 1);
    let d = &cib.devices[0];
    assert_eq!(d.id, "gfs2-doctor");
    assert_eq!(d.instance["fence_timeout"], "30");
    assert_eq!(d.instance["pcmk_host_list"], "node1");
    assert!(d.meta.is_empty() && d.banned.is_empty());
    let ops: Vec<(&str, u64, Option<i32>)> = cib
        .ops
        .iter()
        .map(|o| (o.operation.as_str(), o.interval_ms, o.rc))
        .collect();
    assert_eq!(ops, [("start", 0, Some(0)), ("monitor", 5000, Some(0))]);
    assert!(cib
        .ops
        .iter()
        .all(|o| o.node == "node1" && o.exit_reason.is_none()));
}

#[test]
fn a_passing_device_is_ok_on_every_count() {
    let found = verdict(&fixture("doctor-good.xml"), "node1", Level::Ok);
    assert!(found.iter().all(|f| f.level == Level::Ok), "{found:#?}");
    let on = one(&found, "device gfs2-doctor on node1");
    assert!(
        on.message.starts_with("last monitor every 5 s passed at "),
        "{on:?}"
    );
    let here = one(&found, "monitor (device gfs2-doctor on node1, here)");
    assert_eq!(
        here.message, "marker",
        "the local monitor is asked for the local node"
    );
}

/// The recurring monitor's own entry still says rc 0; the newer `last_failure` entry says 1.
#[test]
fn the_newest_monitor_result_counts_and_a_failure_names_the_node() {
    let cib = fixture("doctor-failed-monitor.xml");
    let found = verdict(&cib, "node1", Level::Fail);
    let on = one(&found, "device gfs2-doctor on node1");
    assert_eq!(on.level, Level::Fail);
    assert!(
        on.message.contains("last monitor every 5 s failed at"),
        "{on:?}"
    );
    assert!(on.message.contains("(rc 1: error, op-status 0)"), "{on:?}");
    assert!(
        on.message.contains("Pacemaker's log"),
        "no exit reason in 2.1.5: {on:?}"
    );
    let fix = on.fix.as_deref().unwrap_or_default();
    assert!(fix.contains("pcs resource cleanup gfs2-doctor"), "{fix}");
}

const THREE: &str = r#"<cib><configuration>
  <crm_config><cluster_property_set id="o">
    <nvpair id="a" name="stonith-timeout" value="PT45S"/>
    <nvpair id="b" name="stonith-enabled" value="off"/>
  </cluster_property_set></crm_config>
  <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/><node id="3" uname="n3"/></nodes>
  <resources>
    <primitive id="fa" class="stonith" type="fence_gfs2_recorder">
      <instance_attributes id="fa-i">
        <nvpair id="fa-1" name="pcmk_host_check" value="dynamic-list"/>
        <nvpair id="fa-2" name="pcmk_reboot_timeout" value="1min"/>
      </instance_attributes>
      <meta_attributes id="fa-m"><nvpair id="fa-3" name="target-role" value="Stopped"/></meta_attributes>
      <operations><op id="fa-op" name="monitor" interval="60s">
        <instance_attributes id="fa-oi"><nvpair id="fa-4" name="fence_timeout" value="1"/></instance_attributes>
      </op></operations>
    </primitive>
    <primitive id="other" class="stonith" type="fence_ipmilan"/>
  </resources>
  <constraints><rsc_location id="l" rsc="fa" node="n3" score="-INFINITY"/></constraints>
</configuration>
<status>
  <node_state id="1" uname="n1"><lrm id="1"><lrm_resources>
    <lrm_resource id="fa" class="stonith" type="fence_gfs2_recorder">
      <lrm_rsc_op id="fa_last_0" operation="monitor" interval="0" rc-code="7" op-status="0" call-id="2" last-rc-change="100"/>
    </lrm_resource>
    <lrm_resource id="other"><lrm_rsc_op id="o_0" operation="monitor" interval="0" rc-code="1" op-status="0"/></lrm_resource>
  </lrm_resources></lrm></node_state>
  <node_state id="2" uname="n2"><lrm id="2"><lrm_resources>
    <lrm_resource id="fa" class="stonith" type="fence_gfs2_recorder">
      <lrm_rsc_op id="fa_last_0" operation="start" interval="0" rc-code="1" op-status="4" call-id="5" last-rc-change="200" exit-reason="no heartbeat &amp; no &lt;lock&gt;&#10;"/>
      <lrm_rsc_op id="fa_monitor_60000" operation="monitor" interval="60000" rc-code="0" op-status="0" call-id="3" last-rc-change="150"/>
    </lrm_resource>
  </lrm_resources></lrm></node_state>
</status></cib>"#;

#[test]
fn three_nodes_bans_probes_and_another_nodes_failure() {
    let cib = parse(THREE).expect("parses");
    assert_eq!(cib.devices.len(), 1, "only fence_gfs2_recorder devices");
    let d = &cib.devices[0];
    assert_eq!(d.banned, ["n3"]);
    assert_eq!(d.meta["target-role"], "Stopped");
    assert!(
        !d.instance.contains_key("fence_timeout"),
        "an op's attributes are not the device's"
    );
    assert_eq!(cib.ops.len(), 3, "the other device's history is not read");
    assert_eq!(
        cib.ops[1].exit_reason.as_deref(),
        Some("no heartbeat & no <lock>\n")
    );

    let found = verdict(&cib, "n1", Level::Ok);
    let level = |check: &str| one(&found, check).level;
    assert_eq!(level("stonith-enabled"), Level::Fail);
    assert_eq!(one(&found, "stonith-timeout").message, "PT45S (45 s)");
    let device: Vec<&Finding> = found.iter().filter(|f| f.check == "device fa").collect();
    let messages: Vec<&str> = device.iter().map(|f| f.message.as_str()).collect();
    assert!(device.iter().all(|f| f.level == Level::Fail), "{device:#?}");
    assert!(
        messages[0].starts_with("disabled (target-role=Stopped)"),
        "{messages:?}"
    );
    assert!(
        messages[1].starts_with("pcmk_host_check=dynamic-list: "),
        "{messages:?}"
    );
    assert!(
        messages[2].starts_with(
            "fence_timeout 60 s (the agent's default) is not below stonith-timeout 45 s"
        ),
        "the shorter of pcmk_reboot_timeout 1min and stonith-timeout: {messages:?}"
    );
    let fix = device[1].fix.as_deref().unwrap_or_default();
    assert_eq!(
        fix,
        "pcs stonith update fa pcmk_host_list=\"n1 n2 n3\" pcmk_host_check=static-list"
    );
    // n1 (here) ran only a probe: not running is no failure; n2's newest result, its start,
    // failed, its reason escaped; n3 is banned, so not a candidate.
    assert!(
        found.iter().all(|f| f.check != "device fa on n1"),
        "{found:#?}"
    );
    assert_eq!(
        one(&found, "monitor (device fa on n1, here)").message,
        "marker"
    );
    let n2 = one(&found, "device fa on n2");
    assert_eq!(n2.level, Level::Fail);
    assert!(
        n2.message
            .contains("last start (probe) failed at 1970-01-01T00:03:20"),
        "{n2:?}"
    );
    assert!(
        n2.message
            .ends_with("(rc 1: error, op-status 4): no heartbeat & no <lock>\\n"),
        "{n2:?}"
    );
    assert!(found.iter().all(|f| !f.check.contains("n3")), "{found:#?}");
    let lists = one(&found, "host lists");
    assert_eq!(lists.level, Level::Warn);
    assert!(
        lists
            .message
            .starts_with("n1, n2, n3 in no fence_gfs2_recorder device's host list"),
        "{lists:?}"
    );
}

#[test]
fn without_a_device_doctor_says_how_to_create_one() {
    let cib = parse(
        "<cib><configuration><nodes><node id=\"1\" uname=\"a\"/></nodes></configuration></cib>",
    )
    .expect("parses");
    let found = verdict(&cib, "a", Level::Ok);
    let f = one(&found, "devices");
    assert_eq!(f.level, Level::Fail);
    assert!(
        f.fix
            .as_deref()
            .unwrap_or_default()
            .starts_with("pcs stonith create fence-gfs2 fence_gfs2_recorder pcmk_host_list=\"a\""),
        "{f:?}"
    );
    assert_eq!(
        one(&found, "stonith-enabled").level,
        Level::Ok,
        "true by default"
    );
}

/// `pcmk_host_map`'s `node:port` pairs name nodes too; a node in no list is a WARN.
#[test]
fn a_node_in_no_host_list_is_named() {
    let xml = THREE.replace(
        r#"name="pcmk_host_check" value="dynamic-list""#,
        r#"name="pcmk_host_map" value="n1:p1;n2:p2""#,
    );
    let found = verdict(&parse(&xml).expect("parses"), "n1", Level::Ok);
    let lists = one(&found, "host lists");
    assert_eq!(lists.level, Level::Warn);
    assert!(lists.message.starts_with("n3 in no "), "{lists:?}");
    assert!(
        found
            .iter()
            .any(|f| f.message == "fences n1:p1;n2:p2 (static list)"),
        "{found:#?}"
    );
    let good = verdict(&fixture("doctor-good.xml"), "node1", Level::Ok);
    assert_eq!(one(&good, "host lists").level, Level::Ok);
}

#[test]
fn not_a_cib_is_an_error() {
    assert!(parse("<pacemaker-result/>").is_err());
    assert!(parse("<cib><configuration></cib>").is_err());
    assert!(parse("<cib><configuration>").is_err(), "cut short");
}
