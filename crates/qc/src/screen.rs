//! Intake screening: the release against the rest of the catalog (duplicate audio, ISRC and
//! UPC reuse, look-alike covers, artist spellings) and against the label's AI policy.

use std::collections::{HashMap, HashSet};

use model::{AiExtent, ArtistRole};

use crate::{AiPolicy, Area, Findings, QcInput, Rule, Severity};

macro_rules! rule {
    ($id:literal, $sev:ident, $summary:literal, $check:path) => {
        Rule {
            id: $id,
            severity: Severity::$sev,
            area: Area::Screening,
            summary: $summary,
            check: $check,
        }
    };
}

pub(crate) static RULES: &[Rule] = &[
    rule!(
        "SCREEN-ARTIST-ID",
        Warning,
        "An artist's DSP ids and name agree with the artist's other releases",
        artist_ids
    ),
    rule!(
        "SCREEN-ISRC-REUSED",
        Error,
        "An ISRC identifies one recording: not used in the catalog for different audio",
        isrc_reused
    ),
    rule!(
        "SCREEN-AUDIO-DUPLICATE",
        Warning,
        "The same audio (decoded PCM) is not already in the catalog under another ISRC or release",
        audio_duplicate
    ),
    rule!(
        "SCREEN-UPC-REUSED",
        Error,
        "A UPC is not reused for a different product",
        upc_reused
    ),
    rule!(
        "SCREEN-AI-POLICY",
        Error,
        "The release's AI disclosure is allowed by its label's AI policy",
        ai_policy
    ),
    rule!(
        "ERN-AI-NOT-CARRIED",
        Warning,
        "The DSP's ERN version carries the release's AI disclosure and AI-training consent",
        ai_not_carried
    ),
    rule!(
        "SCREEN-ARTWORK-DUPLICATE",
        Warning,
        "The cover is not a near-duplicate of another release's cover",
        artwork_duplicate
    ),
    rule!(
        "SCREEN-ARTIST-SPELLING",
        Warning,
        "Artist names are spelled as on the artist's other releases",
        artist_spelling
    ),
];

/// dHash distance at or below which two covers are called the same picture.
const DHASH_NEAR: u32 = 6;

/// " (and N more)" for a finding that stands for several matches: screening reports one
/// finding per track and rule, however many catalog entries match, so a catalog full of
/// copies cannot multiply findings (or memory) without bound.
fn and_more(n: usize) -> String {
    if n > 1 {
        format!(" (and {} more)", n - 1)
    } else {
        String::new()
    }
}

/// The catalog's tracks by a key, built once per run: lookups stay linear in the release
/// plus the catalog, never their product.
fn tracks_by<'a>(
    i: &QcInput<'a>,
    key: impl Fn(&'a crate::CatalogTrack) -> Option<&'a str>,
) -> HashMap<&'a str, Vec<&'a crate::CatalogTrack>> {
    let mut by: HashMap<&str, Vec<&crate::CatalogTrack>> = HashMap::new();
    for o in &i.catalog.tracks {
        if let Some(k) = key(o) {
            by.entry(k).or_default().push(o);
        }
    }
    by
}

fn isrc_reused(i: &QcInput<'_>, out: &mut Findings) {
    let upc = i.release.upc.to_string();
    let by_isrc = tracks_by(i, |o| Some(o.isrc.as_str()));
    for (k, t) in i.tracks() {
        let isrc = t.isrc.to_string();
        let Some(mine) = i.audio_of(k).and_then(|a| a.pcm_sha256.as_deref()) else {
            continue;
        };
        let clashes: Vec<_> = by_isrc
            .get(isrc.as_str())
            .into_iter()
            .flatten()
            .filter(|o| o.upc != upc)
            .filter(|o| o.pcm_sha256.as_deref().is_some_and(|h| h != mine))
            .collect();
        if let Some(o) = clashes.first() {
            out.at(
                format!("tracks[{k}].isrc"),
                format!(
                    "ISRC {isrc} already identifies different audio (\"{}\" on {}){}",
                    o.title,
                    o.upc,
                    and_more(clashes.len())
                ),
            )
            .value(isrc.clone())
            .hint("a new recording needs a new ISRC; reuse an ISRC only for the identical master")
            .track(k);
        }
    }
}

