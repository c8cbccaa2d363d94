//! Metadata style rules (../shared/design/domain/metadata-rules.md §2): the DSPs' style guides,
//! with Apple's as the baseline.

use model::{AiExtent, ArtistRole, ContributorRole, DisplayArtist, ParentalAdvisory, ReleaseType};

use crate::text::{self, CaseStyle};
use crate::{Area, Findings, QcInput, Rule, Severity};

macro_rules! rule {
    ($id:literal, $sev:ident, $summary:literal, $check:path) => {
        Rule {
            id: $id,
            severity: Severity::$sev,
            area: Area::Metadata,
            summary: $summary,
            check: $check,
        }
    };
}

pub(crate) static RULES: &[Rule] = &[
    rule!(
        "META-WHITESPACE",
        Warning,
        "No leading, trailing or doubled spaces in titles and names",
        whitespace
    ),
    rule!(
        "META-CASE-ALL-CAPS",
        Warning,
        "Titles are not written in ALL CAPS",
        all_caps
    ),
    rule!(
        "META-CASE-ALL-LOWER",
        Warning,
        "Titles are not written all lowercase",
        all_lower
    ),
    rule!(
        "META-CASE-RANDOM",
        Warning,
        "Titles are not written in rAnDoM case",
        random_case
    ),
    rule!(
        "META-TITLE-CASE",
        Warning,
        "English titles use title case: minor words lowercase, first and last (also inside brackets) capitalised",
        english_title_case
    ),
    rule!(
        "META-PART-VOLUME",
        Error,
        "Parts and volumes are written `Title, Pt. N` / `Title, Vol. N`",
        part_volume
    ),
    rule!(
        "META-FEAT-FORMAT",
        Error,
        "A featured credit is written `(feat. X)`: never ft., Feat, featuring or w/",
        feat_format
    ),
    rule!(
        "META-FEAT-LIST",
        Error,
        "Several featured artists are written `(feat. A & B)` / `(feat. A, B & C)`",
        feat_list
    ),
    rule!(
        "META-FEAT-CREDITED",
        Error,
        "An artist featured in the title is credited as FeaturedArtist on the track",
        feat_credited
    ),
    rule!(
        "META-FEAT-NOT-PRIMARY",
        Error,
        "An artist is never both MainArtist and FeaturedArtist on one track",
        feat_not_primary
    ),
    rule!(
        "META-FEAT-ALBUM-LEVEL",
        Warning,
        "An artist featured on every track is also credited at release level",
        feat_album_level
    ),
    rule!(
        "META-VERSION-BRACKETS",
        Error,
        "The first version qualifier goes in (), later ones in []",
        version_brackets
    ),
    rule!(
        "META-VERSION-FIELD",
        Warning,
        "Version qualifiers (Remix, Radio Edit, Live…) belong in the version field",
        version_field
    ),
    rule!(
        "META-EDITION-FIELD",
        Warning,
        "Album editions (Deluxe Edition, Bonus Track Version…) belong in the version field",
        edition_field
    ),
    rule!(
        "META-MEDLEY-SEPARATOR",
        Error,
        "Medley titles are separated by ` / ` with spaces",
        medley_separator
    ),
    rule!(
        "META-ORIGINAL-MIX",
        Error,
        "The original version carries no \"Original Mix\", \"Original Version\" or \"Album Version\"",
        original_mix
    ),
    rule!(
        "META-DUPLICATE-TITLE",
        Error,
        "Track titles are unique within a release, unless the versions differ",
        duplicate_title
    ),
    rule!(
        "META-SINGLE-TITLE",
        Error,
        "A single's title equals its track's title",
        single_title
    ),
    rule!(
        "META-SINGLE-EP-SUFFIX",
        Error,
        "Never type \"- Single\" or \"- EP\" into a title: DSPs add it",
        single_ep_suffix
    ),
    rule!(
        "META-GENERIC-TITLE",
        Warning,
        "Generic titles (Track 1, Untitled, Instrumental) go to review",
        generic_title
    ),
    rule!(
        "META-EXCLUSIVE",
        Error,
        "No \"Exclusive\" or \"Limited Edition\" in titles",
        exclusive
    ),
    rule!(
        "META-FORMAT-TERMS",
        Error,
        "No format or technical terms in titles (Dolby Atmos, Lossless, Hi-Res, CD, digital)",
        format_terms
    ),
    rule!(
        "META-EXPLICIT-IN-TITLE",
        Error,
        "No \"Clean\"/\"Explicit\" in titles: use the parental advisory",
        explicit_in_title
    ),
    rule!(
        "META-CENSORED",
        Error,
        "No self-censoring asterisks (f**k) in titles",
        censored
    ),
    rule!(
        "META-ARTIST-IN-TITLE",
        Error,
        "No artist names in titles (a self-titled release is fine)",
        artist_in_title
    ),
    rule!(
        "META-PRODUCER-IN-TITLE",
        Error,
        "No producer credits in titles: credit the Producer role",
        producer_in_title
    ),
    rule!(
        "META-EMOJI",
        Error,
        "No emojis in titles, artist names or lyrics",
        emoji
    ),
    rule!(
        "META-PROMO",
        Error,
        "No URLs, @handles, hashtags or promotional text",
        promo
    ),
    rule!(
        "META-PUNCTUATION",
        Error,
        "No excessive punctuation (!!, ??, …)",
        punctuation
    ),
    rule!(
        "META-ARTIST-SINGLE",
        Error,
        "One artist per artist field: split \"A & B\", \"A x B\", \"A vs. B\", \"A, B\"",
        artist_single
    ),
    rule!(
        "META-VARIOUS-ARTISTS-FORM",
        Error,
        "Compilations are by \"Various Artists\", never V/A, VA or Various",
        various_form
    ),
    rule!(
        "META-VARIOUS-ARTISTS",
        Error,
        "Four or more primary artists: the release artist is Various Artists; never at track level",
        various_threshold
    ),
    rule!(
        "META-ARTIST-EXTRA-INFO",
        Error,
        "Artist names carry no role, instrument, website or \"and Friends\"",
        artist_extra
    ),
    rule!(
        "META-ARTIST-GENERIC",
        Error,
        "No generic or SEO artist names (Yoga, Workout, Sleep Music…)",
        artist_generic
    ),
    rule!(
        "META-REMIXER",
        Error,
        "A remix credits a Remixer who is not the main artist",
        remixer
    ),
    rule!(
        "META-COMPOSER",
        Error,
        "Every track credits at least one composer",
        composer_required
    ),
    rule!(
        "META-WRITER-NAME",
        Error,
        "Composers and lyricists are full names, one person per credit, no placeholders",
        writer_name
    ),
    rule!(
        "META-CREDITS-COMPLETE",
        Info,
        "Each track credits composition/lyrics, performers and production/engineering (Apple)",
        credits_complete
    ),
    rule!(
        "META-EXPLICIT-CONSISTENT",
        Error,
        "A release with an explicit track is explicit",
        explicit_consistent
    ),
    rule!(
        "META-CLEAN-COUNTERPART",
        Error,
        "\"Clean\" (edited) only when an explicit counterpart exists",
        clean_counterpart
    ),
    rule!(
        "META-LYRICS-EXPLICIT",
        Error,
        "Tracks whose lyrics are explicit are flagged explicit",
        lyrics_explicit
    ),
    rule!(
        "META-RELEASE-DATE",
        Error,
        "Release dates are plausible: original date not after the release date, not before 1900",
        release_date
    ),
    rule!(
        "META-LEAD-TIME",
        Warning,
        "Release date leaves the DSP its lead time",
        lead_time
    ),
    rule!(
        "META-PLINE-YEAR",
        Warning,
        "The ℗ year is not after the release year",
        pline_year
    ),
    rule!(
        "META-LANGUAGE-SCRIPT",
        Error,
        "Titles are written in the declared language's native script",
        language_script
    ),
    rule!(
        "META-MIXED-SCRIPT",
        Error,
        "No word mixes scripts (Cyrillic letters passing as Latin)",
        mixed_script
    ),
    rule!(
        "META-GENRE",
        Warning,
        "Genre from the controlled list",
        genre
    ),
    rule!(
        "META-SPLITS",
        Error,
        "Splits total 100% on every track that has them",
        splits_total
    ),
    rule!(
        "META-SPLITS-MISSING",
        Info,
        "Tracks say who is paid",
        splits_missing
    ),
    rule!(
        "META-AI-CONSISTENT",
        Error,
        "AI disclosure is consistent between release, tracks, contributors and artwork",
        ai_consistent
    ),
    rule!(
        "META-AI-PARTS",
        Warning,
        "AI content says which parts AI made",
        ai_parts
    ),
    rule!(
        "META-ID-UNVERIFIED",
        Error,
        "Identifiers received from a label pass their check (UPC/EAN, GRid, ISNI, ISWC check characters)",
        unverified_ids
    ),
];

