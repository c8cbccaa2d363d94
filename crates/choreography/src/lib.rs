//! DDEX ERN choreography for SFTP batch delivery (ECHO 1.6, namespace `ern-c-sftp/16`), pure:
//!
//! - the batch layout's names: `{P|N}_{BatchId}/`, `BatchComplete_{BatchId}.xml`, `ACK_…`;
//! - the **ManifestMessage** a sender uploads last (`BatchComplete_{BatchId}.xml`): written
//!   and read;
//! - **acknowledgements** a DSP writes back: the 1.6 `FtpAcknowledgementMessage` (written and
//!   read) and the 1.7/1.8 `AcknowledgementMessage` shape seen in the wild (read);
//! - what each acknowledgement asks of the sender ([`Action`]), and which of several
//!   acknowledgements of one message counts (the latest: a DSP may say FileOK, then an error).
//!
//! Reading goes through `ern`'s hardened tree (no DTDs, limits, line:column errors).

use chrono::{DateTime, FixedOffset};
use ern::tree::{Limits, Tree, XmlError};
use ern::xmlout::{XmlOut, document};

pub const NAMESPACE: &str = "http://ddex.net/xml/ern-c-sftp/16";

/// Batch ids are the batch folder's creation time, `YYYYMMDDhhmmssnnn` (ECHO §8.1).
pub fn batch_id(at: DateTime<FixedOffset>) -> String {
    at.format("%Y%m%d%H%M%S%3f").to_string()
}

/// The batch folder: `P_` for priority (takedowns, urgent fixes), `N_` for normal.
pub fn batch_folder(priority: bool, batch_id: &str) -> String {
    format!("{}_{batch_id}", if priority { "P" } else { "N" })
}

/// The manifest's exact name; DSPs match it exactly, so it is built in one place.
pub fn manifest_name(batch_id: &str) -> String {
    format!("BatchComplete_{batch_id}.xml")
}

/// An acknowledgement file's name, `ACK_{MessageId}_{YYYYMMDDhhmmssnnn}.xml`.
pub fn ack_name(message_id: &str, at: DateTime<FixedOffset>) -> String {
    format!("ACK_{message_id}_{}.xml", at.format("%Y%m%d%H%M%S%3f"))
}

#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Party {
    pub dpid: String,
    pub name: Option<String>,
}

/// What a message in a batch does (ECHO `MessageActionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum DeliveryType {
    NewReleaseDelivery,
    ReDelivery,
    TakeDown,
    HighPriorityDelivery,
    BackCatalogDelivery,
}

