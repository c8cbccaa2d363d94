//! The ERN message as Liner holds it between the release model and the XML: one shape for
//! every version it reads (3.8.2, 4.1.1, 4.2, 4.3, 4.3.2) and writes (3.8.2, 4.3, 4.3.2).
//!
//! Values from DDEX's allowed-value sets stay strings here (`"MusicalWorkSoundRecording"`,
//! `"UserDefined"`…): a message a label sends may use any of them, and the reader must not
//! drop what it does not model. The conversion to [`model::Release`] is where unknown
//! values become warnings. Dates and durations stay as their XML text for the same reason.

use std::fmt;

/// An ERN version Liner reads (all) or writes ([`Version::WRITABLE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Version {
    #[serde(rename = "3.8.2")]
    V382,
    #[serde(rename = "4.1.1")]
    V411,
    #[serde(rename = "4.2")]
    V42,
    #[serde(rename = "4.3")]
    V43,
    #[serde(rename = "4.3.2")]
    V432,
}

impl Version {
    pub const WRITABLE: [Version; 3] = [Version::V43, Version::V432, Version::V382];

    pub fn namespace(self) -> &'static str {
        match self {
            Version::V382 => "http://ddex.net/xml/ern/382",
            Version::V411 => "http://ddex.net/xml/ern/411",
            Version::V42 => "http://ddex.net/xml/ern/42",
            Version::V43 => "http://ddex.net/xml/ern/43",
            Version::V432 => "http://ddex.net/xml/ern/432",
        }
    }

    pub fn from_namespace(ns: &str) -> Option<Version> {
        [
            Version::V382,
            Version::V411,
            Version::V42,
            Version::V43,
            Version::V432,
        ]
        .into_iter()
        .find(|v| v.namespace() == ns)
    }

    pub fn parse(s: &str) -> Option<Version> {
        match s.trim() {
            "3.8.2" | "382" => Some(Version::V382),
            "4.1.1" | "411" => Some(Version::V411),
            "4.2" | "42" => Some(Version::V42),
            "4.3" | "43" => Some(Version::V43),
            "4.3.2" | "432" => Some(Version::V432),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Version::V382 => "3.8.2",
            Version::V411 => "4.1.1",
            Version::V42 => "4.2",
            Version::V43 => "4.3",
            Version::V432 => "4.3.2",
        }
    }

    /// ERN 4.x: PartyList, references to parties, no territory blocks.
    pub fn is_ern4(self) -> bool {
        !matches!(self, Version::V382)
    }

    /// The only version with AI disclosure and AI-training use types.
    pub fn carries_ai(self) -> bool {
        matches!(self, Version::V432)
    }

    /// Where the XSD lives inside a DDEX schema folder laid out like `../shared/ddex/xsd`.
    pub fn schema_file(self) -> &'static str {
        match self {
            Version::V382 => "ern-3.8.2/release-notification.xsd",
            Version::V411 => "ern-4.1.1/release-notification.xsd",
            Version::V42 => "ern-4.2/release-notification.xsd",
            Version::V43 => "ern-4.3/release-notification.xsd",
            Version::V432 => "ern-4.3.2/release-notification.xsd",
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum MessageKind {
    NewRelease,
    Purge,
}

impl MessageKind {
    pub fn root(self) -> &'static str {
        match self {
            MessageKind::NewRelease => "NewReleaseMessage",
            MessageKind::Purge => "PurgeReleaseMessage",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct MessageParty {
    pub party_id: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Header {
    pub thread_id: Option<String>,
    pub message_id: String,
    pub sender: MessageParty,
    pub recipients: Vec<MessageParty>,
    /// `xs:dateTime` as written, e.g. `2026-11-26T10:00:00+00:00`.
    pub created: String,
    /// `MessageControlType`: TestMessage (validated by the DSP, not ingested) vs LiveMessage.
    pub control: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProprietaryId {
    pub namespace: String,
    pub value: String,
}

/// A party of the PartyList (ERN 4) or an inline party of ERN 3.8.2, given a message-local
/// reference by the reader.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Party {
    pub reference: String,
    pub name: Option<String>,
    pub isni: Option<String>,
    pub dpid: Option<String>,
    pub proprietary: Vec<ProprietaryId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ResourceKind {
    SoundRecording,
    Video,
    Image,
    Text,
    SheetMusic,
    Software,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 6] = [
        ResourceKind::SoundRecording,
        ResourceKind::Video,
        ResourceKind::Image,
        ResourceKind::Text,
        ResourceKind::SheetMusic,
        ResourceKind::Software,
    ];

    pub fn element(self) -> &'static str {
        match self {
            ResourceKind::SoundRecording => "SoundRecording",
            ResourceKind::Video => "Video",
            ResourceKind::Image => "Image",
            ResourceKind::Text => "Text",
            ResourceKind::SheetMusic => "SheetMusic",
            ResourceKind::Software => "Software",
        }
    }
}

/// A display artist: a party with a DisplayArtistRole (and, for roles ERN 4 has no display
/// role for, such as Remixer, an ArtisticRole).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ArtistCredit {
    pub party: String,
    pub role: String,
    pub artistic_roles: Vec<String>,
    pub sequence: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContributorCredit {
    pub party: String,
    pub roles: Vec<String>,
    pub sequence: u32,
    /// ERN 4.3.2 `AiContribution`.
    pub ai: Option<String>,
}

/// P-line or C-line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Line {
    pub year: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HashSum {
    pub algorithm: String,
    pub value: String,
}

/// A preview clip: where it starts in the full track (seconds) and how long it runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Clip {
    pub start: String,
    pub duration: Option<String>,
}

/// One TechnicalDetails block: the delivered file and what it is.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct TechnicalFile {
    pub reference: String,
    /// ERN 4 `File/URI`; ERN 3.8.2 `FileName` (with `FilePath` joined in front) or `URL`.
    pub uri: Option<String>,
    pub hash: Option<HashSum>,
    pub size: Option<u64>,
    pub codec: Option<String>,
    pub channels: Option<u16>,
    pub sample_rate: Option<u32>,
    pub bits_per_sample: Option<u16>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub preview: Option<Clip>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Resource {
    pub reference: String,
    pub kind: ResourceKind,
    /// `Type` (ERN 4) or `SoundRecordingType`/`ImageType`/… (3.8.2).
    pub resource_type: String,
    pub isrc: Option<String>,
    pub proprietary: Vec<ProprietaryId>,
    pub iswc: Option<String>,
    pub title: Option<String>,
    /// `SubTitle` of the display title: the version ("Radio Edit").
    pub subtitle: Option<String>,
    pub display_artist_name: Option<String>,
    pub artists: Vec<ArtistCredit>,
    pub contributors: Vec<ContributorCredit>,
    /// `xs:duration` text.
    pub duration: Option<String>,
    pub p_line: Option<Line>,
    pub parental_warning: Option<String>,
    pub contains_ai: Option<String>,
    pub language_of_performance: Option<String>,
    pub files: Vec<TechnicalFile>,
}

impl Resource {
    pub fn new(reference: String, kind: ResourceKind, resource_type: String) -> Resource {
        Resource {
            reference,
            kind,
            resource_type,
            isrc: None,
            proprietary: Vec::new(),
            iswc: None,
            title: None,
            subtitle: None,
            display_artist_name: None,
            artists: Vec::new(),
            contributors: Vec::new(),
            duration: None,
            p_line: None,
            parental_warning: None,
            contains_ai: None,
            language_of_performance: None,
            files: Vec::new(),
        }
    }
}

/// A track-list entry: which resource, at which place (group = disc or side).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContentItem {
    pub group: u32,
    pub sequence: Option<u32>,
    pub resource: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MsgRelease {
    pub reference: String,
    /// The main release of the message (ERN 4: the `Release` element; 3.8.2: `IsMainRelease`
    /// or the first release whose type is not a track release).
    pub main: bool,
    /// ERN 4 `TrackRelease` (or a 3.8.2 release of type TrackRelease).
    pub track: bool,
    pub release_types: Vec<String>,
    pub grid: Option<String>,
    pub icpn: Option<String>,
    pub isrc: Option<String>,
    pub catalog_number: Option<String>,
    pub proprietary: Vec<ProprietaryId>,
    pub title: Option<String>,
    pub subtitle: Option<String>,
    pub display_artist_name: Option<String>,
    pub artists: Vec<ArtistCredit>,
    /// Party references of the labels (3.8.2 `LabelName`s become parties when read).
    pub labels: Vec<String>,
    pub p_line: Option<Line>,
    pub c_line: Option<Line>,
    pub duration: Option<String>,
    pub genre: Option<String>,
    pub subgenre: Option<String>,
    pub release_date: Option<String>,
    pub original_release_date: Option<String>,
    pub parental_warning: Option<String>,
    pub items: Vec<ContentItem>,
    /// Resources linked to the whole release (the cover art).
    pub linked: Vec<String>,
    pub visibility: Option<String>,
    pub contains_ai: Option<String>,
}

impl MsgRelease {
    pub fn new(reference: String) -> MsgRelease {
        MsgRelease {
            reference,
            main: false,
            track: false,
            release_types: Vec::new(),
            grid: None,
            icpn: None,
            isrc: None,
            catalog_number: None,
            proprietary: Vec::new(),
            title: None,
            subtitle: None,
            display_artist_name: None,
            artists: Vec::new(),
            labels: Vec::new(),
            p_line: None,
            c_line: None,
            duration: None,
            genre: None,
            subgenre: None,
            release_date: None,
            original_release_date: None,
            parental_warning: None,
            items: Vec::new(),
            linked: Vec::new(),
            visibility: None,
            contains_ai: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct MsgDeal {
    /// `TerritoryCode`s (may be `Worldwide`); empty with `excluded` empty: no territory given.
    pub territories: Vec<String>,
    pub excluded: Vec<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub commercial_models: Vec<String>,
    pub use_types: Vec<String>,
    pub preorder: bool,
    /// ERN 3.8.2 `TakeDown` (deprecated; only where a DSP profile asks for it).
    pub takedown: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReleaseDeal {
    pub releases: Vec<String>,
    pub deals: Vec<MsgDeal>,
}

/// ERN 4 ReleaseVisibility: when a pre-order or pre-save page may show the release.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Visibility {
    pub reference: String,
    pub territories: Vec<String>,
    pub display_start: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PurgedRelease {
    pub grid: Option<String>,
    pub icpn: Option<String>,
    pub proprietary: Vec<ProprietaryId>,
    pub title: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Message {
    pub version: Version,
    pub kind: MessageKind,
    /// `ReleaseProfileVersionId`.
    pub profile: Option<String>,
    /// `LanguageAndScriptCode` of the message.
    pub language: Option<String>,
    pub header: Header,
    /// ERN 3.8.2 `UpdateIndicator` (`OriginalMessage` / `UpdateMessage`).
    pub update_indicator: Option<String>,
    /// The root's `MessageSchemaVersionId` as read (ERN 3 only; kept so checks can flag it).
    pub message_schema_version: Option<String>,
    pub parties: Vec<Party>,
    pub resources: Vec<Resource>,
    pub releases: Vec<MsgRelease>,
    pub deals: Vec<ReleaseDeal>,
    pub visibilities: Vec<Visibility>,
    pub purged: Vec<PurgedRelease>,
}

impl Message {
    pub fn main_release(&self) -> Option<&MsgRelease> {
        self.releases.iter().find(|r| r.main)
    }

    pub fn party(&self, reference: &str) -> Option<&Party> {
        self.parties.iter().find(|p| p.reference == reference)
    }

    pub fn resource(&self, reference: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.reference == reference)
    }

    pub fn party_name(&self, reference: &str) -> Option<&str> {
        self.party(reference).and_then(|p| p.name.as_deref())
    }

    /// Number of `Deal` elements in the message.
    pub fn deal_count(&self) -> usize {
        self.deals.iter().map(|d| d.deals.len()).sum()
    }
}
