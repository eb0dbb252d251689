//! The agent's one option table.
//!
//! Every option the agent understands is one row of [`OPTIONS`]. The same rows drive standard-input
//! parsing (Pacemaker's `key=value` lines), argv parsing (`-o reboot`, `--plug=cn1`), `--help`,
//! the metadata XML Pacemaker reads, and the man page, so none of them can drift from the others
//! (ripgrep's flag table, sudo-rs's staged parsing).

use gfs2_fence_protocol::{corosync, env};

/// The kind of value an option takes, as the fence-agents metadata names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text (paths, names, lists).
    Str,
    /// A flag on argv (`--verbose`, or `--opt=false`); its text is read by [`parse_bool`].
    Bool,
    /// A non-negative number of seconds, fractions allowed.
    Second,
    /// One of the listed words (the metadata `select` type, with one `<option>` per word).
    Select(&'static [&'static str]),
}

impl Kind {
    /// The metadata `content type=` value.
    pub fn metadata_type(self) -> &'static str {
        match self {
            Kind::Str => "string",
            Kind::Bool => "boolean",
            Kind::Second => "second",
            Kind::Select(_) => "select",
        }
    }
}

/// One option of the agent.
#[derive(Debug)]
pub struct OptSpec {
    /// The stdin key and metadata name (`_` form; `-` is accepted for it on stdin).
    pub name: &'static str,
    /// Other stdin keys for the same option.
    pub aliases: &'static [&'static str],
    /// A deprecated name the metadata also declares (`obsoletes=`), the fence-agents way.
    pub obsoletes: Option<&'static str>,
    pub short: Option<char>,
    /// The argv spelling without the leading `--`.
    pub long: &'static str,
    /// What the value is, for `--help` and the metadata `getopt` (`None`: a plain flag).
    pub value_hint: Option<&'static str>,
    pub kind: Kind,
    pub default: Option<&'static str>,
    pub required: bool,
    /// Environment variables consulted, in order, when the option is not given.
    pub env: &'static [&'static str],
    /// Hidden options are parsed but not advertised (Pacemaker's `nodename`).
    pub hidden: bool,
    pub desc: &'static str,
}

const fn opt(name: &'static str, long: &'static str, kind: Kind, desc: &'static str) -> OptSpec {
    OptSpec {
        name,
        aliases: &[],
        obsoletes: None,
        short: None,
        long,
        value_hint: None,
        kind,
        default: None,
        required: false,
        env: &[],
        hidden: false,
        desc,
    }
}

/// Pacemaker's default fencing timeout; `fence_timeout` must stay below it.
pub const PACEMAKER_DEFAULT_TIMEOUT_SECS: f64 = 60.0;
/// `fence_timeout` values at or above this leave no room under Pacemaker's 60 s.
pub const FENCE_TIMEOUT_WARN_SECS: f64 = 55.0;

