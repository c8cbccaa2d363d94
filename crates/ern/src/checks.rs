//! Rust ports of the DDEX Release Profile rules (Schematron, XPath 2) that matter most, over
//! the read message. XSDs check shape; these check meaning: identifiers, one main release,
//! references that resolve, deals that cover the releases. Each finding keeps the DDEX rule
//! number (Release Profile 2.1 for ERN 4; the same clauses for 3.8.2) or a Liner id.

use std::collections::{BTreeMap, BTreeSet};

use crate::msg::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckFinding {
    pub rule: &'static str,
    pub severity: Severity,
    pub at: String,
    pub message: String,
}

impl std::fmt::Display for CheckFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev} [{}] {}: {}", self.rule, self.at, self.message)
    }
}

struct Out(Vec<CheckFinding>);

impl Out {
    fn push(
        &mut self,
        rule: &'static str,
        severity: Severity,
        at: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.0.push(CheckFinding {
            rule,
            severity,
            at: at.into(),
            message: message.into(),
        });
    }
}

fn pattern_isrc(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 12
        && b[..2].iter().all(u8::is_ascii_alphabetic)
        && b[2..5].iter().all(u8::is_ascii_alphanumeric)
        && b[5..].iter().all(u8::is_ascii_digit)
}

fn pattern_icpn(s: &str) -> bool {
    matches!(s.len(), 8 | 12..=14) && s.bytes().all(|b| b.is_ascii_digit())
}

/// Identifier checks: the profile's pattern (error), then the standard's check character
/// (an unverified identifier: a warning, so the message still reads and QC sees it).
fn ids(out: &mut Out, msg: &Message) {
    for r in &msg.releases {
        let at = format!("Release {}", r.reference);
        if let Some(icpn) = &r.icpn {
            if !pattern_icpn(icpn) {
                out.push(
                    "1001-1",
                    Severity::Error,
                    format!("{at} / ICPN"),
                    format!("{icpn:?} does not match ^[0-9]{{8}}$|^[0-9]{{12,14}}$"),
                );
            } else if let Err(e) = model::Icpn::parse(icpn) {
                out.push(
                    "ID-ICPN-CHECK",
                    Severity::Warning,
                    format!("{at} / ICPN"),
                    format!("unverified: {e}"),
                );
            }
        }
        if let Some(g) = &r.grid
            && (g.len() != 18 || !g.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            out.push(
                "1003-1",
                Severity::Error,
                format!("{at} / GRid"),
                format!("{g:?} is not 18 letters and digits"),
            );
        } else if let Some(g) = &r.grid
            && let Err(e) = model::Grid::parse(g)
        {
            out.push(
                "ID-GRID-CHECK",
                Severity::Warning,
                format!("{at} / GRid"),
                format!("unverified: {e}"),
            );
        }
    }
    for r in &msg.resources {
        let at = format!("{} {}", r.kind.element(), r.reference);
        if let Some(isrc) = &r.isrc {
            if !pattern_isrc(isrc) {
                out.push(
                    "1011-1",
                    Severity::Error,
                    format!("{at} / ISRC"),
                    format!("{isrc:?} does not match ^[a-zA-Z]{{2}}[a-zA-Z0-9]{{3}}[0-9]{{7}}$"),
                );
            } else if let Err(e) = model::Isrc::parse(isrc) {
                out.push(
                    "1011-2",
                    Severity::Warning,
                    format!("{at} / ISRC"),
                    format!("unverified: {e}"),
                );
            }
        }
        if let Some(iswc) = &r.iswc
            && let Err(e) = model::Iswc::parse(iswc)
        {
            out.push(
                "ID-ISWC-CHECK",
                Severity::Warning,
                format!("{at} / ISWC"),
                format!("unverified: {e}"),
            );
        }
    }
    for p in &msg.parties {
        if let Some(isni) = &p.isni {
            let pattern = isni.len() == 16
                && isni[..15].bytes().all(|b| b.is_ascii_digit())
                && isni[15..].bytes().all(|b| b.is_ascii_digit() || b == b'X');
            if !pattern {
                out.push(
                    "1002-1",
                    Severity::Error,
                    format!("Party {} / ISNI", p.reference),
                    format!("{isni:?} does not match ^[0-9]{{15}}[X0-9]$"),
                );
            } else if let Err(e) = model::Isni::parse(isni) {
                out.push(
                    "ID-ISNI-CHECK",
                    Severity::Warning,
                    format!("Party {} / ISNI", p.reference),
                    format!("unverified: {e}"),
                );
            }
        }
    }
}

