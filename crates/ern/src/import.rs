//! From a received ERN [`Message`] to the release model: what an aggregator does with a
//! label's DDEX delivery.
//!
//! Audio releases read fully. What the model cannot hold (videos, texts, territory-specific
//! titles, unknown role values, non-audio release types) is reported as a finding with the
//! element it came from; identifiers that fail their check (several official samples have
//! such) are kept as *unverified* findings for QC and left out of the typed fields, so the
//! message still reads. Only what the model cannot exist without (a main release with a
//! valid UPC, ISRCs, a title) stops the conversion, with every such problem listed at once.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use model::*;

use crate::msg::*;

/// Something the conversion noticed. `blocking` problems stop it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// A short code QC and operators can filter on.
    pub code: &'static str,
    /// Where in the message (e.g. `SoundRecording A3 / ISRC`).
    pub at: String,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}: {}", self.code, self.at, self.message)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the message cannot become a release: {}", .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct ImportError {
    pub problems: Vec<Finding>,
    pub findings: Vec<Finding>,
}

/// The release, plus what the message said about each file it references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub release: Release,
    /// By file reference as it appears in `release` (the message's URI).
    pub files: BTreeMap<String, TechnicalFile>,
    pub findings: Vec<Finding>,
}

/// What a message does not say but the model needs.
#[derive(Debug, Clone)]
pub struct ImportDefaults {
    /// The label's contact address (ERN carries none).
    pub label_email: Email,
    /// A UPC the distributor assigns when the message identifies the release without one
    /// (by GRid or a proprietary id only).
    pub upc: Option<Icpn>,
}

/// Parses an `xs:duration` (`PT4M23.583S`, `P0DT1H2M3S`) into milliseconds.
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    let rest = s.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, t),
        None => (rest, ""),
    };
    let mut ms: f64 = 0.0;
    let mut num = String::new();
    for c in date.chars() {
        match c {
            '0'..='9' | '.' => num.push(c),
            'D' => ms += num.parse::<f64>().ok()? * 86_400_000.0,
            'Y' | 'M' => return None,
            _ => return None,
        }
        if c.is_ascii_alphabetic() {
            num.clear();
        }
    }
    for c in time.chars() {
        match c {
            '0'..='9' | '.' => {
                num.push(c);
                continue;
            }
            'H' => ms += num.parse::<f64>().ok()? * 3_600_000.0,
            'M' => ms += num.parse::<f64>().ok()? * 60_000.0,
            'S' => ms += num.parse::<f64>().ok()? * 1000.0,
            _ => return None,
        }
        num.clear();
    }
    if !num.is_empty() || !(0.0..1e15).contains(&ms) {
        return None;
    }
    Some(ms.round() as u64)
}

/// Seconds as a decimal (`45`, `30.5`) into milliseconds.
fn parse_seconds(s: &str) -> Option<u64> {
    let v: f64 = s.trim().parse().ok()?;
    (0.0..1e12)
        .contains(&v)
        .then(|| (v * 1000.0).round() as u64)
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

/// "(P) 2014 EMI Music" → (2014, "EMI Music").
fn rights_line(l: &Line, marks: &[&str]) -> Option<RightsLine> {
    let mut text = l.text.trim();
    for m in marks {
        if let Some(rest) = text.strip_prefix(m) {
            text = rest.trim_start();
        }
    }
    let (year_txt, holder) = match text.split_once(' ') {
        Some((y, h)) if y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()) => (Some(y), h),
        _ => (None, text),
    };
    let year = l
        .year
        .as_deref()
        .or(year_txt)
        .and_then(|y| y.get(..4)?.parse().ok())?;
    Some(RightsLine {
        year,
        holder: holder.trim().to_owned(),
    })
}

struct Ctx {
    problems: Vec<Finding>,
    findings: Vec<Finding>,
    unverified: Vec<UnverifiedId>,
}

impl Ctx {
    /// Keeps an identifier that fails its check, for QC (META-ID-UNVERIFIED) and staff.
    fn unverified(&mut self, at: String, field: String, e: &IdError) {
        self.note("ID-UNVERIFIED", at, format!("kept as unverified: {e}"));
        self.unverified.push(UnverifiedId {
            field,
            kind: e.kind.to_owned(),
            value: e.value.clone(),
            expected: e.expected.clone(),
        });
    }

    fn note(&mut self, code: &'static str, at: impl Into<String>, message: impl Into<String>) {
        self.findings.push(Finding {
            code,
            at: at.into(),
            message: message.into(),
        });
    }
    fn block(&mut self, code: &'static str, at: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Finding {
            code,
            at: at.into(),
            message: message.into(),
        });
    }
}