/// Compiles one of this file's constant patterns (every rule runs in crates/qc/tests/rules.rs,
/// so a bad pattern fails there, not silently).
fn pattern(p: &str) -> regex::Regex {
    #[allow(clippy::expect_used)]
    regex::Regex::new(p).expect("QC's own regex patterns are valid")
}

pub(crate) fn display_artist(artists: &[DisplayArtist]) -> String {
    let main: Vec<String> = artists
        .iter()
        .filter(|a| a.role == ArtistRole::MainArtist)
        .map(|a| a.name.clone())
        .collect();
    text::join_names(&main)
}

/// Every title-like field: (path, value, track index).
fn titles<'a>(i: &'a QcInput<'_>) -> Vec<(String, &'a str, Option<usize>)> {
    let r = i.release;
    let mut v = vec![("title".to_owned(), r.title.as_str(), None)];
    if let Some(ver) = &r.version {
        v.push(("version".into(), ver.as_str(), None));
    }
    for (k, t) in i.tracks() {
        v.push((format!("tracks[{k}].title"), t.title.as_str(), Some(k)));
        if let Some(ver) = &t.version {
            v.push((format!("tracks[{k}].version"), ver.as_str(), Some(k)));
        }
    }
    v
}

/// Title fields only (not versions).
fn main_titles<'a>(i: &'a QcInput<'_>) -> Vec<(String, &'a str, Option<usize>)> {
    titles(i)
        .into_iter()
        .filter(|(p, ..)| p.ends_with("title"))
        .collect()
}

/// Every artist-name field: (path, name, track index).
fn artist_fields<'a>(i: &'a QcInput<'_>) -> Vec<(String, &'a str, Option<usize>)> {
    let r = i.release;
    let mut v: Vec<_> = r
        .artists
        .iter()
        .enumerate()
        .map(|(k, a)| (format!("artists[{k}].name"), a.name.as_str(), None))
        .collect();
    for (t, track) in i.tracks() {
        for (k, a) in track.artists.iter().enumerate() {
            v.push((
                format!("tracks[{t}].artists[{k}].name"),
                a.name.as_str(),
                Some(t),
            ));
        }
    }
    v
}

fn is_english(i: &QcInput<'_>) -> bool {
    i.release
        .language
        .to_string()
        .to_ascii_lowercase()
        .starts_with("en")
}

fn emit_text(
    out: &mut Findings,
    field: &str,
    value: &str,
    track: Option<usize>,
    msg: String,
    hint: &str,
    fixed: Option<String>,
) {
    let mut b = out.at(field, msg).value(value).hint(hint);
    if let Some(t) = track {
        b = b.track(t);
    }
    if let Some(f) = fixed {
        b = b.fix(field, f);
    }
    drop(b);
}

fn whitespace(i: &QcInput<'_>, out: &mut Findings) {
    for (field, value, track) in titles(i).into_iter().chain(artist_fields(i)) {
        let fixed = value.split_whitespace().collect::<Vec<_>>().join(" ");
        if fixed != value {
            emit_text(
                out,
                &field,
                value,
                track,
                "stray spaces".into(),
                "remove leading, trailing and doubled spaces",
                Some(fixed),
            );
        }
    }
}

fn case_check(i: &QcInput<'_>, out: &mut Findings, style: CaseStyle, what: &str) {
    for (field, value, track) in titles(i) {
        if text::case_style(value, i.allow) == style {
            // Only English has a rule-based casing to offer; elsewhere ask for sentence case.
            let suggestion =
                is_english(i).then(|| text::title_case(&value.to_lowercase(), i.allow));
            emit_text(
                out,
                &field,
                value,
                track,
                format!("written in {what}"),
                "use title case (or sentence case, per the language's custom); add stylised names to the allow-list",
                suggestion,
            );
        }
    }
}

fn all_caps(i: &QcInput<'_>, out: &mut Findings) {
    case_check(i, out, CaseStyle::AllCaps, "ALL CAPS");
}
fn all_lower(i: &QcInput<'_>, out: &mut Findings) {
    case_check(i, out, CaseStyle::AllLower, "all lowercase");
}
fn random_case(i: &QcInput<'_>, out: &mut Findings) {
    case_check(i, out, CaseStyle::Random, "rAnDoM case");
}

fn english_title_case(i: &QcInput<'_>, out: &mut Findings) {
    if !is_english(i) {
        return;
    }
    for (field, value, track) in titles(i) {
        if text::case_style(value, i.allow) != CaseStyle::Fine {
            continue; // reported by the case-style rules
        }
        let suggested = text::title_case(value, i.allow);
        if suggested != value {
            emit_text(
                out,
                &field,
                value,
                track,
                "not in English title case".into(),
                "minor words (a, an, the, of, in, on…) lowercase unless first or last; first and last words in brackets capitalised",
                Some(suggested),
            );
        }
    }
}

fn part_volume(i: &QcInput<'_>, out: &mut Findings) {
    // `Part 2`, `pt 2`, `Pt.2`, `Volume 3`, `vol 3`, `- Part 2`, `(Part 2)`.
    let re = pattern(r"(?i)[\s,\-(\[]*\b(part|pt\.?|volume|vol\.?)\s*(\d+|[IVX]+)\b[)\]]?");
    for (field, value, track) in main_titles(i) {
        let Some(m) = re.captures(value) else {
            continue;
        };
        let (Some(all), Some(word), Some(num)) = (m.get(0), m.get(1), m.get(2)) else {
            continue;
        };
        let kind = if word.as_str().to_lowercase().starts_with('p') {
            "Pt."
        } else {
            "Vol."
        };
        let proper = format!(", {kind} {}", num.as_str());
        if all.as_str() == proper {
            continue;
        }
        let fixed = format!(
            "{}{proper}{}",
            value[..all.start()].trim_end(),
            &value[all.end()..]
        );
        emit_text(
            out,
            &field,
            value,
            track,
            format!("part/volume written \"{}\"", all.as_str().trim()),
            "write `Title, Pt. N` or `Title, Vol. N`",
            Some(fixed),
        );
    }
}

