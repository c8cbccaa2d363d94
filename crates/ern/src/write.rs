//! Writes a [`Message`] as ERN 4.3, 4.3.2 or 3.8.2 XML, element by element in the order of
//! each version's XSD sequences (the most common way hand-written builders fail is order).
//! Deterministic: the bytes depend only on the message; nothing here reads a clock.

use quick_xml::events::{BytesDecl, Event};

use crate::xmlout::XmlOut as X;

use crate::msg::*;

/// Why a message cannot be written in a version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot write ERN {version}: {why}")]
pub struct WriteError {
    pub version: Version,
    pub why: String,
}

/// Writes the message in its `version`. The message's own `version` field is ignored, so one
/// message can be written in several versions.
pub fn write(msg: &Message, version: Version) -> Result<Vec<u8>, WriteError> {
    if !Version::WRITABLE.contains(&version) {
        return Err(WriteError {
            version,
            why: "Liner writes ERN 4.3, 4.3.2 and 3.8.2".into(),
        });
    }
    let mut x = X::new(4096 + msg.resources.len() * 2048 + msg.deal_count() * 256);
    x.ev(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let root = format!("ern:{}", msg.kind.root());
    let mut attrs: Vec<(&str, &str)> = vec![("xmlns:ern", version.namespace())];
    if version == Version::V382 {
        attrs.push(("MessageSchemaVersionId", "ern/382"));
    } else {
        attrs.push((
            "AvsVersionId",
            if version == Version::V432 { "9" } else { "3" },
        ));
    }
    if let Some(p) = msg
        .profile
        .as_deref()
        .filter(|_| msg.kind == MessageKind::NewRelease)
    {
        attrs.push(("ReleaseProfileVersionId", p));
    }
    attrs.push((
        "LanguageAndScriptCode",
        msg.language.as_deref().unwrap_or("en"),
    ));
    x.open_a(&root, &attrs);
    header(&mut x, &msg.header);
    match msg.kind {
        MessageKind::Purge => purged(&mut x, msg),
        MessageKind::NewRelease if version == Version::V382 => v382::body(&mut x, msg),
        MessageKind::NewRelease => v4::body(&mut x, msg, version),
    }
    x.close(&root);
    Ok(x.finish())
}

fn header(x: &mut X, h: &Header) {
    x.open("MessageHeader");
    x.opt("MessageThreadId", h.thread_id.as_deref());
    x.leaf("MessageId", &h.message_id);
    let party = |x: &mut X, el: &str, p: &MessageParty| {
        x.open(el);
        x.leaf("PartyId", &p.party_id);
        if let Some(n) = &p.name {
            x.open("PartyName");
            x.leaf("FullName", n);
            x.close("PartyName");
        }
        x.close(el);
    };
    party(x, "MessageSender", &h.sender);
    for r in &h.recipients {
        party(x, "MessageRecipient", r);
    }
    x.leaf("MessageCreatedDateTime", &h.created);
    x.opt("MessageControlType", h.control.as_deref());
    x.close("MessageHeader");
}

fn release_id(
    x: &mut X,
    grid: Option<&str>,
    icpn: Option<&str>,
    isrc: Option<&str>,
    r: &IdParts<'_>,
) {
    x.open("ReleaseId");
    x.opt("GRid", grid);
    x.opt("ISRC", isrc);
    x.opt("ICPN", icpn);
    if let Some((ns, c)) = r.catalog {
        x.leaf_a("CatalogNumber", &[("Namespace", ns)], c);
    }
    for p in r.proprietary {
        x.leaf_a("ProprietaryId", &[("Namespace", &p.namespace)], &p.value);
    }
    x.close("ReleaseId");
}

struct IdParts<'a> {
    catalog: Option<(&'a str, &'a str)>,
    proprietary: &'a [ProprietaryId],
}

fn purged(x: &mut X, msg: &Message) {
    for p in &msg.purged {
        x.open("PurgedRelease");
        release_id(
            x,
            p.grid.as_deref(),
            p.icpn.as_deref(),
            None,
            &IdParts {
                catalog: None,
                proprietary: &p.proprietary,
            },
        );
        if let Some(t) = &p.title {
            // ERN 4 and 3.8.2 both type PurgedRelease/Title as TitleText + SubTitle*.
            x.open("Title");
            x.leaf("TitleText", t);
            x.close("Title");
        }
        x.close("PurgedRelease");
    }
}

fn line(x: &mut X, el: &str, text_el: &str, l: &Line) {
    x.open(el);
    x.opt("Year", l.year.as_deref());
    x.leaf(text_el, &l.text);
    x.close(el);
}

