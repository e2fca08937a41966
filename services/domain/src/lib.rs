//! The pure domain core of mediadist: every rule of the media-distribution
//! workflow lives here, with no I/O, so services stay thin shells around it.

pub mod catalog;
pub mod command;
pub mod enums;
pub mod envelope;
pub mod error;
pub mod event;
pub mod identity;
pub mod names;
pub mod reference;
pub mod reply;
pub mod roles;
pub mod throttle;
pub mod token;
pub mod values;
pub mod workflow;

pub use enums::{MediaType, Relationship, RequesterType, Role, Status, Urgency};
pub use error::{FieldError, ReasonCode, Rejection};
pub use identity::{IdentityDocument, Mykad, PassportNo};
pub use reference::Reference;
pub use token::{SlipKey, SlipToken};
pub use values::{Pin, Quantity, SearchText, StudyUid};