/// The option table.
pub const OPTIONS: &[OptSpec] = &[
    OptSpec {
        short: Some('o'),
        value_hint: Some("action"),
        default: Some("reboot"),
        required: true,
        ..opt("action", "action", Kind::Str, "Fencing action")
    },
    OptSpec {
        aliases: &["port"],
        obsoletes: Some("port"),
        short: Some('n'),
        value_hint: Some("nodename"),
        required: true,
        ..opt("plug", "plug", Kind::Str, "Name of the cluster node to fence")
    },
    OptSpec {
        hidden: true,
        value_hint: Some("nodename"),
        ..opt("nodename", "nodename", Kind::Str, "Node to fence when no plug is given (sent by Pacemaker)")
    },
    OptSpec {
        hidden: true,
        value_hint: Some("id"),
        ..opt("nodeid", "nodeid", Kind::Str, "Corosync id of the node to fence (sent by Pacemaker; unused)")
    },
    OptSpec {
        value_hint: Some("path"),
        default: Some(env::REQUEST_DIR.default),
        env: env::REQUEST_DIR.names,
        ..opt("request_dir", "request-dir", Kind::Str, "Directory where fence requests are published")
    },
    OptSpec {
        value_hint: Some("path"),
        default: Some(env::RESPONSE_DIR.default),
        env: env::RESPONSE_DIR.names,
        ..opt("response_dir", "response-dir", Kind::Str, "Directory where responders publish fence responses")
    },
    OptSpec {
        value_hint: Some("path"),
        default: Some(env::LOG_DIR.default),
        env: env::LOG_DIR.names,
        ..opt("log_dir", "log-dir", Kind::Str, "Directory of the fence event logs")
    },
    OptSpec {
        value_hint: Some("seconds"),
        default: Some("60"),
        env: &["FENCE_TIMEOUT"],
        ..opt("fence_timeout", "fence-timeout", Kind::Second,
            "Seconds to wait for a fence response. Keep it below the cluster's fencing timeout (60 s by default): 50 is a good value")
    },
    OptSpec {
        value_hint: Some("true|false"),
        default: Some("true"),
        env: &["REQUIRE_HEARTBEAT"],
        ..opt("require_heartbeat", "require-heartbeat", Kind::Bool,
            "Make monitor fail unless a responder heartbeat is fresh (false for responders that write none)")
    },
    OptSpec {
        value_hint: Some("true|false"),
        default: Some("false"),
        env: &["ALLOW_SIMULATE"],
        ..opt("allow_simulate", "allow-simulate", Kind::Bool,
            "Take a success from a simulated backend (fence_watcher --simulate) as a fence. Only for demos and tests: a simulation fences nothing")
    },
    OptSpec {
        value_hint: Some("seconds"),
        env: &["HEARTBEAT_MAX_AGE"],
        ..opt("heartbeat_max_age", "heartbeat-max-age", Kind::Second,
            "Oldest acceptable responder heartbeat, in seconds. Unset: 3 times the interval the heartbeat states (fence_watcher --heartbeat-interval), 30 when it states none")
    },
    OptSpec {
        value_hint: Some("fail|warn|ignore"),
        default: Some("fail"),
        env: &["BACKEND_HEALTH"],
        ..opt("backend_health", "backend-health", Kind::Select(&["fail", "warn", "ignore"]),
            "What monitor does with the backend health the responder's heartbeat carries (fence_watcher [health] probes): fail makes monitor fail when some node can be fenced by no level, and warns when a level is down while another works; warn only warns; ignore does not look. A heartbeat without health is not judged")
    },
    OptSpec {
        value_hint: Some("seed|nnf"),
        default: Some("seed"),
        env: &["FILE_NAMING"],
        ..opt("file_naming", "file-naming", Kind::Str,
            "Request file names: seed (<request_id>.json) or nnf (<node>-<request_id>.json)")
    },
    OptSpec {
        value_hint: Some("true|false"),
        default: Some("true"),
        env: &["GFS2_DISCOVERY_ENABLED"],
        ..opt("gfs2_discovery", "gfs2-discovery", Kind::Bool, "Discover the GFS2 filesystems of the fenced node")
    },
    OptSpec {
        value_hint: Some("list"),
        default: Some("pacemaker,dlm,nnf,mounts"),
        env: &["GFS2_SOURCES"],
        ..opt("gfs2_sources", "gfs2-sources", Kind::Str, "Comma-separated GFS2 discovery sources: pacemaker, dlm, nnf, mounts")
    },
    OptSpec {
        value_hint: Some("seconds"),
        default: Some("2"),
        env: &["GFS2_TIMEOUT"],
        ..opt("gfs2_timeout", "gfs2-timeout", Kind::Second, "Total time budget of GFS2 discovery, in seconds")
    },
    OptSpec {
        value_hint: Some("path"),
        ..opt("kubeconfig", "kubeconfig", Kind::Str, "kubeconfig file for the nnf discovery source")
    },
    OptSpec {
        value_hint: Some("namespace"),
        ..opt("nnf_namespace", "nnf-namespace", Kind::Str, "Kubernetes namespace of the NNF resources")
    },
    OptSpec {
        value_hint: Some("path"),
        default: Some(corosync::DEFAULT_COROSYNC_CONF),
        ..opt("corosync_conf", "corosync-conf", Kind::Str, "corosync.conf used to map node names to node ids")
    },
    OptSpec {
        value_hint: Some("seconds"),
        default: Some("0"),
        ..opt("delay", "delay", Kind::Second, "Wait X seconds before fencing is started")
    },
    OptSpec {
        short: Some('q'),
        ..opt("quiet", "quiet", Kind::Bool, "Disable logging to stderr. Does not affect --verbose or --debug-file")
    },
    OptSpec {
        short: Some('v'),
        ..opt("verbose", "verbose", Kind::Bool, "Verbose mode: debug lines on stderr")
    },
    OptSpec {
        obsoletes: Some("debug"),
        aliases: &["debug"],
        short: Some('D'),
        value_hint: Some("debugfile"),
        ..opt("debug_file", "debug-file", Kind::Str, "Write debug information to given file")
    },
    OptSpec {
        short: Some('V'),
        ..opt("version", "version", Kind::Bool, "Display version information and exit")
    },
    OptSpec {
        short: Some('h'),
        ..opt("help", "help", Kind::Bool, "Display help and exit")
    },
];

