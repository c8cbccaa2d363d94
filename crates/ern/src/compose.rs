//! From the release model to an ERN [`Message`]: what Liner says about a release to one DSP.
//!
//! Everything that is not in the release comes in through [`BuildInput`]: who sends and who
//! receives, the message id and creation time (never `now()` here, so the same inputs give
//! the same bytes), the deals the DSP gets (computed by the shell from the DSP profile), the
//! facts of the files being delivered, and the lifecycle intent.
//!
//! References are generated deterministically: P1… for parties in order of first mention,
//! A1…An for tracks in track order then the cover, T per file, R0 for the main release and
//! R1…Rn for track releases.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use model::{
    AiExtent, ArtistRole, CommercialModel, ContributorRole, Deal, FileRef, ParentalAdvisory,
    Release, ReleaseType, Territories,
};

use crate::msg::*;

/// What the writer knows about a delivered file: name in the delivery, size, digests and
/// technical facts (from the file store and the QC analysis).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileFacts {
    /// Path of the file relative to the message, e.g. `resources/A1.flac`.
    pub uri: String,
    pub size: u64,
    /// Lower-case hex MD5, the HashSum most DSPs expect.
    pub md5: String,
    /// `FLAC`, `PCM`, `JPEG`, `PNG`.
    pub codec: Option<String>,
    pub channels: Option<u16>,
    pub sample_rate: Option<u32>,
    pub bits_per_sample: Option<u16>,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// What a message does for a release at a DSP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Intent {
    /// First delivery.
    New,
    /// Full re-send of the current state (metadata or deal change), same release ids.
    Update,
    /// Full re-send with every deal ended on `end` (in the past where a DSP asks for it).
    Takedown { end: NaiveDate },
    /// PurgeReleaseMessage: the release should never have existed.
    Purge,
}

impl Intent {
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::New => "new",
            Intent::Update => "update",
            Intent::Takedown { .. } => "takedown",
            Intent::Purge => "purge",
        }
    }
}

#[derive(Debug, Clone)]
pub struct BuildInput<'a> {
    pub version: Version,
    pub sender: MessageParty,
    pub recipient: MessageParty,
    pub message_id: String,
    pub thread_id: Option<String>,
    /// `xs:dateTime` with offset; a re-send that should win must carry a later one.
    pub created: String,
    /// The deals this DSP gets (release deals restricted to the DSP's models and territories).
    pub deals: Vec<Deal>,
    /// Facts of each delivered file, by the release's file reference.
    pub files: &'a BTreeMap<FileRef, FileFacts>,
    pub intent: Intent,
    /// The DSP profile's name: artists' ids at this DSP (`dsp_ids`) travel as the party's
    /// ProprietaryId in the DSP's own namespace (its DPID), so the release lands on the
    /// right artist page.
    pub dsp: Option<String>,
    /// Use the deprecated ERN 3.8.2 `TakeDown` flag for takedowns (only where a DSP asks).
    pub takedown_flag: bool,
    pub test_message: bool,
}

/// A note for the operator about what a version could not carry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BuildWarning {
    pub field: String,
    pub message: String,
}

fn duration(ms: u64) -> String {
    let (m, s, frac) = (ms / 60_000, (ms / 1000) % 60, ms % 1000);
    if frac == 0 {
        format!("PT{m}M{s}S")
    } else {
        format!("PT{m}M{s}.{frac:03}S")
    }
}

fn seconds(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        (ms / 1000).to_string()
    } else {
        format!("{}.{:03}", ms / 1000, ms % 1000)
    }
}

/// DDEX's display role for our artist role, plus an ArtisticRole where ERN 4 has no display
/// role for it (Remixer, Conductor, …).
fn artist_role(r: ArtistRole) -> (&'static str, Option<&'static str>) {
    match r {
        ArtistRole::MainArtist => ("MainArtist", None),
        ArtistRole::FeaturedArtist => ("FeaturedArtist", None),
        other => ("Artist", Some(other.as_str())),
    }
}

/// Our contributor roles in ERN 4's ContributorRole list (AVS): Producer is StudioProducer there.
pub fn contributor_role(r: ContributorRole) -> &'static str {
    match r {
        ContributorRole::Producer => "StudioProducer",
        other => other.as_str(),
    }
}

fn ai(v: AiExtent) -> String {
    v.as_str().to_owned()
}

