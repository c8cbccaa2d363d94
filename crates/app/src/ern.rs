//! Building ERN messages for the catalog's releases: the shell around the pure `ern` crate
//! (catalog, file store, DSP profiles, schemas, the message history).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ::ern::{BuildInput, FileFacts, MessageParty, Version};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use filestore::FileStore;
use model::{FileRef, Icpn};
use store::{NewMessage, Store};

use crate::config::Config;
use crate::{Context, Events, Result, bail, err, note};

/// Where the DDEX XSDs are: `--schemas`, then `LINER_DDEX_SCHEMAS`, then `../shared/ddex/xsd`
/// beside a checkout (looked up from the working directory upwards).
pub fn schemas_dir(flag: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = flag {
        return Some(p.to_owned());
    }
    if let Ok(p) = std::env::var("LINER_DDEX_SCHEMAS") {
        return Some(PathBuf::from(p));
    }
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .map(|a| a.join("../shared/ddex/xsd"))
        .find(|p| p.join("ern-4.3/release-notification.xsd").is_file())
}

/// XSD errors (`line N: …`) for a message, or None with a loud note when no schema is found.
pub fn xsd_errors(
    version: Version,
    xml: &[u8],
    schemas: Option<&Path>,
    ev: &dyn Events,
) -> Result<Option<Vec<String>>> {
    let Some(dir) = schemas else {
        // Once per process: a batch of messages gets one warning, not one each.
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| {
            ev.tell(&format!(
                "WARNING: XSD validation SKIPPED: {NO_SCHEMAS}. Only Liner's own checks run on the ERN messages of this run."
            ));
        });
        return Ok(None);
    };
    let path = dir.join(version.schema_file());
    let schema =
        xsd::Schema::load(&path).with_context(|| format!("loading the ERN {version} schema"))?;
    Ok(Some(
        schema
            .validate(xml)?
            .iter()
            .map(ToString::to_string)
            .collect(),
    ))
}

/// Why there is no XSD validation, and what to do.
pub const NO_SCHEMAS: &str =
    "no DDEX schemas found (give --schemas DIR or LINER_DDEX_SCHEMAS; see README, DDEX schemas)";

fn codec_of(name: &str) -> Option<String> {
    let ext = name.rsplit('.').next()?.to_ascii_lowercase();
    Some(
        match ext.as_str() {
            "flac" => "FLAC",
            "wav" => "PCM",
            "jpg" | "jpeg" => "JPEG",
            "png" => "PNG",
            _ => return None,
        }
        .to_owned(),
    )
}

pub fn load_profiles(cfg: &Config) -> Result<Vec<profiles::DspProfile>> {
    cfg.load_profiles().map_err(|e| {
        err!(
            "DSP profiles: {}",
            e.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        )
    })
}

/// The lifecycle request the flags ask for, with the profile's takedown rules.
pub fn request_for(
    today: NaiveDate,
    takedown: bool,
    purge: bool,
    lifecycle: &profiles::Lifecycle,
) -> ern::lifecycle::Request {
    if purge {
        ern::lifecycle::Request::Purge {
            allowed: lifecycle.purge_allowed,
        }
    } else if takedown {
        let end = today - chrono::Duration::days(i64::from(lifecycle.takedown_end_days_ago));
        ern::lifecycle::Request::Takedown { end }
    } else {
        ern::lifecycle::Request::Deliver
    }
}

/// A message built, validated and recorded in the history, with what it needs sent along.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub dsp: String,
    pub revision: i64,
    pub version: Version,
    pub intent: ern::Intent,
    /// The root element (`NewReleaseMessage`, `PurgeReleaseMessage`).
    pub root: &'static str,
    pub message_id: String,
    pub xml: String,
    /// (URI in the message, stored file, MD5, size) of every file the message references.
    pub resources: Vec<(String, model::ContentHash, String, u64)>,
}

/// How `prepare` builds.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// `--ern`: the version, else the profile's, else 4.3.
    pub ern: Option<&'a str>,
    pub schemas: Option<&'a Path>,
    /// The message ids that reached the DSP, in order: they decide new or update (else
    /// every message built for it does).
    pub delivered: Option<&'a [String]>,
    /// The distributor, as the message's sender.
    pub sender: &'a MessageParty,
    /// When the message is made (its id and creation time).
    pub now: DateTime<Utc>,
}

