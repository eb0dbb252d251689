//! The fencing actions a request can ask for.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A fencing action carried by a request: the three that change a node's power or access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    On,
    Off,
    Reboot,
}

impl Action {
    pub const ALL: [Action; 3] = [Action::On, Action::Off, Action::Reboot];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::On => "on",
            Action::Off => "off",
            Action::Reboot => "reboot",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of `on`, `off`, `reboot`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fencing action {0:?} (expected on, off or reboot)")]
pub struct ParseActionError(pub String);

impl FromStr for Action {
    type Err = ParseActionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "on" => Ok(Action::On),
            "off" => Ok(Action::Off),
            "reboot" => Ok(Action::Reboot),
            other => Err(ParseActionError(other.chars().take(64).collect())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_others() {
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>(), Ok(a));
            assert_eq!(serde_json::to_string(&a).ok(), Some(format!("\"{a}\"")));
        }
        assert!("status".parse::<Action>().is_err());
        assert!("REBOOT".parse::<Action>().is_err());
        assert!(serde_json::from_str::<Action>("\"cycle\"").is_err());
    }
}