fn territories(x: &mut X, included: &[String], excluded: &[String]) {
    if !excluded.is_empty() {
        for t in excluded {
            x.leaf("ExcludedTerritoryCode", t);
        }
    } else {
        for t in included {
            x.leaf("TerritoryCode", t);
        }
    }
}

fn hash_sum_4(x: &mut X, h: &HashSum) {
    x.open("HashSum");
    x.leaf("Algorithm", &h.algorithm);
    x.leaf("HashSumValue", &h.value);
    x.close("HashSum");
}

/// AudioCodecType … BitsPerSample: the same sequence in ERN 4 DeliveryFile and 3.8.2
/// TechnicalSoundRecordingDetails.
fn audio_facts(x: &mut X, f: &TechnicalFile) {
    x.opt("AudioCodecType", f.codec.as_deref());
    if let Some(c) = f.channels {
        x.leaf("NumberOfChannels", num(c).as_str());
    }
    if let Some(s) = f.sample_rate {
        x.leaf_a("SamplingRate", &[("UnitOfMeasure", "Hz")], num(s).as_str());
    }
    if let Some(b) = f.bits_per_sample {
        x.leaf("BitsPerSample", num(b).as_str());
    }
}

/// ImageCodecType, ImageHeight, ImageWidth: the same in both generations.
fn image_facts(x: &mut X, f: &TechnicalFile) {
    x.opt("ImageCodecType", f.codec.as_deref());
    if let Some(h) = f.height {
        x.leaf_a(
            "ImageHeight",
            &[("UnitOfMeasure", "Pixel")],
            num(h).as_str(),
        );
    }
    if let Some(w) = f.width {
        x.leaf_a("ImageWidth", &[("UnitOfMeasure", "Pixel")], num(w).as_str());
    }
}

/// Use types the DDEX lists of every version Liner writes lack: sent as UserDefined, the way
/// DDEX prescribes for values outside an allowed-value set (the reader maps them back).
const USER_DEFINED_USE_TYPES: &[&str] = &["PerformAsBackgroundMusic"];

fn use_type(x: &mut X, u: &str) {
    if USER_DEFINED_USE_TYPES.contains(&u) {
        x.leaf_a(
            "UseType",
            &[("Namespace", "DPID:liner"), ("UserDefinedValue", u)],
            "UserDefined",
        );
    } else {
        x.leaf("UseType", u);
    }
}

/// A number as text (itoa: no formatting machinery on the hot path).
fn num(n: impl itoa::Integer) -> String {
    itoa::Buffer::new().format(n).to_owned()
}

mod v4 {
    use super::*;

    pub(super) fn body(x: &mut X, msg: &Message, version: Version) {
        let v432 = version == Version::V432;
        x.open("PartyList");
        for p in &msg.parties {
            x.open("Party");
            x.leaf("PartyReference", &p.reference);
            if let Some(n) = &p.name {
                x.open("PartyName");
                x.leaf("FullName", n);
                x.close("PartyName");
            }
            if p.isni.is_some() || p.dpid.is_some() || !p.proprietary.is_empty() || p.name.is_none()
            {
                x.open("PartyId");
                x.opt("ISNI", p.isni.as_deref());
                x.opt("DPID", p.dpid.as_deref());
                for id in &p.proprietary {
                    x.leaf_a("ProprietaryId", &[("Namespace", &id.namespace)], &id.value);
                }
                x.close("PartyId");
            }
            x.close("Party");
        }
        x.close("PartyList");

        x.open("ResourceList");
        for kind in ResourceKind::ALL {
            for r in msg.resources.iter().filter(|r| r.kind == kind) {
                match kind {
                    ResourceKind::SoundRecording => sound_recording(x, r, v432),
                    ResourceKind::Image => image(x, r, v432),
                    // Liner builds only audio releases; other kinds read from a message are
                    // reported by the reader and not carried into the model.
                    _ => {}
                }
            }
        }
        x.close("ResourceList");

        x.open("ReleaseList");
        for r in msg.releases.iter().filter(|r| r.main) {
            release(x, r, v432, &msg.header.sender.party_id);
        }
        for r in msg.releases.iter().filter(|r| !r.main && r.track) {
            track_release(x, r, v432);
        }
        x.close("ReleaseList");

        if !msg.deals.is_empty() {
            x.open("DealList");
            for rd in &msg.deals {
                x.open("ReleaseDeal");
                for r in &rd.releases {
                    x.leaf("DealReleaseReference", r);
                }
                for d in &rd.deals {
                    deal(x, d);
                }
                x.close("ReleaseDeal");
            }
            for v in &msg.visibilities {
                x.open("ReleaseVisibility");
                x.leaf("VisibilityReference", &v.reference);
                for t in &v.territories {
                    x.leaf("TerritoryCode", t);
                }
                x.opt("ReleaseDisplayStartDateTime", v.display_start.as_deref());
                x.close("ReleaseVisibility");
            }
            x.close("DealList");
        }
    }