impl DeliveryType {
    /// The DeliveryType of a delivery by its intent and lane: takedowns and purges take
    /// down, updates re-deliver, the priority lane is high priority, the rest is new.
    pub fn for_delivery(intent: &str, priority: bool) -> DeliveryType {
        match (intent, priority) {
            ("takedown" | "purge", _) => DeliveryType::TakeDown,
            ("update", _) => DeliveryType::ReDelivery,
            (_, true) => DeliveryType::HighPriorityDelivery,
            _ => DeliveryType::NewReleaseDelivery,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryType::NewReleaseDelivery => "NewReleaseDelivery",
            DeliveryType::ReDelivery => "ReDelivery",
            DeliveryType::TakeDown => "TakeDown",
            DeliveryType::HighPriorityDelivery => "HighPriorityDelivery",
            DeliveryType::BackCatalogDelivery => "BackCatalogDelivery",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryType> {
        [
            DeliveryType::NewReleaseDelivery,
            DeliveryType::ReDelivery,
            DeliveryType::TakeDown,
            DeliveryType::HighPriorityDelivery,
            DeliveryType::BackCatalogDelivery,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// One ERN message of a batch, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BatchEntry {
    pub message_id: String,
    /// Path of the message inside the batch folder, e.g. `196543210010/196543210010.xml`.
    pub url: String,
    /// ICPNs of the releases the message carries.
    pub icpns: Vec<String>,
    pub delivery: DeliveryType,
    /// MD5 (lower-case hex) of the message file.
    pub md5: Option<String>,
}

/// The `BatchComplete_{BatchId}.xml` ManifestMessage.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Manifest {
    pub sender: Party,
    pub recipient: Party,
    /// `xs:dateTime` with offset.
    pub created: String,
    pub test: bool,
    /// The batch folder (`N_20261126101500123`).
    pub root_directory: String,
    pub messages: Vec<BatchEntry>,
}

fn party(x: &mut XmlOut, el: &str, p: &Party) {
    x.open(el);
    x.leaf("PartyId", &p.dpid);
    if let Some(n) = &p.name {
        x.open("PartyName");
        x.leaf("FullName", n);
        x.close("PartyName");
    }
    x.close(el);
}

pub fn write_manifest(m: &Manifest) -> Vec<u8> {
    let mut x = document(1024 + m.messages.len() * 512);
    x.open_a(
        "ern-c-sftp:ManifestMessage",
        &[("xmlns:ern-c-sftp", NAMESPACE), ("MessageVersionId", "1.6")],
    );
    x.open("MessageHeader");
    party(&mut x, "MessageSender", &m.sender);
    party(&mut x, "MessageRecipient", &m.recipient);
    x.leaf("MessageCreatedDateTime", &m.created);
    x.close("MessageHeader");
    x.leaf("IsTestFlag", if m.test { "true" } else { "false" });
    x.leaf("RootDirectory", &m.root_directory);
    x.leaf("NumberOfMessages", &m.messages.len().to_string());
    for e in &m.messages {
        x.open("MessageInBatch");
        x.leaf("MessageType", "NewReleaseMessage");
        x.leaf("MessageId", &e.message_id);
        x.leaf("URL", &e.url);
        for icpn in &e.icpns {
            x.open("IncludedReleaseId");
            x.leaf("ICPN", icpn);
            x.close("IncludedReleaseId");
        }
        x.leaf("DeliveryType", e.delivery.as_str());
        x.leaf("ProductType", "AudioProduct");
        if let Some(h) = &e.md5 {
            x.open("HashSum");
            x.leaf("HashSum", h);
            x.leaf("HashSumAlgorithmType", "MD5");
            x.close("HashSum");
        }
        x.close("MessageInBatch");
    }
    x.close("ern-c-sftp:ManifestMessage");
    x.finish()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChoreographyError {
    #[error("{0}")]
    Xml(#[from] XmlError),
    #[error("line {line}, column {column}: {message}")]
    Shape {
        line: usize,
        column: usize,
        message: String,
    },
}

fn shape(t: &Tree, i: usize, message: String) -> ChoreographyError {
    let (line, column) = t.line_col(i);
    ChoreographyError::Shape {
        line,
        column,
        message,
    }
}

fn read_party(t: &Tree, i: Option<usize>) -> Party {
    Party {
        dpid: i
            .and_then(|i| t.child_text(i, "PartyId"))
            .unwrap_or_default(),
        name: i
            .and_then(|i| t.path(i, &["PartyName", "FullName"]))
            .map(|n| t.text(n).to_owned()),
    }
}

fn root_named(t: &Tree, want: &str) -> Result<(), ChoreographyError> {
    let root = t.root();
    if t.name(root) != want {
        return Err(shape(
            t,
            root,
            format!("<{}> is not a {want}", t.name(root)),
        ));
    }
    Ok(())
}

pub fn read_manifest(bytes: &[u8]) -> Result<Manifest, ChoreographyError> {
    let t = Tree::parse(bytes, Limits::default())?;
    root_named(&t, "ManifestMessage")?;
    let root = t.root();
    let header = t.first(root, "MessageHeader");
    let mut messages = Vec::new();
    for e in t.all(root, "MessageInBatch") {
        let delivery_text = t.child_text(e, "DeliveryType").unwrap_or_default();
        let delivery = DeliveryType::parse(&delivery_text).ok_or_else(|| {
            shape(
                &t,
                e,
                format!("DeliveryType {delivery_text:?} is not one Liner sends or reads"),
            )
        })?;
        messages.push(BatchEntry {
            message_id: t.child_text(e, "MessageId").unwrap_or_default(),
            url: t
                .child_text(e, "URL")
                .ok_or_else(|| shape(&t, e, "MessageInBatch without a URL".into()))?,
            icpns: t
                .all(e, "IncludedReleaseId")
                .filter_map(|r| t.child_text(r, "ICPN"))
                .collect(),
            delivery,
            md5: t
                .first(e, "HashSum")
                .filter(|h| t.child_text(*h, "HashSumAlgorithmType").as_deref() == Some("MD5"))
                .and_then(|h| t.child_text(h, "HashSum")),
        });
    }
    let declared = t.child_text(root, "NumberOfMessages");
    if declared.as_deref() != Some(&messages.len().to_string()) {
        return Err(shape(
            &t,
            root,
            format!(
                "NumberOfMessages says {}, the manifest lists {}",
                declared.unwrap_or_default(),
                messages.len()
            ),
        ));
    }
    Ok(Manifest {
        sender: read_party(&t, header.and_then(|h| t.first(h, "MessageSender"))),
        recipient: read_party(&t, header.and_then(|h| t.first(h, "MessageRecipient"))),
        created: header
            .and_then(|h| t.child_text(h, "MessageCreatedDateTime"))
            .unwrap_or_default(),
        test: t.child_text(root, "IsTestFlag").as_deref() == Some("true"),
        root_directory: t.child_text(root, "RootDirectory").unwrap_or_default(),
        messages,
    })
}

/// What the sender should do about an acknowledgement (delivery.md §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Ingested: stop the acknowledgement timer.
    Done,
    /// A transfer problem: send the XML and its resources again (bounded attempts).
    ResendAll,
    /// Only the XML went missing or was unreadable: send it again.
    ResendXml,
    /// The DSP had a fault of its own: try again later, with backoff.
    RetryLater,
    /// The content was refused, or a person at the DSP must look: surface the error text to
    /// the operator and the label; never resend automatically.
    Surface,
}

impl Action {
    /// The name kept with an acknowledgement in the catalog.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Done => "done",
            Action::ResendAll => "resend_all",
            Action::ResendXml => "resend_xml",
            Action::RetryLater => "retry_later",
            Action::Surface => "surface",
        }
    }

    /// The action of a kept name; an unknown name is for a person to look at.
    pub fn parse(name: &str) -> Action {
        match name {
            "done" => Action::Done,
            "resend_all" => Action::ResendAll,
            "resend_xml" => Action::ResendXml,
            "retry_later" => Action::RetryLater,
            _ => Action::Surface,
        }
    }

    /// Whether the DSP asks for the message again.
    pub fn is_resend(self) -> bool {
        matches!(
            self,
            Action::ResendAll | Action::ResendXml | Action::RetryLater
        )
    }
}

/// How many times a DSP may ask for a message again before a person must look.
pub const MAX_RESENDS: usize = 3;

/// Whether a delivery's acknowledgements (their actions, in any order) have asked for more
/// resends than [`MAX_RESENDS`]: then it fails, for a person to look at.
pub fn resends_exhausted<'a>(actions: impl IntoIterator<Item = &'a str>) -> Option<usize> {
    let n = actions
        .into_iter()
        .filter(|a| Action::parse(a).is_resend())
        .count();
    (n > MAX_RESENDS).then_some(n)
}

/// One acknowledgement, from either shape.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ack {
    pub sender: Party,
    pub recipient: Party,
    /// `xs:dateTime` the DSP wrote it.
    pub created: String,
    /// The release (or message) it is about.
    pub release_id: Option<String>,
    /// The acknowledged message's id (1.7/1.8 shape; 1.6 names it only in the file name).
    pub message_id: Option<String>,
    /// ErncFileStatus (`FileOK`, `ResourceCorrupt`, …), or the DSP's own value behind
    /// `UserDefined`.
    pub status: String,
    pub error_text: Option<String>,
    /// `ResendXmlOnly` / `ResendXmlAndResources`.
    pub proposed_action: Option<String>,
    pub manual_check: Option<bool>,
    /// ISRCs (or proprietary ids) of the resources the problem concerns.
    pub affected: Vec<String>,
}