/// `ft.`, `Feat.`, `featuring`, `w/` credits in a title: (matched text, names).
fn feat_clause(value: &str) -> Option<(regex::Match<'_>, String, bool)> {
    let re = pattern(
        r"(?i)\s*[(\[]?\s*\b(ft\.?|feat\.?|featuring|w/)\s+([^()\[\]]+?)\s*[)\]]?\s*$|\s*[(\[]\s*\b(ft\.?|feat\.?|featuring|w/)\s+([^()\[\]]+?)\s*[)\]]",
    );
    let c = re.captures(value)?;
    let all = c.get(0)?;
    let word = c.get(1).or_else(|| c.get(3))?.as_str();
    let names = c.get(2).or_else(|| c.get(4))?.as_str().trim().to_owned();
    let proper = word == "feat." && all.as_str().trim_start().starts_with(['(', '[']);
    Some((all, names, proper))
}

fn feat_format(i: &QcInput<'_>, out: &mut Findings) {
    for (field, value, track) in main_titles(i) {
        let Some((m, names, proper)) = feat_clause(value) else {
            continue;
        };
        if proper {
            continue;
        }
        let list = text::join_names(&text::split_names(&names));
        let fixed = format!(
            "{} (feat. {list}){}",
            value[..m.start()].trim_end(),
            &value[m.end()..]
        );
        emit_text(
            out,
            &field,
            value,
            track,
            format!("featured credit written \"{}\"", m.as_str().trim()),
            "write `(feat. Name)`, lowercase, in parentheses",
            Some(fixed.trim_end().to_owned()),
        );
    }
}

fn feat_list(i: &QcInput<'_>, out: &mut Findings) {
    for (field, value, track) in main_titles(i) {
        let Some((m, names, proper)) = feat_clause(value) else {
            continue;
        };
        if !proper {
            continue; // META-FEAT-FORMAT rewrites the whole credit
        }
        let list = text::join_names(&text::split_names(&names));
        if list != names {
            let fixed = value.replacen(&names, &list, 1);
            let _ = m;
            emit_text(
                out,
                &field,
                value,
                track,
                format!("featured artists listed as \"{names}\""),
                "list them as `A & B` or `A, B & C`",
                Some(fixed),
            );
        }
    }
}

fn feat_credited(i: &QcInput<'_>, out: &mut Findings) {
    for (k, t) in i.tracks() {
        let Some((_, names, _)) = feat_clause(&t.title) else {
            continue;
        };
        for name in text::split_names(&names) {
            let credited = t.artists.iter().any(|a| {
                a.role == ArtistRole::FeaturedArtist && a.name.eq_ignore_ascii_case(&name)
            });
            if !credited {
                let mut artists = t.artists.clone();
                artists.retain(|a| !a.name.eq_ignore_ascii_case(&name));
                artists.push(DisplayArtist::new(name.clone(), ArtistRole::FeaturedArtist));
                out.at(
                    format!("tracks[{k}].artists"),
                    format!(
                        "\"{name}\" is featured in the title but not credited as FeaturedArtist"
                    ),
                )
                .value(name.clone())
                .hint("add the artist to the track's artists with role FeaturedArtist")
                .track(k)
                .fix(format!("tracks[{k}].artists"), artists);
            }
        }
    }
}

fn feat_not_primary(i: &QcInput<'_>, out: &mut Findings) {
    for (k, t) in i.tracks() {
        for a in t
            .artists
            .iter()
            .filter(|a| a.role == ArtistRole::FeaturedArtist)
        {
            if t.artists
                .iter()
                .any(|b| b.role == ArtistRole::MainArtist && b.name.eq_ignore_ascii_case(&a.name))
            {
                out.at(
                    format!("tracks[{k}].artists"),
                    format!("\"{}\" is both MainArtist and FeaturedArtist", a.name),
                )
                .value(a.name.clone())
                .hint("keep one role per artist on a track")
                .track(k);
            }
        }
    }
}

fn feat_album_level(i: &QcInput<'_>, out: &mut Findings) {
    let r = i.release;
    if r.tracks.len() < 2 {
        return;
    }
    let Some(first) = r.tracks.first() else {
        return;
    };
    for a in first
        .artists
        .iter()
        .filter(|a| a.role == ArtistRole::FeaturedArtist)
    {
        let everywhere = r.tracks.iter().all(|t| {
            t.artists
                .iter()
                .any(|b| b.role == ArtistRole::FeaturedArtist && b.name == a.name)
        });
        if everywhere && !r.artists.iter().any(|b| b.name == a.name) {
            out.at(
                "artists",
                format!(
                    "\"{}\" is featured on every track but not credited on the release",
                    a.name
                ),
            )
            .value(a.name.clone())
            .hint("credit the artist at release level too (as FeaturedArtist)");
        }
    }
}

const QUALIFIERS: &[&str] = &[
    "remix",
    "rmx",
    "radio edit",
    "edit",
    "live",
    "acoustic",
    "instrumental",
    "remastered",
    "remaster",
    "sped up",
    "slowed",
    "extended mix",
    "club mix",
    "dub",
    "demo",
    "a cappella",
    "acapella",
    "mono",
    "stereo",
    "version",
    "re-recorded",
    "rerecorded",
    "reprise",
    "karaoke",
];

fn version_brackets(i: &QcInput<'_>, out: &mut Findings) {
    for (field, value, track) in main_titles(i) {
        let (base, quals) = text::split_qualifiers(value);
        let quals: Vec<_> = quals
            .into_iter()
            .filter(|(_, q)| !q.to_lowercase().starts_with("feat."))
            .collect();
        if quals.len() < 2 {
            continue;
        }
        let wrong = quals
            .iter()
            .enumerate()
            .any(|(n, (b, _))| (n == 0) != (*b == '('));
        if wrong {
            let mut fixed = base;
            for (n, (_, q)) in quals.iter().enumerate() {
                fixed.push_str(&if n == 0 {
                    format!(" ({q})")
                } else {
                    format!(" [{q}]")
                });
            }
            emit_text(
                out,
                &field,
                value,
                track,
                "later version qualifiers are not in square brackets".into(),
                "write `Title (First Qualifier) [Second Qualifier]`, or use the version field",
                Some(fixed),
            );
        }
    }
}

fn version_field(i: &QcInput<'_>, out: &mut Findings) {
    for (k, t) in i.tracks() {
        if t.version.is_some() {
            continue;
        }
        let (base, quals) = text::split_qualifiers(&t.title);
        let versions: Vec<&String> = quals
            .iter()
            .map(|(_, q)| q)
            .filter(|q| {
                text::find_phrase(q, QUALIFIERS).is_some() && !q.to_lowercase().starts_with("feat")
            })
            .collect();
        if let [only] = versions.as_slice() {
            let feat: Vec<String> = quals
                .iter()
                .filter(|(_, q)| q.to_lowercase().starts_with("feat"))
                .map(|(_, q)| format!(" ({q})"))
                .collect();
            let new_title = format!("{base}{}", feat.concat());
            out.at(
                format!("tracks[{k}].title"),
                format!("version \"{only}\" is in the title"),
            )
            .value(t.title.clone())
            .hint("move it to the version field; DSPs add the brackets")
            .track(k)
            .fix(format!("tracks[{k}].title"), new_title)
            .fix(format!("tracks[{k}].version"), only.to_string());
        }
    }
}

