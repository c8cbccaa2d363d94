//! Manifests and acknowledgements against the official ECHO 1.6 XSD, both acknowledgement
//! shapes read, the status -> action table, and "the latest acknowledgement counts".
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use choreography::*;
use proptest::prelude::*;

fn xsd() -> Option<xsd::Schema> {
    let p: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/ddex/xsd/ern-choreography-sftp-1.6/ern-choreography-sftp.xsd");
    if p.is_file() {
        Some(xsd::Schema::load(&p).expect("choreography XSD compiles"))
    } else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {} is missing",
            p.display()
        );
        None
    }
}

fn party(dpid: &str, name: &str) -> Party {
    Party {
        dpid: dpid.into(),
        name: Some(name.into()),
    }
}

fn ack(status: &str, created: &str) -> Ack {
    Ack {
        sender: party("PADPIDA0000000001S", "Spotify"),
        recipient: party("PADPIDA2026112601L", "Liner"),
        created: created.into(),
        release_id: Some("196543210010".into()),
        message_id: None,
        status: status.into(),
        error_text: None,
        proposed_action: None,
        manual_check: None,
        affected: vec![],
    }
}

#[test]
fn names_follow_the_batch_profile() {
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-26T10:15:00.123+00:00").unwrap();
    let id = batch_id(at);
    assert_eq!(id, "20261126101500123");
    assert_eq!(batch_folder(false, &id), "N_20261126101500123");
    assert_eq!(batch_folder(true, &id), "P_20261126101500123");
    assert_eq!(manifest_name(&id), "BatchComplete_20261126101500123.xml");
    assert_eq!(ack_name("M1", at), "ACK_M1_20261126101500123.xml");
}

#[test]
fn a_manifest_validates_and_reads_back() {
    let m = Manifest {
        sender: party("PADPIDA2026112601L", "Liner"),
        recipient: party("PADPIDA0000000001S", "Spotify"),
        created: "2026-11-26T10:15:00+00:00".into(),
        test: false,
        root_directory: "N_20261126101500123".into(),
        messages: vec![
            BatchEntry {
                message_id: "196543210010-spotify-1".into(),
                url: "196543210010/196543210010.xml".into(),
                icpns: vec!["196543210010".into()],
                delivery: DeliveryType::NewReleaseDelivery,
                md5: Some("0123456789abcdef0123456789abcdef".into()),
            },
            BatchEntry {
                message_id: "196543210027-spotify-2".into(),
                url: "196543210027/196543210027.xml".into(),
                icpns: vec!["196543210027".into()],
                delivery: DeliveryType::TakeDown,
                md5: None,
            },
        ],
    };
    let xml = write_manifest(&m);
    if let Some(s) = xsd() {
        assert_eq!(
            s.validate(&xml).unwrap(),
            vec![],
            "{}",
            String::from_utf8_lossy(&xml)
        );
    }
    assert_eq!(read_manifest(&xml).unwrap(), m);
    // A manifest whose count disagrees with its entries is refused, with where.
    let text = String::from_utf8(xml)
        .unwrap()
        .replace("<NumberOfMessages>2<", "<NumberOfMessages>3<");
    let e = read_manifest(text.as_bytes()).unwrap_err().to_string();
    assert!(
        e.contains("NumberOfMessages says 3, the manifest lists 2"),
        "{e}"
    );
    assert!(e.starts_with("line 2"), "{e}");
}