impl Ack {
    /// What this acknowledgement asks for. A person-must-look flag always wins: nothing is
    /// resent automatically when the DSP says a human has to check first.
    pub fn action(&self) -> Action {
        if self.status == "FileOK" {
            return Action::Done;
        }
        if self.manual_check == Some(true) {
            return Action::Surface;
        }
        match self.proposed_action.as_deref() {
            Some("ResendXmlAndResources") => return Action::ResendAll,
            Some("ResendXmlOnly") => return Action::ResendXml,
            _ => {}
        }
        match self.status.as_str() {
            "ResourceCorrupt" | "ResourceMissing" | "SignatureOrHashSumWrongOrMissing" => {
                Action::ResendAll
            }
            "ErnMissing" => Action::ResendXml,
            "InternalError" => Action::RetryLater,
            _ => Action::Surface,
        }
    }

    pub fn created_at(&self) -> Option<DateTime<FixedOffset>> {
        DateTime::parse_from_rfc3339(&self.created).ok()
    }
}

/// The acknowledgement that counts among several for one message: the newest by creation
/// time (a DSP may acknowledge FileOK and later report a problem). Ties go to the later
/// one in `acks` (the order they were received).
pub fn latest(acks: &[Ack]) -> Option<&Ack> {
    acks.iter()
        .enumerate()
        .max_by_key(|(i, a)| (a.created_at(), *i))
        .map(|(_, a)| a)
}

