//! Which message a change needs, from what was sent before to the same DSP.
//! ERN has no delta: every re-send carries the complete current state, and "no deal" means
//! "not available", so updates and takedowns are full messages computed from the history.

use chrono::NaiveDate;

use crate::compose::Intent;

/// What the operator asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Deliver,
    Takedown { end: NaiveDate },
    Purge { allowed: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LifecycleError(pub String);

/// `history`: intents of the messages already built for this release and DSP, oldest first.
pub fn plan(history: &[&str], request: Request) -> Result<Intent, LifecycleError> {
    let last = history.last().copied();
    match request {
        // A release purged or never sent starts over with a first delivery; anything else
        // is a full re-send under the same release ids.
        Request::Deliver => Ok(match last {
            None | Some("purge") => Intent::New,
            Some(_) => Intent::Update,
        }),
        Request::Takedown { end } => match last {
            None => Err(LifecycleError("nothing was sent to this DSP for this release: there is nothing to take down".into())),
            Some("purge") => Err(LifecycleError("the release was purged at this DSP already".into())),
            Some(_) => Ok(Intent::Takedown { end }),
        },
        Request::Purge { allowed: false } => Err(LifecycleError(
            "this DSP does not accept PurgeReleaseMessage (its profile says purge_allowed = false): take the release down instead".into(),
        )),
        Request::Purge { allowed: true } => match last {
            None => Err(LifecycleError("nothing was sent to this DSP for this release: there is nothing to purge".into())),
            Some("purge") => Err(LifecycleError("the release was purged at this DSP already".into())),
            Some(_) => Ok(Intent::Purge),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unwrap_used)]
    fn plans() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default();
        assert_eq!(plan(&[], Request::Deliver), Ok(Intent::New));
        assert_eq!(plan(&["new"], Request::Deliver), Ok(Intent::Update));
        assert_eq!(
            plan(&["new", "takedown"], Request::Deliver),
            Ok(Intent::Update)
        );
        assert_eq!(plan(&["new", "purge"], Request::Deliver), Ok(Intent::New));
        assert!(plan(&[], Request::Takedown { end: d }).is_err());
        assert_eq!(
            plan(&["new"], Request::Takedown { end: d }),
            Ok(Intent::Takedown { end: d })
        );
        assert!(
            plan(&["new"], Request::Purge { allowed: false })
                .unwrap_err()
                .0
                .contains("purge_allowed = false")
        );
        assert_eq!(
            plan(&["new", "update"], Request::Purge { allowed: true }),
            Ok(Intent::Purge)
        );
        assert!(plan(&["new", "purge"], Request::Purge { allowed: true }).is_err());
    }
}
