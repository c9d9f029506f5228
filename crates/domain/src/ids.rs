//! Entity ids. Storage assigns them (an integer key in every backend); the newtypes keep them apart.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! entity_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

entity_id!(
    /// An employee.
    UserId,
    CompanyId,
    ContactId,
    LeadId,
    DealId,
    /// An advertising source ("Google Ads").
    SourceId,
    /// One of our numbers.
    LineId,
    CallId,
    TimelineEntryId,
    ApiKeyId,
    /// A mobile SIM bridge device.
    DeviceId,
    WebhookId,
    WebhookDeliveryId,
    /// A task or call back (issue 5's after-call form).
    TaskId,
);