/// Writes an ECHO 1.6 FtpAcknowledgementMessage (what the mock DSP writes back).
pub fn write_ack(a: &Ack) -> Vec<u8> {
    let mut x = document(1024);
    x.open_a(
        "ern-c-sftp:FtpAcknowledgementMessage",
        &[("xmlns:ern-c-sftp", NAMESPACE), ("MessageVersionId", "1.6")],
    );
    x.open("MessageHeader");
    party(&mut x, "MessageSender", &a.sender);
    party(&mut x, "MessageRecipient", &a.recipient);
    x.leaf("MessageCreatedDateTime", &a.created);
    x.close("MessageHeader");
    x.open("AcknowledgedFile");
    x.opt("ReleaseId", a.release_id.as_deref());
    x.close("AcknowledgedFile");
    if STANDARD_STATUSES.contains(&a.status.as_str()) {
        x.leaf("FileStatus", &a.status);
    } else {
        x.leaf_a(
            "FileStatus",
            &[
                ("Namespace", &a.sender.dpid),
                ("UserDefinedValue", &a.status),
            ],
            "UserDefined",
        );
    }
    x.opt("ErrorText", a.error_text.as_deref());
    x.opt("ProposedActionType", a.proposed_action.as_deref());
    if let Some(m) = a.manual_check {
        x.leaf("ManualCheckRequired", if m { "true" } else { "false" });
    }
    for r in &a.affected {
        x.open("AffectedResource");
        x.leaf("ISRC", r);
        x.close("AffectedResource");
    }
    x.close("ern-c-sftp:FtpAcknowledgementMessage");
    x.finish()
}

/// The ErncFileStatus values of the 1.6 allowed-value set, `UserDefined` aside.
pub const STANDARD_STATUSES: &[&str] = &[
    "ArtistRoleUnknown",
    "CommercialReleaseDateInvalid",
    "ConflictingAvailabilityPeriods",
    "DuplicatedPublisherNames",
    "ErnMissing",
    "FileOK",
    "IdentifierInvalid",
    "IdentifierSyntaxInvalid",
    "InternalError",
    "MetadataMissing",
    "NewReleaseMessageInvalid",
    "NoDealForTrackRelease",
    "NoDealInNewReleaseMessage",
    "OriginalReleaseDateLaterThanReleaseDate",
    "PrimaryArtistNameMissing",
    "ResourceCorrupt",
    "ResourceMissing",
    "ResourceNotMeetingSpecifications",
    "SignatureOrHashSumWrongOrMissing",
    "UnsupportedUsage",
];

fn status_of(t: &Tree, i: usize) -> String {
    let v = t.text(i);
    match t.attr(i, "UserDefinedValue") {
        Some(u) if v == "UserDefined" => u.to_owned(),
        _ => v.to_owned(),
    }
}

