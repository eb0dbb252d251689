//! Plugs the native `redfish` backend (its own module, `redfish/`) into the [`Backend`] trait:
//! the scheduler sees it like every other backend; its messages and errors are its own.

use std::time::Duration;

use super::redfish::Redfish;
use super::{Backend, BackendOutcome, FenceFuture, FenceJob};

impl Backend for Redfish {
    fn kind(&self) -> &'static str {
        "redfish"
    }

    fn timeout(&self) -> Duration {
        Redfish::timeout(self)
    }

    fn fence<'a>(&'a self, job: &'a FenceJob) -> FenceFuture<'a> {
        Box::pin(async move {
            match Redfish::fence(self, &job.node, job.action).await {
                Ok(message) => BackendOutcome::ok(message),
                Err(e) => BackendOutcome::failed(e.to_string()),
            }
        })
    }
}