    fn titles(x: &mut X, title: &str, subtitle: Option<&str>) {
        let display = match subtitle {
            Some(s) => format!("{title} ({s})"),
            None => title.to_owned(),
        };
        x.leaf("DisplayTitleText", &display);
        x.open("DisplayTitle");
        x.leaf("TitleText", title);
        if let Some(s) = subtitle {
            x.leaf_a("SubTitle", &[("SubTitleType", "Version")], s);
        }
        x.close("DisplayTitle");
    }

    /// A ContributorRole value: plain text in 4.3, a `<Value>` composite in 4.3.2.
    fn contributor_role(x: &mut X, el: &str, role: &str, v432: bool) {
        if v432 {
            x.open(el);
            x.leaf("Value", role);
            x.close(el);
        } else {
            x.leaf(el, role);
        }
    }

    fn artists(x: &mut X, name: Option<&str>, list: &[ArtistCredit], v432: bool) {
        x.leaf("DisplayArtistName", name.unwrap_or_default());
        for a in list {
            x.open_a(
                "DisplayArtist",
                &[("SequenceNumber", num(a.sequence).as_str())],
            );
            x.leaf("ArtistPartyReference", &a.party);
            x.leaf("DisplayArtistRole", &a.role);
            for r in &a.artistic_roles {
                contributor_role(x, "ArtisticRole", r, v432);
            }
            x.close("DisplayArtist");
        }
    }

    fn sound_recording(x: &mut X, r: &Resource, v432: bool) {
        x.open("SoundRecording");
        x.leaf("ResourceReference", &r.reference);
        x.leaf("Type", &r.resource_type);
        x.open("SoundRecordingEdition");
        x.open("ResourceId");
        x.opt("ISRC", r.isrc.as_deref());
        for p in &r.proprietary {
            x.leaf_a("ProprietaryId", &[("Namespace", &p.namespace)], &p.value);
        }
        x.close("ResourceId");
        if let Some(l) = &r.p_line {
            line(x, "PLine", "PLineText", l);
        }
        for f in &r.files {
            x.open("TechnicalDetails");
            x.leaf("TechnicalResourceDetailsReference", &f.reference);
            if f.uri.is_some() {
                x.open("DeliveryFile");
                x.leaf("Type", "AudioFile");
                audio_facts(x, f);
                file(x, f);
                x.close("DeliveryFile");
            }
            if let Some(c) = &f.preview {
                x.open("ClipDetails");
                x.leaf(
                    "TechnicalResourceDetailsReference",
                    &format!("{}C", f.reference),
                );
                x.leaf("ClipType", "Preview");
                x.open("Timing");
                x.leaf("StartPoint", &c.start);
                x.opt("DurationUsed", c.duration.as_deref());
                x.close("Timing");
                x.leaf("ExpressionType", "Instructive");
                x.close("ClipDetails");
            }
            x.close("TechnicalDetails");
        }
        x.close("SoundRecordingEdition");
        if let Some(iswc) = &r.iswc {
            x.open("WorkId");
            x.leaf("ISWC", iswc);
            x.close("WorkId");
        }
        titles(
            x,
            r.title.as_deref().unwrap_or_default(),
            r.subtitle.as_deref(),
        );
        artists(x, r.display_artist_name.as_deref(), &r.artists, v432);
        for c in &r.contributors {
            x.open_a(
                "Contributor",
                &[("SequenceNumber", num(c.sequence).as_str())],
            );
            x.leaf("ContributorPartyReference", &c.party);
            for role in &c.roles {
                contributor_role(x, "Role", role, v432);
            }
            if v432 {
                x.opt("AiContribution", c.ai.as_deref());
            }
            x.close("Contributor");
        }
        x.leaf("Duration", r.duration.as_deref().unwrap_or("PT0S"));
        x.leaf(
            "ParentalWarningType",
            r.parental_warning.as_deref().unwrap_or("NoAdviceAvailable"),
        );
        if v432 {
            x.opt("ContainsAI", r.contains_ai.as_deref());
        }
        x.opt(
            "LanguageOfPerformance",
            r.language_of_performance.as_deref(),
        );
        x.close("SoundRecording");
    }

