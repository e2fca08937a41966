//! Guessing a PIN or password: five wrong ones in a row close sign-in for
//! that username for a minute, each further one doubles the wait up to an
//! hour. A sign-in that works, or an hour without a wrong one, starts over.
//! A four-digit PIN has 10,000 values; at five tries per lockout that is
//! weeks of guessing, not minutes.

use chrono::Duration;

/// Wrong secrets allowed in a row before sign-in closes.
pub const FREE_FAILURES: i32 = 5;

/// A run of failures ends after this long without another.
pub fn forget_after() -> Duration {
    Duration::hours(1)
}

/// How long sign-in stays closed after `failures` wrong secrets in a row.
pub fn lockout(failures: i32) -> Option<Duration> {
    if failures < FREE_FAILURES {
        return None;
    }
    let doublings = (failures - FREE_FAILURES).min(6) as u32;
    Some(Duration::minutes((1i64 << doublings).min(60)))
}

/// What the person at the screen is told: when to try again, not how many
/// tries are left.
pub fn closed_message(wait: Duration) -> String {
    let minutes = (wait.num_seconds() + 59) / 60;
    format!(
        "too many wrong attempts for this username; sign-in is closed for {} more minute{} (an admin can reopen it: mediadist staff unlock USERNAME)",
        minutes.max(1),
        if minutes > 1 { "s" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_free_then_doubling_to_an_hour() {
        let waits: Vec<Option<i64>> = (1..=13)
            .map(|n| lockout(n).map(|d| d.num_minutes()))
            .collect();
        assert_eq!(
            waits,
            vec![
                None,
                None,
                None,
                None,
                Some(1),
                Some(2),
                Some(4),
                Some(8),
                Some(16),
                Some(32),
                Some(60),
                Some(60),
                Some(60)
            ]
        );
    }

    #[test]
    fn the_message_rounds_up_and_never_says_zero() {
        assert!(closed_message(Duration::seconds(5)).contains("closed for 1 more minute "));
        assert!(closed_message(Duration::seconds(61)).contains("closed for 2 more minutes"));
    }
}
