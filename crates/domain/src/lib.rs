//! Ringbase's entities: the words of the product docs as types.
//!
//! Layout:
//! - `ids`: one newtype per entity id, so a `ContactId` cannot be passed where a `DealId` is meant.
//! - `people`: users (employees) and their roles and work states.
//! - `crm`: companies, contacts, leads, deals; phones and emails.
//! - `telephony`: sources, lines (our numbers) and their lead rules, call records.
//! - `timeline`: what appears on a contact's, lead's or deal's timeline.
//! - `task`: tasks and call backs on a contact, lead or deal, assigned to an employee.
//! - `access`: API keys, bridge devices, webhooks, number masking per role.
//! - [`validation`]: the error every input type returns, naming the offending field.
//!
//! No I/O and no clock here: times are passed in by the caller.

mod access;
mod crm;
mod ids;
mod people;
mod task;
mod telephony;
mod timeline;
pub mod validation;

pub use access::*;
pub use crm::*;
pub use ids::*;
pub use people::*;
pub use task::*;
pub use telephony::*;
pub use timeline::*;
pub use validation::{FieldError, Validate};

/// Instants are UTC everywhere; time zones matter only for display and working hours.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
