//! The role matrix: which staff role may take which step.

use crate::enums::Role;
use crate::error::{ReasonCode, Rejection};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Request,
    StartPreparing,
    MarkReady,
    Handover,
    Cancel,
    Reprint,
    Update,
    Delete,
}

impl Action {
    pub fn describe(self) -> &'static str {
        match self {
            Action::Request => "request media",
            Action::StartPreparing => "start preparing media",
            Action::MarkReady => "mark media ready",
            Action::Handover => "hand media over",
            Action::Cancel => "cancel a request",
            Action::Reprint => "reprint a slip",
            Action::Update => "change a request",
            Action::Delete => "delete a request",
        }
    }
}

/// Roles whose work needs identity numbers in full: the desk checks the
/// card, admins answer disclosure questions. Everyone else sees them masked.
pub fn sees_full_identity(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Reception)
}

/// Clerks request (and correct or reprint what they requested),
/// radiographers prepare, reception hands over (and reprints a lost slip),
/// admins cancel, delete and may do everything.
pub fn may(role: Role, action: Action) -> bool {
    use Action::*;
    match role {
        Role::Admin => true,
        Role::Clerk => matches!(action, Request | Update | Reprint),
        Role::Radiographer => matches!(action, StartPreparing | MarkReady),
        Role::Reception => matches!(action, Handover | Reprint),
    }
}

/// A member of staff acting on the system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub username: String,
    pub role: Role,
    pub active: bool,
}

impl Actor {
    pub fn authorise(&self, action: Action) -> Result<(), Rejection> {
        if !self.active {
            return Err(Rejection::new(
                ReasonCode::StaffInactive,
                format!("staff account '{}' is deactivated", self.username),
            ));
        }
        if may(self.role, action) {
            Ok(())
        } else {
            Err(Rejection::new(
                ReasonCode::Forbidden,
                format!(
                    "a {} may not {}",
                    self.role.label().to_lowercase(),
                    action.describe()
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix() {
        use Action::*;
        let all = [
            Request,
            StartPreparing,
            MarkReady,
            Handover,
            Cancel,
            Reprint,
            Update,
            Delete,
        ];
        let allowed = |r| {
            all.iter()
                .copied()
                .filter(|a| may(r, *a))
                .collect::<Vec<_>>()
        };
        assert_eq!(allowed(Role::Clerk), vec![Request, Reprint, Update]);
        assert_eq!(allowed(Role::Radiographer), vec![StartPreparing, MarkReady]);
        assert_eq!(allowed(Role::Reception), vec![Handover, Reprint]);
        assert_eq!(allowed(Role::Admin), all.to_vec());
        let full: Vec<Role> = [
            Role::Clerk,
            Role::Radiographer,
            Role::Reception,
            Role::Admin,
        ]
        .into_iter()
        .filter(|r| sees_full_identity(*r))
        .collect();
        assert_eq!(full, vec![Role::Reception, Role::Admin]);
    }

    #[test]
    fn refusals_carry_codes() {
        let clerk = Actor {
            username: "c".into(),
            role: Role::Clerk,
            active: true,
        };
        let e = clerk.authorise(Action::Handover).unwrap_err();
        assert_eq!(e.code, ReasonCode::Forbidden);
        assert_eq!(e.message, "a clerk may not hand media over");
        let gone = Actor {
            active: false,
            ..clerk
        };
        assert_eq!(
            gone.authorise(Action::Request).unwrap_err().code,
            ReasonCode::StaffInactive
        );
    }
}