const EDITIONS: &[&str] = &[
    "deluxe edition",
    "deluxe version",
    "deluxe",
    "bonus track version",
    "extended version",
    "expanded edition",
    "anniversary edition",
    "special edition",
    "remastered edition",
];

fn edition_field(i: &QcInput<'_>, out: &mut Findings) {
    let r = i.release;
    let (base, quals) = text::split_qualifiers(&r.title);
    if let Some((_, q)) = quals
        .iter()
        .find(|(_, q)| text::find_phrase(q, EDITIONS).is_some())
    {
        let mut b = out
            .at("title", format!("edition \"{q}\" is in the release title"))
            .value(r.title.clone())
            .hint("move it to the release's version field");
        if r.version.is_none() {
            b = b.fix("title", base).fix("version", q.clone());
        }
        drop(b);
    }
}

fn medley_separator(i: &QcInput<'_>, out: &mut Findings) {
    let re = pattern(r"(\p{L})\s*/\s*(\p{L})");
    for (field, value, track) in main_titles(i) {
        if value.contains('/') && re.is_match(value) && !value.contains(" / ") {
            let fixed = re.replace_all(value, "$1 / $2").into_owned();
            emit_text(
                out,
                &field,
                value,
                track,
                "medley titles are not separated by \" / \"".into(),
                "separate the titles with a slash between spaces",
                Some(fixed),
            );
        }
    }
}

fn original_mix(i: &QcInput<'_>, out: &mut Findings) {
    const TERMS: &[&str] = &["original mix", "original version", "album version"];
    for (field, value, track) in titles(i) {
        if let Some(term) = text::find_phrase(value, TERMS) {
            let is_version = field.ends_with("version");
            let fixed = if is_version {
                None
            } else {
                let (base, quals) = text::split_qualifiers(value);
                let rest: Vec<String> = quals
                    .iter()
                    .filter(|(_, q)| text::find_phrase(q, TERMS).is_none())
                    .map(|(b, q)| {
                        if *b == '(' {
                            format!(" ({q})")
                        } else {
                            format!(" [{q}]")
                        }
                    })
                    .collect();
                Some(format!("{base}{}", rest.concat()))
            };
            let mut b = out
                .at(
                    field.clone(),
                    format!("\"{term}\" marks the original, which carries no version"),
                )
                .value(value)
                .hint("remove it: the original version has no qualifier");
            if let Some(t) = track {
                b = b.track(t);
            }
            b = match fixed {
                Some(f) => b.fix(field.clone(), f),
                None => b.fix(field.clone(), serde_json::Value::Null),
            };
            drop(b);
        }
    }
}