/// Builds the message for a release and DSP: decides new/update/takedown/purge from the
/// history, sends audio in the DSP's format, validates against the XSD and the Release
/// Profile rules, and records it.
pub async fn prepare(
    catalog: &Store,
    files: &FileStore,
    upc: &Icpn,
    profile: Option<&profiles::DspProfile>,
    request: ern::lifecycle::Request,
    o: Options<'_>,
    ev: &dyn Events,
) -> Result<Prepared> {
    let (ern_flag, schemas, delivered, me) = (o.ern, o.schemas, o.delivered, o.sender);
    // The release with its files measured: TechnicalDetails state what is delivered.
    let (release, revision, audio, artwork) = crate::qc::measured(catalog, files, upc).await?;
    // --ern, else the DSP profile, else 4.3.
    let version = match (ern_flag, profile) {
        (Some(v), _) => Version::parse(v)
            .filter(|v| Version::WRITABLE.contains(v))
            .ok_or_else(|| err!("--ern {v}: Liner writes 4.3, 4.3.2 and 3.8.2"))?,
        (None, Some(p)) => Version::parse(&p.ern_version_for(release.has_ai_fields()).to_string())
            .unwrap_or(Version::V43),
        (None, None) => Version::V43,
    };
    let dsp_name = profile.map_or("none", |p| p.name.as_str()).to_owned();
    // The history that decides new/update/takedown: the messages that reached the DSP when
    // delivering (`delivered`, message ids in order), else every message built for it.
    let mut history = catalog.messages(upc.as_str(), &dsp_name).await?;
    if let Some(ids) = delivered {
        history.retain(|m| ids.contains(&m.message_id));
    }
    let intents: Vec<&str> = history.iter().map(|m| m.intent.as_str()).collect();
    let lifecycle = profile.map(|p| p.lifecycle).unwrap_or_default();
    let now: DateTime<Utc> = o.now;
    let intent =
        ern::lifecycle::plan(&intents, request).map_err(|e| err!("{upc} at {dsp_name}: {e}"))?;
    // Facts of each delivered file: digests recorded at import, technical facts measured.
    let mut facts = BTreeMap::new();
    let mut resources = Vec::new();
    for (n, (_, r)) in release.file_refs().into_iter().enumerate() {
        let FileRef::Stored(h) = r else { continue };
        let mut delivered_as: Option<transcode::Target> = None;
        let mut rec = catalog
            .file(h)
            .await?
            .ok_or_else(|| err!("{h} is referenced by {upc} but not in the catalog"))?;
        if !files.contains(h) {
            bail!("{h} ({}) is missing from the file store", rec.original_name);
        }
        // Audio goes in the format the DSP takes: the master, or its lossless re-wrap.
        if n > 0
            && let (Some(p), Some(report)) = (profile, audio.get(n - 1).and_then(Option::as_ref))
        {
            let plan = transcode::plan(report, &p.audio).map_err(|why| {
                err!(
                    "{upc} track {n} ({}) cannot go to {}: {why}",
                    rec.original_name,
                    p.name
                )
            })?;
            if let Some(codec) = plan.convert {
                rec = derived_audio(catalog, files, h, report, codec, plan.resample).await?;
            }
            delivered_as = plan.resample;
        }
        let ext = rec
            .original_name
            .rsplit('.')
            .next()
            .unwrap_or("bin")
            .to_ascii_lowercase();
        let mut f = FileFacts {
            uri: if n == 0 {
                format!("resources/{upc}_cover.{ext}")
            } else {
                format!("resources/{upc}_{n:02}.{ext}")
            },
            size: rec.size,
            md5: rec.md5.clone(),
            codec: codec_of(&rec.original_name),
            ..Default::default()
        };
        if n == 0 {
            if let Some(a) = &artwork {
                f.width = a.width;
                f.height = a.height;
            }
        } else if let Some(a) = audio.get(n - 1).and_then(Option::as_ref) {
            f.channels = a.channels;
            f.sample_rate = a.sample_rate;
            f.bits_per_sample = a.bits_per_sample.and_then(|b| u16::try_from(b).ok());
            // A resampled file states its own rate and depth.
            if let Some(t) = delivered_as {
                f.sample_rate = Some(t.rate);
                f.bits_per_sample = Some(t.bits);
            }
        }
        resources.push((f.uri.clone(), rec.sha256.clone(), rec.md5.clone(), rec.size));
        facts.insert(r.clone(), f);
    }
    let deals = match profile {
        Some(p) => p.deals_for(&release),
        None => release.deals.clone(),
    };
    let created = now.to_rfc3339_opts(SecondsFormat::Secs, false);
    let message_id = format!("{upc}-{dsp_name}-{}", now.format("%Y%m%dT%H%M%S%3f"));
    let recipient = profile.map_or(
        MessageParty {
            party_id: "PADPIDA0000000000X".into(),
            name: None,
        },
        |p| MessageParty {
            party_id: p.party_id.as_str().to_owned(),
            name: Some(p.display_name.clone()),
        },
    );
    let input = BuildInput {
        version,
        sender: me.clone(),
        recipient,
        message_id: message_id.clone(),
        thread_id: Some(upc.to_string()),
        created: created.clone(),
        deals,
        files: &facts,
        intent,
        dsp: profile.map(|p| p.name.clone()),
        takedown_flag: lifecycle.takedown_flag,
        test_message: false,
    };
    let (msg, warnings) = ern::compose(&release, &input);
    for w in &warnings {
        ev.warn(&format!("{}: {}", w.field, w.message));
    }
    let xml = ern::write(&msg, version)?;
    // Every message Liner writes validates; refuse to hand out one that does not.
    if let Some(errors) = xsd_errors(version, &xml, schemas, ev)?
        && !errors.is_empty()
    {
        bail!(
            "the ERN {version} message for {upc} does not validate (a Liner bug):\n{}",
            errors.join("\n")
        );
    }
    let rule_errors: Vec<String> = ern::checks::check(&msg)
        .into_iter()
        .filter(|f| f.severity == ern::checks::Severity::Error)
        .map(|f| f.to_string())
        .collect();
    if !rule_errors.is_empty() {
        bail!(
            "the message for {upc} breaks Release Profile rules:\n{}",
            rule_errors.join("\n")
        );
    }
    // What this message changes at the DSP, against the last one built for it.
    if let Some(last) = history
        .last()
        .filter(|_| msg.kind == ern::MessageKind::NewRelease)
        && let Some(old_xml) = catalog.message_xml(last.id).await?
        && let Ok((old, _)) = ern::read(old_xml.as_bytes())
    {
        let changes = ern::lifecycle::deal_changes(&old, &msg);
        note!(
            ev,
            "{} deal change(s) since {} ({}, revision {}):",
            changes.len(),
            last.message_id,
            last.intent,
            last.revision
        );
        for c in &changes {
            note!(ev, "  {c}");
        }
    }
    let text = String::from_utf8(xml)?;
    catalog
        .record_message(&NewMessage {
            upc: upc.as_str(),
            dsp: &dsp_name,
            revision,
            message_id: &message_id,
            intent: intent.as_str(),
            ern_version: version.as_str(),
            created_at: &created,
            xml: &text,
        })
        .await?;
    Ok(Prepared {
        dsp: dsp_name,
        revision,
        version,
        intent,
        root: msg.kind.root(),
        message_id,
        xml: text,
        resources,
    })
}