pub fn check(msg: &Message) -> Vec<CheckFinding> {
    let mut out = Out(Vec::new());
    if msg.version.is_ern4() && msg.message_schema_version.is_some() {
        out.push("ERN-ROOT-ATTR", Severity::Error, "root", "MessageSchemaVersionId is an ERN 3 attribute; ERN 4 messages carry AvsVersionId instead");
    }
    ids(&mut out, msg);
    if msg.kind == MessageKind::Purge {
        if msg.purged.is_empty() {
            out.push(
                "PURGE-1",
                Severity::Error,
                "PurgeReleaseMessage",
                "no PurgedRelease",
            );
        }
        return out.0;
    }
    let mains: Vec<&MsgRelease> = msg.releases.iter().filter(|r| r.main).collect();
    if !msg.releases.is_empty() && mains.len() != 1 {
        out.push(
            "1000-1",
            Severity::Error,
            "ReleaseList",
            format!("exactly one main release expected, found {}", mains.len()),
        );
    }
    let profile = msg.profile.as_deref().unwrap_or_default();
    let audio_profile = msg.version.is_ern4() && matches!(profile, "Audio" | "SimpleAudioSingle");
    for m in &mains {
        let at = format!("Release {}", m.reference);
        if m.grid.is_none()
            && m.icpn.is_none()
            && m.proprietary.is_empty()
            && m.catalog_number.is_none()
        {
            out.push(
                "1025-1",
                Severity::Error,
                format!("{at} / ReleaseId"),
                "the main release needs a GRid, ICPN or ProprietaryId",
            );
        }
        if audio_profile && m.release_date.is_none() && m.original_release_date.is_none() {
            out.push(
                "1027-1",
                Severity::Warning,
                &at,
                "the main release should have a ReleaseDate or OriginalReleaseDate",
            );
        }
        let mut seqs: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
        for i in &m.items {
            if let Some(s) = i.sequence
                && !seqs.entry(i.group).or_default().insert(s)
            {
                out.push(
                    "1021-1",
                    Severity::Error,
                    format!("{at} / ResourceGroup {}", i.group),
                    format!("sequence number {s} used twice"),
                );
            }
        }
        let mut artist_seq = BTreeSet::new();
        for a in &m.artists {
            if !artist_seq.insert(a.sequence) {
                out.push(
                    "1016-1",
                    Severity::Error,
                    format!("{at} / DisplayArtist"),
                    format!("SequenceNumber {} used twice", a.sequence),
                );
            }
        }
    }
    if audio_profile {
        let covers = msg
            .resources
            .iter()
            .filter(|r| r.kind == ResourceKind::Image && r.resource_type == "FrontCoverImage")
            .count();
        if covers != 1 {
            out.push(
                "1053-1",
                Severity::Error,
                "ResourceList",
                format!("exactly one FrontCoverImage expected, found {covers}"),
            );
        }
        if let Some(m) = mains.first() {
            for i in &m.items {
                let is_sr = msg
                    .resource(&i.resource)
                    .is_some_and(|r| r.kind == ResourceKind::SoundRecording);
                let tracks = msg
                    .releases
                    .iter()
                    .filter(|r| r.track && r.items.iter().any(|x| x.resource == i.resource))
                    .count();
                if is_sr && tracks != 1 {
                    out.push(
                        "1045-1",
                        Severity::Warning,
                        format!("Release {} / {}", m.reference, i.resource),
                        format!("one TrackRelease per primary resource expected, found {tracks}"),
                    );
                }
            }
            for r in &msg.resources {
                if r.kind == ResourceKind::SoundRecording
                    && r.isrc.is_none()
                    && m.items.iter().any(|i| i.resource == r.reference)
                {
                    out.push(
                        "1058-1",
                        Severity::Error,
                        format!("SoundRecording {}", r.reference),
                        "a primary sound recording needs an ISRC",
                    );
                }
            }
        }
    }
    references(&mut out, msg);
    deals(&mut out, msg);
    out.0
}

