//! Staff review: the reason codes a decision carries and what a decision needs (docs/qc.md).
//! Pure: the application layer finds the release's QC runs and records the decision.

/// Reason codes staff give with an approval.
pub const APPROVE_CODES: &[(&str, &str)] = &[
    ("CLEAN", "QC found nothing blocking; approved as is"),
    (
        "OVERRIDE",
        "approved despite blocking findings (the reason says why)",
    ),
    ("EDITED", "approved after staff corrected the metadata"),
];

/// Reason codes staff give with a rejection.
pub const REJECT_CODES: &[(&str, &str)] = &[
    ("METADATA", "metadata breaks the DSPs' style guides"),
    ("AUDIO", "audio fails the technical requirements"),
    ("ARTWORK", "artwork fails the requirements or content rules"),
    ("RIGHTS", "ownership or licensing is unclear"),
    ("DUPLICATE", "the content is already distributed"),
    ("AI-POLICY", "AI content not allowed by the label's policy"),
    ("FRAUD", "signs of artificial streaming or spam"),
    ("LEGAL", "legal or content-policy problem"),
    ("OTHER", "anything else (the reason says what)"),
];

/// How many blocked revisions make a release a person's case (industry practice: three).
pub const ESCALATE_AFTER: usize = 3;

/// A decision as asked for, checked: the code (defaulted, upper-cased, one of the list) and
/// the reason (required unless a clean approval). `blocked_for`: the DSPs whose QC run
/// blocked the revision; `revision` for the messages.
pub fn checked_decision(
    approve: bool,
    code: Option<&str>,
    reason: Option<&str>,
    revision: i64,
    blocked_for: &[&str],
) -> Result<(String, String), String> {
    let codes = if approve { APPROVE_CODES } else { REJECT_CODES };
    let list = || codes.iter().map(|c| c.0).collect::<Vec<_>>().join(", ");
    let blocked = !blocked_for.is_empty();
    let code = match (code, approve) {
        (Some(c), _) => c.to_ascii_uppercase(),
        (None, true) if !blocked => "CLEAN".to_owned(),
        (None, true) => {
            return Err(format!(
                "QC blocked revision {revision} for {}: approving it needs --code OVERRIDE and a --reason",
                blocked_for.join(", ")
            ));
        }
        (None, false) => return Err(format!("a rejection needs --code (one of {})", list())),
    };
    if !codes.iter().any(|c| c.0 == code) {
        return Err(format!(
            "{code:?} is not a {} code; expected one of {}",
            if approve { "approval" } else { "rejection" },
            list()
        ));
    }
    let reason = reason.map(|r| r.trim().to_owned()).unwrap_or_default();
    if reason.is_empty() && (!approve || code != "CLEAN") {
        return Err(format!(
            "--reason is required for {} {code}",
            if approve { "approval" } else { "rejection" }
        ));
    }
    if approve && blocked && code == "CLEAN" {
        return Err(format!(
            "QC blocked revision {revision}: approve with --code OVERRIDE (or EDITED) and a --reason"
        ));
    }
    Ok((code, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_needs_a_known_code_and_a_reason_unless_clean() {
        assert_eq!(
            checked_decision(true, None, None, 2, &[]),
            Ok(("CLEAN".into(), String::new()))
        );
        assert!(
            checked_decision(true, None, None, 2, &["spotify"])
                .is_err_and(|e| e.contains("OVERRIDE"))
        );
        assert!(checked_decision(true, Some("clean"), None, 2, &["spotify"]).is_err());
        assert_eq!(
            checked_decision(
                true,
                Some("override"),
                Some(" label asked "),
                2,
                &["spotify"]
            ),
            Ok(("OVERRIDE".into(), "label asked".into()))
        );
        assert!(
            checked_decision(false, Some("AUDIO"), None, 2, &[])
                .is_err_and(|e| e.contains("--reason"))
        );
        assert!(
            checked_decision(false, None, Some("x"), 2, &[]).is_err_and(|e| e.contains("METADATA"))
        );
        assert!(
            checked_decision(false, Some("NOPE"), Some("x"), 2, &[])
                .is_err_and(|e| e.contains("rejection code"))
        );
    }
}