    fn file(x: &mut X, f: &TechnicalFile) {
        if let Some(uri) = &f.uri {
            x.open("File");
            x.leaf("URI", uri);
            if let Some(h) = &f.hash {
                hash_sum_4(x, h);
            }
            if let Some(s) = f.size {
                x.leaf("FileSize", num(s).as_str());
            }
            x.close("File");
        }
    }

    fn image(x: &mut X, r: &Resource, v432: bool) {
        x.open("Image");
        x.leaf("ResourceReference", &r.reference);
        x.leaf("Type", &r.resource_type);
        x.open("ResourceId");
        for p in &r.proprietary {
            x.leaf_a("ProprietaryId", &[("Namespace", &p.namespace)], &p.value);
        }
        x.close("ResourceId");
        x.opt("ParentalWarningType", r.parental_warning.as_deref());
        if v432 {
            x.opt("ContainsAI", r.contains_ai.as_deref());
        }
        for f in &r.files {
            x.open("TechnicalDetails");
            x.leaf("TechnicalResourceDetailsReference", &f.reference);
            image_facts(x, f);
            file(x, f);
            x.close("TechnicalDetails");
        }
        x.close("Image");
    }

    fn genre(x: &mut X, r: &MsgRelease, v432: bool) {
        let el = if v432 { "DisplayGenre" } else { "Genre" };
        x.open(el);
        x.leaf("GenreText", r.genre.as_deref().unwrap_or("Unknown"));
        x.opt("SubGenre", r.subgenre.as_deref());
        x.close(el);
    }

    /// `ns`: the sender's DPID, the namespace of its catalog number.
    fn release(x: &mut X, r: &MsgRelease, v432: bool, ns: &str) {
        x.open("Release");
        x.leaf("ReleaseReference", &r.reference);
        for t in &r.release_types {
            x.leaf("ReleaseType", t);
        }
        release_id(
            x,
            r.grid.as_deref(),
            r.icpn.as_deref(),
            None,
            &IdParts {
                catalog: r.catalog_number.as_deref().map(|c| (ns, c)),
                proprietary: &r.proprietary,
            },
        );
        titles(
            x,
            r.title.as_deref().unwrap_or_default(),
            r.subtitle.as_deref(),
        );
        artists(x, r.display_artist_name.as_deref(), &r.artists, v432);
        for l in &r.labels {
            x.leaf("ReleaseLabelReference", l);
        }
        if let Some(l) = &r.p_line {
            line(x, "PLine", "PLineText", l);
        }
        if let Some(l) = &r.c_line {
            line(x, "CLine", "CLineText", l);
        }
        x.opt("Duration", r.duration.as_deref());
        genre(x, r, v432);
        x.opt("ReleaseDate", r.release_date.as_deref());
        x.opt("OriginalReleaseDate", r.original_release_date.as_deref());
        x.opt("ReleaseVisibilityReference", r.visibility.as_deref());
        x.leaf(
            "ParentalWarningType",
            r.parental_warning.as_deref().unwrap_or("NoAdviceAvailable"),
        );
        x.open("ResourceGroup");
        let groups = group_numbers(&r.items);
        if groups.len() > 1 {
            for g in &groups {
                x.open_a("ResourceGroup", &[("ResourceGroupType", "Component")]);
                x.leaf("SequenceNumber", num(*g).as_str());
                items(x, r.items.iter().filter(|i| i.group == *g));
                x.close("ResourceGroup");
            }
        } else {
            items(x, r.items.iter());
        }
        for l in &r.linked {
            x.leaf("LinkedReleaseResourceReference", l);
        }
        x.close("ResourceGroup");
        if v432 {
            x.opt("ContainsAI", r.contains_ai.as_deref());
        }
        x.close("Release");
    }

