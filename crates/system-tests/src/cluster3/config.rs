//! What every node of the three-node cluster is configured with, as text: `corosync.conf`, the
//! seed CIB (properties, and the fence device for the crashed node), and reading readiness out
//! of `crm_mon --output-as=xml`. Pure functions, so they are unit-tested without a cluster.

/// corosync's configuration for `nodes` nodes `node1..` at `<subnet>.1..`: knet without crypto,
/// a 1 s token (a crash is noticed in ~2 s instead of ~5 s), logging to the node's private
/// `/var/log/corosync`.
pub fn corosync_conf(cluster_name: &str, subnet: &str, nodes: usize) -> String {
    let nodelist: String = (1..=nodes)
        .map(|i| {
            format!(
                "  node {{\n    ring0_addr: {subnet}.{i}\n    name: node{i}\n    nodeid: {i}\n  }}\n"
            )
        })
        .collect();
    format!(
        "# written by the gfs2-fencing three-node cluster test\n\
         totem {{\n  version: 2\n  cluster_name: {cluster_name}\n  transport: knet\n  \
         crypto_cipher: none\n  crypto_hash: none\n  token: 1000\n}}\n\
         nodelist {{\n{nodelist}}}\n\
         quorum {{\n  provider: corosync_votequorum\n}}\n\
         logging {{\n  to_logfile: yes\n  logfile: /var/log/corosync/corosync.log\n  \
         to_syslog: no\n  to_stderr: no\n  timestamp: on\n}}\n"
    )
}

/// A stonith device of our agent that fences only `target`, and may never run on it.
pub struct Device<'a> {
    pub id: &'a str,
    pub target: &'a str,
    /// Instance attributes besides `pcmk_host_list` (spool directories, timeouts, ...).
    pub attrs: &'a [(&'a str, &'a str)],
    pub monitor_secs: u32,
}

/// The CIB every node starts from: fencing on, a 5 s DC dead time (the default 20 s makes
/// forming take ~22 s instead of ~7 s), `device` and its `-INFINITY` location on its target.
/// No `.sig` file is needed beside it.
pub fn seed_cib(device: &Device) -> String {
    let id = device.id;
    let mut attrs = vec![("pcmk_host_list", device.target)];
    attrs.extend_from_slice(device.attrs);
    let nvpairs: String = attrs
        .iter()
        .map(|(k, v)| {
            format!(
                "<nvpair id=\"{id}-{k}\" name=\"{k}\" value=\"{}\"/>",
                xml_escape(v)
            )
        })
        .collect();
    format!(
        "<cib validate-with=\"pacemaker-3.8\" epoch=\"1\" num_updates=\"0\" admin_epoch=\"0\">\n\
         <configuration>\n<crm_config>\n<cluster_property_set id=\"cib-bootstrap-options\">\n\
         <nvpair id=\"opt-stonith-enabled\" name=\"stonith-enabled\" value=\"true\"/>\n\
         <nvpair id=\"opt-dc-deadtime\" name=\"dc-deadtime\" value=\"5s\"/>\n\
         </cluster_property_set>\n</crm_config>\n<nodes/>\n<resources>\n\
         <primitive id=\"{id}\" class=\"stonith\" type=\"fence_gfs2_recorder\">\
         <instance_attributes id=\"{id}-ia\">{nvpairs}</instance_attributes>\
         <operations><op id=\"{id}-mon\" name=\"monitor\" interval=\"{}s\"/></operations>\
         </primitive>\n</resources>\n<constraints>\n\
         <rsc_location id=\"{id}-not-on-target\" rsc=\"{id}\" node=\"{}\" score=\"-INFINITY\"/>\n\
         </constraints>\n</configuration>\n<status/>\n</cib>\n",
        device.monitor_secs, device.target
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Whether `crm_mon -1 --output-as=xml` shows a DC and every node of `nodes` fully joined:
/// online, not pending (a node killed while pending is never fenced), not unclean, expected up.
pub fn all_joined(xml: &str, nodes: &[String]) -> bool {
    xml.contains("<current_dc present=\"true\"")
        && nodes.iter().all(|n| {
            node_line(xml, n).is_some_and(|l| {
                [
                    "online=\"true\"",
                    "pending=\"false\"",
                    "unclean=\"false\"",
                    "expected_up=\"true\"",
                ]
                .iter()
                .all(|want| l.contains(want))
            })
        })
}

/// The `<node name="...">` element of `node` in `crm_mon`'s XML (one line per node).
pub fn node_line<'a>(xml: &'a str, node: &str) -> Option<&'a str> {
    let open = format!("<node name=\"{node}\" ");
    xml.lines().find(|l| l.trim_start().starts_with(&open))
}