/// The file a DSP gets for a stored master: its lossless re-wrap in `codec` (the decoded
/// audio proven equal to the master's), or its conversion to `resample`'s rate and depth.
/// Made once, kept in the file store, found again after by (master, key).
async fn derived_audio(
    catalog: &Store,
    files: &FileStore,
    master: &model::ContentHash,
    report: &audio::AudioReport,
    codec: profiles::AudioCodec,
    resample: Option<transcode::Target>,
) -> Result<store::FileRecord> {
    let (name, ext) = match codec {
        profiles::AudioCodec::Flac => ("flac", "flac"),
        profiles::AudioCodec::Wav => ("wav", "wav"),
    };
    let key = resample.map_or_else(|| name.to_owned(), |t| t.key(codec));
    if let Some(rec) = catalog.derived(master, &key).await?
        && files.contains(&rec.sha256)
    {
        return Ok(rec);
    }
    let src = files.local_copy(master)?;
    let report = report.clone();
    let store = files.clone();
    let rec = tokio::task::spawn_blocking(move || -> Result<store::FileRecord> {
        let dir = tempfile::tempdir()?;
        let dst = dir.path().join(format!("master.{ext}"));
        match resample {
            Some(t) => transcode::resample(&src, &report, t, codec, &dst)?,
            None => transcode::convert(&src, &report, codec, &dst)?,
        };
        let d = store.put_file(&dst)?;
        Ok(store::FileRecord {
            sha256: d.sha256,
            md5: d.md5,
            size: d.size,
            original_name: format!("master.{ext}"),
        })
    })
    .await??;
    catalog.record_derived(master, &key, &rec).await?;
    Ok(rec)
}