fn territories_of(inc: &[String], exc: &[String]) -> Option<Territories> {
    if !exc.is_empty() {
        let excluding = exc
            .iter()
            .filter_map(|c| CountryCode::parse(c).ok())
            .collect();
        return Some(Territories::Worldwide { excluding });
    }
    if inc.iter().any(|c| c == "Worldwide") {
        return Some(Territories::worldwide());
    }
    if inc.is_empty() {
        return None;
    }
    Some(Territories::Only(
        inc.iter()
            .filter_map(|c| CountryCode::parse(c).ok())
            .collect(),
    ))
}

pub fn to_release(msg: &Message, defaults: &ImportDefaults) -> Result<Imported, ImportError> {
    let mut cx = Ctx {
        problems: Vec::new(),
        findings: Vec::new(),
        unverified: Vec::new(),
    };
    if msg.kind != MessageKind::NewRelease {
        cx.block(
            "ERN-KIND",
            "root",
            "a PurgeReleaseMessage carries no release to import",
        );
        return Err(ImportError {
            problems: cx.problems,
            findings: cx.findings,
        });
    }
    let Some(main) = msg.main_release() else {
        cx.block(
            "ERN-NO-MAIN",
            "ReleaseList",
            "no main release in the message",
        );
        return Err(ImportError {
            problems: cx.problems,
            findings: cx.findings,
        });
    };
    let at = |what: &str| format!("Release {} / {what}", main.reference);

    for r in &msg.resources {
        if !matches!(r.kind, ResourceKind::SoundRecording | ResourceKind::Image) {
            cx.note(
                "ERN-UNSUPPORTED",
                format!("{} {}", r.kind.element(), r.reference),
                format!(
                    "{} resources are not part of Liner's release model (audio releases); not imported",
                    r.kind.element()
                ),
            );
        }
    }
    let others = msg.releases.iter().filter(|r| !r.main && !r.track).count();
    if others > 0 {
        cx.note(
            "ERN-UNSUPPORTED",
            "ReleaseList",
            format!("{others} releases besides the main release and its track releases (clips, bonus products) are not imported"),
        );
    }

    let upc = match (
        main.icpn.as_deref().map(Icpn::parse_unverified),
        &defaults.upc,
    ) {
        (Some(Ok((u, None))), _) => Some(u),
        (Some(Ok((u, Some(e)))), _) => {
            cx.unverified(at("ReleaseId/ICPN"), "upc".into(), &e);
            Some(u)
        }
        (Some(Err(e)), _) => {
            cx.block("ID-ICPN", at("ReleaseId/ICPN"), e.to_string());
            None
        }
        (None, Some(assigned)) => {
            cx.note(
                "ERN-UPC-ASSIGNED",
                at("ReleaseId"),
                format!("no ICPN in the message; the UPC {assigned} given by the operator keys the release"),
            );
            Some(assigned.clone())
        }
        (None, None) => {
            cx.block(
                "ID-ICPN",
                at("ReleaseId"),
                "the main release has no ICPN (UPC/EAN), which Liner keys releases on: give one with --upc",
            );
            None
        }
    };
    let grid = main.grid.as_deref().and_then(|g| match Grid::parse(g) {
        Ok(g) => Some(g),
        Err(e) => {
            cx.unverified(at("ReleaseId/GRid"), "grid".into(), &e);
            None
        }
    });
    let release_type = match main.release_types.first().map(String::as_str) {
        Some(t) => match ReleaseType::parse(t) {
            Some(rt) => rt,
            None => {
                let mapped = if msg
                    .resources
                    .iter()
                    .filter(|r| r.kind == ResourceKind::SoundRecording)
                    .count()
                    <= 3
                {
                    ReleaseType::Single
                } else {
                    ReleaseType::Album
                };
                cx.note(
                    "ERN-RELEASE-TYPE",
                    at("ReleaseType"),
                    format!("{t} is not one of Liner's release types (Album, EP, Single); read as {mapped}"),
                );
                mapped
            }
        },
        None => {
            cx.note(
                "ERN-RELEASE-TYPE",
                at("ReleaseType"),
                "no ReleaseType; read as Album",
            );
            ReleaseType::Album
        }
    };

    let party_name = |r: &str| msg.party_name(r).unwrap_or(r).to_owned();
    let isni_of = |cx: &mut Ctx, reference: &str, field: String| -> Option<Isni> {
        let raw = msg.party(reference)?.isni.as_deref()?;
        match Isni::parse(raw) {
            Ok(i) => Some(i),
            Err(e) => {
                cx.unverified(format!("Party {reference} / ISNI"), field, &e);
                None
            }
        }
    };
    let artists =
        |cx: &mut Ctx, list: &[ArtistCredit], where_: &str, prefix: &str| -> Vec<DisplayArtist> {
            let mut sorted: Vec<&ArtistCredit> = list.iter().collect();
            sorted.sort_by_key(|a| a.sequence);
            sorted
                .into_iter()
                .enumerate()
                .map(|(n, a)| {
                    let role = match a.role.as_str() {
                        "MainArtist" => ArtistRole::MainArtist,
                        "FeaturedArtist" => ArtistRole::FeaturedArtist,
                        other => {
                            match a.artistic_roles.first().and_then(|r| ArtistRole::parse(r)) {
                                Some(r) => r,
                                None => {
                                    if other != "Artist" {
                                        cx.note(
                                            "ERN-ROLE",
                                            format!("{where_} / DisplayArtist {}", a.sequence),
                                            format!("display role {other} read as MainArtist"),
                                        );
                                    }
                                    ArtistRole::MainArtist
                                }
                            }
                        }
                    };
                    let mut d = DisplayArtist::new(party_name(&a.party), role);
                    d.isni = isni_of(cx, &a.party, format!("{prefix}[{n}].isni"));
                    d
                })
                .collect()
        };
    let release_artists = artists(&mut cx, &main.artists, &at("DisplayArtist"), "artists");
    if release_artists.is_empty() {
        cx.block(
            "ERN-ARTIST",
            at("DisplayArtist"),
            "the main release names no display artist",
        );
    }

    let label_name = main
        .labels
        .first()
        .map(|l| party_name(l))
        .or_else(|| main.p_line.as_ref().map(|p| p.text.clone()))
        .unwrap_or_else(|| {
            cx.note(
                "ERN-LABEL",
                at("ReleaseLabelReference"),
                "no label named; using the sender's name",
            );
            msg.header
                .sender
                .name
                .clone()
                .unwrap_or_else(|| msg.header.sender.party_id.clone())
        });
    let label_dpid = main
        .labels
        .first()
        .and_then(|l| msg.party(l))
        .and_then(|p| p.dpid.as_deref())
        .and_then(|d| Dpid::parse(d).ok());

    // Deals of the main release (ReleaseDeals naming it).
    let mut deal_list: Vec<&MsgDeal> = msg
        .deals
        .iter()
        .filter(|rd| rd.releases.contains(&main.reference))
        .flat_map(|rd| rd.deals.iter())
        .collect();
    if deal_list.is_empty() {
        // Business-profile messages deal only on track releases: take those.
        deal_list = msg.deals.iter().flat_map(|rd| rd.deals.iter()).collect();
    }

    let release_date = main
        .release_date
        .as_deref()
        .and_then(parse_date)
        .or_else(|| main.original_release_date.as_deref().and_then(parse_date))
        .or_else(|| {
            let d = deal_list
                .iter()
                .filter_map(|d| d.start.as_deref().and_then(parse_date))
                .min();
            if d.is_some() {
                cx.note(
                    "ERN-DATE",
                    at("ReleaseDate"),
                    "no release date; the earliest deal start is used",
                );
            }
            d
        });
    let release_date = release_date.unwrap_or_else(|| {
        cx.block(
            "ERN-DATE",
            at("ReleaseDate"),
            "no ReleaseDate, OriginalReleaseDate or deal start",
        );
        NaiveDate::MIN
    });

    let year = release_date
        .format("%Y")
        .to_string()
        .parse()
        .unwrap_or(2000);
    let p_line = main
        .p_line
        .as_ref()
        .and_then(|l| rights_line(l, &["(P)", "℗"]))
        .or_else(|| {
            msg.resources.iter().find_map(|r| {
                r.p_line
                    .as_ref()
                    .and_then(|l| rights_line(l, &["(P)", "℗"]))
            })
        })
        .unwrap_or_else(|| {
            cx.note(
                "ERN-LINE",
                at("PLine"),
                "no P-line; the label and release year are used",
            );
            RightsLine {
                year,
                holder: label_name.clone(),
            }
        });
    let c_line = main
        .c_line
        .as_ref()
        .and_then(|l| rights_line(l, &["(C)", "©"]))
        .unwrap_or_else(|| {
            cx.note(
                "ERN-LINE",
                at("CLine"),
                "no C-line; the P-line holder and year are used",
            );
            p_line.clone()
        });
    let parental = |cx: &mut Ctx, v: Option<&str>, where_: String| match v {
        Some(s) => ParentalAdvisory::parse(s).unwrap_or_else(|| {
            cx.note(
                "ERN-PARENTAL",
                where_,
                format!("{s} read as NoAdviceAvailable"),
            );
            ParentalAdvisory::NoAdviceAvailable
        }),
        None => ParentalAdvisory::NoAdviceAvailable,
    };
    let parental_advisory = parental(
        &mut cx,
        main.parental_warning.as_deref(),
        at("ParentalWarningType"),
    );
    let language = msg
        .language
        .as_deref()
        .and_then(|l| LanguageTag::parse(l).ok())
        .unwrap_or_else(|| LanguageTag::parse("en").expect("en is a language tag"));
    let ai_extent = |cx: &mut Ctx, v: Option<&str>, where_: String| match v {
        None => AiExtent::None,
        Some(s) => AiExtent::parse(s).unwrap_or_else(|| {
            cx.note(
                "ERN-AI",
                where_,
                format!("ContainsAI {s} not understood; read as None"),
            );
            AiExtent::None
        }),
    };

    // Territories of the release: the union of what its deals cover.
    let deal_territories: Vec<Territories> = deal_list
        .iter()
        .filter_map(|d| territories_of(&d.territories, &d.excluded))
        .collect();
    let territories = if deal_territories.is_empty() {
        Territories::worldwide()
    } else if deal_territories.iter().all(|t| *t == deal_territories[0]) {
        deal_territories[0].clone()
    } else if deal_territories
        .iter()
        .any(|t| matches!(t, Territories::Worldwide { excluding } if excluding.is_empty()))
    {
        Territories::worldwide()
    } else if deal_territories
        .iter()
        .all(|t| matches!(t, Territories::Only(_)))
    {
        Territories::Only(
            deal_territories
                .iter()
                .flat_map(|t| match t {
                    Territories::Only(l) => l.iter().cloned().collect::<Vec<_>>(),
                    _ => vec![],
                })
                .collect(),
        )
    } else {
        Territories::worldwide()
    };

    let mut consent = AiTrainingConsent::default();
    let mut deals = Vec::new();
    for (n, d) in deal_list.iter().enumerate() {
        let where_ = format!("Deal {}", n + 1);
        let start = d
            .start
            .as_deref()
            .and_then(parse_date)
            .unwrap_or(release_date);
        let end = d.end.as_deref().and_then(parse_date);
        if d.takedown {
            cx.note(
                "ERN-TAKEDOWN",
                &where_,
                "TakeDown: the release is withdrawn in these territories",
            );
            continue;
        }
        if d.preorder {
            // Pre-order deals follow from the pre-order date (ReleaseVisibility).
            continue;
        }
        let mut uses = Vec::new();
        for u in &d.use_types {
            match u.as_str() {
                "UseForTrainingGenerativeAI" => consent.generative = true,
                "UseForTrainingNonGenerativeAI" => consent.non_generative = true,
                "UseForDataMining" => consent.data_mining = true,
                other => match UseType::parse(other) {
                    Some(x) => uses.push(x),
                    None => cx.note(
                        "ERN-USE-TYPE",
                        &where_,
                        format!("use type {other} is not one Liner deals in; left out"),
                    ),
                },
            }
        }
        let t = territories_of(&d.territories, &d.excluded);
        let t = t.filter(|t| *t != territories);
        for m in &d.commercial_models {
            let Some(model) = CommercialModel::parse(m) else {
                cx.note(
                    "ERN-COMMERCIAL-MODEL",
                    &where_,
                    format!("commercial model {m} is not one Liner deals in; left out"),
                );
                continue;
            };
            if uses.is_empty() {
                if model == CommercialModel::AsPerContract {
                    continue; // the AI-training consent deal
                }
                cx.note(
                    "ERN-USE-TYPE",
                    &where_,
                    format!("{model} deal without a use type Liner knows; left out"),
                );
                continue;
            }
            deals.push(Deal {
                commercial_model: model,
                use_types: uses.clone(),
                start,
                end,
                territories: t.clone(),
            });
        }
    }

    // Tracks, in the order of the main release's track list.
    let mut items = main.items.clone();
    items.sort_by_key(|i| (i.group, i.sequence.unwrap_or(u32::MAX)));
    let mut tracks = Vec::new();
    let mut files = BTreeMap::new();
    let mut seen_isrc = BTreeSet::new();
    let mut per_group: BTreeMap<u32, u16> = BTreeMap::new();
    for item in &items {
        let Some(res) = msg.resource(&item.resource) else {
            cx.block(
                "ERN-REF",
                at("ResourceGroup"),
                format!("{} does not resolve to a resource", item.resource),
            );
            continue;
        };
        if res.kind != ResourceKind::SoundRecording {
            continue;
        }
        let rat = format!("SoundRecording {}", res.reference);
        let isrc = match res.isrc.as_deref().map(Isrc::parse) {
            Some(Ok(i)) => Some(i),
            Some(Err(e)) => {
                cx.block("ID-ISRC", format!("{rat} / ISRC"), e.to_string());
                None
            }
            None => {
                cx.block(
                    "ID-ISRC",
                    format!("{rat} / ResourceId"),
                    "the recording has no ISRC",
                );
                None
            }
        };
        if let Some(i) = &isrc
            && !seen_isrc.insert(i.clone())
        {
            cx.note(
                "ID-DUPLICATE",
                format!("{rat} / ISRC"),
                format!("{i} appears twice on the release"),
            );
        }
        let counter = per_group.entry(item.group).or_insert(0);
        *counter += 1;
        let number = item
            .sequence
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(*counter);
        let k = tracks.len();
        let track_artists = artists(&mut cx, &res.artists, &rat, &format!("tracks[{k}].artists"));
        let mut kept = 0usize;
        let contributors = res
            .contributors
            .iter()
            .filter_map(|c| {
                let roles: Vec<ContributorRole> = c
                    .roles
                    .iter()
                    .filter_map(|r| {
                        let mapped = if r == "StudioProducer" {
                            "Producer"
                        } else {
                            r.as_str()
                        };
                        let parsed = ContributorRole::parse(mapped);
                        if parsed.is_none() {
                            cx.note(
                                "ERN-ROLE",
                                format!("{rat} / Contributor {}", c.sequence),
                                format!("role {r} is not one Liner models; left out"),
                            );
                        }
                        parsed
                    })
                    .collect();
                if roles.is_empty() {
                    return None;
                }
                let ai = ai_extent(&mut cx, c.ai.as_deref(), format!("{rat} / AiContribution"));
                let isni = isni_of(
                    &mut cx,
                    &c.party,
                    format!("tracks[{k}].contributors[{kept}].isni"),
                );
                kept += 1;
                Some(Contributor {
                    name: party_name(&c.party),
                    roles,
                    isni,
                    ai,
                })
            })
            .collect();
        let duration = match res.duration.as_deref().and_then(parse_duration) {
            Some(ms) => Duration::from_millis(ms),
            None => {
                cx.note(
                    "ERN-DURATION",
                    format!("{rat} / Duration"),
                    format!("{:?} is not an xs:duration", res.duration),
                );
                Duration::from_millis(0)
            }
        };
        let iswc = res.iswc.as_deref().and_then(|w| match Iswc::parse(w) {
            Ok(w) => Some(w),
            Err(e) => {
                cx.unverified(format!("{rat} / ISWC"), format!("tracks[{k}].iswc"), &e);
                None
            }
        });
        let file = res
            .files
            .iter()
            .find(|f| f.uri.is_some())
            .or(res.files.first());
        let preview = res
            .files
            .iter()
            .find_map(|f| f.preview.as_ref())
            .and_then(|c| {
                let start = parse_seconds(&c.start)?;
                let length = c
                    .duration
                    .as_deref()
                    .and_then(parse_duration)
                    .unwrap_or(30_000);
                Some(Preview {
                    start: Duration::from_millis(start),
                    length: Duration::from_millis(length),
                })
            });
        let audio = match file.and_then(|f| f.uri.clone()) {
            Some(u) => {
                if let Some(f) = file {
                    files.insert(u.clone(), f.clone());
                }
                FileRef::Path(u)
            }
            None => {
                cx.note("ERN-FILE", &rat, "no audio file referenced");
                FileRef::Path(String::new())
            }
        };
        let Some(isrc) = isrc else { continue };
        tracks.push(Track {
            disc: u16::try_from(item.group.max(1)).unwrap_or(1),
            number,
            isrc,
            title: res.title.clone().unwrap_or_default(),
            version: res.subtitle.clone(),
            // As intake does: a track without its own credit carries the release's.
            artists: if track_artists.is_empty() {
                release_artists.clone()
            } else {
                track_artists
            },
            contributors,
            duration,
            explicit: res.parental_warning.as_deref() == Some("Explicit"),
            lyrics: None,
            iswc,
            preview,
            audio,
            ai: AiDisclosure {
                contains: ai_extent(
                    &mut cx,
                    res.contains_ai.as_deref(),
                    format!("{rat} / ContainsAI"),
                ),
                parts: vec![],
            },
            splits: vec![],
        });
    }
    if tracks.is_empty() && cx.problems.is_empty() {
        cx.block(
            "ERN-NO-TRACKS",
            at("ResourceGroup"),
            "the main release has no sound recordings",
        );
    }

    let cover = main
        .linked
        .iter()
        .filter_map(|l| msg.resource(l))
        .find(|r| r.kind == ResourceKind::Image)
        .or_else(|| {
            msg.resources
                .iter()
                .find(|r| r.kind == ResourceKind::Image && r.resource_type == "FrontCoverImage")
        });
    let artwork = match cover.and_then(|c| c.files.iter().find(|f| f.uri.is_some()).map(|f| (c, f)))
    {
        Some((c, f)) => {
            let uri = f.uri.clone().unwrap_or_default();
            files.insert(uri.clone(), f.clone());
            Artwork {
                file: FileRef::Path(uri),
                ai: ai_extent(
                    &mut cx,
                    c.contains_ai.as_deref(),
                    format!("Image {} / ContainsAI", c.reference),
                ),
            }
        }
        None => {
            cx.note(
                "ERN-FILE",
                at("LinkedReleaseResourceReference"),
                "no cover art file referenced",
            );
            Artwork {
                file: FileRef::Path(String::new()),
                ai: AiExtent::None,
            }
        }
    };

    if !cx.problems.is_empty() {
        return Err(ImportError {
            problems: cx.problems,
            findings: cx.findings,
        });
    }
    let Some(upc) = upc else {
        return Err(ImportError {
            problems: cx.problems,
            findings: cx.findings,
        });
    };
    let release = Release {
        upc,
        catalog_number: main.catalog_number.clone(),
        grid,
        title: main.title.clone().unwrap_or_default(),
        version: main.subtitle.clone(),
        release_type,
        artists: release_artists,
        label: Label {
            name: label_name,
            dpid: label_dpid,
            email: defaults.label_email.clone(),
        },
        p_line,
        c_line,
        genre: main.genre.clone().unwrap_or_else(|| {
            cx.note("ERN-GENRE", at("Genre"), "no genre; read as Unknown");
            "Unknown".into()
        }),
        subgenre: main.subgenre.clone(),
        release_date,
        original_release_date: main.original_release_date.as_deref().and_then(parse_date),
        preorder_date: msg
            .visibilities
            .iter()
            .find(|v| main.visibility.as_deref().is_none_or(|r| r == v.reference))
            .and_then(|v| v.display_start.as_deref())
            .and_then(parse_date)
            .filter(|d| *d < release_date),
        parental_advisory,
        language,
        territories,
        deals,
        artwork,
        ai: AiDisclosure {
            contains: ai_extent(&mut cx, main.contains_ai.as_deref(), at("ContainsAI")),
            parts: vec![],
        },
        ai_training: consent,
        payees: vec![],
        tracks,
        unverified: cx.unverified.clone(),
    };
    Ok(Imported {
        release,
        files,
        findings: cx.findings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("PT4M23.583S"), Some(263_583));
        assert_eq!(parse_duration("PT1H2M3S"), Some(3_723_000));
        assert_eq!(parse_duration("P0DT2M28S"), Some(148_000));
        assert_eq!(parse_duration("PT0S"), Some(0));
        assert_eq!(parse_duration("4:23"), None);
        assert_eq!(parse_duration("PT4X"), None);
        assert_eq!(parse_duration("P1Y"), None);
    }

    #[test]
    fn rights_lines() {
        let l = Line {
            year: None,
            text: "(P) 1994 EMI Music Japan Inc.".into(),
        };
        assert_eq!(
            rights_line(&l, &["(P)"]),
            Some(RightsLine {
                year: 1994,
                holder: "EMI Music Japan Inc.".into()
            })
        );
        let l = Line {
            year: Some("2010".into()),
            text: "Iron Crown".into(),
        };
        assert_eq!(
            rights_line(&l, &["(P)"]),
            Some(RightsLine {
                year: 2010,
                holder: "Iron Crown".into()
            })
        );
    }
}