fn audio_duplicate(i: &QcInput<'_>, out: &mut Findings) {
    let upc = i.release.upc.to_string();
    let by_hash = tracks_by(i, |o| o.pcm_sha256.as_deref());
    let mut first_here: HashMap<&str, usize> = HashMap::new();
    for (k, t) in i.tracks() {
        let Some(hash) = i.audio_of(k).and_then(|a| a.pcm_sha256.as_deref()) else {
            continue;
        };
        let isrc = t.isrc.to_string();
        let same: Vec<_> = by_hash
            .get(hash)
            .into_iter()
            .flatten()
            .filter(|o| o.isrc != isrc)
            .collect();
        if let Some(o) = same.first() {
            let place = if o.upc == upc {
                "this release".to_owned()
            } else {
                o.upc.clone()
            };
            out.at(
                format!("tracks[{k}].audio"),
                format!(
                    "identical audio is already in the catalog as {} \"{}\" on {place}{}",
                    o.isrc,
                    o.title,
                    and_more(same.len())
                ),
            )
            .value(hash[..16.min(hash.len())].to_owned())
            .hint(format!(
                "reuse ISRC {} for the same master; a re-upload under a new ISRC is a duplicate",
                o.isrc
            ))
            .track(k);
        }
        // Within the release too: each track against the first with the same audio.
        match first_here.get(hash) {
            Some(&m) => {
                out.at(
                    format!("tracks[{k}].audio"),
                    format!("identical audio to tracks[{m}]"),
                )
                .value(hash[..16.min(hash.len())].to_owned())
                .hint("each track needs its own recording")
                .track(k);
            }
            None => {
                first_here.insert(hash, k);
            }
        }
    }
}

fn upc_reused(i: &QcInput<'_>, out: &mut Findings) {
    let r = i.release;
    let Some((title, artist)) = &i.catalog.previous else {
        return;
    };
    let norm = |s: &str| {
        s.to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
    };
    let my_artist = crate::meta::display_artist(&r.artists);
    if norm(title) != norm(&r.title) && norm(artist) != norm(&my_artist) {
        out.at(
            "upc",
            format!("UPC {} already belongs to \"{title}\" by {artist}", r.upc),
        )
        .value(r.upc.to_string())
        .hint("a different product needs its own UPC; an update keeps its title or artist");
    }
}

fn ai_policy(i: &QcInput<'_>, out: &mut Findings) {
    let r = i.release;
    let extent = [r.ai.contains, r.artwork.ai]
        .into_iter()
        .chain(r.tracks.iter().map(|t| t.ai.contains))
        .max_by_key(|e| match e {
            AiExtent::None => 0,
            AiExtent::Partly => 1,
            AiExtent::All => 2,
        });
    let Some(extent) = extent.filter(|e| *e != AiExtent::None) else {
        return;
    };
    let label = &r.label.name;
    match i.ai_policy {
        AiPolicy::Allow => {}
        AiPolicy::Review => {
            out.at(
                "ai.contains",
                format!("AI content ({extent}) needs staff review under {label}'s policy"),
            )
            .value(extent.to_string())
            .hint("staff: review the disclosure and approve or reject with a reason")
            .at_most(Severity::Warning);
        }
        AiPolicy::Block => {
            out.at(
                "ai.contains",
                format!("{label}'s policy blocks AI content; this release discloses {extent}"),
            )
            .value(extent.to_string())
            .hint("remove the AI material, or ask the distributor to change the label's policy");
        }
    }
}

/// The AI fields exist only in ERN 4.3.2: a DSP that takes 4.3 or 3.8.2 would get the release
/// without them, which staff must know before it goes (not a line among build warnings).
fn ai_not_carried(i: &QcInput<'_>, out: &mut Findings) {
    let Some(p) = i.profile else { return };
    if !i.release.has_ai_fields() || p.carries_ai() {
        return;
    }
    out.at(
        "ai",
        format!(
            "{} takes ERN {}, which cannot carry the AI disclosure or AI-training consent: they would not reach this DSP",
            p.display_name, p.ern_version
        ),
    )
    .value(p.ern_version.to_string())
    .hint("if the DSP takes ERN 4.3.2 for releases with AI fields, set ai_ern_version = \"4.3.2\" in its profile; otherwise tell the DSP by its own channel");
}

fn artwork_duplicate(i: &QcInput<'_>, out: &mut Findings) {
    let Some(mine) = i.artwork.and_then(|a| a.dhash.as_deref()) else {
        return;
    };
    let upc = i.release.upc.to_string();
    let near: Vec<_> = i
        .catalog
        .releases
        .iter()
        .filter(|o| o.upc != upc)
        .filter_map(|o| {
            let d = artwork::dhash_distance(mine, o.artwork_dhash.as_deref()?)?;
            (d <= DHASH_NEAR).then_some((d, o))
        })
        .collect();
    if let Some((d, o)) = near.iter().min_by_key(|(d, _)| *d) {
        out.at(
            "artwork",
            format!(
                "the cover looks like the cover of {} \"{}\" (dHash distance {d}){}",
                o.upc,
                o.title,
                and_more(near.len())
            ),
        )
        .value(mine.to_owned())
        .hint("each release needs its own cover; DSPs reject reused artwork");
    }
}