/// Reads a received ERN message for `liner import`: validated against its XSD when schemas
/// are found, converted into the release model, its resource files found beside it and
/// checked against the message's HashSum.
/// The HashSum algorithms Liner verifies (their DDEX spellings).
fn checkable(algorithm: &str) -> bool {
    ["MD5", "SHA-256", "SHA256"]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(algorithm.trim()))
}

/// Reads a received ERN message and the resource files of its package (its folder).
pub fn read_message(
    path: &Path,
    upc: Option<&Icpn>,
    trust_unhashed: bool,
    limits: &model::Limits,
    ev: &dyn Events,
) -> Result<intake::Intake, intake::Rejected> {
    let reject = |field: &str,
                  value: Option<String>,
                  expected: String,
                  loc: Option<intake::Loc>| intake::Rejected {
        document: path.to_owned(),
        origin: path.display().to_string(),
        diagnostics: vec![intake::Diagnostic {
            file: path.to_owned(),
            loc,
            field: field.into(),
            value,
            expected,
        }],
    };
    let xml = intake::read_bytes_within(path, limits.document_bytes)
        .map_err(|e| reject("", None, e, None))?;
    let tree_limits = ern::tree::Limits {
        max_bytes: usize::try_from(limits.document_bytes).unwrap_or(usize::MAX),
        max_attributes: limits.xml_attributes as usize,
        ..ern::tree::Limits::default()
    };
    let (msg, warnings) = ern::read::read_with(&xml, tree_limits).map_err(|e| {
        let (line, col, message) = match &e {
            ern::ReadError::Xml(x) => (x.line, x.column, x.message.clone()),
            ern::ReadError::Structure {
                line,
                column,
                message,
            } => (*line, *column, message.clone()),
        };
        reject(
            "",
            None,
            message,
            Some(intake::Loc {
                line: line as u32,
                col: col as u32,
            }),
        )
    })?;
    for w in &warnings {
        tracing::warn!(file = %path.display(), "{w}");
    }
    match xsd_errors(msg.version, &xml, schemas_dir(None).as_deref(), ev) {
        Ok(Some(errors)) if !errors.is_empty() => {
            return Err(intake::Rejected {
                document: path.to_owned(),
                origin: path.display().to_string(),
                diagnostics: errors
                    .into_iter()
                    .map(|e| intake::Diagnostic {
                        file: path.to_owned(),
                        loc: None,
                        field: format!("ERN {} XSD", msg.version),
                        value: None,
                        expected: e,
                    })
                    .collect(),
            });
        }
        Ok(_) => {}
        Err(e) => {
            return Err(reject(
                "",
                None,
                format!("a usable DDEX schema folder ({})", e.chain()),
                None,
            ));
        }
    }
    for f in ern::checks::check(&msg) {
        tracing::warn!(file = %path.display(), "{f}");
    }
    let defaults = ern::ImportDefaults {
        label_email: model::Email::parse(
            &std::env::var("LINER_LABEL_EMAIL").unwrap_or_else(|_| "labels@liner.invalid".into()),
        )
        .map_err(|e| reject("LINER_LABEL_EMAIL", None, e.to_string(), None))?,
        upc: upc.cloned(),
    };
    let imported = ern::to_release(&msg, &defaults).map_err(|e| intake::Rejected {
        document: path.to_owned(),
        origin: path.display().to_string(),
        diagnostics: e
            .problems
            .iter()
            .map(|p| intake::Diagnostic {
                file: path.to_owned(),
                loc: None,
                field: p.at.clone(),
                value: None,
                expected: format!("[{}] {}", p.code, p.message),
            })
            .collect(),
    })?;
    for f in &imported.findings {
        tracing::warn!(file = %path.display(), "{f}");
    }
    let over = intake::limit_problems(&imported.release, limits);
    if !over.is_empty() {
        return Err(intake::Rejected {
            document: path.to_owned(),
            origin: path.display().to_string(),
            diagnostics: over
                .into_iter()
                .map(|expected| intake::Diagnostic {
                    file: path.to_owned(),
                    loc: None,
                    field: String::new(),
                    value: None,
                    expected,
                })
                .collect(),
        });
    }
    // The resource files sit in the message's folder (the package). Each must resolve inside
    // it, and its bytes must be the ones the message vouches for: a HashSum Liner checks
    // (MD5 or SHA-256) and the FileSize, when given. Without a checkable HashSum nothing
    // ties the bytes to the sender, so such a resource is refused unless the operator says
    // --trust-unhashed.
    let dir = path.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let mut diagnostics = Vec::new();
    let mut resolved = Vec::new();
    for (field, r) in imported.release.file_refs() {
        let FileRef::Path(uri) = r else { continue };
        let mut refuse = |expected: String| {
            diagnostics.push(intake::Diagnostic {
                file: path.to_owned(),
                loc: None,
                field: field.clone(),
                value: Some(uri.clone()),
                expected,
            })
        };
        let file = match intake::resolve_inside(dir, uri, "message's folder") {
            Ok(f) => f,
            Err(e) => {
                refuse(e);
                continue;
            }
        };
        let technical = imported.files.get(uri);
        let hash = technical.and_then(|t| t.hash.as_ref());
        let checked = hash.is_some_and(|h| checkable(&h.algorithm));
        if !checked && !trust_unhashed {
            refuse(match hash {
                None => "a resource the message vouches for with a HashSum (MD5 or SHA-256); it has none. Ask the sender for one, or import with --trust-unhashed if you trust this package".into(),
                Some(h) => format!(
                    "a HashSum Liner can check (MD5 or SHA-256), not {}; import with --trust-unhashed if you trust this package",
                    h.algorithm
                ),
            });
            continue;
        }
        let d = match FileStore::digest_file(&file) {
            Ok(d) => d,
            Err(e) => {
                refuse(format!("a readable resource file ({e})"));
                continue;
            }
        };
        if let Some(size) = technical.and_then(|t| t.size)
            && size != d.size
        {
            refuse(format!(
                "a file of {size} bytes (the message's FileSize); the file on disk has {}",
                d.size
            ));
            continue;
        }
        if let Some(h) = hash.filter(|h| checkable(&h.algorithm)) {
            let ok = if h.algorithm.eq_ignore_ascii_case("MD5") {
                d.md5.eq_ignore_ascii_case(h.value.trim())
            } else {
                d.sha256.hex().eq_ignore_ascii_case(h.value.trim())
            };
            if !ok {
                refuse(format!(
                    "a file whose {} is {} (the message's HashSum); the file on disk differs",
                    h.algorithm, h.value
                ));
                continue;
            }
        } else {
            tracing::warn!(file = %file.display(), "imported without a checked HashSum (--trust-unhashed)");
        }
        resolved.push(intake::ResolvedFile {
            field,
            loc: intake::Loc { line: 0, col: 0 },
            reference: r.clone(),
            path: Some(file),
        });
    }
    if !diagnostics.is_empty() {
        return Err(intake::Rejected {
            document: path.to_owned(),
            origin: path.display().to_string(),
            diagnostics,
        });
    }
    Ok(intake::Intake {
        document: path.to_owned(),
        origin: path.display().to_string(),
        release: imported.release,
        files: resolved,
    })
}
