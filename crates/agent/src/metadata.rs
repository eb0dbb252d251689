//! The metadata XML Pacemaker reads, the `--help` text and the man page, all from the option
//! table. The XML follows fence-agents 4.12 (`fence_virsh -o metadata`) and is valid against
//! `/usr/share/cluster/relaxng/metadata.rng`.

use std::fmt::Write;

use crate::actions::{self, Listing};
use crate::options::{getopt_text, Kind, OptSpec, OPTIONS};
use crate::text::xml;

pub const AGENT: &str = "fence_gfs2_recorder";
/// Where the agent must be installed: Pacemaker looks for fence agents only in `/usr/sbin`.
pub const INSTALL_PATH: &str = "/usr/sbin/fence_gfs2_recorder";
const SHORTDESC: &str =
    "Fence agent that records fence events and fences through request/response files";
const LONGDESC: &str = "fence_gfs2_recorder records every fence event (with the GFS2 filesystems the node could reach) and delegates the fencing itself to an external fence component: it publishes a request file in request_dir and waits, event-driven, for the response file of the same name in response_dir. It exits 0 only when the response says success. Set fence_timeout below the cluster's fencing timeout (50 is a good value under the default 60 s), so that the agent, not Pacemaker, reports a timeout. status answers from the recorded responses without fencing; list shows only the nodes that have records, so use pcmk_host_list (pcmk_host_check=static-list) for the nodes this device fences. monitor checks the directories and the responder's heartbeat (require_heartbeat=false for responders that write none); the heartbeat is stale when older than heartbeat_max_age, by default 3 times the interval the heartbeat states. A simulation fences nothing: a success from a simulated backend is refused, and monitor fails while the responder routes any node through the simulate backend, unless allow_simulate=true (demos and tests only). When the heartbeat carries backend health (fence_watcher probes its backends without changing any power state), backend_health decides: fail (the default) makes monitor fail when some node can be fenced by no level, naming the node, the levels, their backends and errors, and warns when a level is down while another works; warn only warns; ignore does not look at it. It is part of gfs2-fencing, not of the ClusterLabs fence-agents: the daemon fence_watcher(8) answers its requests.";
/// The project's home: the agent is not one of the ClusterLabs fence-agents, and its metadata
/// must not send an admin looking there.
const VENDOR_URL: &str = env!("CARGO_PKG_REPOSITORY");

fn visible() -> impl Iterator<Item = &'static OptSpec> {
    OPTIONS.iter().filter(|o| !o.hidden)
}

/// The metadata XML.
pub fn metadata() -> String {
    let mut x = String::with_capacity(8192);
    let _ = writeln!(x, "<?xml version=\"1.0\" ?>");
    let _ = writeln!(
        x,
        "<resource-agent name=\"{AGENT}\" shortdesc=\"{}\" >",
        xml(SHORTDESC)
    );
    let _ = writeln!(x, "<longdesc>{}</longdesc>", xml(LONGDESC));
    let _ = writeln!(x, "<vendor-url>{VENDOR_URL}</vendor-url>");
    x.push_str("<parameters>\n");
    for o in visible() {
        parameter(
            &mut x,
            o,
            o.name,
            o.obsoletes.map(|old| format!(" obsoletes=\"{old}\"")),
        );
        if let Some(old) = o.obsoletes {
            parameter(&mut x, o, old, Some(" deprecated=\"1\"".to_owned()));
        }
    }
    x.push_str("</parameters>\n<actions>\n");
    for a in actions::listed() {
        let auto = if a.listing == Listing::NotAutomatic {
            " automatic=\"0\""
        } else {
            ""
        };
        let _ = writeln!(x, "\t<action name=\"{}\"{auto} />", a.name);
    }
    x.push_str("</actions>\n</resource-agent>\n");
    x
}

fn parameter(x: &mut String, o: &OptSpec, name: &str, extra: Option<String>) {
    let _ = writeln!(
        x,
        "\t<parameter name=\"{name}\" unique=\"0\" required=\"{}\"{}>",
        u8::from(o.required),
        extra.unwrap_or_default()
    );
    let _ = writeln!(x, "\t\t<getopt mixed=\"{}\" />", xml(&getopt_text(o)));
    let default = o
        .default
        .map(|d| format!(" default=\"{}\"", xml(d)))
        .unwrap_or_default();
    match o.kind {
        Kind::Select(words) => {
            let _ = writeln!(x, "\t\t<content type=\"select\"{default}  >");
            for w in words {
                let _ = writeln!(x, "\t\t\t<option value=\"{}\" />", xml(w));
            }
            x.push_str("\t\t</content>\n");
        }
        kind => {
            let _ = writeln!(
                x,
                "\t\t<content type=\"{}\"{default}  />",
                kind.metadata_type()
            );
        }
    }
    let _ = writeln!(
        x,
        "\t\t<shortdesc lang=\"en\">{}</shortdesc>",
        xml(&describe(o))
    );
    x.push_str("\t</parameter>\n");
}