fn artist_spelling(i: &QcInput<'_>, out: &mut Findings) {
    let norm = |s: &str| {
        s.to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
    };
    let known: HashSet<&str> = i
        .catalog
        .releases
        .iter()
        .flat_map(|r| r.artists.iter().map(String::as_str))
        .collect();
    // The first spelling seen for each normalised name, in catalog order.
    let mut by_norm: HashMap<String, &str> = HashMap::new();
    for r in &i.catalog.releases {
        for a in &r.artists {
            by_norm.entry(norm(a)).or_insert(a.as_str());
        }
    }
    for (n, a) in i
        .release
        .artists
        .iter()
        .enumerate()
        .filter(|(_, a)| a.role == ArtistRole::MainArtist)
    {
        if known.contains(a.name.as_str()) {
            continue;
        }
        if let Some(k) = by_norm.get(&norm(&a.name)) {
            out.at(
                format!("artists[{n}].name"),
                format!(
                    "\"{}\" is spelled \"{k}\" on the artist's other releases",
                    a.name
                ),
            )
            .value(a.name.clone())
            .hint("use the same spelling, or DSPs create a second artist page")
            .fix(format!("artists[{n}].name"), *k);
        }
    }
}

fn artist_ids(i: &QcInput<'_>, out: &mut Findings) {
    let upc = i.release.upc.to_string();
    // (dsp, id) → (name, upc) and (dsp, name) → (id, upc), first seen in catalog order.
    let mut by_id: HashMap<(&str, &str), (&str, &str)> = HashMap::new();
    let mut by_name: HashMap<(&str, &str), Vec<(&str, &str)>> = HashMap::new();
    for r in i.catalog.releases.iter().filter(|r| r.upc != upc) {
        for (n, d, id) in &r.artist_ids {
            by_id
                .entry((d.as_str(), id.as_str()))
                .or_insert((n.as_str(), r.upc.as_str()));
            let ids = by_name.entry((d.as_str(), n.as_str())).or_default();
            if ids.len() < 2 && !ids.iter().any(|(x, _)| x == id) {
                ids.push((id.as_str(), r.upc.as_str()));
            }
        }
    }
    if by_id.is_empty() {
        return;
    }
    let r = i.release;
    let release_names: HashSet<&str> = r.artists.iter().map(|a| a.name.as_str()).collect();
    let mut fields: Vec<(String, &model::DisplayArtist, Option<usize>)> = r
        .artists
        .iter()
        .enumerate()
        .map(|(n, a)| (format!("artists[{n}]"), a, None))
        .collect();
    for (k, t) in i.tracks() {
        for (n, a) in t.artists.iter().enumerate() {
            // Track credits copied from the release are checked once, at release level.
            if !release_names.contains(a.name.as_str()) {
                fields.push((format!("tracks[{k}].artists[{n}]"), a, Some(k)));
            }
        }
    }
    for (path, a, track) in fields {
        for (dsp, id) in &a.dsp_ids {
            let other_name = by_id
                .get(&(dsp.as_str(), id.as_str()))
                .filter(|(n, _)| *n != a.name);
            let other_id = by_name
                .get(&(dsp.as_str(), a.name.as_str()))
                .and_then(|ids| ids.iter().find(|(x, _)| x != id));
            if let Some((name, other)) = other_name {
                let mut b = out
                    .at(
                        format!("{path}.name"),
                        format!("{dsp} artist id {id} is \"{name}\" on {other}"),
                    )
                    .value(a.name.clone())
                    .hint("spell the artist as on their other releases, or correct the id")
                    .fix(format!("{path}.name"), *name);
                if let Some(t) = track {
                    b = b.track(t);
                }
                drop(b);
            } else if let Some((other_id, other)) = other_id {
                let mut b = out
                    .at(format!("{path}.dsp_ids.{dsp}"), format!("\"{}\" has {dsp} id {other_id} on {other}", a.name))
                    .value(id.clone())
                    .hint("use the artist's existing id, unless this is a different artist of the same name (then staff approve)");
                if let Some(t) = track {
                    b = b.track(t);
                }
                drop(b);
            }
        }
    }
}