/// Reads an acknowledgement in either shape: ECHO 1.6 `FtpAcknowledgementMessage`, or the
/// 1.7/1.8 `AcknowledgementMessage` (ReleaseStatus → Acknowledgement → MessageStatus).
pub fn read_ack(bytes: &[u8]) -> Result<Ack, ChoreographyError> {
    let t = Tree::parse(bytes, Limits::default())?;
    let root = t.root();
    let header = t.first(root, "MessageHeader");
    let sender = read_party(&t, header.and_then(|h| t.first(h, "MessageSender")));
    let recipient = read_party(&t, header.and_then(|h| t.first(h, "MessageRecipient")));
    let created = header
        .and_then(|h| t.child_text(h, "MessageCreatedDateTime"))
        .unwrap_or_default();
    match t.name(root) {
        "FtpAcknowledgementMessage" => {
            let status = t
                .first(root, "FileStatus")
                .map(|i| status_of(&t, i))
                .ok_or_else(|| shape(&t, root, "no FileStatus".into()))?;
            Ok(Ack {
                sender,
                recipient,
                created,
                release_id: t
                    .path(root, &["AcknowledgedFile", "ReleaseId"])
                    .map(|i| t.text(i).to_owned()),
                message_id: None,
                status,
                error_text: t.child_text(root, "ErrorText"),
                proposed_action: t
                    .first(root, "ProposedActionType")
                    .map(|i| status_of(&t, i)),
                manual_check: t
                    .child_text(root, "ManualCheckRequired")
                    .map(|v| v == "true"),
                affected: t
                    .all(root, "AffectedResource")
                    .filter_map(|r| {
                        t.child_text(r, "ISRC")
                            .or_else(|| t.child_text(r, "ProprietaryId"))
                    })
                    .collect(),
            })
        }
        "AcknowledgementMessage" => {
            let rs = t
                .first(root, "ReleaseStatus")
                .ok_or_else(|| shape(&t, root, "no ReleaseStatus".into()))?;
            let ack = t.first(rs, "Acknowledgement");
            let status = ack
                .and_then(|a| t.path(a, &["MessageStatus", "Status"]))
                .map(|i| status_of(&t, i))
                .or_else(|| {
                    // Only the release-level verdict: map the two values seen in the wild.
                    t.child_text(rs, "ReleaseStatus").map(|s| {
                        if s == "SuccessfullyIngestedByReleaseDistributor" {
                            "FileOK".to_owned()
                        } else {
                            s
                        }
                    })
                })
                .ok_or_else(|| shape(&t, rs, "no MessageStatus/Status or ReleaseStatus".into()))?;
            Ok(Ack {
                sender,
                recipient,
                created,
                release_id: t.child_text(rs, "ReleaseId"),
                message_id: ack.and_then(|a| t.child_text(a, "MessageId")),
                status,
                error_text: t.child_text(rs, "ErrorText"),
                proposed_action: None,
                manual_check: None,
                affected: Vec::new(),
            })
        }
        other => Err(shape(
            &t,
            root,
            format!(
                "<{other}> is not an acknowledgement (FtpAcknowledgementMessage, AcknowledgementMessage)"
            ),
        )),
    }
}

/// Where a delivery (one message with its files, to one DSP) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Queued,
    Uploading,
    Uploaded,
    Acknowledged,
    Rejected,
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 6] = [
        DeliveryStatus::Queued,
        DeliveryStatus::Uploading,
        DeliveryStatus::Uploaded,
        DeliveryStatus::Acknowledged,
        DeliveryStatus::Rejected,
        DeliveryStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Uploading => "uploading",
            DeliveryStatus::Uploaded => "uploaded",
            DeliveryStatus::Acknowledged => "acknowledged",
            DeliveryStatus::Rejected => "rejected",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        DeliveryStatus::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// The moves a delivery may make. An upload interrupted (crash, dropped connection)
    /// goes back to queued and resumes; a DSP may acknowledge again later with another
    /// status, so acknowledged and rejected can turn into each other or back to queued (a
    /// resend it asked for); failed (attempts exhausted) is requeued by an operator only.
    pub fn can_move_to(self, next: DeliveryStatus) -> bool {
        use DeliveryStatus::*;
        matches!(
            (self, next),
            (Queued, Uploading)
                | (Uploading, Uploaded | Queued | Failed)
                | (Uploaded, Acknowledged | Rejected | Queued | Failed)
                | (Acknowledged, Rejected | Queued)
                | (Rejected, Acknowledged | Queued)
                | (Failed, Queued)
        )
    }

    /// The status an acknowledgement's action leads to.
    pub fn after_ack(action: Action) -> DeliveryStatus {
        match action {
            Action::Done => DeliveryStatus::Acknowledged,
            Action::Surface => DeliveryStatus::Rejected,
            Action::ResendAll | Action::ResendXml | Action::RetryLater => DeliveryStatus::Queued,
        }
    }
}

