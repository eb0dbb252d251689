//! The agent's one action table.
//!
//! Every value `action=` (or `-o`) accepts is one row of [`ACTIONS`]: its name and aliases, what
//! it does, whether it needs a target node, whether it only prints what the binary knows, how the
//! metadata lists it, and its description. The same rows drive parsing, the typed stage, the
//! metadata `<actions>`, `--help` and the man page, as [`crate::options::OPTIONS`] does for options.

use gfs2_fence_protocol::Action;

/// What the agent was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentAction {
    Fence(Action),
    Status,
    List,
    ListStatus,
    Monitor,
    Metadata,
    Manpage,
    ValidateAll,
    Help,
    Version,
}

/// How the metadata Pacemaker reads lists an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// `<action name="..." />`.
    Listed,
    /// `<action name="..." automatic="0" />`: Pacemaker never runs it on its own (fence-agents
    /// mark `on` so, since unfencing is not automatic).
    NotAutomatic,
    /// Not an `action=` value: `--help` and `--version` are flags that select an action.
    Hidden,
}

/// One action of the agent.
#[derive(Debug)]
pub struct ActionSpec {
    /// The `action=` / `-o` value.
    pub name: &'static str,
    /// Other accepted spellings (`meta-data`, Pacemaker's OCF name).
    pub aliases: &'static [&'static str],
    pub action: AgentAction,
    /// Refused without `plug=` (or `port=`, `nodename=`, `-n`).
    pub needs_target: bool,
    /// Only prints what the binary knows: no settings are checked, no file is touched.
    pub informational: bool,
    pub listing: Listing,
    pub desc: &'static str,
}

const fn row(name: &'static str, action: AgentAction, desc: &'static str) -> ActionSpec {
    ActionSpec {
        name,
        aliases: &[],
        action,
        needs_target: false,
        informational: false,
        listing: Listing::Listed,
        desc,
    }
}

/// The action table, in the order the metadata, help and man page list it.
pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        needs_target: true,
        listing: Listing::NotAutomatic,
        ..row(
            "on",
            AgentAction::Fence(Action::On),
            "Ask the responder to power on (or unfence) the node",
        )
    },
    ActionSpec {
        needs_target: true,
        ..row(
            "off",
            AgentAction::Fence(Action::Off),
            "Ask the responder to power off (or fence) the node",
        )
    },
    ActionSpec {
        needs_target: true,
        ..row(
            "reboot",
            AgentAction::Fence(Action::Reboot),
            "Ask the responder to reboot the node",
        )
    },
    ActionSpec {
        needs_target: true,
        ..row(
            "status",
            AgentAction::Status,
            "Report the node's recorded state: exit 0 on, 2 off",
        )
    },
    row(
        "list",
        AgentAction::List,
        "List the nodes that have fence records",
    ),
    row(
        "list-status",
        AgentAction::ListStatus,
        "List the nodes that have fence records, with their state",
    ),
    row(
        "monitor",
        AgentAction::Monitor,
        "Check the directories and the responder's heartbeat",
    ),
    ActionSpec {
        aliases: &["meta-data"],
        informational: true,
        ..row("metadata", AgentAction::Metadata, "Print the metadata XML")
    },
    ActionSpec {
        informational: true,
        ..row("manpage", AgentAction::Manpage, "Print the man page")
    },
    row(
        "validate-all",
        AgentAction::ValidateAll,
        "Check every parameter",
    ),
];

/// `-h`, `--help`, `help=1`: not an `action=` value.
pub const HELP: ActionSpec = ActionSpec {
    informational: true,
    listing: Listing::Hidden,
    ..row("help", AgentAction::Help, "Display help and exit")
};

/// `-V`, `--version`, `version=1`: not an `action=` value.
pub const VERSION: ActionSpec = ActionSpec {
    informational: true,
    listing: Listing::Hidden,
    ..row(
        "version",
        AgentAction::Version,
        "Display version information and exit",
    )
};

/// The action named `name` (or one of its aliases).
pub fn by_name(name: &str) -> Option<&'static ActionSpec> {
    ACTIONS
        .iter()
        .find(|a| a.name == name || a.aliases.contains(&name))
}

/// The actions listed in the metadata.
pub fn listed() -> impl Iterator<Item = &'static ActionSpec> {
    ACTIONS.iter().filter(|a| a.listing != Listing::Hidden)
}

/// `on, off, ...`: every action name, for messages.
pub fn names() -> String {
    ACTIONS
        .iter()
        .map(|a| a.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_flags_are_not_action_values() {
        let mut all: Vec<&str> = ACTIONS
            .iter()
            .flat_map(|a| std::iter::once(a.name).chain(a.aliases.iter().copied()))
            .collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "duplicate action name");
        assert!(by_name(HELP.name).is_none() && by_name(VERSION.name).is_none());
        assert_eq!(
            by_name("meta-data").map(|a| a.action),
            Some(AgentAction::Metadata)
        );
    }

    #[test]
    fn only_fencing_and_status_need_a_target() {
        for a in ACTIONS {
            let expected = matches!(a.action, AgentAction::Fence(_) | AgentAction::Status);
            assert_eq!(a.needs_target, expected, "{}", a.name);
            assert!(!(a.needs_target && a.informational), "{}", a.name);
        }
        let info: Vec<&str> = ACTIONS
            .iter()
            .filter(|a| a.informational)
            .map(|a| a.name)
            .collect();
        assert_eq!(info, ["metadata", "manpage"]);
    }

    #[test]
    fn the_message_lists_every_action_in_table_order() {
        assert_eq!(
            names(),
            "on, off, reboot, status, list, list-status, monitor, metadata, manpage, validate-all"
        );
    }
}
