//! DSP profiles: what each DSP takes. One TOML file per DSP under `deploy/dsps/`; the file
//! stem is the profile's name (`spotify.toml` → `spotify`). QC reads the severity overrides
//! and technical requirements, ERN reads the version and party id, delivery (a later issue)
//! adds transport settings.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use model::{CommercialModel, CountryCode, Deal, Dpid, Territories, UseType};
use serde::Deserialize;

mod transport;
pub use transport::{
    Choreography, Delivery, HostKey, HttpEndpoint, RetryPolicy, SftpAuth, SftpEndpoint, Transport,
};

/// The ERN version a DSP ingests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ErnVersion {
    #[serde(rename = "4.3")]
    V43,
    #[serde(rename = "4.3.2")]
    V432,
    #[serde(rename = "3.8.2")]
    V382,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for ErnVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErnVersion::V43 => "4.3",
            ErnVersion::V432 => "4.3.2",
            ErnVersion::V382 => "3.8.2",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioCodec {
    Wav,
    Flac,
}

/// Severity of a QC finding; an `error` blocks delivery to that DSP.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Deserialize,
    serde::Serialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioSpec {
    /// The codec files are delivered in.
    pub codec: AudioCodec,
    pub sample_rates: Vec<u32>,
    pub bit_depths: Vec<u16>,
    #[serde(default = "stereo")]
    pub channels: Vec<u16>,
}

fn stereo() -> Vec<u16> {
    vec![2]
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtworkSpec {
    /// Smallest side, in pixels, the DSP accepts.
    pub min_px: u32,
}

/// A deal the DSP gets when a release has none of its own.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DealDefault {
    pub commercial_model: CommercialModel,
    /// Absent: DDEX's usual use types for the model.
    #[serde(default)]
    pub use_types: Vec<UseType>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadTime {
    /// Deliveries closer than this many days to the release date get a warning.
    pub warn_days: u32,
    /// ...and closer than this are refused unless marked priority.
    pub refuse_days: u32,
    /// The scheduler delivers a release this many days before its release date (the
    /// DSP's delivery offset); a release already out, or closer, goes as soon as it passes QC.
    #[serde(default = "three_weeks")]
    pub delivery_offset_days: u32,
}

impl LeadTime {
    /// Whether a release date is within this lead time: an error under `refuse_days` (unless
    /// priority), a warning under `warn_days`; back catalogue (released by `today`) has none.
    pub fn check(
        &self,
        release_date: chrono::NaiveDate,
        today: chrono::NaiveDate,
        priority: bool,
    ) -> Result<Option<String>, String> {
        if release_date <= today {
            return Ok(None);
        }
        let days = (release_date - today).num_days();
        if days < i64::from(self.refuse_days) && !priority {
            return Err(format!(
                "the release date {release_date} is {days} day(s) away, under the DSP's {} days' lead time: \
                 deliver with --priority to send it anyway",
                self.refuse_days
            ));
        }
        if days < i64::from(self.warn_days) {
            return Ok(Some(format!(
                "the release date {release_date} is {days} day(s) away (the DSP asks for {} days)",
                self.warn_days
            )));
        }
        Ok(None)
    }
}

fn three_weeks() -> u32 {
    21
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QcOverrides {
    /// Rule id → severity for this DSP (e.g. `"ART-MIN-SIZE" = "error"`).
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    display_name: String,
    party_id: String,
    ern_version: ErnVersion,
    /// The ERN version this DSP takes for releases with AI disclosure or AI-training consent
    /// (4.3.2, the only one that carries them), when it differs from `ern_version`.
    #[serde(default)]
    ai_ern_version: Option<ErnVersion>,
    territories: Vec<String>,
    #[serde(default)]
    excluded_territories: Vec<String>,
    commercial_models: Vec<CommercialModel>,
    #[serde(default)]
    deal_defaults: Vec<DealDefault>,
    audio: AudioSpec,
    artwork: ArtworkSpec,
    lead_time: LeadTime,
    #[serde(default)]
    qc: QcOverrides,
    #[serde(default)]
    lifecycle: Lifecycle,
    delivery: Option<transport::DeliveryFile>,
    #[serde(default)]
    sales_reports: SalesReports,
}

/// Where and how the DSP leaves its sales reports for the distributor.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SalesReports {
    /// `dsr` (DDEX DSR flat file, Basic Audio profile) or `csv:<layout>` (a layout in the
    /// report-formats folder, e.g. `csv:spotify`).
    pub format: String,
    /// The folder on the DSP's side (in its SFTP area or under its HTTP API) where reports
    /// appear, relative to the delivery root.
    pub folder: String,
    /// The currency the DSP reports in.
    pub currency: String,
}

impl Default for SalesReports {
    fn default() -> SalesReports {
        SalesReports {
            format: "dsr".into(),
            folder: "reports".into(),
            currency: "USD".into(),
        }
    }
}

/// How a DSP wants takedowns and purges (ERN life cycle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Lifecycle {
    /// Whether the DSP accepts a PurgeReleaseMessage (Spotify does not).
    pub purge_allowed: bool,
    /// A takedown's deal end date lies this many days in the past (YouTube asks for 2).
    pub takedown_end_days_ago: u32,
    /// Send the deprecated ERN 3.8.2 TakeDown flag (only for DSPs that still ask for it).
    pub takedown_flag: bool,
}

