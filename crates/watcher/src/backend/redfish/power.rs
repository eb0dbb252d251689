//! One fence against one BMC: take a slot, find the system, POST the reset, poll `PowerState`
//! until it reads the wanted state or the deadline passes. Every failure carries its step.

use std::time::Duration;

use gfs2_fence_protocol::{Action, NodeName};
use serde_json::Value;
use tokio::time::Instant;

use super::config::{Bmc, RebootMethod, Target};
use super::error::{Cause, FenceError, Step};
use super::Redfish;

/// What the BMC says about the system, as far as fencing cares.
#[derive(Debug)]
struct System {
    uri: String,
    reset_target: String,
    allowed: Vec<String>,
    power_state: String,
}

pub struct Run<'a> {
    backend: &'a Redfish,
    node: &'a NodeName,
    bmc: &'a Bmc,
    system_uri: Option<&'a str>,
    started: Instant,
    deadline: Instant,
    /// The backend timeout, cut to the time the request has left.
    budget: Duration,
}

impl<'a> Run<'a> {
    pub fn new(
        backend: &'a Redfish,
        node: &'a NodeName,
        target: &'a Target,
        budget: Duration,
    ) -> Run<'a> {
        let started = Instant::now();
        Run {
            backend,
            node,
            bmc: &target.bmc,
            system_uri: target.system_uri.as_deref(),
            started,
            deadline: started + budget,
            budget,
        }
    }

    fn fail(&self, step: Step) -> impl FnOnce(Cause) -> FenceError + '_ {
        move |cause| FenceError {
            bmc: self.bmc.label(),
            step,
            cause,
        }
    }

    pub async fn execute(&self, action: Action) -> Result<String, FenceError> {
        let label = self.bmc.label();
        let slot =
            tokio::time::timeout_at(self.deadline, self.backend.limiter.acquire(&label)).await;
        let _permit = match slot {
            Err(_) => return Err(self.fail(Step::WaitSlot)(Cause::Timeout(self.budget))),
            Ok(Err(e)) => return Err(self.fail(Step::WaitSlot)(Cause::Transport(e.to_string()))),
            Ok(Ok(permit)) => permit,
        };
        let system = self.discover().await.map_err(self.fail(Step::Discover))?;
        let done = match (action, self.backend.cfg.reboot_method) {
            (Action::Off, _) => self.set(&system, &system.power_state, "Off").await?,
            (Action::On, _) => self.set(&system, &system.power_state, "On").await?,
            (Action::Reboot, _) if system.power_state == "Off" => {
                self.set(&system, "Off", "On").await?
            }
            (Action::Reboot, RebootMethod::OnOff) => {
                let off = self.set(&system, &system.power_state, "Off").await?;
                format!("{off}, then {}", self.set(&system, "Off", "On").await?)
            }
            (Action::Reboot, RebootMethod::Restart) => self.restart(&system).await?,
        };
        Ok(format!(
            "{action} of {} confirmed by redfish bmc {label} in {:.2}s: {done} (system {})",
            self.node,
            self.started.elapsed().as_secs_f64(),
            system.uri
        ))
    }

    /// The health probe: finds the system and reads its `PowerState`, with the GETs, the auth,
    /// the TLS and the retries of a fence, and nothing else: no slot of the BMC is taken (a
    /// fence never waits for a probe) and no POST is ever sent.
    pub async fn read_state(&self) -> Result<String, FenceError> {
        let system = self.discover().await.map_err(self.fail(Step::Discover))?;
        Ok(format!(
            "redfish bmc {} answered in {:.2}s: PowerState {} (system {})",
            self.bmc.label(),
            self.started.elapsed().as_secs_f64(),
            system.power_state,
            system.uri
        ))
    }

    /// Powers the system `Off` (ForceOff) or `On`, unless it already is, and confirms it.
    async fn set(
        &self,
        system: &System,
        now: &str,
        want: &'static str,
    ) -> Result<String, FenceError> {
        if now == want {
            return Ok(format!("PowerState was already {want}"));
        }
        let reset = match want {
            "Off" => "ForceOff",
            _ if system.allowed.iter().any(|a| a == "On") || system.allowed.is_empty() => "On",
            _ if system.allowed.iter().any(|a| a == "ForceOn") => "ForceOn",
            _ => "On",
        };
        self.reset(system, reset).await?;
        self.confirm(&system.uri, want)
            .await
            .map_err(self.fail(Step::Confirm(want)))?;
        Ok(format!("{reset} confirmed PowerState {want}"))
    }

    /// `ForceRestart`, then PowerState must read Off or PoweringOff, then On. An accepted
    /// restart with On throughout proves nothing (issue 11, #1: a BMC may accept it and do
    /// nothing), so without the Off it is a failure, however On the node reads.
    async fn restart(&self, system: &System) -> Result<String, FenceError> {
        self.reset(system, "ForceRestart").await?;
        let went_off = |s: &str| s == "Off" || s == "PoweringOff";
        let off = match self.wait_for(&system.uri, went_off).await {
            Ok(state) => state,
            Err(Cause::Unconfirmed { last, after, .. }) => {
                return Err(self.fail(Step::Confirm("Off"))(Cause::RestartUnproven {
                    last,
                    after,
                }))
            }
            Err(cause) => return Err(self.fail(Step::Confirm("Off"))(cause)),
        };
        self.confirm(&system.uri, "On")
            .await
            .map_err(self.fail(Step::Confirm("On")))?;
        Ok(format!(
            "ForceRestart: PowerState read {off} after the reset, then confirmed On"
        ))
    }

    async fn reset(&self, system: &System, reset: &'static str) -> Result<(), FenceError> {
        let backend = self.backend.name.as_str();
        tracing::debug!(backend, node = %self.node, bmc = %self.bmc.label(), reset, "redfish reset");
        self.backend
            .http
            .post_reset(self.bmc, &system.reset_target, reset, self.deadline)
            .await
            .map_err(self.fail(Step::Reset(reset)))
    }

    /// Polls until PowerState reads `want`.
    async fn confirm(&self, uri: &str, want: &str) -> Result<String, Cause> {
        self.wait_for(uri, |state| state == want).await
    }

    /// Polls until PowerState is one `accept`s; returns it. Transient failures (5xx, refused
    /// connections) are retried until the deadline: BMCs stumble while a power change settles.
    async fn wait_for(&self, uri: &str, accept: impl Fn(&str) -> bool) -> Result<String, Cause> {
        let mut last = "(not read)".to_owned();
        let mut last_error = None;
        loop {
            match self
                .backend
                .http
                .get_json(self.bmc, uri, self.deadline)
                .await
            {
                Ok((_, json)) => {
                    let state = json
                        .get("PowerState")
                        .and_then(Value::as_str)
                        .unwrap_or("(missing)");
                    if accept(state) {
                        return Ok(state.to_owned());
                    }
                    last = state.to_owned();
                    last_error = None;
                }
                Err(cause) if cause.is_transient() => last_error = Some(cause.to_string()),
                Err(Cause::Timeout(_)) => break,
                Err(cause) => return Err(cause),
            }
            if Instant::now() + self.backend.poll_interval() >= self.deadline {
                break;
            }
            self.sleep(self.backend.poll_interval()).await;
        }
        Err(Cause::Unconfirmed {
            last,
            after: self.budget,
            last_error,
        })
    }

    async fn sleep(&self, interval: Duration) {
        tokio::time::sleep_until((Instant::now() + interval).min(self.deadline)).await;
    }

    /// Reads the system: at the configured URI, or found by name (remembered for next time).
    async fn discover(&self) -> Result<System, Cause> {
        let remembered = self.backend.found_uris().get(self.node).cloned();
        if let Some(uri) = self.system_uri.map(str::to_owned).or(remembered) {
            let (path, json) = self
                .backend
                .http
                .get_json(self.bmc, &uri, self.deadline)
                .await?;
            return System::from_json(&path, &json);
        }
        let system = self.find_by_name().await?;
        self.backend
            .found_uris()
            .insert(self.node.clone(), system.uri.clone());
        Ok(system)
    }

    /// Scans the Systems collection for the one member whose Name or HostName is the node.
    async fn find_by_name(&self) -> Result<System, Cause> {
        let http = &self.backend.http;
        let (_, root) = http
            .get_json(self.bmc, "/redfish/v1/", self.deadline)
            .await?;
        let collection = root
            .pointer("/Systems/@odata.id")
            .and_then(Value::as_str)
            .unwrap_or("/redfish/v1/Systems")
            .to_owned();
        let (_, members) = http.get_json(self.bmc, &collection, self.deadline).await?;
        let uris: Vec<String> = members
            .get("Members")
            .and_then(Value::as_array)
            .map(|m| {
                m.iter()
                    .filter_map(|x| x.get("@odata.id")?.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let mut matches = Vec::new();
        for uri in &uris {
            let (path, json) = http.get_json(self.bmc, uri, self.deadline).await?;
            let named = |key: &str| {
                json.get(key)
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(self.node.as_str()))
            };
            if named("Name") || named("HostName") {
                matches.push(System::from_json(&path, &json)?);
            }
        }
        let node = self.node.to_string();
        match matches.len() {
            0 => Err(Cause::NoSuchSystem { collection, node }),
            1 => Ok(matches.remove(0)),
            count => Err(Cause::AmbiguousSystem {
                collection,
                node,
                count,
            }),
        }
    }
}

impl System {
    fn from_json(path: &str, json: &Value) -> Result<System, Cause> {
        let bad = |reason: &str| Cause::BadAnswer {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        let uri = json
            .get("@odata.id")
            .and_then(Value::as_str)
            .unwrap_or(path)
            .to_owned();
        let action = json
            .pointer("/Actions/#ComputerSystem.Reset")
            .ok_or_else(|| {
                bad("no Actions.#ComputerSystem.Reset: not a ComputerSystem that can be reset")
            })?;
        let target = action
            .get("target")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("the reset action has no target"))?;
        let reset_target =
            path_of(target).ok_or_else(|| bad("the reset target is not a path on this bmc"))?;
        let allowed = action
            .get("ResetType@Redfish.AllowableValues")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let power_state = json
            .get("PowerState")
            .and_then(Value::as_str)
            .unwrap_or("(missing)")
            .to_owned();
        Ok(System {
            uri,
            reset_target,
            allowed,
            power_state,
        })
    }
}

/// The path of an action target, which BMCs give as a path or (some) as a full URL.
fn path_of(target: &str) -> Option<String> {
    if target.starts_with('/') && !target.starts_with("//") {
        return Some(target.to_owned());
    }
    let url = reqwest::Url::parse(target).ok()?;
    Some(url.path().to_owned())
}