/// The description with the environment variables that set the option.
fn describe(o: &OptSpec) -> String {
    if o.env.is_empty() {
        o.desc.to_owned()
    } else {
        format!("{} (environment: {})", o.desc, o.env.join(", then "))
    }
}

/// The `--help` text.
pub fn help() -> String {
    let mut h = format!("{SHORTDESC}\n\nUsage:\n\t{AGENT} [options]\nOptions:\n");
    for o in visible() {
        let default = o
            .default
            .map(|d| format!(" (Default Value: {d})"))
            .unwrap_or_default();
        let _ = writeln!(h, "   {:<32} {}{default}", getopt_text(o), describe(o));
    }
    h.push_str("Actions (-o, action=):\n");
    for a in actions::listed() {
        let _ = writeln!(h, "   {:<32} {}", a.name, a.desc);
    }
    h.push_str("\nWith no arguments, options are read from standard input as name=value lines.\n");
    h
}

/// The man page (roff), built from the same table as the metadata.
pub fn manpage() -> String {
    let mut m = String::with_capacity(8192);
    let _ = writeln!(
        m,
        ".TH FENCE_GFS2_RECORDER 8 \"\" \"{AGENT} {}\" \"Fence agents\"",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(m, ".SH NAME\n{} \\- {}", roff(AGENT), roff(SHORTDESC));
    let _ = writeln!(m, ".SH DESCRIPTION\n{}", roff(LONGDESC));
    m.push_str(".SH PARAMETERS\n");
    for o in visible() {
        let default = o
            .default
            .map(|d| format!(" (Default Value: {d})"))
            .unwrap_or_default();
        let _ = writeln!(
            m,
            ".TP\n.B {}\n{}{}",
            roff(&getopt_text(o)),
            roff(&describe(o)),
            roff(&default)
        );
    }
    m.push_str(".SH ACTIONS\n");
    for a in actions::listed() {
        let _ = writeln!(m, ".TP\n\\fB{}\\fP\n{}", roff(a.name), roff(a.desc));
    }
    m.push_str(".SH STDIN PARAMETERS\n");
    for o in visible() {
        let also: Vec<&str> = o.aliases.to_vec();
        let obs = if also.is_empty() {
            String::new()
        } else {
            format!(" Obsoletes: {}", also.join(", "))
        };
        let _ = writeln!(
            m,
            ".TP\n.B {}\n{}{}",
            roff(o.name),
            roff(&describe(o)),
            roff(&obs)
        );
    }
    m.push_str(
        ".SH EXIT STATUS\n0 success (status: on), 1 failure or bad arguments, 2 status: off.\n",
    );
    m
}

/// Text safe for roff: backslashes escaped, hyphens as `\-`, no line starting with a control
/// character.
fn roff(text: &str) -> String {
    let t = text.replace('\\', "\\e").replace('-', "\\-");
    if t.starts_with('.') || t.starts_with('\'') {
        format!("\\&{t}")
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `gfs2-fencing check` runs the agent from this path: it must be the agent, in the one
    /// directory Pacemaker searches.
    #[test]
    fn the_install_path_is_the_agent_in_usr_sbin() {
        let path = std::path::Path::new(INSTALL_PATH);
        assert_eq!(path.parent(), Some(std::path::Path::new("/usr/sbin")));
        assert_eq!(path.file_name().and_then(|n| n.to_str()), Some(AGENT));
    }

    #[test]
    fn every_visible_option_is_in_metadata_help_and_manpage() {
        let (x, h, m) = (metadata(), help(), manpage());
        for o in visible() {
            assert!(
                x.contains(&format!("<parameter name=\"{}\"", o.name)),
                "{}",
                o.name
            );
            assert!(h.contains(&format!("--{}", o.long)), "{}", o.name);
            assert!(m.contains(&roff(&format!("--{}", o.long))), "{}", o.name);
        }
        assert!(
            x.contains("<parameter name=\"port\" unique=\"0\" required=\"1\" deprecated=\"1\">")
        );
        assert!(
            x.contains("<parameter name=\"plug\" unique=\"0\" required=\"1\" obsoletes=\"port\">")
        );
        assert!(!x.contains("\"nodename\""));
        for a in actions::listed() {
            assert!(x.contains(&format!("<action name=\"{}\"", a.name)));
            assert!(
                m.contains(&roff(a.name)) && h.contains(a.desc),
                "{}",
                a.name
            );
        }
        assert!(!x.contains("<action name=\"help\"") && !x.contains("meta-data"));
    }

    /// The vendor is this project: an admin who follows the URL or reads the description must
    /// land here, not at ClusterLabs (issue 14).
    #[test]
    fn the_metadata_names_this_project() {
        let x = metadata();
        let url = format!("<vendor-url>{}</vendor-url>", env!("CARGO_PKG_REPOSITORY"));
        assert!(x.contains(&url), "{x}");
        assert!(env!("CARGO_PKG_REPOSITORY").contains("gfs2-fencing"));
        assert!(!x.contains("github.com/ClusterLabs"), "{x}");
        assert!(LONGDESC.contains("part of gfs2-fencing"), "{LONGDESC}");
    }
}