/// Typed keys of the options the code reads. Each one is resolved in the table at compile time,
/// so a misspelt or removed name is a build error, never a silent fallback to another option.
pub mod key {
    use super::{named, OptSpec};

    pub const ACTION: &OptSpec = named("action");
    pub const PLUG: &OptSpec = named("plug");
    pub const NODENAME: &OptSpec = named("nodename");
    pub const REQUEST_DIR: &OptSpec = named("request_dir");
    pub const RESPONSE_DIR: &OptSpec = named("response_dir");
    pub const LOG_DIR: &OptSpec = named("log_dir");
    pub const FENCE_TIMEOUT: &OptSpec = named("fence_timeout");
    pub const REQUIRE_HEARTBEAT: &OptSpec = named("require_heartbeat");
    pub const ALLOW_SIMULATE: &OptSpec = named("allow_simulate");
    pub const HEARTBEAT_MAX_AGE: &OptSpec = named("heartbeat_max_age");
    pub const BACKEND_HEALTH: &OptSpec = named("backend_health");
    pub const FILE_NAMING: &OptSpec = named("file_naming");
    pub const GFS2_DISCOVERY: &OptSpec = named("gfs2_discovery");
    pub const GFS2_SOURCES: &OptSpec = named("gfs2_sources");
    pub const GFS2_TIMEOUT: &OptSpec = named("gfs2_timeout");
    pub const KUBECONFIG: &OptSpec = named("kubeconfig");
    pub const NNF_NAMESPACE: &OptSpec = named("nnf_namespace");
    pub const COROSYNC_CONF: &OptSpec = named("corosync_conf");
    pub const DELAY: &OptSpec = named("delay");
    pub const QUIET: &OptSpec = named("quiet");
    pub const VERBOSE: &OptSpec = named("verbose");
    pub const DEBUG_FILE: &OptSpec = named("debug_file");
    pub const VERSION: &OptSpec = named("version");
    pub const HELP: &OptSpec = named("help");
}

/// The row named `name`; only called in constants, where a missing name stops the build.
const fn named(name: &str) -> &'static OptSpec {
    let mut i = 0;
    while i < OPTIONS.len() {
        if same(OPTIONS[i].name.as_bytes(), name.as_bytes()) {
            return &OPTIONS[i];
        }
        i += 1;
    }
    panic!("option key not in the option table")
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The agent's one reading of a boolean value, for every option and every stage.
///
/// As fencing.py (`_parse_input_stdin`): case-insensitive `1`/`yes`/`on`/`true` and
/// `0`/`no`/`off`/`false`; anything else is neither (`None`). fencing.py strips the whole stdin
/// line first; here surrounding whitespace of the value is ignored on stdin and argv alike.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "yes" | "on" | "true" => Some(true),
        "0" | "no" | "off" | "false" => Some(false),
        _ => None,
    }
}

/// Finds an option by stdin key: its name, an alias, with `-` and `_` interchangeable.
pub fn by_key(key: &str) -> Option<&'static OptSpec> {
    let key = key.replace('-', "_");
    OPTIONS
        .iter()
        .find(|o| o.name == key || o.aliases.contains(&key.as_str()))
}

/// Finds an option by its argv long spelling (`--plug`, `--port`, `--debug_file` all work).
pub fn by_long(long: &str) -> Option<&'static OptSpec> {
    OPTIONS
        .iter()
        .find(|o| o.long == long)
        .or_else(|| by_key(long))
}

pub fn by_short(c: char) -> Option<&'static OptSpec> {
    OPTIONS.iter().find(|o| o.short == Some(c))
}

