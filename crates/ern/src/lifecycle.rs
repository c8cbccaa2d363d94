//! Which message a change needs, from what was sent before to the same DSP.
//! ERN has no delta: every re-send carries the complete current state, and "no deal" means
//! "not available", so updates and takedowns are full messages computed from the history.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::compose::Intent;
use crate::msg::Message;

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

/// How the deals of a new message differ from the last one sent to the same DSP. Because
/// "no deal = no deal", a deal missing from the new message withdraws it at the DSP; operators
/// see that before they send.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "change", rename_all = "lowercase")]
pub enum DealChange {
    Added {
        deal: String,
        period: String,
    },
    Withdrawn {
        deal: String,
        period: String,
    },
    Changed {
        deal: String,
        before: String,
        after: String,
    },
}

impl std::fmt::Display for DealChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DealChange::Added { deal, period } => write!(f, "+ {deal} ({period})"),
            DealChange::Withdrawn { deal, period } => {
                write!(f, "- {deal} ({period}): withdrawn at the DSP")
            }
            DealChange::Changed {
                deal,
                before,
                after,
            } => write!(f, "~ {deal}: {before} -> {after}"),
        }
    }
}

/// What a deal offers (models, uses, where) and when, as words an operator reads.
fn offers(m: &Message) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for d in m.deals.iter().flat_map(|rd| rd.deals.iter()) {
        let mut uses = d.use_types.clone();
        uses.sort();
        let place = if !d.excluded.is_empty() {
            format!("Worldwide except {}", d.excluded.join(" "))
        } else if d.territories.is_empty() {
            "(no territory)".to_owned()
        } else {
            d.territories.join(" ")
        };
        let pre = if d.preorder { " pre-order" } else { "" };
        let key = format!(
            "{}{pre} {} in {place}",
            d.commercial_models.join("+"),
            uses.join("+")
        );
        let period = match (&d.start, &d.end, d.takedown) {
            (_, _, true) => "taken down".to_owned(),
            (Some(s), Some(e), _) => format!("{s} to {e}"),
            (Some(s), None, _) => format!("from {s}"),
            (None, Some(e), _) => format!("until {e}"),
            (None, None, _) => "open".to_owned(),
        };
        out.insert(key, period);
    }
    out
}

pub fn deal_changes(before: &Message, after: &Message) -> Vec<DealChange> {
    let (b, a) = (offers(before), offers(after));
    let mut out = Vec::new();
    for (deal, period) in &a {
        match b.get(deal) {
            None => out.push(DealChange::Added {
                deal: deal.clone(),
                period: period.clone(),
            }),
            Some(old) if old != period => out.push(DealChange::Changed {
                deal: deal.clone(),
                before: old.clone(),
                after: period.clone(),
            }),
            Some(_) => {}
        }
    }
    for (deal, period) in &b {
        if !a.contains_key(deal) {
            out.push(DealChange::Withdrawn {
                deal: deal.clone(),
                period: period.clone(),
            });
        }
    }
    out
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

    fn msg(deals: Vec<crate::msg::MsgDeal>) -> Message {
        let xml = br#"<ern:NewReleaseMessage xmlns:ern="http://ddex.net/xml/ern/43"><MessageHeader><MessageId>1</MessageId></MessageHeader><ResourceList/><ReleaseList/></ern:NewReleaseMessage>"#;
        let mut m = crate::read::read(xml)
            .map(|(m, _)| m)
            .expect("minimal message");
        m.deals = vec![crate::msg::ReleaseDeal {
            releases: vec!["R0".into()],
            deals,
        }];
        m
    }

    fn deal(model: &str, place: &[&str], start: &str, end: Option<&str>) -> crate::msg::MsgDeal {
        crate::msg::MsgDeal {
            territories: place.iter().map(|s| (*s).to_owned()).collect(),
            start: Some(start.into()),
            end: end.map(str::to_owned),
            commercial_models: vec![model.into()],
            use_types: vec!["OnDemandStream".into()],
            ..Default::default()
        }
    }

    #[test]
    fn deal_changes_name_what_is_added_withdrawn_and_ended() {
        let before = msg(vec![
            deal("SubscriptionModel", &["Worldwide"], "2026-12-04", None),
            deal(
                "AdvertisementSupportedModel",
                &["Worldwide"],
                "2026-12-04",
                None,
            ),
        ]);
        let after = msg(vec![
            deal(
                "SubscriptionModel",
                &["Worldwide"],
                "2026-12-04",
                Some("2027-01-31"),
            ),
            deal("PayAsYouGoModel", &["FR", "DE"], "2026-12-04", None),
        ]);
        let changes: Vec<String> = deal_changes(&before, &after)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            changes,
            [
                "+ PayAsYouGoModel OnDemandStream in FR DE (from 2026-12-04)",
                "~ SubscriptionModel OnDemandStream in Worldwide: from 2026-12-04 -> 2026-12-04 to 2027-01-31",
                "- AdvertisementSupportedModel OnDemandStream in Worldwide (from 2026-12-04): withdrawn at the DSP",
            ]
        );
        assert!(deal_changes(&before, &before).is_empty());
    }
}