#[test]
fn acknowledgements_validate_and_read_back_in_both_shapes() {
    let mut a = ack("ResourceCorrupt", "2026-11-26T11:00:00+00:00");
    a.error_text = Some("A2 fails its MD5".into());
    a.proposed_action = Some("ResendXmlAndResources".into());
    a.manual_check = Some(false);
    a.affected = vec!["GBNJR2600002".into()];
    let xml = write_ack(&a);
    if let Some(s) = xsd() {
        assert_eq!(s.validate(&xml).unwrap(), vec![]);
    }
    assert_eq!(read_ack(&xml).unwrap(), a);
    // A DSP's own status travels as UserDefined and reads back as its value.
    let own = ack("ResourceBinariesMissing", "2026-11-26T11:00:00+00:00");
    let xml = write_ack(&own);
    if let Some(s) = xsd() {
        assert_eq!(s.validate(&xml).unwrap(), vec![]);
    }
    assert!(String::from_utf8_lossy(&xml).contains("UserDefinedValue=\"ResourceBinariesMissing\""));
    assert_eq!(read_ack(&xml).unwrap().status, "ResourceBinariesMissing");
    // The 1.7/1.8 shape, as a gateway in the wild writes it.
    let v18 = br#"<?xml version="1.0" encoding="UTF-8"?>
<ernc:AcknowledgementMessage xmlns:ernc="http://ddex.net/xml/ern-c-sftp/18" AvsVersionId="4">
  <MessageHeader><MessageSender><PartyId>PADPIDA0000000002X</PartyId></MessageSender>
    <MessageRecipient><PartyId>PADPIDA2026112601L</PartyId></MessageRecipient>
    <MessageCreatedDateTime>2026-11-26T12:00:00Z</MessageCreatedDateTime></MessageHeader>
  <ReleaseStatus><ReleaseId>196543210010</ReleaseId>
    <ReleaseStatus>ProcessingErrorAtReleaseDistributor</ReleaseStatus>
    <ErrorText>cover art below 3000 px</ErrorText>
    <Acknowledgement><MessageType>NewReleaseMessage</MessageType><MessageId>196543210010-x-1</MessageId>
      <MessageStatus><Status>ResourceCorrupt</Status></MessageStatus></Acknowledgement>
  </ReleaseStatus>
</ernc:AcknowledgementMessage>"#;
    let r = read_ack(v18).unwrap();
    assert_eq!(r.status, "ResourceCorrupt");
    assert_eq!(r.message_id.as_deref(), Some("196543210010-x-1"));
    assert_eq!(r.error_text.as_deref(), Some("cover art below 3000 px"));
    assert_eq!(r.sender.dpid, "PADPIDA0000000002X");
    // Not an acknowledgement at all: refused with where.
    let e = read_ack(b"<Manifest/>").unwrap_err().to_string();
    assert!(e.contains("is not an acknowledgement"), "{e}");
}

#[test]
fn each_status_maps_to_what_the_sender_does() {
    let act = |s: &str| ack(s, "2026-11-26T11:00:00Z").action();
    assert_eq!(act("FileOK"), Action::Done);
    for s in [
        "ResourceCorrupt",
        "ResourceMissing",
        "SignatureOrHashSumWrongOrMissing",
    ] {
        assert_eq!(act(s), Action::ResendAll, "{s}");
    }
    assert_eq!(act("ErnMissing"), Action::ResendXml);
    assert_eq!(act("InternalError"), Action::RetryLater);
    for s in [
        "NewReleaseMessageInvalid",
        "NoDealInNewReleaseMessage",
        "PrimaryArtistNameMissing",
        "ResourceNotMeetingSpecifications",
        "SomeDspOwnCode",
    ] {
        assert_eq!(act(s), Action::Surface, "{s}");
    }
    // The DSP's proposal decides the kind of resend; a person-must-look flag stops any.
    let mut a = ack("NewReleaseMessageInvalid", "2026-11-26T11:00:00Z");
    a.proposed_action = Some("ResendXmlOnly".into());
    assert_eq!(a.action(), Action::ResendXml);
    a.manual_check = Some(true);
    assert_eq!(a.action(), Action::Surface);
    let mut b = ack("ResourceMissing", "2026-11-26T11:00:00Z");
    b.manual_check = Some(true);
    assert_eq!(b.action(), Action::Surface);
    // Every standard status has an action; none but FileOK says done.
    for s in STANDARD_STATUSES {
        assert_eq!(act(s) == Action::Done, *s == "FileOK", "{s}");
    }
}

#[test]
fn the_latest_acknowledgement_counts() {
    let ok = ack("FileOK", "2026-11-26T11:00:00+00:00");
    let later_error = ack("ResourceCorrupt", "2026-11-26T13:00:00+02:00"); // 11:00 UTC: a tie
    let much_later = ack("FileOK", "2026-11-27T08:00:00+00:00");
    assert_eq!(latest(std::slice::from_ref(&ok)).unwrap().status, "FileOK");
    // Same instant: the one received later wins.
    assert_eq!(
        latest(&[ok.clone(), later_error.clone()]).unwrap().status,
        "ResourceCorrupt"
    );
    assert_eq!(
        latest(&[much_later.clone(), ok.clone(), later_error.clone()])
            .unwrap()
            .status,
        "FileOK"
    );
    assert!(latest(&[]).is_none());
}

proptest! {
    /// Whatever a DSP puts in an acknowledgement, Liner's own writer and reader agree, and
    /// reading arbitrary bytes never panics.
    #[test]
    fn acknowledgements_round_trip(status in proptest::sample::select(STANDARD_STATUSES.to_vec()),
                                   text in proptest::option::of("[ -~\u{e9}\u{4e00}]{0,40}"),
                                   manual in proptest::option::of(any::<bool>()),
                                   junk in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut a = ack(status, "2026-11-26T11:00:00+00:00");
        a.error_text = text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        a.manual_check = manual;
        prop_assert_eq!(read_ack(&write_ack(&a)).unwrap(), a);
        let _ = read_ack(&junk);
        let _ = read_manifest(&junk);
    }
}

