//! The message catalogue: every command and event type, its routing key and
//! the stage (queue) that owns it. docs/events.md is the readable form.

/// The worker stages; each consumes its own queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    Intake,
    Preparation,
    Collection,
}

impl Stage {
    pub const ALL: [Stage; 3] = [Stage::Intake, Stage::Preparation, Stage::Collection];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Intake => "intake",
            Stage::Preparation => "preparation",
            Stage::Collection => "collection",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandType {
    RegisterStudy,
    RequestMedia,
    Cancel,
    StartPreparing,
    MarkReady,
    Handover,
    ReprintSlip,
    Update,
    Delete,
}

const COMMAND_PREFIX: &str = "org.mediadist.command.";
pub const EVENT_PREFIX: &str = "org.mediadist.distribution.";

impl CommandType {
    pub const ALL: [CommandType; 9] = [
        CommandType::RegisterStudy,
        CommandType::RequestMedia,
        CommandType::Cancel,
        CommandType::StartPreparing,
        CommandType::MarkReady,
        CommandType::Handover,
        CommandType::ReprintSlip,
        CommandType::Update,
        CommandType::Delete,
    ];

    fn short(self) -> &'static str {
        match self {
            CommandType::RegisterStudy => "register-study",
            CommandType::RequestMedia => "request-media",
            CommandType::Cancel => "cancel",
            CommandType::StartPreparing => "start-preparing",
            CommandType::MarkReady => "mark-ready",
            CommandType::Handover => "handover",
            CommandType::ReprintSlip => "reprint-slip",
            CommandType::Update => "update",
            CommandType::Delete => "delete",
        }
    }

    pub fn stage(self) -> Stage {
        match self {
            CommandType::RegisterStudy
            | CommandType::RequestMedia
            | CommandType::Cancel
            | CommandType::ReprintSlip
            | CommandType::Update
            | CommandType::Delete => Stage::Intake,
            CommandType::StartPreparing | CommandType::MarkReady => Stage::Preparation,
            CommandType::Handover => Stage::Collection,
        }
    }

    /// CloudEvents `type`, versioned.
    pub fn type_name(self) -> String {
        format!("{COMMAND_PREFIX}{}.v1", self.short())
    }

    /// `<stage>.<command>`: each stage's queue binds `<stage>.#`.
    pub fn routing_key(self) -> String {
        format!("{}.{}", self.stage().name(), self.short())
    }

    pub fn from_type_name(t: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.type_name() == t)
    }
}

/// CloudEvents `type` of an event, e.g. `org.mediadist.distribution.collected.v1`;
/// also its routing key on the events exchange and its MQTT topic suffix.
pub fn event_type_name(event_name: &str) -> String {
    format!("{EVENT_PREFIX}{event_name}.v1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_routes() {
        assert_eq!(
            CommandType::Handover.type_name(),
            "org.mediadist.command.handover.v1"
        );
        assert_eq!(
            CommandType::MarkReady.routing_key(),
            "preparation.mark-ready"
        );
        assert_eq!(
            CommandType::RegisterStudy.routing_key(),
            "intake.register-study"
        );
        for c in CommandType::ALL {
            assert_eq!(CommandType::from_type_name(&c.type_name()), Some(c));
        }
        assert_eq!(
            CommandType::from_type_name("org.mediadist.command.handover.v2"),
            None
        );
        assert_eq!(
            event_type_name("ready"),
            "org.mediadist.distribution.ready.v1"
        );
    }
}
