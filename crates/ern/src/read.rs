//! Reads ERN 3.8.2, 4.1.1, 4.2, 4.3 and 4.3.2 into a [`Message`].
//!
//! The version comes from the root element's namespace, never from a substring. The reader
//! is tolerant where DDEX's own samples differ (optional DealReference, party names absent,
//! empty MessageId, BOM, CRLF) and strict where a message would be misread: an unknown
//! version, a reference that appears twice. What the message model cannot hold is reported
//! as a warning with its element and line, never dropped silently.

use std::collections::BTreeMap;

use crate::msg::*;
use crate::tree::{Limits, Tree, XmlError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Xml(#[from] XmlError),
    #[error("line {line}, column {column}: {message}")]
    Structure {
        line: usize,
        column: usize,
        message: String,
    },
}

/// Something the reader saw and could not carry, or had to assume.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReadWarning {
    pub line: usize,
    pub element: String,
    pub message: String,
}

impl std::fmt::Display for ReadWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}: <{}>: {}",
            self.line, self.element, self.message
        )
    }
}

pub fn read(bytes: &[u8]) -> Result<(Message, Vec<ReadWarning>), ReadError> {
    read_with(bytes, Limits::default())
}

pub fn read_with(bytes: &[u8], limits: Limits) -> Result<(Message, Vec<ReadWarning>), ReadError> {
    let t = Tree::parse(bytes, limits)?;
    let root = t.root();
    let structure = |i: usize, message: String| {
        let (line, column) = t.line_col(i);
        ReadError::Structure {
            line,
            column,
            message,
        }
    };
    let ns = t.root_ns.clone().unwrap_or_default();
    let version = Version::from_namespace(&ns).ok_or_else(|| {
        structure(
            root,
            format!(
                "<{}> is in namespace {ns:?}, which is not an ERN version Liner reads (3.8.2, 4.1.1, 4.2, 4.3, 4.3.2)",
                t.name(root)
            ),
        )
    })?;
    let kind = match t.name(root) {
        "NewReleaseMessage" => MessageKind::NewRelease,
        "PurgeReleaseMessage" => MessageKind::Purge,
        other => {
            return Err(structure(
                root,
                format!(
                    "<{other}> is not a message Liner reads (NewReleaseMessage, PurgeReleaseMessage)"
                ),
            ));
        }
    };
    let mut r = Reader {
        t: &t,
        warnings: Vec::new(),
        parties: Vec::new(),
        party_keys: BTreeMap::new(),
    };
    let header_el = t
        .first(root, "MessageHeader")
        .ok_or_else(|| structure(root, "missing <MessageHeader>".into()))?;
    let header = r.header(header_el);
    let mut msg = Message {
        version,
        kind,
        profile: t.attr(root, "ReleaseProfileVersionId").map(str::to_owned),
        language: t.attr(root, "LanguageAndScriptCode").map(str::to_owned),
        header,
        update_indicator: t.child_text(root, "UpdateIndicator"),
        message_schema_version: t.attr(root, "MessageSchemaVersionId").map(str::to_owned),
        parties: Vec::new(),
        resources: Vec::new(),
        releases: Vec::new(),
        deals: Vec::new(),
        visibilities: Vec::new(),
        purged: Vec::new(),
    };
    if kind == MessageKind::Purge {
        for p in t.all(root, "PurgedRelease") {
            let id = t.first(p, "ReleaseId");
            msg.purged.push(PurgedRelease {
                grid: id.and_then(|i| t.child_text(i, "GRid")),
                icpn: id.and_then(|i| t.child_text(i, "ICPN")),
                proprietary: id.map(|i| r.proprietary(i)).unwrap_or_default(),
                title: t
                    .path(p, &["Title", "TitleText"])
                    .map(|i| t.text(i).to_owned()),
            });
        }
        return Ok((msg, r.warnings));
    }
    if version.is_ern4()
        && let Some(pl) = t.first(root, "PartyList")
    {
        for p in t.all(pl, "Party") {
            let party = r.party4(p);
            r.parties.push(party);
        }
    }
    let rl = t
        .first(root, "ResourceList")
        .ok_or_else(|| structure(root, "missing <ResourceList>".into()))?;
    for &c in &t.node(rl).children {
        let kind = ResourceKind::ALL
            .into_iter()
            .find(|k| k.element() == t.name(c));
        match kind {
            Some(k) => {
                let res = if version.is_ern4() {
                    r.resource4(c, k)
                } else {
                    r.resource3(c, k)
                };
                if msg.resources.iter().any(|o| o.reference == res.reference) {
                    return Err(structure(
                        c,
                        format!("ResourceReference {} is declared twice", res.reference),
                    ));
                }
                msg.resources.push(res);
            }
            None => r.warn(c, "resource type Liner does not model; not read".into()),
        }
    }
    let rel = t
        .first(root, "ReleaseList")
        .ok_or_else(|| structure(root, "missing <ReleaseList>".into()))?;
    for &c in &t.node(rel).children {
        let release = match (version.is_ern4(), t.name(c)) {
            (true, "Release") => Some(r.release4(c, true, false)),
            (true, "TrackRelease") => Some(r.release4(c, false, true)),
            (true, "ClipRelease") => Some(r.release4(c, false, false)),
            (false, "Release") => Some(r.release3(c)),
            _ => {
                r.warn(c, "not a release Liner reads; skipped".into());
                None
            }
        };
        if let Some(release) = release {
            if msg
                .releases
                .iter()
                .any(|o| o.reference == release.reference)
            {
                return Err(structure(
                    c,
                    format!("ReleaseReference {} is declared twice", release.reference),
                ));
            }
            msg.releases.push(release);
        }
    }
    if !version.is_ern4() && !msg.releases.iter().any(|x| x.main) {
        // 3.8.2 business-profile messages often leave IsMainRelease out: the first release
        // that is not a track release is the product.
        if let Some(m) = msg.releases.iter_mut().find(|x| !x.track) {
            m.main = true;
        }
    }
    if let Some(dl) = t.first(root, "DealList") {
        for rd in t.all(dl, "ReleaseDeal") {
            let releases = t
                .all(rd, "DealReleaseReference")
                .map(|i| t.text(i).to_owned())
                .collect();
            let deals = t.all(rd, "Deal").map(|d| r.deal(d)).collect();
            msg.deals.push(ReleaseDeal { releases, deals });
        }
        // 3.8.2 carries the display start on the deals.
        if !version.is_ern4()
            && let Some(day) = t
                .all(dl, "ReleaseDeal")
                .flat_map(|rd| t.all(rd, "Deal").collect::<Vec<_>>())
                .filter_map(|d| t.first(d, "DealTerms"))
                .find_map(|terms| t.child_text(terms, "ReleaseDisplayStartDate"))
        {
            msg.visibilities.push(Visibility {
                reference: "V1".into(),
                territories: vec![],
                display_start: Some(format!("{day}T00:00:00Z")),
            });
        }
        for v in t.all(dl, "ReleaseVisibility") {
            msg.visibilities.push(Visibility {
                reference: t.child_text(v, "VisibilityReference").unwrap_or_default(),
                territories: t
                    .all(v, "TerritoryCode")
                    .map(|i| t.text(i).to_owned())
                    .collect(),
                display_start: t.child_text(v, "ReleaseDisplayStartDateTime"),
            });
        }
    }
    msg.parties = std::mem::take(&mut r.parties);
    Ok((msg, r.warnings))
}