/// Generic rules G.1–G.5: every reference resolves; every declared one is used.
fn references(out: &mut Out, msg: &Message) {
    let parties: BTreeSet<&str> = msg.parties.iter().map(|p| p.reference.as_str()).collect();
    let resources: BTreeSet<&str> = msg.resources.iter().map(|r| r.reference.as_str()).collect();
    let releases: BTreeSet<&str> = msg.releases.iter().map(|r| r.reference.as_str()).collect();
    let mut used_parties = BTreeSet::new();
    let mut used_resources = BTreeSet::new();
    let mut party = |out: &mut Out, at: String, r: &str| {
        used_parties.insert(r.to_owned());
        // ERN 4.3.2's SpecialDisplayArtist/SpecialContributor values are not references.
        if msg.version.is_ern4()
            && !parties.contains(r)
            && !matches!(
                r,
                "GenerativeAI" | "Traditional" | "VariousArtists" | "UserDefined"
            )
        {
            out.push(
                "G.1",
                Severity::Error,
                at,
                format!("party reference {r} does not resolve"),
            );
        }
    };
    for r in &msg.resources {
        for a in &r.artists {
            party(
                out,
                format!("{} {} / DisplayArtist", r.kind.element(), r.reference),
                &a.party,
            );
        }
        for c in &r.contributors {
            party(
                out,
                format!("{} {} / Contributor", r.kind.element(), r.reference),
                &c.party,
            );
        }
    }
    for rel in &msg.releases {
        for a in &rel.artists {
            party(
                out,
                format!("Release {} / DisplayArtist", rel.reference),
                &a.party,
            );
        }
        for l in &rel.labels {
            party(
                out,
                format!("Release {} / ReleaseLabelReference", rel.reference),
                l,
            );
        }
        for i in rel
            .items
            .iter()
            .map(|i| &i.resource)
            .chain(rel.linked.iter())
        {
            used_resources.insert(i.clone());
            if !resources.contains(i.as_str()) {
                out.push(
                    "G.2",
                    Severity::Error,
                    format!("Release {}", rel.reference),
                    format!("resource reference {i} does not resolve"),
                );
            }
        }
    }
    for rd in &msg.deals {
        for r in &rd.releases {
            if !releases.contains(r.as_str()) {
                out.push(
                    "G.3",
                    Severity::Error,
                    "DealList / ReleaseDeal",
                    format!("release reference {r} does not resolve"),
                );
            }
        }
    }
    for r in &msg.resources {
        if !used_resources.contains(&r.reference) {
            out.push(
                "G.4",
                Severity::Warning,
                format!("{} {}", r.kind.element(), r.reference),
                "declared but not used by any release",
            );
        }
    }
    if msg.version.is_ern4() {
        for p in &msg.parties {
            if !used_parties.contains(&p.reference) {
                out.push(
                    "G.5",
                    Severity::Warning,
                    format!("Party {}", p.reference),
                    "declared but never referenced",
                );
            }
        }
    }
}

/// Deal coverage: the main release is dealt (or the message says nothing about deals at
/// all), and each deal says when and how.
fn deals(out: &mut Out, msg: &Message) {
    if msg.deals.is_empty() {
        return;
    }
    let dealt: BTreeSet<&str> = msg
        .deals
        .iter()
        .flat_map(|d| d.releases.iter().map(String::as_str))
        .collect();
    if let Some(m) = msg.main_release()
        && !dealt.contains(m.reference.as_str())
        && !msg
            .releases
            .iter()
            .filter(|r| r.track)
            .any(|r| dealt.contains(r.reference.as_str()))
    {
        out.push(
            "DEAL-COVER",
            Severity::Warning,
            format!("Release {}", m.reference),
            "no deal covers the main release or its tracks: it is not available anywhere",
        );
    }
    // 1038-1: a release may not be displayed later than it can be sold.
    for v in &msg.visibilities {
        let Some(show) = v.display_start.as_deref().and_then(|s| s.get(..10)) else {
            continue;
        };
        let earliest = msg
            .deals
            .iter()
            .flat_map(|rd| rd.deals.iter())
            .filter_map(|d| d.start.as_deref().and_then(|s| s.get(..10)))
            .min();
        if let Some(start) = earliest
            && show > start
        {
            out.push(
                "1038-1",
                Severity::Warning,
                format!("ReleaseVisibility {}", v.reference),
                format!("display starts {show}, after the earliest deal start {start}"),
            );
        }
    }
    for (n, d) in msg.deals.iter().flat_map(|rd| rd.deals.iter()).enumerate() {
        let at = format!("Deal {}", n + 1);
        if msg.version.is_ern4()
            && d.start.is_none()
            && d.commercial_models.is_empty()
            && d.use_types.is_empty()
        {
            continue; // a deal communicated out of band
        }
        if d.use_types.is_empty() && !d.takedown {
            out.push(
                "DEAL-USE",
                Severity::Warning,
                &at,
                "a deal without a UseType licenses nothing",
            );
        }
        if let (Some(s), Some(e)) = (&d.start, &d.end)
            && e.get(..10) < s.get(..10)
        {
            out.push(
                "DEAL-PERIOD",
                Severity::Error,
                &at,
                format!("the validity period ends ({e}) before it starts ({s})"),
            );
        }
    }
}
