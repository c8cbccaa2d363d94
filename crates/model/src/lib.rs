//! The release model: what a label hands a distributor, as types that cannot hold an invalid
//! value. Pure: no I/O, no clocks, no randomness. Intake builds these values from files; the
//! store persists them; QC, ERN and royalties read them.
//!
//! The serde form of [`Release`] *is* the release document format (`release.toml`, its JSON
//! twin, and `liner show --json`): serialising a release and importing the result gives the
//! same release. `schemas/release.schema.json` is generated from these types.

mod codes;
pub mod id;
pub mod limits;
mod money;
mod time;

use std::borrow::Cow;
use std::collections::BTreeSet;

use chrono::NaiveDate;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize, Serializer};

pub use id::{
    ContentHash, CountryCode, Dpid, Email, Grid, Icpn, IdError, Isni, Isrc, Iswc, LanguageTag,
};
pub use limits::Limits;
pub use money::{
    Currency, FINE_DECIMALS, FINE_ONE, Fine, FineError, Money, MoneyError, format_minor,
};
pub use time::{Duration, DurationError};

/// Declares a closed vocabulary (usually a DDEX allowed-value set) with its exact spelling.
macro_rules! vocabulary {
    ($(#[$m:meta])* $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),+ }
            }

            /// Exact, case-sensitive match on the DDEX spelling, with a case-insensitive
            /// fallback so `mainartist` from a spreadsheet still reads.
            pub fn parse(s: &str) -> Option<$name> {
                let s = s.trim();
                $name::ALL.iter().copied().find(|v| v.as_str() == s)
                    .or_else(|| $name::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(s)))
            }

            /// Comma-separated list of the allowed spellings, for error messages.
            pub fn expected() -> String {
                $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// DDEX ReleaseType for the audio products Liner distributes.
    ReleaseType { Album, EP, Single }
);

vocabulary!(
    /// DDEX DisplayArtistRole (the subset audio releases use).
    ArtistRole { MainArtist, FeaturedArtist, Remixer, Conductor, Orchestra, Ensemble, Soloist }
);

vocabulary!(
    /// DDEX contributor roles (ContributorRole / ArtistRole AVS values) a track credits.
    ContributorRole {
        Composer, Lyricist, ComposerLyricist, Arranger, Producer, Remixer, MixingEngineer, MasteringEngineer,
        RecordingEngineer, Engineer, Vocalist, Performer, Conductor, Orchestra, Soloist, Programmer, Musician
    }
);

vocabulary!(
    /// DDEX ParentalWarningType.
    ParentalAdvisory { Explicit, ExplicitContentEdited, NotExplicit, NoAdviceAvailable }
);

vocabulary!(
    /// DDEX CommercialModelType.
    CommercialModel {
        AdvertisementSupportedModel, SubscriptionModel, PayAsYouGoModel, FreeOfChargeModel, RightsClaimModel,
        DeviceFeeModel, PerformanceRoyaltiesModel, AsPerContract
    }
);

vocabulary!(
    /// DDEX UseType values a distributor's deals use. The AI-training use types are not here:
    /// consent is its own field ([`AiTrainingConsent`]) so a deal list cannot grant it by accident.
    UseType {
        OnDemandStream, NonInteractiveStream, ConditionalDownload, PermanentDownload, TetheredDownload, Stream,
        Download, UseAsRingtone, UseAsRingbackTone, UserMakeAvailableUserProvided, UserMakeAvailableLabelProvided,
        PerformAsBackgroundMusic
    }
);

vocabulary!(
    /// How much of an item comes from generative AI (ERN 4.3.2 `ContainsAI` / `AiContribution`).
    AiExtent { None, Partly, All }
);

vocabulary!(
    /// Which parts of a recording or release AI produced (the split Spotify shows in credits).
    AiPart { Vocals, Instrumentation, Composition, PostProduction }
);

impl CommercialModel {
    /// The use types a deal of this model usually licenses (DDEX's usual shape, one deal per
    /// model): used where a sheet or a DSP profile names only the model.
    pub fn usual_use_types(self) -> Vec<UseType> {
        match self {
            CommercialModel::AdvertisementSupportedModel => {
                vec![UseType::OnDemandStream, UseType::NonInteractiveStream]
            }
            CommercialModel::SubscriptionModel => {
                vec![
                    UseType::OnDemandStream,
                    UseType::NonInteractiveStream,
                    UseType::ConditionalDownload,
                ]
            }
            CommercialModel::PayAsYouGoModel => vec![UseType::PermanentDownload],
            CommercialModel::RightsClaimModel => vec![UseType::UserMakeAvailableUserProvided],
            _ => vec![UseType::OnDemandStream],
        }
    }
}

/// A release: the product a DSP sells, with its tracks and the parties it refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// ICPN: UPC-12 or EAN-13. The release's key in the catalog.
    pub upc: Icpn,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalog_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grid: Option<Grid>,
    pub title: String,
    /// Version or edition ("Deluxe Edition", "Remixes"), shown in parentheses by DSPs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub release_type: ReleaseType,
    pub artists: Vec<DisplayArtist>,
    pub label: Label,
    pub p_line: RightsLine,
    pub c_line: RightsLine,
    pub genre: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subgenre: Option<String>,
    #[serde(with = "date")]
    #[schemars(with = "String")]
    pub release_date: NaiveDate,
    #[serde(with = "opt_date", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub original_release_date: Option<NaiveDate>,
    /// When the store page goes up and pre-orders / pre-saves open, before the release date
    /// (ERN ReleaseVisibility and pre-order deals). Absent: visible from the release date.
    #[serde(with = "opt_date", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub preorder_date: Option<NaiveDate>,
    pub parental_advisory: ParentalAdvisory,
    /// Language (and script, when it is not the language's usual one) of the metadata.
    pub language: LanguageTag,
    #[serde(default)]
    pub territories: Territories,
    /// Deals of the release. Empty means "use the DSP profile's deal defaults".
    #[serde(default)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deals: Vec<Deal>,
    pub artwork: Artwork,
    #[serde(default)]
    pub ai: AiDisclosure,
    #[serde(default)]
    pub ai_training: AiTrainingConsent,
    #[serde(default)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub payees: Vec<Payee>,
    pub tracks: Vec<Track>,
    /// Identifiers received (in a label's ERN) that fail their check: kept here with why, for
    /// QC to flag and staff to resolve. The UPC is the one such identifier that also stays in
    /// its field (the release needs a key); the others are left out of their typed fields.
    #[serde(default)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unverified: Vec<UnverifiedId>,
}

