//! The all-in-one runner and the operator commands behind the `mediadist`
//! binary. Each is a function so tests drive them the way an operator would.

pub mod import;
pub mod request;
pub mod show;
pub mod staff;
pub mod up;