#[test]
fn delivery_states_move_only_along_the_choreography() {
    use DeliveryStatus::*;
    for s in DeliveryStatus::ALL {
        assert_eq!(DeliveryStatus::parse(s.as_str()), Some(s));
        assert!(!s.can_move_to(s), "{s} -> {s} is not a move");
    }
    assert!(Queued.can_move_to(Uploading));
    assert!(
        Uploading.can_move_to(Queued),
        "an interrupted upload resumes"
    );
    assert!(Uploaded.can_move_to(Acknowledged) && Uploaded.can_move_to(Rejected));
    assert!(
        Acknowledged.can_move_to(Rejected),
        "FileOK, then an error later"
    );
    assert!(
        !Queued.can_move_to(Acknowledged),
        "nothing is acknowledged before it is uploaded"
    );
    assert!(
        !Failed.can_move_to(Uploading),
        "a failed delivery is requeued first"
    );
    assert_eq!(DeliveryStatus::after_ack(Action::Done), Acknowledged);
    assert_eq!(DeliveryStatus::after_ack(Action::Surface), Rejected);
    assert_eq!(DeliveryStatus::after_ack(Action::ResendAll), Queued);
}

fn part(upc: &str) -> ReleasePart {
    ReleasePart {
        release_id: upc.into(),
        message_id: format!("{upc}-spotify-1"),
        message_md5: "00112233445566778899aabbccddeeff".into(),
        message_size: 20_000,
        delivery: DeliveryType::NewReleaseDelivery,
        resources: vec![
            (
                format!("resources/{upc}_01.flac"),
                "sha256:aa".into(),
                "a1".repeat(16),
                30_000_000,
            ),
            (
                format!("resources/{upc}_cover.jpg"),
                "sha256:bb".into(),
                "b2".repeat(16),
                2_000_000,
            ),
        ],
    }
}

#[test]
fn packages_put_resources_before_messages_and_the_manifest_last() {
    let liner = party("PADPIDA2026112601L", "Liner");
    let spotify = party("PADPIDA0000000001S", "Spotify");
    let p = batch_package(
        (&liner, &spotify, "2026-11-26T10:15:00+00:00"),
        "20261126101500123",
        false,
        false,
        &[part("196543210010"), part("196543210027")],
    )
    .unwrap();
    assert_eq!(p.root, "N_20261126101500123");
    let remotes: Vec<&str> = p.files.iter().map(|f| f.remote.as_str()).collect();
    assert_eq!(
        remotes,
        [
            "N_20261126101500123/196543210010/resources/196543210010_01.flac",
            "N_20261126101500123/196543210010/resources/196543210010_cover.jpg",
            "N_20261126101500123/196543210010/196543210010.xml",
            "N_20261126101500123/196543210027/resources/196543210027_01.flac",
            "N_20261126101500123/196543210027/resources/196543210027_cover.jpg",
            "N_20261126101500123/196543210027/196543210027.xml",
        ]
    );
    let (name, bytes) = p.manifest.as_ref().unwrap();
    assert_eq!(
        name,
        "N_20261126101500123/BatchComplete_20261126101500123.xml"
    );
    if let Some(s) = xsd() {
        assert_eq!(s.validate(bytes).unwrap(), vec![]);
    }
    let m = read_manifest(bytes).unwrap();
    assert_eq!(m.messages.len(), 2);
    assert_eq!(m.messages[0].url, "196543210010/196543210010.xml");
    assert_eq!(
        m.messages[0].md5.as_deref(),
        Some("00112233445566778899aabbccddeeff")
    );
    // A release once per batch; resource paths stay inside the release folder.
    assert_eq!(
        batch_package(
            (&liner, &spotify, "x"),
            "1",
            false,
            false,
            &[part("1"), part("1")]
        )
        .unwrap_err(),
        PackageError::Duplicate("1".into())
    );
    let mut bad = part("2");
    bad.resources[0].0 = "../../etc/passwd".into();
    assert!(matches!(
        batch_package((&liner, &spotify, "x"), "1", false, false, &[bad]),
        Err(PackageError::Path { .. })
    ));
    assert_eq!(
        batch_package((&liner, &spotify, "x"), "1", false, false, &[]).unwrap_err(),
        PackageError::Empty
    );

    let at = chrono::DateTime::parse_from_rfc3339("2026-11-26T10:15:00.123+00:00").unwrap();
    let r = release_package(true, at, &part("196543210010")).unwrap();
    assert_eq!(r.root, "P_196543210010_20261126101500123");
    assert!(r.manifest.is_none());
    assert_eq!(
        r.files.last().unwrap().remote,
        "P_196543210010_20261126101500123/196543210010.xml"
    );
}