/// An identifier kept as received although it fails its check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnverifiedId {
    /// Where it belongs in the release document (`upc`, `tracks[2].iswc`, `artists[0].isni`).
    pub field: String,
    /// `UPC/EAN`, `GRid`, `ISNI`, `ISWC`.
    pub kind: String,
    pub value: String,
    /// What its check expected.
    pub expected: String,
}

/// An artist as displayed on a release or track.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DisplayArtist {
    pub name: String,
    pub role: ArtistRole,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isni: Option<Isni>,
    /// The artist's id at each DSP, by DSP profile name (`spotify = "spotify:artist:…"`), so a
    /// delivery lands on the right artist page and QC can spot spelling drift across releases.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub dsp_ids: std::collections::BTreeMap<String, String>,
}

impl DisplayArtist {
    /// An artist with a name and a role only.
    pub fn new(name: impl Into<String>, role: ArtistRole) -> DisplayArtist {
        DisplayArtist {
            name: name.into(),
            role,
            isni: None,
            dsp_ids: Default::default(),
        }
    }
}

/// A person or entity credited on a track, with DDEX roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Contributor {
    pub name: String,
    pub roles: Vec<ContributorRole>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isni: Option<Isni>,
    /// ERN 4.3.2 `AiContribution`: how much of this contributor's part AI made.
    #[serde(default)]
    pub ai: AiExtent,
}

/// P-line or C-line: year and holder, e.g. `2026 Nightjar Records`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RightsLine {
    pub year: u16,
    pub holder: String,
}

/// The label a release comes from. Stored as its own record, keyed by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Label {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dpid: Option<Dpid>,
    pub email: Email,
}

/// Someone who is paid royalties. Stored as its own record, keyed by `id`; splits refer to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Payee {
    /// A short stable key chosen by the label (`nova-lune`), unique across the catalog.
    pub id: PayeeId,
    pub name: String,
    pub email: Email,
    pub currency: Currency,
    /// Balances below this are carried to the next period instead of paid out.
    pub payout_threshold: Money,
    /// Where the payment details live (e.g. `vault:payees/nova-lune`), never the details themselves.
    pub payment_ref: String,
}

/// A payee key: lower-case letters, digits and hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PayeeId(String);

impl JsonSchema for PayeeId {
    fn schema_name() -> Cow<'static, str> {
        "PayeeId".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$" })
    }
}