struct Parties {
    list: Vec<Party>,
    by_key: BTreeMap<(String, Option<String>), String>,
}

impl Parties {
    fn get(&mut self, name: &str, isni: Option<&str>) -> String {
        let key = (name.to_owned(), isni.map(str::to_owned));
        if let Some(r) = self.by_key.get(&key) {
            return r.clone();
        }
        let reference = format!("P{}", self.list.len() + 1);
        self.list.push(Party {
            reference: reference.clone(),
            name: Some(name.to_owned()),
            isni: isni.map(str::to_owned),
            dpid: None,
            proprietary: Vec::new(),
        });
        self.by_key.insert(key, reference.clone());
        reference
    }
}

/// ERN text of a territory set: (TerritoryCode list, ExcludedTerritoryCode list).
pub fn territory_lists(t: &Territories) -> (Vec<String>, Vec<String>) {
    match t {
        Territories::Worldwide { excluding } if excluding.is_empty() => {
            (vec!["Worldwide".into()], vec![])
        }
        Territories::Worldwide { excluding } => (
            vec![],
            excluding.iter().map(|c| c.as_str().to_owned()).collect(),
        ),
        Territories::Only(list) => (list.iter().map(|c| c.as_str().to_owned()).collect(), vec![]),
    }
}

pub fn release_profile(release: &Release, version: Version) -> &'static str {
    let single = release.release_type == ReleaseType::Single && release.tracks.len() == 1;
    match (version, single) {
        (Version::V382, true) => "CommonReleaseTypes/14/AudioSingle",
        (Version::V382, false) => "CommonReleaseTypes/14/AudioAlbumMusicOnly",
        (_, true) => "SimpleAudioSingle",
        (_, false) => "Audio",
    }
}

