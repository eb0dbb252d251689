//! One model of the state, read once, of which every view (`status`, `fenced`, `requests`,
//! `records`, `history`, `show`) is a projection, so no two views can disagree.
//!
//! It reads the request directory (`requests.rs`), the records live and archived
//! (`records.rs`), the responder's heartbeat and lock (`responder.rs`) and the agent's detailed
//! event log (`events.rs`), then joins them by request id into [`Fence`]s: one per request id
//! seen anywhere (a request file, a response, an event). Which nodes are fenced comes from
//! `fence_gfs2_recorder::ledger::fenced` only ([`Model::fenced`]), the rule of the agent's
//! `status` and of nnf-sos. Whether fencing works now is `verdict.rs`.

pub mod events;
pub mod records;
pub mod requests;
pub mod responder;
pub mod verdict;

use std::collections::BTreeMap;

use fence_gfs2_recorder::ledger::{self, Record};
use gfs2_fence_protocol::{NodeName, Response, SpoolDir, Timestamp};

use crate::{Error, Spool};
pub use events::{Event, EventLog};
pub use records::{Archived, Invalid, Place, RecordSet};
pub use requests::{Location, RequestFile, State};
pub use responder::{Lock, Responder};

/// Everything the views show.
#[derive(Debug)]
pub struct Model {
    pub requests: Vec<RequestFile>,
    pub records: RecordSet,
    pub responder: Responder,
    pub log: EventLog,
    pub request_dir: std::path::PathBuf,
    pub response_dir: std::path::PathBuf,
}

/// A response of a fence, live or archived.
#[derive(Debug, Clone, Copy)]
pub enum RecordRef<'m> {
    Live(&'m Record),
    Archived(&'m Archived),
}

impl<'m> RecordRef<'m> {
    pub fn response(&self) -> &'m Response {
        match self {
            RecordRef::Live(r) => &r.response,
            RecordRef::Archived(a) => &a.response,
        }
    }
    pub fn name(&self) -> &'m str {
        match self {
            RecordRef::Live(r) => &r.name,
            RecordRef::Archived(a) => &a.name,
        }
    }
    pub fn place(&self) -> Place {
        match self {
            RecordRef::Live(_) => Place::Live,
            RecordRef::Archived(_) => Place::Archived,
        }
    }
    /// When this host saw it appear (its mtime).
    pub fn observed(&self) -> Option<Timestamp> {
        match self {
            RecordRef::Live(r) => Some(Timestamp::from(r.observed)),
            RecordRef::Archived(a) => a.modified,
        }
    }
}

/// One request id and everything known about it.
#[derive(Debug)]
pub struct Fence<'m> {
    pub request_id: String,
    pub request: Option<&'m RequestFile>,
    pub records: Vec<RecordRef<'m>>,
    pub events: Vec<&'m Event>,
}