impl PayeeId {
    pub fn parse(s: &str) -> Result<PayeeId, IdError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && !s.starts_with('-')
            && s.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
        if ok {
            Ok(PayeeId(s.to_owned()))
        } else {
            Err(IdError {
                kind: "payee id",
                value: s.to_owned(),
                expected: "1-64 lower-case letters, digits or hyphens, e.g. nova-lune".into(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PayeeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A deal: which commercial model and uses are licensed, from when, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deal {
    pub commercial_model: CommercialModel,
    pub use_types: Vec<UseType>,
    /// Intake fills in the release date when a document leaves this out.
    #[serde(with = "date")]
    #[schemars(with = "String")]
    pub start: NaiveDate,
    #[serde(with = "opt_date", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub end: Option<NaiveDate>,
    /// Narrows the release's territories for this deal; absent = the release's territories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub territories: Option<Territories>,
}

/// Where a release or deal applies: a list of countries, or worldwide minus exclusions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Territories {
    Worldwide { excluding: BTreeSet<CountryCode> },
    Only(BTreeSet<CountryCode>),
}

impl Default for Territories {
    fn default() -> Territories {
        Territories::worldwide()
    }
}

impl Default for AiDisclosure {
    fn default() -> AiDisclosure {
        AiDisclosure::none()
    }
}

// The enum comes from the vocabulary macro, which cannot take a #[default] on one variant.
#[allow(clippy::derivable_impls)]
impl Default for AiExtent {
    fn default() -> AiExtent {
        AiExtent::None
    }
}

impl Territories {
    pub fn worldwide() -> Territories {
        Territories::Worldwide {
            excluding: BTreeSet::new(),
        }
    }

    /// Where both apply: a deal's territories narrowed by its release's.
    pub fn intersect(&self, other: &Territories) -> Territories {
        use Territories::*;
        match (self, other) {
            (Worldwide { excluding: a }, Worldwide { excluding: b }) => Worldwide {
                excluding: a.union(b).cloned().collect(),
            },
            (Worldwide { excluding }, Only(l)) | (Only(l), Worldwide { excluding }) => {
                Only(l.difference(excluding).cloned().collect())
            }
            (Only(a), Only(b)) => Only(a.intersection(b).cloned().collect()),
        }
    }

    /// True when no country is included.
    pub fn is_empty(&self) -> bool {
        matches!(self, Territories::Only(l) if l.is_empty())
    }

    pub fn includes(&self, c: &CountryCode) -> bool {
        match self {
            Territories::Worldwide { excluding } => !excluding.contains(c),
            Territories::Only(list) => list.contains(c),
        }
    }
}

impl Serialize for Territories {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        match self {
            Territories::Worldwide { excluding } => {
                m.serialize_entry("include", &["Worldwide"])?;
                if !excluding.is_empty() {
                    m.serialize_entry("exclude", excluding)?;
                }
            }
            Territories::Only(list) => m.serialize_entry("include", list)?,
        }
        m.end()
    }
}

impl JsonSchema for Territories {
    fn schema_name() -> Cow<'static, str> {
        "Territories".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "description": "include = [\"Worldwide\"] (optionally with exclude = [country codes]) or include = [country codes]",
            "properties": {
                "include": { "type": "array", "minItems": 1, "items": { "type": "string", "pattern": "^([A-Z]{2}|Worldwide)$" } },
                "exclude": { "type": "array", "items": { "type": "string", "pattern": "^[A-Z]{2}$" } }
            },
            "required": ["include"],
            "additionalProperties": false
        })
    }
}

/// The cover art and its AI disclosure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Artwork {
    pub file: FileRef,
    pub ai: AiExtent,
}