/// The getopt-style spelling shown in `--help` and the metadata: `-o, --action=[action]`.
pub fn getopt_text(o: &OptSpec) -> String {
    let mut s = String::new();
    if let Some(c) = o.short {
        s.push_str(&format!("-{c}, "));
    }
    s.push_str("--");
    s.push_str(o.long);
    if let Some(hint) = o.value_hint {
        s.push_str(&format!("=[{hint}]"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_spellings_are_unique() {
        let mut keys: Vec<&str> = OPTIONS
            .iter()
            .flat_map(|o| std::iter::once(o.name).chain(o.aliases.iter().copied()))
            .collect();
        let n = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), n, "duplicate stdin key");
        let mut shorts: Vec<char> = OPTIONS.iter().filter_map(|o| o.short).collect();
        let n = shorts.len();
        shorts.sort_unstable();
        shorts.dedup();
        assert_eq!(shorts.len(), n, "duplicate short option");
        for o in OPTIONS {
            assert_eq!(o.long.replace('-', "_"), o.name, "{} long spelling", o.name);
        }
    }

    #[test]
    fn lookups_accept_aliases_and_both_separators() {
        assert_eq!(by_key("port").map(|o| o.name), Some("plug"));
        assert_eq!(
            by_key("fence-timeout").map(|o| o.name),
            Some("fence_timeout")
        );
        assert_eq!(by_key("debug").map(|o| o.name), Some("debug_file"));
        assert_eq!(by_long("port").map(|o| o.name), Some("plug"));
        assert_eq!(by_short('o').map(|o| o.name), Some("action"));
        assert!(by_key("nosuch").is_none());
    }

    /// The keys resolve at compile time; this checks that the parser's lookup agrees, so what
    /// stage one stores under a name is what stage two reads (no alias shadows another name).
    #[test]
    fn typed_keys_and_the_parser_find_the_same_row() {
        use key::*;
        let keys = [
            ACTION,
            PLUG,
            NODENAME,
            REQUEST_DIR,
            RESPONSE_DIR,
            LOG_DIR,
            FENCE_TIMEOUT,
            REQUIRE_HEARTBEAT,
            ALLOW_SIMULATE,
            HEARTBEAT_MAX_AGE,
            BACKEND_HEALTH,
            FILE_NAMING,
            GFS2_DISCOVERY,
            GFS2_SOURCES,
            GFS2_TIMEOUT,
            KUBECONFIG,
            NNF_NAMESPACE,
            COROSYNC_CONF,
            DELAY,
            QUIET,
            VERBOSE,
            DEBUG_FILE,
            VERSION,
            HELP,
        ];
        for k in keys {
            assert_eq!(by_key(k.name).map(|o| o.name), Some(k.name));
            assert_eq!(by_long(k.long).map(|o| o.name), Some(k.name));
        }
        assert_eq!(REQUEST_DIR.env, ["REQUEST_DIR", "NNF_FENCE_REQUEST_DIR"]);
        assert_eq!(RESPONSE_DIR.env, ["RESPONSE_DIR", "NNF_FENCE_RESPONSE_DIR"]);
        assert_eq!(LOG_DIR.env, ["LOG_DIR"]);
        assert_eq!(LOG_DIR.default, Some("/var/log/gfs2-fencing"));
        assert_eq!(COROSYNC_CONF.default, Some("/etc/corosync/corosync.conf"));
        assert_eq!(FENCE_TIMEOUT.default, Some("60"));
        assert_eq!(BACKEND_HEALTH.env, ["BACKEND_HEALTH"]);
        assert_eq!(BACKEND_HEALTH.default, Some("fail"));
        assert_eq!(ALLOW_SIMULATE.env, ["ALLOW_SIMULATE"]);
        assert_eq!(
            HEARTBEAT_MAX_AGE.default, None,
            "unset, the heartbeat's own interval decides"
        );
    }

    #[test]
    fn booleans_read_as_fencing_py_does_in_any_case() {
        for t in [
            "1", "yes", "on", "true", "TRUE", "True", "YES", "On", " true ",
        ] {
            assert_eq!(parse_bool(t), Some(true), "{t:?}");
        }
        for f in ["0", "no", "off", "false", "FALSE", "No", "OFF"] {
            assert_eq!(parse_bool(f), Some(false), "{f:?}");
        }
        for neither in ["", "2", "maybe", "y", "t", "truee", "enable"] {
            assert_eq!(parse_bool(neither), None, "{neither:?}");
        }
    }
}
