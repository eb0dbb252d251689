//! One fence or probe of one node: find its instance, ask EC2 to change its state, and read
//! the state back until it is the one wanted. Success is only ever a state read by us after our
//! request (or, for `off`, an instance already `stopped`): a `StopInstances` that returned is
//! not a stopped instance.

use std::time::Duration;

use gfs2_fence_protocol::NodeName;
use tokio::time::Instant;

use super::config::{Selector, Settings};
use super::credentials::Keys;
use super::error::Ec2Error;
use super::xml::{self, Instance};
use super::Api;

/// States that can never become `running` or `stopped` again.
const GONE: [&str; 2] = ["shutting-down", "terminated"];

/// A fence in progress: who signs, where, until when.
pub struct Run<'a> {
    pub api: &'a Api,
    pub settings: &'a Settings,
    pub keys: &'a Keys,
    pub deadline: Instant,
    pub budget: Duration,
}

impl Run<'_> {
    /// The one instance of `node` (not terminated), by id or by tag.
    pub async fn instance(&self, node: &NodeName) -> Result<Instance, Ec2Error> {
        let selector = self.settings.selector(node);
        let mut params = match &selector {
            Selector::Id(id) => vec![("InstanceId.1".to_owned(), id.clone())],
            Selector::Tag { key, value } => vec![
                ("Filter.1.Name".to_owned(), format!("tag:{key}")),
                ("Filter.1.Value.1".to_owned(), value.clone()),
            ],
        };
        let live = ["pending", "running", "stopping", "stopped"];
        params.push(("Filter.2.Name".to_owned(), "instance-state-name".to_owned()));
        for (i, state) in live.iter().enumerate() {
            params.push((format!("Filter.2.Value.{}", i + 1), (*state).to_owned()));
        }
        let mut found = Vec::new();
        let mut page = params.clone();
        loop {
            let text = self
                .api
                .call(self.keys, "DescribeInstances", &page, self.deadline)
                .await?;
            let described = xml::described(&text).map_err(|reason| Ec2Error::BadAnswer {
                call: "DescribeInstances",
                status: 200,
                reason,
            })?;
            found.extend(described.instances);
            match described.next_token {
                Some(token) => {
                    page = params.clone();
                    page.push(("NextToken".to_owned(), token));
                }
                None => break,
            }
        }
        let (node, filter) = (node.to_string(), selector.describe());
        match found.len() {
            0 => Err(Ec2Error::NoMatch { node, filter }),
            1 => Ok(found.remove(0)),
            _ => {
                let ids = found.into_iter().map(|i| i.id).collect();
                Err(Ec2Error::Ambiguous { node, filter, ids })
            }
        }
    }

    /// The state of instance `id` now.
    async fn state(&self, id: &str) -> Result<String, Ec2Error> {
        let params = [("InstanceId.1".to_owned(), id.to_owned())];
        let text = self
            .api
            .call(self.keys, "DescribeInstances", &params, self.deadline)
            .await?;
        let bad = |reason: String| Ec2Error::BadAnswer {
            call: "DescribeInstances",
            status: 200,
            reason,
        };
        let described = xml::described(&text).map_err(bad)?;
        described
            .instances
            .into_iter()
            .find(|i| i.id == id)
            .map(|i| i.state)
            .ok_or_else(|| bad(format!("{id} is not in the answer")))
    }

    /// `StopInstances` with `Force`, then the state read until `stopped`. `Ok(false)`: it was
    /// stopped already, and nothing was sent.
    pub async fn off(&self, instance: &Instance) -> Result<bool, Ec2Error> {
        if instance.state == "stopped" {
            return Ok(false);
        }
        if GONE.contains(&instance.state.as_str()) {
            return Err(self.gone(instance, "stopped"));
        }
        let params = [
            ("InstanceId.1".to_owned(), instance.id.clone()),
            ("Force".to_owned(), "true".to_owned()),
        ];
        self.api
            .call(self.keys, "StopInstances", &params, self.deadline)
            .await?;
        self.wait_for(&instance.id, "stopped").await?;
        Ok(true)
    }

    /// `StartInstances`, then the state read until `running`.
    pub async fn on(&self, instance: &Instance) -> Result<(), Ec2Error> {
        if GONE.contains(&instance.state.as_str()) {
            return Err(self.gone(instance, "running"));
        }
        let params = [("InstanceId.1".to_owned(), instance.id.clone())];
        self.api
            .call(self.keys, "StartInstances", &params, self.deadline)
            .await?;
        self.wait_for(&instance.id, "running").await
    }

    /// `RebootInstances`: a request to the guest, confirmed in no way.
    pub async fn api_reboot(&self, instance: &Instance) -> Result<(), Ec2Error> {
        let params = [("InstanceId.1".to_owned(), instance.id.clone())];
        self.api
            .call(self.keys, "RebootInstances", &params, self.deadline)
            .await?;
        Ok(())
    }

    /// Reads the state every poll interval until it is `want`; the last state seen is named
    /// when the time runs out. No call starts after the deadline.
    async fn wait_for(&self, id: &str, want: &'static str) -> Result<(), Ec2Error> {
        let mut last = "unknown (not read yet)".to_owned();
        loop {
            if Instant::now() >= self.deadline {
                return Err(self.not_confirmed(id, want, last));
            }
            let state = match self.state(id).await {
                Ok(state) => state,
                Err(Ec2Error::Deadline { .. }) => return Err(self.not_confirmed(id, want, last)),
                Err(e) => return Err(e),
            };
            if state == want {
                return Ok(());
            }
            if GONE.contains(&state.as_str()) {
                return Err(Ec2Error::Unreachable {
                    id: id.to_owned(),
                    state,
                    want,
                });
            }
            last = state;
            let next = Instant::now() + self.settings.poll;
            if next >= self.deadline {
                return Err(self.not_confirmed(id, want, last));
            }
            tokio::time::sleep_until(next).await;
        }
    }

    fn not_confirmed(&self, id: &str, want: &'static str, last: String) -> Ec2Error {
        Ec2Error::NotConfirmed {
            id: id.to_owned(),
            want,
            last,
            budget: self.budget,
        }
    }

    fn gone(&self, instance: &Instance, want: &'static str) -> Ec2Error {
        Ec2Error::Unreachable {
            id: instance.id.clone(),
            state: instance.state.clone(),
            want,
        }
    }
}