impl JsonSchema for Artwork {
    fn schema_name() -> Cow<'static, str> {
        "Artwork".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let file = generator.subschema_for::<FileRef>();
        let ai = generator.subschema_for::<AiExtent>();
        json_schema!({
            "description": "the cover art: a file reference alone (no AI in it), or { file, ai }",
            "anyOf": [
                file.clone(),
                {
                    "type": "object",
                    "properties": { "file": file, "ai": ai },
                    "required": ["file"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

/// AI disclosure of a release or recording (ERN 4.3.2 `ContainsAI`, plus which parts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AiDisclosure {
    pub contains: AiExtent,
    #[serde(default)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<AiPart>,
}

impl AiDisclosure {
    pub fn none() -> AiDisclosure {
        AiDisclosure {
            contains: AiExtent::None,
            parts: Vec::new(),
        }
    }
}

/// The rights holder's consent to AI uses of the recordings. Off unless given: ERN 4.3.2
/// carries a granted consent as a Deal with UseType `UseForTrainingGenerativeAI` (and the
/// non-generative / data-mining use types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AiTrainingConsent {
    #[serde(default)]
    pub generative: bool,
    #[serde(default)]
    pub non_generative: bool,
    #[serde(default)]
    pub data_mining: bool,
}

/// A file a release refers to: a path relative to the release document as a label writes
/// it, or the content hash of a file already in Liner's file store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileRef {
    Path(String),
    Stored(ContentHash),
}

impl FileRef {
    pub fn parse(s: &str) -> Result<FileRef, IdError> {
        if s.starts_with("sha256:") {
            ContentHash::parse(s).map(FileRef::Stored)
        } else {
            Ok(FileRef::Path(s.to_owned()))
        }
    }
}

impl std::fmt::Display for FileRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileRef::Path(p) => f.write_str(p),
            FileRef::Stored(h) => write!(f, "{h}"),
        }
    }
}

impl Serialize for FileRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl JsonSchema for FileRef {
    fn schema_name() -> Cow<'static, str> {
        "FileRef".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "minLength": 1,
            "description": "a path relative to the release document, or sha256:<hex> of a file in Liner's file store"
        })
    }
}

/// A sound recording as it appears on the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Track {
    #[serde(default)]
    pub disc: u16,
    pub number: u16,
    pub isrc: Isrc,
    pub title: String,
    /// "Radio Edit", "Nightjar Remix", "Live": shown in parentheses by DSPs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default)]
    pub artists: Vec<DisplayArtist>,
    #[serde(default)]
    pub contributors: Vec<Contributor>,
    pub duration: Duration,
    #[serde(default)]
    pub explicit: bool,
    /// The lyrics, when the label supplies them: DSPs show them, and QC checks the explicit
    /// flag and emoji against them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lyrics: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iswc: Option<Iswc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview: Option<Preview>,
    pub audio: FileRef,
    #[serde(default)]
    pub ai: AiDisclosure,
    /// Who is paid for this track, in basis points that total 10 000. Empty: the label keeps it.
    #[serde(default)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub splits: Vec<Split>,
}

/// The clip DSPs play before purchase or sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Preview {
    pub start: Duration,
    pub length: Duration,
}

/// One payee's share of a track, in basis points (1/100 of a percent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Split {
    pub payee: PayeeId,
    pub basis_points: u16,
}

/// Basis points a track's splits must add up to.
pub const FULL_SHARE_BP: u32 = 10_000;

impl Release {
    /// Whether the release discloses AI content anywhere (release, cover, tracks,
    /// contributors) or grants any AI-training use: fields only ERN 4.3.2 carries.
    pub fn has_ai_fields(&self) -> bool {
        let c = self.ai_training;
        self.ai.contains != AiExtent::None
            || self.artwork.ai != AiExtent::None
            || self.tracks.iter().any(|t| {
                t.ai.contains != AiExtent::None
                    || t.contributors.iter().any(|c| c.ai != AiExtent::None)
            })
            || c.generative
            || c.non_generative
            || c.data_mining
    }

    /// The release as displayed: "Title (Version)".
    pub fn display_title(&self) -> String {
        match &self.version {
            Some(v) => format!("{} ({v})", self.title),
            None => self.title.clone(),
        }
    }

    /// Every file the release refers to, with the field path that refers to it.
    pub fn file_refs(&self) -> Vec<(String, &FileRef)> {
        let mut out = vec![("artwork.file".to_owned(), &self.artwork.file)];
        for (i, t) in self.tracks.iter().enumerate() {
            out.push((format!("tracks[{i}].audio"), &t.audio));
        }
        out
    }

    /// Rewrites every file reference (intake turns paths into content hashes this way).
    pub fn map_file_refs(&mut self, mut f: impl FnMut(&FileRef) -> FileRef) {
        self.artwork.file = f(&self.artwork.file);
        for t in &mut self.tracks {
            t.audio = f(&t.audio);
        }
    }
}

/// Dates travel as ISO 8601 calendar dates (YYYY-MM-DD).
mod date {
    use chrono::NaiveDate;
    use serde::Serializer;

    pub(crate) fn serialize<S: Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&d.format("%Y-%m-%d"))
    }
}

mod opt_date {
    use chrono::NaiveDate;
    use serde::Serializer;

    pub(crate) fn serialize<S: Serializer>(d: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::date::serialize(d, s),
            None => s.serialize_none(),
        }
    }
}