fn duplicate_title(i: &QcInput<'_>, out: &mut Findings) {
    let norm = |s: &str| {
        s.to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let tracks = &i.release.tracks;
    for (k, t) in tracks.iter().enumerate() {
        if let Some(first) = tracks[..k].iter().position(|o| {
            norm(&o.title) == norm(&t.title)
                && o.version.as_deref().map(norm) == t.version.as_deref().map(norm)
        }) {
            out.at(
                format!("tracks[{k}].title"),
                format!("same title and version as tracks[{first}]"),
            )
            .value(t.title.clone())
            .hint("give each track a distinct title, or set the version that tells them apart")
            .track(k);
        }
    }
}

fn single_title(i: &QcInput<'_>, out: &mut Findings) {
    let r = i.release;
    if r.release_type != ReleaseType::Single {
        return;
    }
    let [only] = r.tracks.as_slice() else { return };
    let strip = |s: &str| {
        feat_clause(s)
            .map(|(m, ..)| format!("{}{}", &s[..m.start()], &s[m.end()..]))
            .unwrap_or_else(|| s.to_owned())
            .trim()
            .to_owned()
    };
    let release_title = r
        .title
        .trim_end_matches(" - Single")
        .trim_end_matches(" - EP");
    if strip(release_title) != strip(&only.title) {
        out.at(
            "title",
            format!(
                "the single is titled \"{}\" but its track \"{}\"",
                r.title, only.title
            ),
        )
        .value(r.title.clone())
        .hint("a one-track product carries its track's title")
        .fix("title", strip(&only.title));
    }
}

fn single_ep_suffix(i: &QcInput<'_>, out: &mut Findings) {
    let t = &i.release.title;
    for suffix in [
        " - Single",
        " - EP",
        " (Single)",
        " (EP)",
        " - single",
        " - ep",
    ] {
        if let Some(stripped) = t.strip_suffix(suffix) {
            out.at("title", format!("title ends with \"{}\"", suffix.trim()))
                .value(t.clone())
                .hint("remove it: DSPs add \"- Single\" / \"- EP\" from the release type")
                .fix("title", stripped.trim());
        }
    }
}

fn generic_title(i: &QcInput<'_>, out: &mut Findings) {
    let re =
        pattern(r"(?i)^\s*(track|song|untitled|title|audio|instrumental|no title)\s*(\d+)?\s*$");
    for (field, value, track) in main_titles(i) {
        let (base, _) = text::split_qualifiers(value);
        if re.is_match(&base) {
            emit_text(
                out,
                &field,
                value,
                track,
                format!("\"{base}\" looks like a placeholder title"),
                "give the real title; if it really is the title, staff can approve it",
                None,
            );
        }
    }
}

fn lexicon_rule(i: &QcInput<'_>, out: &mut Findings, terms: &[&str], what: &str, hint: &str) {
    for (field, value, track) in titles(i) {
        if let Some(term) = text::find_phrase(value, terms) {
            emit_text(
                out,
                &field,
                value,
                track,
                format!("{what} \"{term}\""),
                hint,
                None,
            );
        }
    }
}

fn exclusive(i: &QcInput<'_>, out: &mut Findings) {
    lexicon_rule(
        i,
        out,
        &["exclusive", "limited edition"],
        "marketing term",
        "remove it: availability is set by deals, not titles",
    );
}

fn format_terms(i: &QcInput<'_>, out: &mut Findings) {
    lexicon_rule(
        i,
        out,
        &[
            "dolby atmos",
            "atmos",
            "spatial audio",
            "spatial",
            "lossless",
            "hi res",
            "hi-res",
            "hires",
            "high resolution",
            "cd",
            "digital",
            "24 bit",
            "mp3",
            "flac",
            "wav",
            "hd audio",
            "3d audio",
            "8d audio",
        ],
        "format term",
        "remove it: formats are delivery facts, not part of the title",
    );
}

fn explicit_in_title(i: &QcInput<'_>, out: &mut Findings) {
    lexicon_rule(
        i,
        out,
        &[
            "explicit",
            "clean",
            "clean version",
            "explicit version",
            "censored",
            "uncensored",
            "dirty",
        ],
        "advisory term",
        "remove it and set the parental advisory / explicit flag instead",
    );
}

fn censored(i: &QcInput<'_>, out: &mut Findings) {
    let re = pattern(r"\p{L}\*+\p{L}|\p{L}\*{2,}");
    for (field, value, track) in titles(i) {
        if re.is_match(value) {
            emit_text(
                out,
                &field,
                value,
                track,
                "self-censored word".into(),
                "write the word in full and mark the track explicit",
                None,
            );
        }
    }
}

fn artist_in_title(i: &QcInput<'_>, out: &mut Findings) {
    let r = i.release;
    let mains: Vec<&str> = r
        .artists
        .iter()
        .filter(|a| a.role == ArtistRole::MainArtist)
        .map(|a| a.name.as_str())
        .collect();
    for (field, value, track) in main_titles(i) {
        let (base, _) = text::split_qualifiers(value);
        for name in &mains {
            // A self-titled release (title == artist) is fine; the artist inside a longer title is not.
            if name.chars().count() >= 3
                && !base.eq_ignore_ascii_case(name)
                && text::has_phrase(&base, &name.to_lowercase())
            {
                emit_text(
                    out,
                    &field,
                    value,
                    track,
                    format!("the artist name \"{name}\" is in the title"),
                    "remove it: artists are credited in their own fields",
                    None,
                );
            }
        }
    }
}

fn producer_in_title(i: &QcInput<'_>, out: &mut Findings) {
    let re = pattern(r"(?i)\s*[(\[]?\s*\b(prod\.?|produced)\s*(by)?\s+[^()\[\]]+[)\]]?");
    for (field, value, track) in main_titles(i) {
        if let Some(m) = re.find(value) {
            let fixed = format!("{}{}", &value[..m.start()], &value[m.end()..])
                .trim()
                .to_owned();
            emit_text(
                out,
                &field,
                value,
                track,
                format!("producer credit \"{}\" in the title", m.as_str().trim()),
                "remove it and credit the producer as a Producer contributor",
                Some(fixed),
            );
        }
    }
}

fn emoji(i: &QcInput<'_>, out: &mut Findings) {
    let mut fields = titles(i);
    fields.extend(artist_fields(i));
    for (k, t) in i.tracks() {
        if let Some(l) = &t.lyrics {
            fields.push((format!("tracks[{k}].lyrics"), l.as_str(), Some(k)));
        }
    }
    for (field, value, track) in fields {
        if let Some(e) = value.chars().find(|c| text::is_emoji(*c)) {
            let fixed: String = value
                .chars()
                .filter(|c| !text::is_emoji(*c))
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let shown = if field.ends_with("lyrics") {
                format!("{e}")
            } else {
                value.to_owned()
            };
            emit_text(
                out,
                &field,
                &shown,
                track,
                format!("contains the emoji {e}"),
                "remove emojis",
                (!field.ends_with("lyrics")).then_some(fixed),
            );
        }
    }
}

fn promo(i: &QcInput<'_>, out: &mut Findings) {
    let re = pattern(
        r"(?i)(https?://|www\.|\b[a-z0-9-]+\.(com|net|org|io|fm|me|ly)\b|(^|\s)@\w+|(^|\s)#\w+)",
    );
    const PROMO: &[&str] = &[
        "available on",
        "out now",
        "best song",
        "free download",
        "new single",
        "new song",
        "stream now",
        "buy now",
        "subscribe",
        "follow me",
        "top 10",
        "hit song",
        "official audio",
        "official video",
        "official music video",
    ];
    let mut fields = titles(i);
    fields.extend(artist_fields(i));
    for (field, value, track) in fields {
        if let Some(m) = re.find(value) {
            emit_text(
                out,
                &field,
                value,
                track,
                format!("contains \"{}\"", m.as_str().trim()),
                "remove URLs, handles and hashtags",
                None,
            );
        } else if let Some(p) = text::find_phrase(value, PROMO) {
            emit_text(
                out,
                &field,
                value,
                track,
                format!("promotional text \"{p}\""),
                "remove promotional text",
                None,
            );
        }
    }
}

fn punctuation(i: &QcInput<'_>, out: &mut Findings) {
    let re = pattern(r"[!?]{2,}|\.{4,}|[!?.]{3,}");
    for (field, value, track) in main_titles(i) {
        if let Some(m) = re.find(value) {
            if m.as_str() == "..." {
                continue;
            }
            emit_text(
                out,
                &field,
                value,
                track,
                format!("excessive punctuation \"{}\"", m.as_str()),
                "use at most one ! or ?",
                None,
            );
        }
    }
}

fn allowed(i: &QcInput<'_>, name: &str) -> bool {
    const ACTS: &[&str] = &[
        "simon & garfunkel",
        "earth, wind & fire",
        "crosby, stills, nash & young",
        "hall & oates",
        "florence + the machine",
        "mumford & sons",
        "of monsters and men",
        "tyler, the creator",
        "prince & the revolution",
        "marina and the diamonds",
        "chase & status",
        "above & beyond",
        "years & years",
        "kool & the gang",
        "sly & the family stone",
        "peter, paul and mary",
        "emerson, lake & palmer",
        "echo & the bunnymen",
        "siouxsie and the banshees",
        "katrina and the waves",
        "huey lewis and the news",
        "brooks & dunn",
    ];
    ACTS.contains(&name.to_lowercase().as_str())
        || i.allow.iter().any(|a| a.eq_ignore_ascii_case(name))
}

fn artist_single(i: &QcInput<'_>, out: &mut Findings) {
    let re =
        pattern(r"(?i)\s+(&|x|×|vs\.?|versus|and|with|feat\.?|ft\.?|featuring)\s+|\s*,\s+|\s*;\s*");
    let r = i.release;
    let mut lists: Vec<(String, &Vec<DisplayArtist>, Option<usize>)> =
        vec![("artists".into(), &r.artists, None)];
    for (k, t) in i.tracks() {
        lists.push((format!("tracks[{k}].artists"), &t.artists, Some(k)));
    }
    for (path, list, track) in lists {
        for (n, a) in list.iter().enumerate() {
            if allowed(i, &a.name) || !re.is_match(&a.name) {
                continue;
            }
            let parts: Vec<&str> = re
                .split(&a.name)
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
            if parts.len() < 2 {
                continue;
            }
            let mut fixed: Vec<DisplayArtist> = Vec::new();
            for (m, b) in list.iter().enumerate() {
                if m == n {
                    fixed.extend(parts.iter().map(|p| DisplayArtist::new(*p, a.role)));
                } else {
                    fixed.push(b.clone());
                }
            }
            let mut bld = out.at(format!("{path}[{n}].name"), format!("\"{}\" names {} artists in one field", a.name, parts.len()))
                .value(a.name.clone())
                .hint("one artist per entry; if this is one act's real name, add it to the allow-list")
                .fix(path.clone(), fixed);
            if let Some(t) = track {
                bld = bld.track(t);
            }
            drop(bld);
        }
    }
}

fn various_form(i: &QcInput<'_>, out: &mut Findings) {
    for (field, value, track) in artist_fields(i) {
        let v = value.trim().to_lowercase();
        if [
            "v/a",
            "va",
            "v.a.",
            "various",
            "various artist",
            "varios",
            "v-a",
        ]
        .contains(&v.as_str())
        {
            emit_text(
                out,
                &field,
                value,
                track,
                format!("\"{value}\" for a compilation"),
                "write \"Various Artists\"",
                Some("Various Artists".to_owned()),
            );
        }
    }
}

fn various_threshold(i: &QcInput<'_>, out: &mut Findings) {
    let r = i.release;
    let spotify = i.profile_is("spotify");
    let mut names: Vec<String> = Vec::new();
    for t in &r.tracks {
        for a in &t.artists {
            let counts =
                a.role == ArtistRole::MainArtist || (spotify && a.role == ArtistRole::Remixer);
            if counts && !names.iter().any(|n| n.eq_ignore_ascii_case(&a.name)) {
                names.push(a.name.clone());
            }
        }
        if spotify {
            for c in t
                .contributors
                .iter()
                .filter(|c| c.roles.contains(&ContributorRole::Composer))
            {
                if !names.iter().any(|n| n.eq_ignore_ascii_case(&c.name)) {
                    names.push(c.name.clone());
                }
            }
        }
    }
    let release_va = r.artists.iter().any(|a| a.name == "Various Artists");
    if names.len() >= 4 && !release_va && r.release_type != ReleaseType::Single {
        out.at(
            "artists",
            format!("{} distinct primary artists across the tracks", names.len()),
        )
        .value(display_artist(&r.artists))
        .hint("credit the release to \"Various Artists\" (tracks keep their own artists)")
        .fix(
            "artists",
            vec![DisplayArtist::new(
                "Various Artists",
                ArtistRole::MainArtist,
            )],
        );
    }
    for (k, t) in i.tracks() {
        if t.artists
            .iter()
            .any(|a| a.name.eq_ignore_ascii_case("Various Artists"))
        {
            out.at(
                format!("tracks[{k}].artists"),
                "\"Various Artists\" credited on a track",
            )
            .value("Various Artists")
            .hint("credit the track's real artists; Various Artists is for the release only")
            .track(k);
        }
    }
}

fn artist_extra(i: &QcInput<'_>, out: &mut Findings) {
    let re = pattern(
        r"(?i)\b(and friends|& friends|official|\(dj\)|\(band\)|\(singer\)|\(producer\)|\(rapper\)|\(guitar\)|\(piano\)|\(vocals?\)|\(drums\)|formerly|ex-|of the band|music official|records)\b|[(\[].*[)\]]",
    );
    for (field, value, track) in artist_fields(i) {
        if let Some(m) = re.find(value) {
            if allowed(i, value) {
                continue;
            }
            emit_text(
                out,
                &field,
                value,
                track,
                format!("artist name carries extra information \"{}\"", m.as_str()),
                "give the artist's name only; roles go in the role field",
                None,
            );
        }
    }
}

fn artist_generic(i: &QcInput<'_>, out: &mut Findings) {
    const GENERIC: &[&str] = &[
        "yoga",
        "workout",
        "sleep music",
        "christmas hits",
        "top hits",
        "relaxing music",
        "study music",
        "meditation",
        "white noise",
        "lofi beats",
        "lo-fi beats",
        "rain sounds",
        "baby sleep",
        "spa music",
        "piano music",
        "chill music",
        "party hits",
        "focus music",
        "deep sleep",
        "nature sounds",
        "ambient music",
        "workout music",
        "gym music",
        "hits",
        "best of",
        "karaoke",
    ];
    for (field, value, track) in artist_fields(i) {
        if GENERIC.contains(&value.trim().to_lowercase().as_str()) {
            emit_text(
                out,
                &field,
                value,
                track,
                format!("\"{value}\" is a generic or search-bait artist name"),
                "use the real artist's name; DSP spam filters target these",
                None,
            );
        }
    }
}

fn remixer(i: &QcInput<'_>, out: &mut Findings) {
    for (k, t) in i.tracks() {
        let text_all = format!("{} {}", t.title, t.version.clone().unwrap_or_default());
        if text::find_phrase(&text_all, &["remix", "rmx"]).is_none() {
            continue;
        }
        let mains: Vec<&str> = t
            .artists
            .iter()
            .filter(|a| a.role == ArtistRole::MainArtist)
            .map(|a| a.name.as_str())
            .collect();
        let remixers: Vec<&str> = t
            .artists
            .iter()
            .filter(|a| a.role == ArtistRole::Remixer)
            .map(|a| a.name.as_str())
            .chain(
                t.contributors
                    .iter()
                    .filter(|c| c.roles.contains(&ContributorRole::Remixer))
                    .map(|c| c.name.as_str()),
            )
            .collect();
        if remixers.is_empty() {
            out.at(
                format!("tracks[{k}].artists"),
                "a remix with no Remixer credited",
            )
            .value(text_all.trim().to_owned())
            .hint("credit the remixer (artist role Remixer)")
            .track(k);
        } else if remixers
            .iter()
            .all(|r| mains.iter().any(|m| m.eq_ignore_ascii_case(r)))
        {
            out.at(format!("tracks[{k}].artists"), "the only Remixer is the main artist").value(remixers.join(", "))
                .hint("a remix is credited to a remixer other than the main artist; otherwise use a version like \"Extended Mix\"").track(k);
        }
    }
}

fn is_writer(r: &ContributorRole) -> bool {
    matches!(
        r,
        ContributorRole::Composer | ContributorRole::Lyricist | ContributorRole::ComposerLyricist
    )
}

fn composer_required(i: &QcInput<'_>, out: &mut Findings) {
    for (k, t) in i.tracks() {
        let has = t.contributors.iter().any(|c| {
            c.roles.iter().any(|r| {
                matches!(
                    r,
                    ContributorRole::Composer | ContributorRole::ComposerLyricist
                )
            })
        });
        if !has {
            out.at(format!("tracks[{k}].contributors"), "no composer credited")
                .hint("credit every composer by their full registered name")
                .track(k);
        }
    }
}

fn writer_name(i: &QcInput<'_>, out: &mut Findings) {
    const PLACEHOLDERS: &[&str] = &[
        "public domain",
        "pd",
        "traditional",
        "trad",
        "trad.",
        "unknown",
        "anonymous",
        "n/a",
        "na",
        "none",
        "r.r.",
        "rr",
        "copyright control",
        "various",
        "tbd",
    ];
    let bands: Vec<String> = i
        .release
        .artists
        .iter()
        .map(|a| a.name.to_lowercase())
        .collect();
    for (k, t) in i.tracks() {
        for (n, c) in t.contributors.iter().enumerate() {
            if !c.roles.iter().any(is_writer) {
                continue;
            }
            let name = c.name.trim();
            let lower = name.to_lowercase();
            let latin = name
                .chars()
                .filter(|c| c.is_alphabetic())
                .all(|c| text::script_of(c) == Some(text::Script::Latin));
            let problem = if PLACEHOLDERS.contains(&lower.as_str()) {
                Some("a placeholder, not a writer")
            } else if name.contains(" & ")
                || name.contains(", ")
                || name.contains(" and ")
                || name.contains('/')
            {
                Some("more than one person in one credit")
            } else if latin && name.split_whitespace().count() < 2 {
                Some("not a full name (first and last)")
            } else if latin
                && name
                    .split_whitespace()
                    .all(|w| w.trim_end_matches('.').chars().count() <= 1)
            {
                Some("initials only")
            } else if latin && bands.contains(&lower) && name.split_whitespace().count() < 2 {
                Some("an artist name, not a person")
            } else {
                None
            };
            if let Some(p) = problem {
                out.at(
                    format!("tracks[{k}].contributors[{n}].name"),
                    format!("writer \"{name}\" is {p}"),
                )
                .value(name)
                .hint("credit each writer separately by the full name registered with their PRO")
                .track(k);
            }
        }
    }
}

fn credits_complete(i: &QcInput<'_>, out: &mut Findings) {
    use ContributorRole as R;
    for (k, t) in i.tracks() {
        let has = |f: &dyn Fn(&R) -> bool| t.contributors.iter().any(|c| c.roles.iter().any(f));
        let mut missing = Vec::new();
        if !has(&is_writer) {
            missing.push("composition & lyrics");
        }
        if !has(&|r| {
            matches!(
                r,
                R::Vocalist
                    | R::Performer
                    | R::Musician
                    | R::Soloist
                    | R::Conductor
                    | R::Orchestra
                    | R::Programmer
            )
        }) {
            missing.push("performers");
        }
        if !has(&|r| {
            matches!(
                r,
                R::Producer
                    | R::MixingEngineer
                    | R::MasteringEngineer
                    | R::RecordingEngineer
                    | R::Engineer
                    | R::Arranger
                    | R::Remixer
            )
        }) {
            missing.push("production & engineering");
        }
        if !missing.is_empty() {
            out.at(format!("tracks[{k}].contributors"), format!("no credit for {}", missing.join(", ")))
                .hint("Apple asks for at least one credit in each of composition & lyrics, performers, and production & engineering").track(k);
        }
    }
}

fn explicit_consistent(i: &QcInput<'_>, out: &mut Findings) {
    let r = i.release;
    let any_explicit = r.tracks.iter().any(|t| t.explicit);
    if any_explicit && r.parental_advisory != ParentalAdvisory::Explicit {
        out.at(
            "parental_advisory",
            "a track is explicit but the release is not marked Explicit",
        )
        .value(r.parental_advisory.to_string())
        .hint("an album is explicit if any track is")
        .fix("parental_advisory", "Explicit");
    }
    if !any_explicit && r.parental_advisory == ParentalAdvisory::Explicit {
        out.at(
            "parental_advisory",
            "the release is Explicit but no track is",
        )
        .value("Explicit")
        .hint(
            "flag the explicit tracks (tracks[].explicit = true), or clear the release's advisory",
        );
    }
}

fn clean_counterpart(i: &QcInput<'_>, out: &mut Findings) {
    let r = i.release;
    if r.parental_advisory != ParentalAdvisory::ExplicitContentEdited {
        return;
    }
    let has = i.catalog.releases.iter().any(|o| {
        o.title.eq_ignore_ascii_case(&r.title) && o.parental_advisory.as_deref() == Some("Explicit")
    });
    if !has {
        out.at("parental_advisory", "marked Clean (edited) but the catalog holds no explicit release of this title").value("ExplicitContentEdited")
            .hint("Clean is only for the edited counterpart of an explicit release; otherwise use NotExplicit").fix("parental_advisory", "NotExplicit");
    }
}

/// A deliberately small list: the words every DSP's explicit policy names. Catching these in
/// supplied lyrics is a check on the flag, not a content filter.
const EXPLICIT_WORDS: &[&str] = &[
    "fuck",
    "fucking",
    "fucked",
    "motherfucker",
    "shit",
    "bitch",
    "cunt",
    "nigga",
    "dick",
    "pussy",
    "whore",
    "cocaine",
];

fn lyrics_explicit(i: &QcInput<'_>, out: &mut Findings) {
    for (k, t) in i.tracks() {
        let Some(lyrics) = &t.lyrics else { continue };
        if t.explicit {
            continue;
        }
        if let Some(w) = text::find_phrase(lyrics, EXPLICIT_WORDS) {
            out.at(
                format!("tracks[{k}].explicit"),
                format!("the lyrics contain \"{w}\" but the track is not flagged explicit"),
            )
            .value("false")
            .hint("set explicit = true (and the release's parental advisory)")
            .track(k)
            .fix(format!("tracks[{k}].explicit"), true);
        }
    }
}

fn release_date(i: &QcInput<'_>, out: &mut Findings) {
    let r = i.release;
    if let Some(orig) = r.original_release_date
        && orig > r.release_date
    {
        out.at(
            "original_release_date",
            "the original release date is after the release date",
        )
        .value(orig.to_string())
        .hint("the original date is the first release ever; it cannot follow this one");
    }
    for (field, d) in [
        ("release_date", Some(r.release_date)),
        ("original_release_date", r.original_release_date),
    ] {
        if let Some(d) = d
            && d.format("%Y").to_string().parse::<i32>().unwrap_or(0) < 1900
        {
            out.at(field, "a date before 1900")
                .value(d.to_string())
                .hint("check the year");
        }
    }
    if r.release_date > i.today + chrono::Days::new(730) {
        out.at("release_date", "more than two years ahead")
            .value(r.release_date.to_string())
            .hint("check the year");
    }
}

fn lead_time(i: &QcInput<'_>, out: &mut Findings) {
    let r = i.release;
    let days = (r.release_date - i.today).num_days();
    if days < 0 {
        if r.original_release_date.is_none() {
            out.at("release_date", format!("the release date is {} days in the past", -days)).value(r.release_date.to_string())
                .hint("set a future release date, or record the real first release in original_release_date for back catalogue");
        }
        return;
    }
    let (warn, refuse, who) = match i.profile {
        Some(p) => (
            i64::from(p.lead_time.warn_days),
            i64::from(p.lead_time.refuse_days),
            p.display_name.as_str(),
        ),
        None => (7, 0, "DSPs"),
    };
    if days < refuse {
        out.at(
            "release_date",
            format!("{days} days before release; {who} needs at least {refuse}"),
        )
        .value(r.release_date.to_string())
        .hint("move the release date later")
        .at_most(Severity::Error);
    } else if days < warn {
        out.at(
            "release_date",
            format!("{days} days before release; {who} asks for {warn} (editorial pitching)"),
        )
        .value(r.release_date.to_string())
        .hint("move the release date later to give playlists a chance");
    }
}

fn pline_year(i: &QcInput<'_>, out: &mut Findings) {
    let r = i.release;
    let year = r
        .release_date
        .format("%Y")
        .to_string()
        .parse::<u16>()
        .unwrap_or(0);
    if r.p_line.year > year {
        out.at(
            "p_line.year",
            format!(
                "the ℗ year {} is after the release year {year}",
                r.p_line.year
            ),
        )
        .value(r.p_line.year.to_string())
        .hint("the ℗ year is the year the recording was first published")
        .fix("p_line.year", year);
    }
}

fn language_script(i: &QcInput<'_>, out: &mut Findings) {
    let lang = i.release.language.to_string();
    let Some(native) = text::native_scripts(&lang) else {
        return;
    };
    for (field, value, track) in main_titles(i) {
        let scripts = text::scripts_in(value);
        if scripts.is_empty() {
            continue;
        }
        let foreign: Vec<_> = scripts.iter().filter(|s| !native.contains(s)).collect();
        let only_latin = scripts == [text::Script::Latin];
        if !native.contains(&text::Script::Latin) && only_latin {
            emit_text(
                out,
                &field,
                value,
                track,
                format!("a Latin-script title for language \"{lang}\""),
                "write the title in its native script; put the transliteration in the translation field",
                None,
            );
        } else if !foreign.is_empty() && native == [text::Script::Latin] {
            emit_text(
                out,
                &field,
                value,
                track,
                format!("{:?} script in a title declared \"{lang}\"", foreign[0]),
                "declare the title's real language, or write it in that language's script",
                None,
            );
        }
    }
}

fn mixed_script(i: &QcInput<'_>, out: &mut Findings) {
    let mut fields = main_titles(i);
    fields.extend(artist_fields(i));
    for (field, value, track) in fields {
        for w in text::words(value) {
            let s = text::scripts_in(w);
            let confusable = s.contains(&text::Script::Latin)
                && (s.contains(&text::Script::Cyrillic) || s.contains(&text::Script::Greek));
            if confusable {
                emit_text(
                    out,
                    &field,
                    value,
                    track,
                    format!("the word \"{w}\" mixes Latin with Cyrillic or Greek letters"),
                    "retype the word in one script: look-alike letters break search and can impersonate other artists",
                    None,
                );
                break;
            }
        }
    }
}

const GENRES: &[&str] = &[
    "Alternative",
    "Ambient",
    "Anime",
    "Blues",
    "Children's Music",
    "Classical",
    "Comedy",
    "Country",
    "Dance",
    "Electronic",
    "Folk",
    "Hip-Hop/Rap",
    "Hip-Hop",
    "Rap",
    "Holiday",
    "Indie",
    "Indie Pop",
    "Indie Rock",
    "Inspirational",
    "Christian & Gospel",
    "Gospel",
    "Instrumental",
    "J-Pop",
    "K-Pop",
    "Jazz",
    "Latin",
    "Metal",
    "New Age",
    "Opera",
    "Pop",
    "R&B/Soul",
    "R&B",
    "Soul",
    "Reggae",
    "Rock",
    "Punk",
    "Singer/Songwriter",
    "Soundtrack",
    "Spoken Word",
    "World",
    "Afrobeats",
    "Afro-Pop",
    "Funk",
    "Disco",
    "House",
    "Techno",
    "Trance",
    "Drum & Bass",
    "Dubstep",
    "Lo-Fi",
    "Chill",
    "Easy Listening",
    "Fitness & Workout",
    "Karaoke",
    "Vocal",
    "Worldwide",
    "Brazilian",
    "Reggaeton",
    "Salsa",
    "Cumbia",
    "Flamenco",
    "Musica Mexicana",
    "Big Band",
    "Experimental",
    "Downtempo",
    "Synthwave",
    "Hard Rock",
    "Grunge",
    "Emo",
    "Ska",
    "Bluegrass",
    "Americana",
];

fn genre(i: &QcInput<'_>, out: &mut Findings) {
    let g = &i.release.genre;
    if !GENRES.iter().any(|k| k.eq_ignore_ascii_case(g)) {
        let near = GENRES.iter().find(|k| {
            k.to_lowercase().replace(['-', ' ', '/', '&'], "")
                == g.to_lowercase().replace(['-', ' ', '/', '&'], "")
        });
        let mut b = out
            .at("genre", format!("\"{g}\" is not in the genre list"))
            .value(g.clone())
            .hint("pick a genre from the controlled list (docs/qc-rules.md)");
        if let Some(n) = near {
            b = b.fix("genre", *n);
        }
        drop(b);
    }
}

fn splits_total(i: &QcInput<'_>, out: &mut Findings) {
    for (k, t) in i.tracks() {
        if t.splits.is_empty() {
            continue;
        }
        let total: u32 = t.splits.iter().map(|s| u32::from(s.basis_points)).sum();
        if total != model::FULL_SHARE_BP {
            out.at(
                format!("tracks[{k}].splits"),
                format!("splits total {}.{:02}%", total / 100, total % 100),
            )
            .value(total.to_string())
            .hint("shares must total 10000 basis points (100%)")
            .track(k);
        }
    }
}

fn splits_missing(i: &QcInput<'_>, out: &mut Findings) {
    for (k, t) in i.tracks() {
        if t.splits.is_empty() {
            out.at(
                format!("tracks[{k}].splits"),
                "no splits: the label keeps all income",
            )
            .hint("add splits if artists share this track's income")
            .track(k);
        }
    }
}

fn ai_consistent(i: &QcInput<'_>, out: &mut Findings) {
    let r = i.release;
    let any_track_ai =
        r.tracks.iter().any(|t| t.ai.contains != AiExtent::None) || r.artwork.ai != AiExtent::None;
    if r.ai.contains == AiExtent::None && any_track_ai {
        let mut parts: Vec<model::AiPart> = r
            .tracks
            .iter()
            .flat_map(|t| t.ai.parts.iter().copied())
            .collect();
        parts.sort();
        parts.dedup();
        let mut b = out
            .at(
                "ai.contains",
                "a track or the artwork discloses AI content but the release says None",
            )
            .value("None")
            .hint("disclose at release level too (Partly, or All if everything is AI)");
        if !parts.is_empty() {
            b = b.fix(
                "ai",
                model::AiDisclosure {
                    contains: AiExtent::Partly,
                    parts,
                },
            );
        }
        drop(b);
    }
    if r.ai.contains == AiExtent::All && r.tracks.iter().any(|t| t.ai.contains != AiExtent::All) {
        out.at(
            "ai.contains",
            "the release says All but some tracks are not wholly AI",
        )
        .value("All")
        .hint("use Partly")
        .fix("ai.contains", "Partly");
    }
    if r.ai.contains != AiExtent::None && !any_track_ai {
        out.at(
            "ai.contains",
            format!(
                "the release discloses AI ({}) but no track or artwork does",
                r.ai.contains
            ),
        )
        .value(r.ai.contains.to_string())
        .hint("disclose AI on the tracks it concerns");
    }
    for (k, t) in i.tracks() {
        for (n, c) in t.contributors.iter().enumerate() {
            if c.ai != AiExtent::None && t.ai.contains == AiExtent::None {
                out.at(
                    format!("tracks[{k}].ai.contains"),
                    format!(
                        "contributor \"{}\" is AI ({}) but the track discloses none",
                        c.name, c.ai
                    ),
                )
                .value("None")
                .hint("set the track's AI disclosure")
                .track(k)
                .fix(format!("tracks[{k}].ai.contains"), "Partly");
                let _ = n;
            }
        }
        if t.ai.contains == AiExtent::None && !t.ai.parts.is_empty() {
            out.at(
                format!("tracks[{k}].ai.parts"),
                "AI parts listed on a track that discloses no AI",
            )
            .track(k)
            .hint("set contains to Partly or All, or clear the parts");
        }
    }
}

fn ai_parts(i: &QcInput<'_>, out: &mut Findings) {
    for (k, t) in i.tracks() {
        if t.ai.contains != AiExtent::None && t.ai.parts.is_empty() {
            out.at(format!("tracks[{k}].ai.parts"), format!("AI content ({}) without the parts it concerns", t.ai.contains)).track(k)
                .hint("say which parts: Vocals, Instrumentation, Composition, PostProduction (Spotify shows them in credits)");
        }
    }
}

/// A label's ERN may carry identifiers whose check character is wrong (DDEX's own samples
/// do); intake keeps them as unverified instead of refusing the message. Sending one on would
/// put a wrong code in every DSP's catalogue, so staff confirm or correct it first.
fn unverified_ids(i: &QcInput<'_>, out: &mut Findings) {
    for u in &i.release.unverified {
        out.at(
            u.field.clone(),
            format!("{} {} fails its check: {}", u.kind, u.value, u.expected),
        )
        .value(u.value.clone())
        .hint("confirm the code with the label and correct it, or approve it knowingly");
    }
}