    fn items<'a>(x: &mut X, list: impl Iterator<Item = &'a ContentItem>) {
        for i in list {
            x.open("ResourceGroupContentItem");
            if let Some(s) = i.sequence {
                x.leaf("SequenceNumber", num(s).as_str());
            }
            x.leaf("ReleaseResourceReference", &i.resource);
            x.close("ResourceGroupContentItem");
        }
    }

    fn track_release(x: &mut X, r: &MsgRelease, v432: bool) {
        x.open("TrackRelease");
        x.leaf("ReleaseReference", &r.reference);
        release_id(
            x,
            r.grid.as_deref(),
            r.icpn.as_deref(),
            None,
            &IdParts {
                catalog: None,
                proprietary: &r.proprietary,
            },
        );
        if let Some(i) = r.items.first() {
            x.leaf("ReleaseResourceReference", &i.resource);
        }
        for l in &r.linked {
            x.leaf("LinkedReleaseResourceReference", l);
        }
        for l in &r.labels {
            x.leaf("ReleaseLabelReference", l);
        }
        genre(x, r, v432);
        x.opt("ReleaseVisibilityReference", r.visibility.as_deref());
        x.close("TrackRelease");
    }

    fn deal(x: &mut X, d: &MsgDeal) {
        x.open("Deal");
        x.open("DealTerms");
        territories(x, &d.territories, &d.excluded);
        x.open("ValidityPeriod");
        x.leaf("StartDate", d.start.as_deref().unwrap_or("1900-01-01"));
        x.opt("EndDate", d.end.as_deref());
        x.close("ValidityPeriod");
        for m in &d.commercial_models {
            // ERN 4 deal terms take a narrower list than the AVS, without AsPerContract.
            if m == "AsPerContract" {
                x.leaf_a(
                    "CommercialModelType",
                    &[("Namespace", "DPID:liner"), ("UserDefinedValue", m)],
                    "UserDefined",
                );
            } else {
                x.leaf("CommercialModelType", m);
            }
        }
        for u in &d.use_types {
            use_type(x, u);
        }
        if d.preorder {
            x.leaf("IsPreOrderDeal", "true");
        }
        x.close("DealTerms");
        x.close("Deal");
    }
}

/// The distinct group (disc) numbers of a track list, in order.
pub(crate) fn group_numbers(items: &[ContentItem]) -> Vec<u32> {
    let mut g: Vec<u32> = items.iter().map(|i| i.group).collect();
    g.sort_unstable();
    g.dedup();
    g
}

mod v382 {
    use super::*;

    /// Roles 3.8.2 files under the musical work (IndirectResourceContributor), not the recording.
    fn is_work_role(role: &str) -> bool {
        matches!(
            role,
            "Composer" | "Lyricist" | "ComposerLyricist" | "Arranger" | "MusicArranger"
        )
    }

    const RESOURCE_ROLES: &[&str] = &[
        "Actor",
        "Architect",
        "Artist",
        "AssociatedPerformer",
        "Band",
        "Choir",
        "Conductor",
        "Contributor",
        "Designer",
        "Ensemble",
        "FeaturedArtist",
        "MainArtist",
        "Member",
        "Narrator",
        "Orchestra",
        "PrimaryMusician",
        "Producer",
        "Programmer",
        "Soloist",
        "StudioPersonnel",
    ];

    const ARTIST_ROLES: &[&str] = &[
        "Artist",
        "Band",
        "Choir",
        "Composer",
        "Conductor",
        "Ensemble",
        "FeaturedArtist",
        "MainArtist",
        "Orchestra",
        "Producer",
        "Programmer",
        "Soloist",
    ];

    /// 3.8.2's role lists are shorter than ERN 4's: a role it lacks travels as UserDefined
    /// with the ERN 4 value, as DDEX prescribes for values outside the list.
    fn role(x: &mut X, el: &str, value: &str, allowed: &[&str], ns: &str) {
        if allowed.contains(&value) {
            x.leaf(el, value);
        } else {
            x.leaf_a(
                el,
                &[("Namespace", ns), ("UserDefinedValue", value)],
                "UserDefined",
            );
        }
    }

    fn party_name(x: &mut X, msg: &Message, reference: &str) {
        let p = msg.party(reference);
        x.open("PartyName");
        x.leaf(
            "FullName",
            p.and_then(|p| p.name.as_deref()).unwrap_or_default(),
        );
        x.close("PartyName");
        if let Some(isni) = p.and_then(|p| p.isni.as_deref()) {
            x.leaf_a("PartyId", &[("IsISNI", "true")], isni);
        }
    }

    fn artist(x: &mut X, msg: &Message, a: &ArtistCredit, ns: &str) {
        x.open_a(
            "DisplayArtist",
            &[("SequenceNumber", num(a.sequence).as_str())],
        );
        party_name(x, msg, &a.party);
        // ERN 4's "Artist + ArtisticRole Remixer" is one ArtistRole in 3.8.2.
        let r = a
            .artistic_roles
            .first()
            .map(String::as_str)
            .unwrap_or(&a.role);
        role(x, "ArtistRole", r, ARTIST_ROLES, ns);
        x.close("DisplayArtist");
    }

