//! The inbound routing engine: events in, actions out.

pub(crate) mod call;
pub(crate) mod queue_state;
pub(crate) mod router;
pub(crate) mod types;