impl Default for Lifecycle {
    fn default() -> Lifecycle {
        Lifecycle {
            purge_allowed: true,
            takedown_end_days_ago: 0,
            takedown_flag: false,
        }
    }
}

/// A loaded, checked DSP profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DspProfile {
    /// The file stem: how operators and the catalog name this DSP.
    pub name: String,
    pub display_name: String,
    pub party_id: Dpid,
    pub ern_version: ErnVersion,
    /// The version for releases with AI fields, if the DSP takes a different one for them.
    pub ai_ern_version: Option<ErnVersion>,
    pub territories: Territories,
    pub commercial_models: Vec<CommercialModel>,
    pub deal_defaults: Vec<DealDefault>,
    pub audio: AudioSpec,
    pub artwork: ArtworkSpec,
    pub lead_time: LeadTime,
    pub qc: QcOverrides,
    pub lifecycle: Lifecycle,
    pub sales_reports: SalesReports,
    /// How Liner reaches this DSP; absent, the profile serves QC and ERN only.
    pub delivery: Option<Delivery>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl DspProfile {
    /// The ERN version a release goes in: `ai_ern_version` when it has AI fields to carry
    /// and the profile names one, else `ern_version`.
    pub fn ern_version_for(&self, has_ai_fields: bool) -> ErnVersion {
        match self.ai_ern_version {
            Some(v) if has_ai_fields => v,
            _ => self.ern_version,
        }
    }

    /// Whether the messages this DSP gets can carry AI disclosure and consent.
    pub fn carries_ai(&self) -> bool {
        self.ern_version_for(true) == ErnVersion::V432
    }

    /// Parses a profile's text; `path` names it in errors and gives it its name.
    pub fn parse(path: &Path, text: &str) -> Result<DspProfile, Vec<ProfileError>> {
        let invalid = |message: String| ProfileError::Invalid {
            path: path.to_owned(),
            message,
        };
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let file: ProfileFile =
            toml::from_str(text).map_err(|e| vec![invalid(e.to_string().trim_end().to_owned())])?;
        let mut errors = Vec::new();
        if name.is_empty()
            || !name
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        {
            errors.push(invalid(format!(
                "profile file name {name:?} should be lower-case letters, digits and hyphens"
            )));
        }
        let party_id = Dpid::parse(&file.party_id)
            .map_err(|e| errors.push(invalid(format!("party_id: {e}"))))
            .ok();
        let countries =
            |list: &[String], field: &str, errors: &mut Vec<ProfileError>| -> Vec<CountryCode> {
                list.iter()
                    .filter_map(|c| {
                        CountryCode::parse(c)
                            .map_err(|e| errors.push(invalid(format!("{field}: {e}"))))
                            .ok()
                    })
                    .collect()
            };
        let territories = if file
            .territories
            .iter()
            .any(|t| t.eq_ignore_ascii_case("worldwide"))
        {
            if file.territories.len() > 1 {
                errors.push(invalid(
                    "territories: either [\"Worldwide\"] alone or a list of country codes".into(),
                ));
            }
            Territories::Worldwide {
                excluding: countries(
                    &file.excluded_territories,
                    "excluded_territories",
                    &mut errors,
                )
                .into_iter()
                .collect(),
            }
        } else {
            if !file.excluded_territories.is_empty() {
                errors.push(invalid(
                    "excluded_territories: only together with territories = [\"Worldwide\"]".into(),
                ));
            }
            Territories::Only(
                countries(&file.territories, "territories", &mut errors)
                    .into_iter()
                    .collect(),
            )
        };
        if file.commercial_models.is_empty() {
            errors.push(invalid("commercial_models: at least one".into()));
        }
        for d in &file.deal_defaults {
            if !file.commercial_models.contains(&d.commercial_model) {
                errors.push(invalid(format!(
                    "deal_defaults: {} is not among this DSP's commercial_models",
                    d.commercial_model
                )));
            }
        }
        if file.audio.sample_rates.is_empty() || file.audio.bit_depths.is_empty() {
            errors.push(invalid(
                "audio: sample_rates and bit_depths need at least one value each".into(),
            ));
        }
        if file.lead_time.refuse_days > file.lead_time.warn_days {
            errors.push(invalid(
                "lead_time: refuse_days must not exceed warn_days".into(),
            ));
        }
        for rule in file.qc.severity.keys() {
            let ok = rule.split('-').count() >= 2
                && rule
                    .bytes()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'-');
            if !ok {
                errors.push(invalid(format!(
                    "qc.severity: {rule:?} is not a rule id like META-FEAT-FORMAT"
                )));
            }
        }
        let delivery = match file.delivery {
            Some(d) => match d.check() {
                Ok(d) => Some(d),
                Err(es) => {
                    errors.extend(es.into_iter().map(invalid));
                    None
                }
            },
            None => None,
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(DspProfile {
            name,
            display_name: file.display_name,
            party_id: party_id.ok_or_else(|| vec![invalid("party_id".into())])?,
            ern_version: file.ern_version,
            ai_ern_version: file.ai_ern_version,
            territories,
            commercial_models: file.commercial_models,
            deal_defaults: file.deal_defaults,
            audio: file.audio,
            artwork: file.artwork,
            lead_time: file.lead_time,
            qc: file.qc,
            lifecycle: file.lifecycle,
            sales_reports: file.sales_reports,
            delivery,
        })
    }

    /// The deals this DSP gets for a release: the release's own deals when it has any,
    /// otherwise the profile's defaults starting on the release date; in both cases only
    /// the commercial models this DSP takes, in the territories it serves.
    pub fn deals_for(&self, release: &model::Release) -> Vec<Deal> {
        let mut deals = self.deals_in_models(release);
        for d in &mut deals {
            let own = d.territories.as_ref().unwrap_or(&release.territories);
            let served = own.intersect(&self.territories);
            d.territories = (served != release.territories).then_some(served);
        }
        deals.retain(|d| !d.territories.as_ref().is_some_and(Territories::is_empty));
        deals
    }

    fn deals_in_models(&self, release: &model::Release) -> Vec<Deal> {
        let own: Vec<Deal> = release
            .deals
            .iter()
            .filter(|d| self.commercial_models.contains(&d.commercial_model))
            .cloned()
            .collect();
        if !release.deals.is_empty() {
            return own;
        }
        self.deal_defaults
            .iter()
            .map(|d| Deal {
                commercial_model: d.commercial_model,
                use_types: if d.use_types.is_empty() {
                    d.commercial_model.usual_use_types()
                } else {
                    d.use_types.clone()
                },
                start: release.release_date,
                end: None,
                territories: None,
            })
            .collect()
    }

    pub fn severity_override(&self, rule: &str) -> Option<Severity> {
        self.qc.severity.get(rule).copied()
    }
}

/// Loads every `*.toml` profile in a folder, reporting every broken one.
pub fn load_dir(dir: &Path) -> Result<Vec<DspProfile>, Vec<ProfileError>> {
    let entries = std::fs::read_dir(dir).map_err(|source| {
        vec![ProfileError::Io {
            path: dir.to_owned(),
            source,
        }]
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    let mut profiles = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match std::fs::read_to_string(&path) {
            Ok(text) => match DspProfile::parse(&path, &text) {
                Ok(p) => profiles.push(p),
                Err(e) => errors.extend(e),
            },
            Err(source) => errors.push(ProfileError::Io { path, source }),
        }
    }
    if errors.is_empty() {
        Ok(profiles)
    } else {
        Err(errors)
    }
}