impl<'m> Fence<'m> {
    pub fn node(&self) -> Option<&'m str> {
        let req = self.request.and_then(|r| r.request.as_ref());
        req.map(|r| r.target_node.as_str())
            .or_else(|| {
                self.records
                    .first()
                    .map(|r| r.response().target_node.as_str())
            })
            .or_else(|| self.events.iter().find_map(|e| e.target_node.as_deref()))
    }

    pub fn action(&self) -> Option<String> {
        let req = self.request.and_then(|r| r.request.as_ref());
        req.map(|r| r.action.to_string())
            .or_else(|| self.events.iter().find_map(|e| e.action.clone()))
            .or_else(|| {
                let performed = self.records.first()?.response().action_performed;
                performed.map(|a| a.to_string())
            })
    }

    /// How it ended, or where it is: the response's outcome when there is one, else the request
    /// file's state, else the agent's last event (`timeout`, `failed`, ... or `requested`:
    /// nothing answered it).
    pub fn outcome(&self) -> String {
        if let Some(r) = self.records.last() {
            return outcome_of(r.response()).to_owned();
        }
        if let Some(f) = self.request {
            return f.state.as_str().to_owned();
        }
        let last = self.events.iter().rev().find(|e| !e.is("unfenced"));
        last.and_then(|e| e.event.clone())
            .unwrap_or_else(|| "unknown".into())
    }

    /// What the agent told Pacemaker, by its last event (`completed`, `failed`, `timeout`,
    /// `cancelled`, `invalid`); `None` while it waits (or its log is elsewhere). It may differ
    /// from [`Fence::outcome`]: a response that came after the agent timed out.
    pub fn reported(&self) -> Option<&'m str> {
        let ended = |e: &&&'m Event| !e.is("requested") && !e.is("unfenced");
        self.events
            .iter()
            .rev()
            .find(ended)
            .and_then(|e| e.event.as_deref())
    }

    /// When it was asked: the request's timestamp, else its first event, else the response.
    pub fn time(&self) -> Option<Timestamp> {
        let req = self.request.and_then(|r| r.request.as_ref());
        req.and_then(|r| r.timestamp)
            .or_else(|| self.events.iter().find_map(|e| e.time()))
            .or_else(|| self.records.first().and_then(|r| r.response().time()))
            .or_else(|| self.records.first().and_then(|r| r.observed()))
            .or_else(|| self.request.and_then(|r| r.modified))
    }
}

/// `success`, `failed`, ... as the response says (a third-party response has only `success`).
pub fn outcome_of(r: &Response) -> &'static str {
    match r.outcome {
        Some(o) => o.as_str(),
        None if r.is_fence_record() => "success",
        None => "failed",
    }
}

impl Model {
    /// Reads the whole state. Only a directory that cannot be opened or listed is an error:
    /// a bad file is part of the state.
    pub fn load(spool: &Spool) -> Result<Model, Error> {
        let rq = SpoolDir::open(spool.requests())?;
        let rs = SpoolDir::open(spool.responses())?;
        Ok(Model {
            requests: requests::load(&rq)?,
            records: records::load(&rs)?,
            responder: responder::load(&rq, &rs),
            log: events::load(&spool.logs()),
            request_dir: rq.path().to_path_buf(),
            response_dir: rs.path().to_path_buf(),
        })
    }

    /// The fenced nodes and their latest fence record: `ledger::fenced`, the one rule.
    pub fn fenced(&self) -> BTreeMap<&NodeName, &Record> {
        ledger::fenced(&self.records.live)
    }

    /// Every live record then every archived one, each oldest first.
    pub fn all_records(&self) -> Vec<RecordRef<'_>> {
        let live = self.records.live.records.iter().map(RecordRef::Live);
        live.chain(self.records.archived.iter().map(RecordRef::Archived))
            .collect()
    }

    /// Every request id seen anywhere, joined; in no particular order.
    pub fn fences(&self) -> Vec<Fence<'_>> {
        let mut by_id: BTreeMap<String, Fence<'_>> = BTreeMap::new();
        for f in &self.requests {
            if let Some(r) = &f.request {
                fence(&mut by_id, r.request_id.as_str()).request = Some(f);
            }
        }
        for r in self.all_records() {
            fence(&mut by_id, r.response().request_id.as_str())
                .records
                .push(r);
        }
        for e in &self.log.events {
            if let Some(id) = e.request_id.as_deref() {
                fence(&mut by_id, id).events.push(e);
            }
        }
        by_id.into_values().collect()
    }

    /// The `unfenced` events, oldest first.
    pub fn unfences(&self) -> Vec<&Event> {
        self.log
            .events
            .iter()
            .filter(|e| e.is("unfenced"))
            .collect()
    }
}

fn fence<'a, 'm>(by_id: &'a mut BTreeMap<String, Fence<'m>>, id: &str) -> &'a mut Fence<'m> {
    by_id.entry(id.to_owned()).or_insert_with(|| Fence {
        request_id: id.to_owned(),
        request: None,
        records: Vec::new(),
        events: Vec::new(),
    })
}