/// Whether resource `id` runs (`role="Started"`) on a node, per `crm_mon`'s XML.
pub fn started(xml: &str, id: &str) -> bool {
    let open = format!("<resource id=\"{id}\" ");
    xml.lines()
        .any(|l| l.trim_start().starts_with(&open) && l.contains("role=\"Started\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MON: &str = "<pacemaker-result api-version=\"2.25\" request=\"crm_mon -1 --output-as=xml\">\n\
      <summary>\n    <current_dc present=\"true\" version=\"2.1.5\" name=\"node2\" id=\"2\"/>\n  </summary>\n\
      <nodes>\n\
        <node name=\"node1\" id=\"1\" online=\"true\" standby=\"false\" standby_onfail=\"false\" maintenance=\"false\" pending=\"false\" unclean=\"false\" shutdown=\"false\" expected_up=\"true\" is_dc=\"false\" resources_running=\"1\" type=\"member\"/>\n\
        <node name=\"node2\" id=\"2\" online=\"true\" standby=\"false\" standby_onfail=\"false\" maintenance=\"false\" pending=\"false\" unclean=\"false\" shutdown=\"false\" expected_up=\"true\" is_dc=\"true\" resources_running=\"0\" type=\"member\"/>\n\
        <node name=\"node3\" id=\"3\" online=\"true\" standby=\"false\" standby_onfail=\"false\" maintenance=\"false\" pending=\"PENDING\" unclean=\"false\" shutdown=\"false\" expected_up=\"true\" is_dc=\"false\" resources_running=\"0\" type=\"member\"/>\n\
      </nodes>\n<resources>\n\
        <resource id=\"f3\" resource_agent=\"stonith:fence_gfs2_recorder\" role=\"Started\" active=\"true\"/>\n\
      </resources>\n</pacemaker-result>\n";

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_pending_node_is_not_joined() {
        assert!(all_joined(MON, &names(&["node1", "node2"])));
        assert!(!all_joined(MON, &names(&["node1", "node2", "node3"])));
        assert!(!all_joined(MON, &names(&["node1", "node4"])));
        let fixed = MON.replace("PENDING", "false");
        assert!(all_joined(&fixed, &names(&["node1", "node2", "node3"])));
        let no_dc = fixed.replace("present=\"true\"", "present=\"false\"");
        assert!(!all_joined(&no_dc, &names(&["node1"])));
    }

    #[test]
    fn node_names_do_not_match_by_prefix() {
        assert!(node_line(MON, "node").is_none());
        assert!(node_line(MON, "node1").is_some());
        assert!(started(MON, "f3"));
        assert!(!started(MON, "f"));
    }

    #[test]
    fn seed_cib_bans_the_device_from_its_target() {
        let cib = seed_cib(&Device {
            id: "f3",
            target: "node3",
            attrs: &[("request_dir", "/tmp/a\"b")],
            monitor_secs: 10,
        });
        assert!(cib.contains("name=\"pcmk_host_list\" value=\"node3\""));
        assert!(cib.contains("node=\"node3\" score=\"-INFINITY\""));
        assert!(cib.contains("value=\"/tmp/a&quot;b\""));
        assert!(cib.contains("name=\"stonith-enabled\" value=\"true\""));
    }

    #[test]
    fn corosync_conf_lists_every_node() {
        let conf = corosync_conf("g3", "10.99.3", 3);
        for i in 1..=3 {
            assert!(conf.contains(&format!("ring0_addr: 10.99.3.{i}\n    name: node{i}\n")));
        }
        assert!(conf.contains("token: 1000"));
    }
}