impl std::fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One file of a delivery package: where it goes at the DSP, what it is, and its digests.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PackageFile {
    /// Path at the DSP, relative to the transport's root.
    pub remote: String,
    /// What the sender uploads: a content hash (`sha256:…`) or `message` for the ERN XML.
    pub source: String,
    pub md5: String,
    pub size: u64,
}

/// A release's part of a delivery: its ERN message and the resources it references
/// (by the relative URIs written in the message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasePart {
    /// The release's id in folder names: the UPC (what DSPs such as Spotify use).
    pub release_id: String,
    pub message_id: String,
    pub message_md5: String,
    pub message_size: u64,
    pub delivery: DeliveryType,
    /// (URI in the message, source, MD5, size).
    pub resources: Vec<(String, String, String, u64)>,
}

/// Files in upload order: every resource before its message, and (batch) the manifest last.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Package {
    /// The batch or release folder.
    pub root: String,
    pub files: Vec<PackageFile>,
    /// (name, bytes) of the BatchComplete manifest, uploaded after everything else.
    pub manifest: Option<(String, Vec<u8>)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackageError {
    #[error("release {0} appears twice in one batch (ECHO: a release is in one open batch once)")]
    Duplicate(String),
    #[error("{release}: resource path {uri:?} leaves the release folder")]
    Path { release: String, uri: String },
    #[error("a batch needs at least one release")]
    Empty,
}

fn part_files(prefix: &str, p: &ReleasePart) -> Result<Vec<PackageFile>, PackageError> {
    let mut out = Vec::with_capacity(p.resources.len() + 1);
    for (uri, source, md5, size) in &p.resources {
        if uri.starts_with('/') || uri.split('/').any(|s| s == ".." || s.is_empty()) {
            return Err(PackageError::Path {
                release: p.release_id.clone(),
                uri: uri.clone(),
            });
        }
        out.push(PackageFile {
            remote: format!("{prefix}/{uri}"),
            source: source.clone(),
            md5: md5.clone(),
            size: *size,
        });
    }
    // The message after its resources: DSPs that ingest on arrival find every file there.
    out.push(PackageFile {
        remote: format!("{prefix}/{}.xml", p.release_id),
        source: "message".into(),
        md5: p.message_md5.clone(),
        size: p.message_size,
    });
    Ok(out)
}

/// ECHO §6 batch: `{P|N}_{BatchId}/{ReleaseId}/…`, then `BatchComplete_{BatchId}.xml`.
pub fn batch_package(
    manifest_header: (&Party, &Party, &str),
    batch_id: &str,
    priority: bool,
    test: bool,
    parts: &[ReleasePart],
) -> Result<Package, PackageError> {
    if parts.is_empty() {
        return Err(PackageError::Empty);
    }
    let root = batch_folder(priority, batch_id);
    let mut seen = std::collections::BTreeSet::new();
    let mut files = Vec::new();
    let mut entries = Vec::new();
    for p in parts {
        if !seen.insert(p.release_id.clone()) {
            return Err(PackageError::Duplicate(p.release_id.clone()));
        }
        files.extend(part_files(&format!("{root}/{}", p.release_id), p)?);
        entries.push(BatchEntry {
            message_id: p.message_id.clone(),
            url: format!("{}/{}.xml", p.release_id, p.release_id),
            icpns: vec![p.release_id.clone()],
            delivery: p.delivery,
            md5: Some(p.message_md5.clone()),
        });
    }
    let (sender, recipient, created) = manifest_header;
    let manifest = write_manifest(&Manifest {
        sender: sender.clone(),
        recipient: recipient.clone(),
        created: created.to_owned(),
        test,
        root_directory: root.clone(),
        messages: entries,
    });
    Ok(Package {
        manifest: Some((format!("{root}/{}", manifest_name(batch_id)), manifest)),
        root,
        files,
    })
}

/// ECHO §5 release-by-release: `{P|N}_{ReleaseId}_{YYYYMMDDhhmmssnnn}/…`, the message last.
pub fn release_package(
    priority: bool,
    at: DateTime<FixedOffset>,
    part: &ReleasePart,
) -> Result<Package, PackageError> {
    let root = format!(
        "{}_{}_{}",
        if priority { "P" } else { "N" },
        part.release_id,
        at.format("%Y%m%d%H%M%S%3f")
    );
    Ok(Package {
        files: part_files(&root, part)?,
        root,
        manifest: None,
    })
}