struct Reader<'a> {
    t: &'a Tree,
    warnings: Vec<ReadWarning>,
    parties: Vec<Party>,
    /// 3.8.2 names parties inline; the reader gives each distinct one a reference.
    party_keys: BTreeMap<(String, Option<String>), String>,
}

impl Reader<'_> {
    fn warn(&mut self, i: usize, message: String) {
        self.warnings.push(ReadWarning {
            line: self.t.line_col(i).0,
            element: self.t.name(i).to_owned(),
            message,
        });
    }

    fn header(&mut self, h: usize) -> Header {
        let t = self.t;
        let party = |el: usize| MessageParty {
            party_id: t.child_text(el, "PartyId").unwrap_or_default(),
            name: t
                .path(el, &["PartyName", "FullName"])
                .map(|i| t.text(i).to_owned()),
        };
        Header {
            thread_id: t.child_text(h, "MessageThreadId"),
            message_id: t.child_text(h, "MessageId").unwrap_or_default(),
            sender: t.first(h, "MessageSender").map(party).unwrap_or_default(),
            recipients: t.all(h, "MessageRecipient").map(party).collect(),
            created: t
                .child_text(h, "MessageCreatedDateTime")
                .unwrap_or_default(),
            control: t.child_text(h, "MessageControlType"),
        }
    }

    fn proprietary(&self, i: usize) -> Vec<ProprietaryId> {
        let t = self.t;
        t.all(i, "ProprietaryId")
            .map(|p| ProprietaryId {
                namespace: t.attr(p, "Namespace").unwrap_or_default().to_owned(),
                value: t.text(p).to_owned(),
            })
            .collect()
    }

    /// An AVS value. `UserDefined` stays `UserDefined` (writing it back elsewhere stays valid),
    /// except for values Liner itself sends that way because a version's list lacks them
    /// (EP in 3.8.2, ERN 4 roles in 3.8.2, AsPerContract in ERN 4 deals).
    fn avs(&self, i: usize) -> String {
        let v = self.t.text(i);
        match self.t.attr(i, "UserDefinedValue") {
            Some(u) if v == "UserDefined" && is_liner_value(u) => u.to_owned(),
            _ => v.to_owned(),
        }
    }

    fn party4(&mut self, p: usize) -> Party {
        let t = self.t;
        let mut party = Party {
            reference: t.child_text(p, "PartyReference").unwrap_or_default(),
            name: t
                .path(p, &["PartyName", "FullName"])
                .map(|i| t.text(i).to_owned()),
            ..Default::default()
        };
        for id in t.all(p, "PartyId") {
            if party.isni.is_none() {
                party.isni = t.child_text(id, "ISNI");
            }
            if party.dpid.is_none() {
                party.dpid = t.child_text(id, "DPID");
            }
            party.proprietary.extend(self.proprietary(id));
        }
        party
    }

    /// A 3.8.2 inline party (PartyName + PartyId), registered once per name and ISNI.
    fn party3(&mut self, el: usize) -> String {
        let t = self.t;
        let name = t
            .path(el, &["PartyName", "FullName"])
            .map(|i| t.text(i).to_owned());
        let isni = t
            .all(el, "PartyId")
            .find(|&i| t.attr(i, "IsISNI") == Some("true"))
            .map(|i| t.text(i).to_owned());
        let key = (name.clone().unwrap_or_default(), isni.clone());
        if let Some(r) = self.party_keys.get(&key) {
            return r.clone();
        }
        let reference = format!("P{}", self.parties.len() + 1);
        self.parties.push(Party {
            reference: reference.clone(),
            name,
            isni,
            ..Default::default()
        });
        self.party_keys.insert(key, reference.clone());
        reference
    }

    fn named_party(&mut self, name: &str) -> String {
        let key = (name.to_owned(), None);
        if let Some(r) = self.party_keys.get(&key) {
            return r.clone();
        }
        let reference = format!("P{}", self.parties.len() + 1);
        self.parties.push(Party {
            reference: reference.clone(),
            name: Some(name.to_owned()),
            ..Default::default()
        });
        self.party_keys.insert(key, reference.clone());
        reference
    }

    fn line(&self, i: Option<usize>, text_el: &str) -> Option<Line> {
        let t = self.t;
        i.map(|i| Line {
            year: t.child_text(i, "Year"),
            text: t.child_text(i, text_el).unwrap_or_default(),
        })
    }

    fn titles4(&self, i: usize) -> (Option<String>, Option<String>) {
        let t = self.t;
        let dt = t
            .all(i, "DisplayTitle")
            .find(|&d| t.attr(d, "IsDefault") == Some("true"))
            .or_else(|| t.first(i, "DisplayTitle"));
        match dt {
            Some(d) => (t.child_text(d, "TitleText"), t.child_text(d, "SubTitle")),
            None => (t.child_text(i, "DisplayTitleText"), None),
        }
    }

    fn display_name(&self, i: usize) -> Option<String> {
        let t = self.t;
        t.all(i, "DisplayArtistName")
            .find(|&d| t.attr(d, "IsDefault") == Some("true"))
            .or_else(|| t.first(i, "DisplayArtistName"))
            .map(|d| t.text(d).to_owned())
    }

    fn artists4(&self, i: usize) -> Vec<ArtistCredit> {
        let t = self.t;
        t.all(i, "DisplayArtist")
            .enumerate()
            .map(|(n, a)| ArtistCredit {
                party: t
                    .child_text(a, "ArtistPartyReference")
                    .or_else(|| t.child_text(a, "SpecialDisplayArtist"))
                    .unwrap_or_default(),
                role: t
                    .first(a, "DisplayArtistRole")
                    .map(|r| self.avs(r))
                    .unwrap_or_default(),
                artistic_roles: t
                    .all(a, "ArtisticRole")
                    .map(|r| match t.first(r, "Value") {
                        Some(v) => self.avs(v),
                        None => self.avs(r),
                    })
                    .collect(),
                sequence: seq(t.attr(a, "SequenceNumber"), n),
            })
            .collect()
    }

    fn resource4(&mut self, c: usize, kind: ResourceKind) -> Resource {
        let t = self.t;
        let mut r = Resource::new(
            t.child_text(c, "ResourceReference").unwrap_or_default(),
            kind,
            t.first(c, "Type").map(|i| self.avs(i)).unwrap_or_default(),
        );
        // Sound recordings and videos keep their ids in an Edition (4.2+) or directly (4.1.1).
        let edition = t
            .first(c, "SoundRecordingEdition")
            .or_else(|| t.first(c, "VideoEdition"));
        let id_host = edition.unwrap_or(c);
        if let Some(id) = t.first(id_host, "ResourceId") {
            r.isrc = t.child_text(id, "ISRC");
            r.proprietary = self.proprietary(id);
        }
        r.iswc = t.path(c, &["WorkId", "ISWC"]).map(|i| t.text(i).to_owned());
        let (title, sub) = self.titles4(c);
        r.title = title;
        r.subtitle = sub;
        r.display_artist_name = self.display_name(c);
        r.artists = self.artists4(c);
        r.contributors = t
            .all(c, "Contributor")
            .enumerate()
            .map(|(n, k)| ContributorCredit {
                party: t
                    .child_text(k, "ContributorPartyReference")
                    .or_else(|| t.child_text(k, "SpecialContributor"))
                    .unwrap_or_default(),
                roles: t
                    .all(k, "Role")
                    .map(|role| match t.first(role, "Value") {
                        Some(v) => self.avs(v),
                        None => self.avs(role),
                    })
                    .collect(),
                sequence: seq(t.attr(k, "SequenceNumber"), n),
                ai: t.child_text(k, "AiContribution"),
            })
            .collect();
        r.duration = t.child_text(c, "Duration");
        r.p_line = self.line(
            t.first(id_host, "PLine").or_else(|| t.first(c, "PLine")),
            "PLineText",
        );
        r.parental_warning = t.child_text(c, "ParentalWarningType");
        r.contains_ai = t.child_text(c, "ContainsAI");
        r.language_of_performance = t.child_text(c, "LanguageOfPerformance");
        let tech_host = edition.unwrap_or(c);
        for td in t.all(tech_host, "TechnicalDetails") {
            let mut f = TechnicalFile {
                reference: t
                    .child_text(td, "TechnicalResourceDetailsReference")
                    .unwrap_or_default(),
                ..Default::default()
            };
            let df = t.first(td, "DeliveryFile").unwrap_or(td);
            self.file_facts(df, &mut f);
            if let Some(file) = t.first(df, "File") {
                f.uri = t.child_text(file, "URI");
                if let Some(h) = t.first(file, "HashSum") {
                    f.hash = Some(HashSum {
                        algorithm: t
                            .first(h, "Algorithm")
                            .map(|a| self.avs(a))
                            .unwrap_or_default(),
                        value: t.child_text(h, "HashSumValue").unwrap_or_default(),
                    });
                }
                f.size = t.child_text(file, "FileSize").and_then(|s| s.parse().ok());
            }
            if let Some(clip) = t
                .first(td, "ClipDetails")
                .or_else(|| t.first(td, "PreviewDetails"))
            {
                let timing = t.first(clip, "Timing").unwrap_or(clip);
                f.preview = Some(Clip {
                    start: t
                        .child_text(timing, "StartPoint")
                        .unwrap_or_else(|| "0".into()),
                    duration: t
                        .child_text(timing, "DurationUsed")
                        .or_else(|| t.child_text(timing, "Duration")),
                });
            }
            r.files.push(f);
        }
        r
    }

    fn file_facts(&self, i: usize, f: &mut TechnicalFile) {
        let t = self.t;
        f.codec = t
            .first(i, "AudioCodecType")
            .or_else(|| t.first(i, "ImageCodecType"))
            .or_else(|| t.first(i, "VideoCodecType"))
            .map(|c| self.avs(c));
        f.channels = t
            .child_text(i, "NumberOfChannels")
            .and_then(|s| s.parse().ok());
        f.sample_rate = t
            .child_text(i, "SamplingRate")
            .and_then(|s| s.split('.').next().and_then(|n| n.parse().ok()));
        f.bits_per_sample = t
            .child_text(i, "BitsPerSample")
            .and_then(|s| s.parse().ok());
        f.height = t.child_text(i, "ImageHeight").and_then(|s| s.parse().ok());
        f.width = t.child_text(i, "ImageWidth").and_then(|s| s.parse().ok());
    }

    fn release4(&mut self, c: usize, main: bool, track: bool) -> MsgRelease {
        let t = self.t;
        let mut r = MsgRelease::new(t.child_text(c, "ReleaseReference").unwrap_or_default());
        r.main = main || t.attr(c, "IsMainRelease") == Some("true");
        r.track = track;
        r.release_types = t.all(c, "ReleaseType").map(|i| self.avs(i)).collect();
        self.release_id(c, &mut r);
        if t.first(c, "DisplayTitle").is_some() || t.first(c, "DisplayTitleText").is_some() {
            let (title, sub) = self.titles4(c);
            r.title = title;
            r.subtitle = sub;
        }
        r.display_artist_name = self.display_name(c);
        r.artists = self.artists4(c);
        r.labels = t
            .all(c, "ReleaseLabelReference")
            .map(|i| t.text(i).to_owned())
            .collect();
        r.p_line = self.line(t.first(c, "PLine"), "PLineText");
        r.c_line = self.line(t.first(c, "CLine"), "CLineText");
        r.duration = t.child_text(c, "Duration");
        if let Some(g) = t.first(c, "Genre").or_else(|| t.first(c, "DisplayGenre")) {
            r.genre = t.child_text(g, "GenreText");
            r.subgenre = t.child_text(g, "SubGenre");
        }
        r.release_date = t.child_text(c, "ReleaseDate");
        r.original_release_date = t.child_text(c, "OriginalReleaseDate");
        r.visibility = t.child_text(c, "ReleaseVisibilityReference");
        r.parental_warning = t.child_text(c, "ParentalWarningType");
        r.contains_ai = t.child_text(c, "ContainsAI");
        if let Some(g) = t.first(c, "ResourceGroup") {
            self.group(g, 1, true, &mut r);
        }
        if track || !main {
            for i in t.all(c, "ReleaseResourceReference") {
                r.items.push(ContentItem {
                    group: 1,
                    sequence: None,
                    resource: t.text(i).to_owned(),
                });
            }
            r.linked.extend(
                t.all(c, "LinkedReleaseResourceReference")
                    .map(|i| t.text(i).to_owned()),
            );
        }
        r
    }

    fn release_id(&mut self, c: usize, r: &mut MsgRelease) {
        let t = self.t;
        if let Some(id) = t.first(c, "ReleaseId") {
            r.grid = t.child_text(id, "GRid");
            r.icpn = t.child_text(id, "ICPN");
            r.isrc = t.child_text(id, "ISRC");
            r.catalog_number = t.child_text(id, "CatalogNumber");
            r.proprietary = self.proprietary(id);
        }
    }

    /// A ResourceGroup: nested groups are discs/sides (their SequenceNumber is the group);
    /// content items are the tracks; top-level linked references are the cover art.
    fn group(&mut self, g: usize, number: u32, top: bool, r: &mut MsgRelease) {
        let t = self.t;
        for sub in t.all(g, "ResourceGroup").collect::<Vec<_>>() {
            let n = t
                .child_text(sub, "SequenceNumber")
                .and_then(|s| s.parse().ok())
                .unwrap_or(number);
            self.group(sub, n, false, r);
        }
        for item in t.all(g, "ResourceGroupContentItem") {
            let Some(rr) = t.first(item, "ReleaseResourceReference") else {
                continue;
            };
            let resource = t.text(rr).to_owned();
            let is_image = t.child_text(item, "ResourceType").as_deref() == Some("Image")
                || t.attr(rr, "ReleaseResourceType") == Some("SecondaryResource");
            if is_image && t.child_text(item, "SequenceNumber").is_none() {
                r.linked.push(resource);
                continue;
            }
            r.items.push(ContentItem {
                group: number,
                sequence: t
                    .child_text(item, "SequenceNumber")
                    .and_then(|s| s.parse().ok()),
                resource,
            });
        }
        if top {
            r.linked.extend(
                t.all(g, "LinkedReleaseResourceReference")
                    .map(|i| t.text(i).to_owned()),
            );
        }
    }

    fn deal(&mut self, d: usize) -> MsgDeal {
        let t = self.t;
        let Some(terms) = t.first(d, "DealTerms") else {
            return MsgDeal::default();
        };
        let vp = t.first(terms, "ValidityPeriod");
        let date = |el: &str, el_t: &str| {
            vp.and_then(|v| t.child_text(v, el).or_else(|| t.child_text(v, el_t)))
        };
        let mut use_types: Vec<String> = t.all(terms, "UseType").map(|u| self.avs(u)).collect();
        for usage in t.all(terms, "Usage") {
            use_types.extend(t.all(usage, "UseType").map(|u| self.avs(u)));
        }
        MsgDeal {
            territories: t
                .all(terms, "TerritoryCode")
                .map(|i| t.text(i).to_owned())
                .collect(),
            excluded: t
                .all(terms, "ExcludedTerritoryCode")
                .map(|i| t.text(i).to_owned())
                .collect(),
            start: date("StartDate", "StartDateTime"),
            end: date("EndDate", "EndDateTime"),
            commercial_models: t
                .all(terms, "CommercialModelType")
                .map(|m| self.avs(m))
                .collect(),
            use_types,
            preorder: t.child_text(terms, "IsPreOrderDeal").as_deref() == Some("true"),
            takedown: t.child_text(terms, "TakeDown").as_deref() == Some("true"),
        }
    }

    fn artists3(&mut self, dbt: usize) -> Vec<ArtistCredit> {
        let t = self.t;
        let mut out = Vec::new();
        for (n, a) in t
            .all(dbt, "DisplayArtist")
            .collect::<Vec<_>>()
            .into_iter()
            .enumerate()
        {
            let party = self.party3(a);
            let roles: Vec<String> = t.all(a, "ArtistRole").map(|r| self.avs(r)).collect();
            let first = roles
                .first()
                .cloned()
                .unwrap_or_else(|| "MainArtist".into());
            // Map back to ERN 4's shape: display role + artistic role.
            let (role, artistic) = match first.as_str() {
                "MainArtist" | "FeaturedArtist" | "Artist" | "Composer" => (first, vec![]),
                _ => ("Artist".to_owned(), vec![first]),
            };
            out.push(ArtistCredit {
                party,
                role,
                artistic_roles: artistic,
                sequence: seq(t.attr(a, "SequenceNumber"), n),
            });
        }
        out
    }

    /// The first `…DetailsByTerritory` block (3.8.2): Liner's model has one set of details,
    /// so further territory-specific blocks are reported, not merged.
    fn territory_block(&mut self, c: usize, el: &str) -> Option<usize> {
        let t = self.t;
        let blocks: Vec<usize> = t.all(c, el).collect();
        if blocks.len() > 1 {
            self.warn(
                blocks[1],
                format!(
                    "{} territory-specific detail blocks; Liner reads the first one",
                    blocks.len()
                ),
            );
        }
        blocks.first().copied()
    }

    /// A 3.8.2 `Title TitleType="DisplayTitle"`: (TitleText, SubTitle).
    fn display_title3(&self, d: usize) -> Option<(Option<String>, Option<String>)> {
        let t = self.t;
        let tt = t
            .all(d, "Title")
            .find(|&x| t.attr(x, "TitleType") == Some("DisplayTitle"))?;
        Some((t.child_text(tt, "TitleText"), t.child_text(tt, "SubTitle")))
    }

    fn resource3(&mut self, c: usize, kind: ResourceKind) -> Resource {
        let t = self.t;
        let el = kind.element();
        let mut r = Resource::new(
            t.child_text(c, "ResourceReference").unwrap_or_default(),
            kind,
            t.first(c, &format!("{el}Type"))
                .map(|i| self.avs(i))
                .unwrap_or_default(),
        );
        if let Some(id) = t.first(c, &format!("{el}Id")) {
            r.isrc = t.child_text(id, "ISRC");
            r.proprietary = self.proprietary(id);
        }
        r.iswc = t
            .path(c, &["IndirectSoundRecordingId", "ISWC"])
            .map(|i| t.text(i).to_owned());
        if let Some(rt) = t.first(c, "ReferenceTitle") {
            r.title = t.child_text(rt, "TitleText");
            r.subtitle = t.child_text(rt, "SubTitle");
        }
        r.duration = t.child_text(c, "Duration");
        r.language_of_performance = t.child_text(c, "LanguageOfPerformance");
        if let Some(d) = self.territory_block(c, &format!("{el}DetailsByTerritory")) {
            if let Some((title, sub)) = self.display_title3(d) {
                r.title = title.or(r.title.take());
                r.subtitle = sub.or(r.subtitle.take());
            }
            r.artists = self.artists3(d);
            let mut contributors: Vec<ContributorCredit> = Vec::new();
            for (el_name, role_el) in [
                ("ResourceContributor", "ResourceContributorRole"),
                (
                    "IndirectResourceContributor",
                    "IndirectResourceContributorRole",
                ),
            ] {
                for k in t.all(d, el_name).collect::<Vec<_>>() {
                    let party = self.party3(k);
                    let roles: Vec<String> = t.all(k, role_el).map(|x| self.avs(x)).collect();
                    // One contributor with several roles is one credit, as in ERN 4 (1030-1).
                    if let Some(existing) = contributors.iter_mut().find(|c| c.party == party) {
                        existing.roles.extend(roles);
                    } else {
                        contributors.push(ContributorCredit {
                            party,
                            roles,
                            sequence: contributors.len() as u32 + 1,
                            ai: None,
                        });
                    }
                }
            }
            r.contributors = contributors;
            r.display_artist_name = t.child_text(d, "DisplayArtistName");
            r.p_line = self.line(t.first(d, "PLine"), "PLineText");
            r.parental_warning = t.child_text(d, "ParentalWarningType");
            let tech = format!("Technical{el}Details");
            let mut preview: Option<Clip> = None;
            for td in t.all(d, &tech) {
                let is_preview = t.child_text(td, "IsPreview").as_deref() == Some("true");
                if is_preview && t.first(td, "File").is_none() {
                    if let Some(p) = t.first(td, "PreviewDetails") {
                        preview = Some(Clip {
                            start: t.child_text(p, "StartPoint").unwrap_or_else(|| "0".into()),
                            duration: t.child_text(p, "Duration"),
                        });
                    }
                    continue;
                }
                let mut f = TechnicalFile {
                    reference: t
                        .child_text(td, "TechnicalResourceDetailsReference")
                        .unwrap_or_default(),
                    ..Default::default()
                };
                self.file_facts(td, &mut f);
                if let Some(file) = t.first(td, "File") {
                    f.uri = match (
                        t.child_text(file, "FileName"),
                        t.child_text(file, "FilePath"),
                    ) {
                        (Some(n), Some(p)) => Some(format!("{}/{n}", p.trim_end_matches('/'))),
                        (Some(n), None) => Some(n),
                        (None, _) => t.child_text(file, "URL"),
                    };
                    if let Some(h) = t.first(file, "HashSum") {
                        f.hash = Some(HashSum {
                            algorithm: t
                                .first(h, "HashSumAlgorithmType")
                                .map(|a| self.avs(a))
                                .unwrap_or_default(),
                            value: t.child_text(h, "HashSum").unwrap_or_default(),
                        });
                    }
                }
                if is_preview && let Some(p) = t.first(td, "PreviewDetails") {
                    f.preview = Some(Clip {
                        start: t.child_text(p, "StartPoint").unwrap_or_else(|| "0".into()),
                        duration: t.child_text(p, "Duration"),
                    });
                }
                r.files.push(f);
            }
            if let Some(p) = preview {
                match r.files.first_mut() {
                    Some(f) => f.preview = Some(p),
                    None => r.files.push(TechnicalFile {
                        reference: String::new(),
                        preview: Some(p),
                        ..Default::default()
                    }),
                }
            }
        }
        r
    }

    fn release3(&mut self, c: usize) -> MsgRelease {
        let t = self.t;
        let mut r = MsgRelease::new(t.child_text(c, "ReleaseReference").unwrap_or_default());
        r.main = t.attr(c, "IsMainRelease") == Some("true");
        r.release_types = t.all(c, "ReleaseType").map(|i| self.avs(i)).collect();
        r.track = r.release_types.iter().any(|x| x.ends_with("TrackRelease"));
        self.release_id(c, &mut r);
        if let Some(rt) = t.first(c, "ReferenceTitle") {
            r.title = t.child_text(rt, "TitleText");
            r.subtitle = t.child_text(rt, "SubTitle");
        }
        r.p_line = self.line(t.first(c, "PLine"), "PLineText");
        r.c_line = self.line(t.first(c, "CLine"), "CLineText");
        r.duration = t.child_text(c, "Duration");
        r.release_date = t.child_text(c, "GlobalReleaseDate");
        r.original_release_date = t.child_text(c, "GlobalOriginalReleaseDate");
        if let Some(d) = self.territory_block(c, "ReleaseDetailsByTerritory") {
            if let Some((title, sub)) = self.display_title3(d) {
                r.title = title.or(r.title.take());
                r.subtitle = sub.or(r.subtitle.take());
            }
            r.display_artist_name = t.child_text(d, "DisplayArtistName");
            for l in t.all(d, "LabelName").collect::<Vec<_>>() {
                let name = t.text(l).to_owned();
                let p = self.named_party(&name);
                r.labels.push(p);
            }
            r.artists = self.artists3(d);
            r.parental_warning = t.child_text(d, "ParentalWarningType");
            if let Some(g) = t.first(d, "Genre") {
                r.genre = t.child_text(g, "GenreText");
                r.subgenre = t.child_text(g, "SubGenre");
            }
            if let Some(rd) = t.child_text(d, "ReleaseDate") {
                r.release_date = Some(rd);
            }
            if let Some(od) = t.child_text(d, "OriginalReleaseDate") {
                r.original_release_date = Some(od);
            }
            if let Some(g) = t.first(d, "ResourceGroup") {
                self.group(g, 1, true, &mut r);
            }
        }
        if r.items.is_empty()
            && let Some(list) = t.first(c, "ReleaseResourceReferenceList")
        {
            for i in t.all(list, "ReleaseResourceReference") {
                let resource = t.text(i).to_owned();
                if t.attr(i, "ReleaseResourceType") == Some("SecondaryResource") {
                    r.linked.push(resource);
                } else {
                    r.items.push(ContentItem {
                        group: 1,
                        sequence: None,
                        resource,
                    });
                }
            }
        }
        r
    }
}

fn seq(attr: Option<&str>, index: usize) -> u32 {
    attr.and_then(|s| s.parse().ok())
        .unwrap_or(index as u32 + 1)
}

fn is_liner_value(v: &str) -> bool {
    model::ContributorRole::parse(v).is_some_and(|x| x.as_str() == v)
        || model::ArtistRole::parse(v).is_some_and(|x| x.as_str() == v)
        || model::UseType::parse(v).is_some_and(|x| x.as_str() == v)
        || model::CommercialModel::parse(v).is_some_and(|x| x.as_str() == v)
        || model::ReleaseType::parse(v).is_some_and(|x| x.as_str() == v)
        || v == "StudioProducer"
}