    fn title(x: &mut X, el: &str, attrs: &[(&str, &str)], title: &str, sub: Option<&str>) {
        x.open_a(el, attrs);
        x.leaf("TitleText", title);
        x.opt("SubTitle", sub);
        x.close(el);
    }

    pub(super) fn body(x: &mut X, msg: &Message) {
        let ns = msg.header.sender.party_id.as_str();
        x.opt("UpdateIndicator", msg.update_indicator.as_deref());
        x.open("ResourceList");
        let label_name = msg
            .main_release()
            .and_then(|r| r.labels.first())
            .and_then(|l| msg.party_name(l));
        let main = msg.main_release();
        for r in msg
            .resources
            .iter()
            .filter(|r| r.kind == ResourceKind::SoundRecording)
        {
            x.open("SoundRecording");
            x.leaf("SoundRecordingType", &r.resource_type);
            x.open("SoundRecordingId");
            x.opt("ISRC", r.isrc.as_deref());
            for p in &r.proprietary {
                x.leaf_a("ProprietaryId", &[("Namespace", &p.namespace)], &p.value);
            }
            x.close("SoundRecordingId");
            if let Some(iswc) = &r.iswc {
                x.open("IndirectSoundRecordingId");
                x.leaf("ISWC", iswc);
                x.close("IndirectSoundRecordingId");
            }
            x.leaf("ResourceReference", &r.reference);
            let t = r.title.as_deref().unwrap_or_default();
            title(x, "ReferenceTitle", &[], t, r.subtitle.as_deref());
            x.opt(
                "LanguageOfPerformance",
                r.language_of_performance.as_deref(),
            );
            x.leaf("Duration", r.duration.as_deref().unwrap_or("PT0S"));
            x.open("SoundRecordingDetailsByTerritory");
            x.leaf("TerritoryCode", "Worldwide");
            title(
                x,
                "Title",
                &[("TitleType", "DisplayTitle")],
                t,
                r.subtitle.as_deref(),
            );
            for a in &r.artists {
                artist(x, msg, a, ns);
            }
            let (mut work, rec): (Vec<_>, Vec<_>) = r
                .contributors
                .iter()
                .flat_map(|c| c.roles.iter().map(move |role| (c, role)))
                .partition(|(_, role)| is_work_role(role));
            // The reader rebuilds credits recording-first; ordering work credits the same
            // way keeps write -> read -> write byte-identical.
            let rank = |party: &str| rec.iter().position(|(c, _)| c.party == party);
            work.sort_by_key(|(c, _)| rank(&c.party).unwrap_or(usize::MAX));
            for (i, (c, r)) in rec.iter().enumerate() {
                x.open_a(
                    "ResourceContributor",
                    &[("SequenceNumber", num(i + 1).as_str())],
                );
                party_name(x, msg, &c.party);
                let r = if r.as_str() == "StudioProducer" {
                    "Producer"
                } else {
                    r.as_str()
                };
                role(x, "ResourceContributorRole", r, RESOURCE_ROLES, ns);
                x.close("ResourceContributor");
            }
            for (i, (c, r)) in work.iter().enumerate() {
                x.open_a(
                    "IndirectResourceContributor",
                    &[("SequenceNumber", num(i + 1).as_str())],
                );
                party_name(x, msg, &c.party);
                x.leaf("IndirectResourceContributorRole", r);
                x.close("IndirectResourceContributor");
            }
            x.opt("DisplayArtistName", r.display_artist_name.as_deref());
            x.opt("LabelName", label_name);
            if let Some(l) = &r.p_line {
                line(x, "PLine", "PLineText", l);
            }
            if let Some(m) = main {
                x.open("Genre");
                x.leaf("GenreText", m.genre.as_deref().unwrap_or("Unknown"));
                x.opt("SubGenre", m.subgenre.as_deref());
                x.close("Genre");
            }
            x.opt("ParentalWarningType", r.parental_warning.as_deref());
            for f in &r.files {
                x.open("TechnicalSoundRecordingDetails");
                x.leaf("TechnicalResourceDetailsReference", &f.reference);
                audio_facts(x, f);
                file(x, f);
                x.close("TechnicalSoundRecordingDetails");
                if let Some(c) = &f.preview {
                    x.open("TechnicalSoundRecordingDetails");
                    x.leaf(
                        "TechnicalResourceDetailsReference",
                        &format!("{}C", f.reference),
                    );
                    x.leaf("IsPreview", "true");
                    x.open("PreviewDetails");
                    x.leaf("StartPoint", &c.start);
                    x.opt("Duration", c.duration.as_deref());
                    x.leaf("ExpressionType", "Instructive");
                    x.close("PreviewDetails");
                    x.close("TechnicalSoundRecordingDetails");
                }
            }
            x.close("SoundRecordingDetailsByTerritory");
            x.close("SoundRecording");
        }
        for r in msg
            .resources
            .iter()
            .filter(|r| r.kind == ResourceKind::Image)
        {
            x.open("Image");
            x.leaf("ImageType", &r.resource_type);
            x.open("ImageId");
            for p in &r.proprietary {
                x.leaf_a("ProprietaryId", &[("Namespace", &p.namespace)], &p.value);
            }
            x.close("ImageId");
            x.leaf("ResourceReference", &r.reference);
            x.open("ImageDetailsByTerritory");
            x.leaf("TerritoryCode", "Worldwide");
            x.opt("ParentalWarningType", r.parental_warning.as_deref());
            for f in &r.files {
                x.open("TechnicalImageDetails");
                x.leaf("TechnicalResourceDetailsReference", &f.reference);
                image_facts(x, f);
                file(x, f);
                x.close("TechnicalImageDetails");
            }
            x.close("ImageDetailsByTerritory");
            x.close("Image");
        }
        x.close("ResourceList");

        x.open("ReleaseList");
        for r in msg
            .releases
            .iter()
            .filter(|r| r.main)
            .chain(msg.releases.iter().filter(|r| !r.main))
        {
            release(x, msg, r, ns);
        }
        x.close("ReleaseList");

        if !msg.deals.is_empty() {
            x.open("DealList");
            for rd in &msg.deals {
                x.open("ReleaseDeal");
                for r in &rd.releases {
                    x.leaf("DealReleaseReference", r);
                }
                let display = msg
                    .visibilities
                    .first()
                    .and_then(|v| v.display_start.as_deref())
                    .and_then(|s| s.get(..10));
                for d in &rd.deals {
                    deal(x, d, display);
                }
                x.close("ReleaseDeal");
            }
            x.close("DealList");
        }
    }