/// Builds the message. Pure: the same release and input give the same message.
pub fn compose(release: &Release, input: &BuildInput<'_>) -> (Message, Vec<BuildWarning>) {
    let v = input.version;
    let mut warnings = Vec::new();
    let header = Header {
        thread_id: input.thread_id.clone(),
        message_id: input.message_id.clone(),
        sender: input.sender.clone(),
        recipients: vec![input.recipient.clone()],
        created: input.created.clone(),
        control: input.test_message.then(|| "TestMessage".to_owned()),
    };
    // Namespace of Liner's proprietary ids: the sender's DPID (3.8.2 samples write "DPID:…").
    let ns = match v {
        Version::V382 => format!("DPID:{}", input.sender.party_id),
        _ => input.sender.party_id.clone(),
    };
    if input.intent == Intent::Purge {
        let msg = Message {
            version: v,
            kind: MessageKind::Purge,
            profile: None,
            language: Some(release.language.as_str().to_owned()),
            header,
            update_indicator: None,
            message_schema_version: None,
            parties: vec![],
            resources: vec![],
            releases: vec![],
            deals: vec![],
            visibilities: vec![],
            purged: vec![PurgedRelease {
                grid: release.grid.as_ref().map(|g| g.as_str().to_owned()),
                icpn: Some(release.upc.as_str().to_owned()),
                proprietary: vec![],
                title: Some(release.display_title()),
            }],
        };
        return (msg, warnings);
    }

    let carries_ai = v.carries_ai();
    let has_ai = release.ai.contains != AiExtent::None
        || release.artwork.ai != AiExtent::None
        || release.tracks.iter().any(|t| {
            t.ai.contains != AiExtent::None || t.contributors.iter().any(|c| c.ai != AiExtent::None)
        });
    let consent = release.ai_training;
    let has_consent = consent.generative || consent.non_generative || consent.data_mining;
    if !carries_ai && has_ai {
        warnings.push(BuildWarning {
            field: "ai".into(),
            message: format!(
                "ERN {v} cannot carry AI disclosure (ContainsAI/AiContribution exist only in ERN 4.3.2); left out of the message"
            ),
        });
    }
    if !carries_ai && has_consent {
        warnings.push(BuildWarning {
            field: "ai_training".into(),
            message: format!(
                "ERN {v} has no AI-training use types (UseForTrainingGenerativeAI exists only in ERN 4.3.2); the consent is left out of the message"
            ),
        });
    }

    let mut parties = Parties {
        list: Vec::new(),
        by_key: BTreeMap::new(),
    };
    let label_ref = parties.get(&release.label.name, None);
    if let Some(d) = &release.label.dpid {
        parties.list[0].dpid = Some(d.as_str().to_owned());
    }
    let credit = |parties: &mut Parties, list: &[model::DisplayArtist]| -> Vec<ArtistCredit> {
        list.iter()
            .enumerate()
            .map(|(i, a)| {
                let (role, artistic) = artist_role(a.role);
                let party = parties.get(&a.name, a.isni.as_ref().map(|i| i.as_str()));
                if let Some(id) = input.dsp.as_ref().and_then(|d| a.dsp_ids.get(d))
                    && let Some(p) = parties.list.iter_mut().find(|p| p.reference == party)
                    && !p.proprietary.iter().any(|x| &x.value == id)
                {
                    p.proprietary.push(ProprietaryId {
                        namespace: input.recipient.party_id.clone(),
                        value: id.clone(),
                    });
                }
                ArtistCredit {
                    party,
                    role: role.to_owned(),
                    artistic_roles: artistic.map(|r| vec![r.to_owned()]).unwrap_or_default(),
                    sequence: i as u32 + 1,
                }
            })
            .collect()
    };
    let release_artists = credit(&mut parties, &release.artists);
    let display_name = |list: &[model::DisplayArtist]| -> String {
        // "Main & Main feat. Featured": how DSPs show a credit line.
        let mains: Vec<&str> = list
            .iter()
            .filter(|a| a.role != ArtistRole::FeaturedArtist)
            .map(|a| a.name.as_str())
            .collect();
        let feats: Vec<&str> = list
            .iter()
            .filter(|a| a.role == ArtistRole::FeaturedArtist)
            .map(|a| a.name.as_str())
            .collect();
        let mut s = mains.join(" & ");
        if !feats.is_empty() {
            s.push_str(" feat. ");
            s.push_str(&feats.join(" & "));
        }
        s
    };
    let pw = |p: ParentalAdvisory| p.as_str().to_owned();
    let file_facts = |r: &FileRef| input.files.get(r);

    let mut resources = Vec::with_capacity(release.tracks.len() + 1);
    let mut tracks: Vec<&model::Track> = release.tracks.iter().collect();
    tracks.sort_by_key(|t| (t.disc, t.number));
    let mut items = Vec::with_capacity(tracks.len());
    let mut total_ms = 0u64;
    for (i, t) in tracks.iter().enumerate() {
        let n = i + 1;
        let reference = format!("A{n}");
        let mut r = Resource::new(
            reference.clone(),
            ResourceKind::SoundRecording,
            "MusicalWorkSoundRecording".into(),
        );
        r.isrc = Some(t.isrc.as_str().to_owned());
        r.iswc = t.iswc.as_ref().map(|w| w.as_str().to_owned());
        r.title = Some(t.title.clone());
        r.subtitle = t.version.clone();
        let artists = if t.artists.is_empty() {
            &release.artists
        } else {
            &t.artists
        };
        r.display_artist_name = Some(display_name(artists));
        r.artists = credit(&mut parties, artists);
        // Release Profile rule 1030-1: a contributor appears once, with all their roles.
        let mut credits: Vec<ContributorCredit> = Vec::new();
        for c in &t.contributors {
            let party = parties.get(&c.name, c.isni.as_ref().map(|i| i.as_str()));
            let roles = c.roles.iter().map(|r| contributor_role(*r).to_owned());
            match credits.iter_mut().find(|k| k.party == party) {
                Some(k) => {
                    for role in roles {
                        if !k.roles.contains(&role) {
                            k.roles.push(role);
                        }
                    }
                }
                None => credits.push(ContributorCredit {
                    party,
                    roles: roles.collect(),
                    sequence: credits.len() as u32 + 1,
                    ai: carries_ai.then(|| ai(c.ai)),
                }),
            }
        }
        r.contributors = credits;
        r.duration = Some(duration(t.duration.millis()));
        total_ms += t.duration.millis();
        r.p_line = Some(Line {
            year: Some(release.p_line.year.to_string()),
            text: format!("(P) {} {}", release.p_line.year, release.p_line.holder),
        });
        // A clean track on an explicit album is NotExplicit; otherwise it shares the album's.
        r.parental_warning = Some(if t.explicit {
            "Explicit".to_owned()
        } else if release.parental_advisory == ParentalAdvisory::Explicit {
            "NotExplicit".to_owned()
        } else {
            pw(release.parental_advisory)
        });
        r.contains_ai = carries_ai.then(|| ai(t.ai.contains));
        let mut tf = TechnicalFile {
            reference: format!("T{n}"),
            ..Default::default()
        };
        if let Some(f) = file_facts(&t.audio) {
            fill(&mut tf, f);
        }
        tf.preview = t.preview.map(|p| Clip {
            start: seconds(p.start.millis()),
            duration: Some(duration(p.length.millis())),
        });
        if tf.uri.is_some() || tf.preview.is_some() {
            r.files.push(tf);
        }
        resources.push(r);
        items.push(ContentItem {
            group: u32::from(t.disc.max(1)),
            sequence: Some(if tracks.iter().any(|o| o.disc > 1) {
                u32::from(t.number)
            } else {
                n as u32
            }),
            resource: reference,
        });
    }
    let cover_ref = format!("A{}", tracks.len() + 1);
    let mut cover = Resource::new(
        cover_ref.clone(),
        ResourceKind::Image,
        "FrontCoverImage".into(),
    );
    cover.proprietary = vec![ProprietaryId {
        namespace: ns.clone(),
        value: format!("{}_cover", release.upc),
    }];
    cover.contains_ai = carries_ai.then(|| ai(release.artwork.ai));
    let mut tf = TechnicalFile {
        reference: format!("T{}", tracks.len() + 1),
        ..Default::default()
    };
    if let Some(f) = file_facts(&release.artwork.file) {
        fill(&mut tf, f);
        cover.files.push(tf);
    }
    resources.push(cover);

    let mut main = MsgRelease::new("R0".into());
    main.main = true;
    main.release_types = vec![release.release_type.as_str().to_owned()];
    main.grid = release.grid.as_ref().map(|g| g.as_str().to_owned());
    main.icpn = Some(release.upc.as_str().to_owned());
    main.catalog_number = release.catalog_number.clone();
    main.title = Some(release.title.clone());
    main.subtitle = release.version.clone();
    main.display_artist_name = Some(display_name(&release.artists));
    main.artists = release_artists;
    main.labels = vec![label_ref.clone()];
    main.p_line = Some(Line {
        year: Some(release.p_line.year.to_string()),
        text: format!("(P) {} {}", release.p_line.year, release.p_line.holder),
    });
    main.c_line = Some(Line {
        year: Some(release.c_line.year.to_string()),
        text: format!("(C) {} {}", release.c_line.year, release.c_line.holder),
    });
    main.duration = Some(duration(total_ms));
    main.genre = Some(release.genre.clone());
    main.subgenre = release.subgenre.clone();
    main.release_date = Some(release.release_date.to_string());
    main.original_release_date = release.original_release_date.map(|d| d.to_string());
    main.parental_warning = Some(pw(release.parental_advisory));
    main.items = items;
    main.linked = vec![cover_ref];
    main.contains_ai = carries_ai.then(|| ai(release.ai.contains));

    let mut releases = vec![main];
    for (i, t) in tracks.iter().enumerate() {
        let n = i + 1;
        let mut tr = MsgRelease::new(format!("R{n}"));
        tr.track = true;
        if v == Version::V382 {
            tr.isrc = Some(t.isrc.as_str().to_owned());
            tr.release_types = vec!["TrackRelease".into()];
            tr.p_line = releases[0].p_line.clone();
            tr.c_line = releases[0].c_line.clone();
            tr.release_date = releases[0].release_date.clone();
        } else {
            // Release Profile rule 1046-1: an ISRC used as a TrackRelease id is a ProprietaryId.
            tr.proprietary = vec![ProprietaryId {
                namespace: ns.clone(),
                value: format!("{}_{}", release.upc, t.isrc),
            }];
        }
        tr.labels = vec![label_ref.clone()];
        tr.genre = Some(release.genre.clone());
        tr.subgenre = release.subgenre.clone();
        tr.items = vec![ContentItem {
            group: 1,
            sequence: Some(1),
            resource: format!("A{n}"),
        }];
        releases.push(tr);
    }

    let release_refs: Vec<String> = releases.iter().map(|r| r.reference.clone()).collect();
    let (rel_inc, rel_exc) = territory_lists(&release.territories);
    let mut deals: Vec<MsgDeal> = Vec::with_capacity(input.deals.len() + 1);
    for d in &input.deals {
        // A deal's territories narrow the release's; a deal left with none is dropped.
        let effective = match &d.territories {
            Some(t) => t.intersect(&release.territories),
            None => release.territories.clone(),
        };
        if effective.is_empty() {
            warnings.push(BuildWarning {
                field: "deals".into(),
                message: format!(
                    "the {} deal starting {} covers no territory of the release; left out",
                    d.commercial_model, d.start
                ),
            });
            continue;
        }
        let (inc, exc) = territory_lists(&effective);
        deals.push(MsgDeal {
            territories: inc,
            excluded: exc,
            start: Some(d.start.to_string()),
            end: d.end.map(|e| e.to_string()),
            commercial_models: vec![d.commercial_model.as_str().to_owned()],
            use_types: d.use_types.iter().map(|u| u.as_str().to_owned()).collect(),
            preorder: false,
            takedown: false,
        });
    }
    if carries_ai && has_consent {
        let start = input
            .deals
            .iter()
            .map(|d| d.start)
            .min()
            .unwrap_or(release.release_date);
        let mut uses = Vec::new();
        if consent.generative {
            uses.push("UseForTrainingGenerativeAI".to_owned());
        }
        if consent.non_generative {
            uses.push("UseForTrainingNonGenerativeAI".to_owned());
        }
        if consent.data_mining {
            uses.push("UseForDataMining".to_owned());
        }
        deals.push(MsgDeal {
            territories: rel_inc.clone(),
            excluded: rel_exc.clone(),
            start: Some(start.to_string()),
            end: None,
            commercial_models: vec![CommercialModel::AsPerContract.as_str().to_owned()],
            use_types: uses,
            preorder: false,
            takedown: false,
        });
    }
    if let Intent::Takedown { end } = input.intent {
        for d in &mut deals {
            // A validity period cannot end before it starts: a release taken down before its
            // date gets a period that starts and ends on the takedown date.
            let start = d
                .start
                .as_deref()
                .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
                .map_or(end, |s| s.min(end));
            d.start = Some(start.to_string());
            d.end = Some(end.to_string());
            if v == Version::V382 && input.takedown_flag {
                d.takedown = true;
            }
        }
    }
    // Pre-order: the store page is visible from the pre-order date (ReleaseVisibility), and
    // each download deal gets a pre-order twin running until the day before release.
    let mut visibilities = Vec::new();
    // (Visibility lives in the DealList: a release without deals has no pre-order either.)
    if let Some(pre) = release.preorder_date
        && !matches!(input.intent, Intent::Takedown { .. })
        && !deals.is_empty()
    {
        visibilities.push(Visibility {
            reference: "V1".into(),
            territories: rel_inc.clone(),
            display_start: Some(format!("{pre}T00:00:00Z")),
        });
        for r in &mut releases {
            r.visibility = Some("V1".into());
        }
        let day_before = release
            .release_date
            .pred_opt()
            .unwrap_or(release.release_date);
        let twins: Vec<MsgDeal> = deals
            .iter()
            .filter(|d| d.commercial_models.iter().any(|m| m == "PayAsYouGoModel"))
            .map(|d| MsgDeal {
                start: Some(pre.to_string()),
                end: Some(day_before.to_string()),
                preorder: true,
                ..d.clone()
            })
            .collect();
        deals.extend(twins);
    }
    let deal_list = if deals.is_empty() {
        vec![]
    } else {
        vec![ReleaseDeal {
            releases: release_refs,
            deals,
        }]
    };

    let msg = Message {
        version: v,
        kind: MessageKind::NewRelease,
        profile: Some(release_profile(release, v).to_owned()),
        language: Some(release.language.as_str().to_owned()),
        header,
        update_indicator: (v == Version::V382).then(|| {
            if input.intent == Intent::New {
                "OriginalMessage".to_owned()
            } else {
                "UpdateMessage".to_owned()
            }
        }),
        message_schema_version: None,
        parties: parties.list,
        resources,
        releases,
        deals: deal_list,
        visibilities,
        purged: vec![],
    };
    (msg, warnings)
}

fn fill(tf: &mut TechnicalFile, f: &FileFacts) {
    tf.uri = Some(f.uri.clone());
    tf.size = Some(f.size);
    tf.hash = (!f.md5.is_empty()).then(|| HashSum {
        algorithm: "MD5".into(),
        value: f.md5.clone(),
    });
    tf.codec = f.codec.clone();
    tf.channels = f.channels;
    tf.sample_rate = f.sample_rate;
    tf.bits_per_sample = f.bits_per_sample;
    tf.width = f.width;
    tf.height = f.height;
}