    fn file(x: &mut X, f: &TechnicalFile) {
        if let Some(uri) = &f.uri {
            x.open("File");
            // ERN 3.8.2 splits a relative path into FileName and FilePath.
            match uri.rsplit_once('/') {
                Some((path, name)) => {
                    x.leaf("FileName", name);
                    x.leaf("FilePath", &format!("{path}/"));
                }
                None => x.leaf("FileName", uri),
            }
            if let Some(h) = &f.hash {
                x.open("HashSum");
                x.leaf("HashSum", &h.value);
                x.leaf("HashSumAlgorithmType", &h.algorithm);
                x.close("HashSum");
            }
            x.close("File");
        }
    }

    fn release(x: &mut X, msg: &Message, r: &MsgRelease, ns: &str) {
        if r.main {
            x.open_a("Release", &[("IsMainRelease", "true")]);
        } else {
            x.open("Release");
        }
        let cat = r.catalog_number.as_deref().map(|c| (ns, c));
        release_id(
            x,
            r.grid.as_deref(),
            r.icpn.as_deref(),
            r.isrc.as_deref(),
            &IdParts {
                catalog: cat,
                proprietary: &r.proprietary,
            },
        );
        x.leaf("ReleaseReference", &r.reference);
        let (t, sub) = match (&r.title, r.track) {
            (Some(t), _) => (t.clone(), r.subtitle.clone()),
            (None, true) => {
                let res = r.items.first().and_then(|i| msg.resource(&i.resource));
                (
                    res.and_then(|s| s.title.clone()).unwrap_or_default(),
                    res.and_then(|s| s.subtitle.clone()),
                )
            }
            (None, false) => (String::new(), None),
        };
        title(x, "ReferenceTitle", &[], &t, sub.as_deref());
        x.open("ReleaseResourceReferenceList");
        for i in &r.items {
            x.leaf_a(
                "ReleaseResourceReference",
                &[("ReleaseResourceType", "PrimaryResource")],
                &i.resource,
            );
        }
        for l in &r.linked {
            x.leaf_a(
                "ReleaseResourceReference",
                &[("ReleaseResourceType", "SecondaryResource")],
                l,
            );
        }
        x.close("ReleaseResourceReferenceList");
        for t in &r.release_types {
            // 3.8.2's list predates "EP": it travels as UserDefined.
            if t == "EP" {
                x.leaf_a(
                    "ReleaseType",
                    &[("Namespace", ns), ("UserDefinedValue", "EP")],
                    "UserDefined",
                );
            } else {
                x.leaf("ReleaseType", t);
            }
        }
        if r.track && r.release_types.is_empty() {
            x.leaf("ReleaseType", "TrackRelease");
        }
        x.open("ReleaseDetailsByTerritory");
        x.leaf("TerritoryCode", "Worldwide");
        let res = r.items.first().and_then(|i| msg.resource(&i.resource));
        let (dan, artists) = if r.track && r.artists.is_empty() {
            (
                res.and_then(|s| s.display_artist_name.as_deref()),
                res.map(|s| s.artists.as_slice()).unwrap_or_default(),
            )
        } else {
            (r.display_artist_name.as_deref(), r.artists.as_slice())
        };
        x.opt("DisplayArtistName", dan);
        for l in &r.labels {
            x.opt("LabelName", msg.party_name(l));
        }
        title(
            x,
            "Title",
            &[("TitleType", "DisplayTitle")],
            &t,
            sub.as_deref(),
        );
        for a in artists {
            artist(x, msg, a, ns);
        }
        let pw = r.parental_warning.as_deref().or_else(|| {
            res.filter(|_| r.track)
                .and_then(|s| s.parental_warning.as_deref())
        });
        x.opt("ParentalWarningType", pw);
        x.open("ResourceGroup");
        let groups = group_numbers(&r.items);
        let item = |x: &mut X, i: &ContentItem| {
            x.open("ResourceGroupContentItem");
            if let Some(s) = i.sequence {
                x.leaf("SequenceNumber", num(s).as_str());
            }
            x.leaf("ResourceType", "SoundRecording");
            x.leaf_a(
                "ReleaseResourceReference",
                &[("ReleaseResourceType", "PrimaryResource")],
                &i.resource,
            );
            x.close("ResourceGroupContentItem");
        };
        if groups.len() > 1 {
            for g in &groups {
                x.open("ResourceGroup");
                x.leaf("SequenceNumber", num(*g).as_str());
                for i in r.items.iter().filter(|i| i.group == *g) {
                    item(x, i);
                }
                x.close("ResourceGroup");
            }
        } else {
            for i in &r.items {
                item(x, i);
            }
        }
        for l in &r.linked {
            x.open("ResourceGroupContentItem");
            x.leaf("ResourceType", "Image");
            x.leaf_a(
                "ReleaseResourceReference",
                &[("ReleaseResourceType", "SecondaryResource")],
                l,
            );
            x.close("ResourceGroupContentItem");
        }
        x.close("ResourceGroup");
        if let Some(g) = &r.genre {
            x.open("Genre");
            x.leaf("GenreText", g);
            x.opt("SubGenre", r.subgenre.as_deref());
            x.close("Genre");
        }
        x.opt("ReleaseDate", r.release_date.as_deref());
        x.opt("OriginalReleaseDate", r.original_release_date.as_deref());
        x.close("ReleaseDetailsByTerritory");
        x.opt("Duration", r.duration.as_deref());
        if let Some(l) = &r.p_line {
            line(x, "PLine", "PLineText", l);
        }
        if let Some(l) = &r.c_line {
            line(x, "CLine", "CLineText", l);
        }
        x.close("Release");
    }

    fn deal(x: &mut X, d: &MsgDeal, display: Option<&str>) {
        x.open("Deal");
        x.open("DealTerms");
        if d.preorder {
            x.leaf("IsPreOrderDeal", "true");
        }
        for m in &d.commercial_models {
            x.leaf("CommercialModelType", m);
        }
        if d.takedown {
            x.leaf("TakeDown", "true");
        } else {
            x.open("Usage");
            for u in &d.use_types {
                use_type(x, u);
            }
            x.close("Usage");
        }
        territories(x, &d.territories, &d.excluded);
        x.open("ValidityPeriod");
        x.opt("StartDate", d.start.as_deref());
        x.opt("EndDate", d.end.as_deref());
        x.close("ValidityPeriod");
        // 3.8.2 has no ReleaseVisibility: the display and preview starts ride on each deal.
        if let Some(day) = display {
            for el in [
                "ReleaseDisplayStartDate",
                "TrackListingPreviewStartDate",
                "CoverArtPreviewStartDate",
                "ClipPreviewStartDate",
            ] {
                x.leaf(el, day);
            }
        }
        x.close("DealTerms");
        x.close("Deal");
    }
}
