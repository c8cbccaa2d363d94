//! E-mail to the people a delivery concerns: the label's contact when a DSP rejects a
//! release or an acknowledgement is overdue, and a daily summary for the distributor.
//!
//! Messages are composed here from plain facts (pure: [`rejected`], [`failed`],
//! [`overdue`], [`summary`]) and sent with lettre over SMTP. Without an SMTP server
//! configured, each message is written as an `.eml` file into an outbox folder instead, so
//! nothing an operator should see is silently dropped.

use std::path::{Path, PathBuf};

use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::{Message, SmtpTransport, Transport};

/// One e-mail to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// Files sent along: (file name, MIME type, bytes).
    pub attachments: Vec<(String, String, Vec<u8>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("e-mail address {0:?}: {1}")]
    Address(String, String),
    #[error("composing the e-mail: {0}")]
    Compose(String),
    #[error("SMTP {server}: {why}")]
    Smtp { server: String, why: String },
    #[error("outbox {path}: {why}")]
    Outbox { path: String, why: String },
}

/// Where e-mail goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailer {
    /// `host:port` of a plain SMTP relay (loopback, or a local MTA that relays onward).
    pub smtp: Option<(String, u16)>,
    pub from: String,
    /// `.eml` files land here when no SMTP server is configured.
    pub outbox: PathBuf,
}

/// How a notice went out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    Smtp(String),
    Outbox(PathBuf),
}

impl std::fmt::Display for Sent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sent::Smtp(s) => write!(f, "sent via SMTP {s}"),
            Sent::Outbox(p) => write!(f, "written to {} (no SMTP server configured)", p.display()),
        }
    }
}

fn mailbox(s: &str) -> Result<Mailbox, MailError> {
    s.parse()
        .map_err(|e: lettre::address::AddressError| MailError::Address(s.to_owned(), e.to_string()))
}

impl Mailer {
    pub fn send(&self, n: &Notice) -> Result<Sent, MailError> {
        let builder = Message::builder()
            .from(mailbox(&self.from)?)
            .to(mailbox(&n.to)?)
            .subject(&n.subject);
        let msg = if n.attachments.is_empty() {
            builder.header(ContentType::TEXT_PLAIN).body(n.body.clone())
        } else {
            let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(n.body.clone()));
            for (name, mime, bytes) in &n.attachments {
                let ct = ContentType::parse(mime).map_err(|e| MailError::Compose(e.to_string()))?;
                parts = parts.singlepart(Attachment::new(name.clone()).body(bytes.clone(), ct));
            }
            builder.multipart(parts)
        }
        .map_err(|e| MailError::Compose(e.to_string()))?;
        match &self.smtp {
            Some((host, port)) => {
                let server = format!("{host}:{port}");
                let t = SmtpTransport::builder_dangerous(host).port(*port).build();
                t.send(&msg).map_err(|e| MailError::Smtp {
                    server: server.clone(),
                    why: e.to_string(),
                })?;
                Ok(Sent::Smtp(server))
            }
            None => {
                let out = |e: std::io::Error| MailError::Outbox {
                    path: self.outbox.display().to_string(),
                    why: e.to_string(),
                };
                std::fs::create_dir_all(&self.outbox).map_err(out)?;
                let name = format!(
                    "{}-{}.eml",
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_nanos())
                        .unwrap_or(0),
                    safe(&n.subject)
                );
                let path = self.outbox.join(name);
                std::fs::write(&path, msg.formatted()).map_err(out)?;
                Ok(Sent::Outbox(path))
            }
        }
    }
}

fn safe(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(60)
        .collect()
}

/// A payee's statement for a period, with its CSV and HTML attached.
pub fn statement(
    to: &str,
    name: &str,
    period: &str,
    closing: &str,
    paid: Option<&str>,
    csv: &str,
    html: &str,
) -> Notice {
    let paid_line = match paid {
        Some(p) => format!("A payment of {p} is on its way.\n"),
        None => {
            "Your balance is below your payout threshold and carries forward to the next period.\n"
                .to_owned()
        }
    };
    Notice {
        to: to.to_owned(),
        subject: format!("Your royalty statement for {period}"),
        body: format!(
            "Hello {name},\n\nyour royalty statement for {period} is attached (HTML to read or print, CSV with every line and how it was worked out).\n\nClosing balance: {closing}\n{paid_line}\n-- Liner\n"
        ),
        attachments: vec![
            (
                format!("statement-{period}.html"),
                "text/html; charset=utf-8".to_owned(),
                html.as_bytes().to_vec(),
            ),
            (
                format!("statement-{period}.csv"),
                "text/csv; charset=utf-8".to_owned(),
                csv.as_bytes().to_vec(),
            ),
        ],
    }
}

/// Facts about one delivery, for the texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryFacts<'a> {
    pub upc: &'a str,
    pub title: &'a str,
    pub dsp: &'a str,
    pub message_id: &'a str,
}

/// A DSP refused a release: what it said, and what the label should do.
pub fn rejected(to: &str, d: &DeliveryFacts<'_>, status: &str, error: &str) -> Notice {
    Notice {
        attachments: Vec::new(),
        to: to.to_owned(),
        subject: format!("[Liner] {} rejected {} ({})", d.dsp, d.title, d.upc),
        body: format!(
            "{dsp} did not accept \"{title}\" (UPC {upc}).\n\n\
             Status: {status}\nWhat {dsp} said: {error}\nMessage: {mid}\n\n\
             Nothing is resent automatically. Fix the release (liner qc {upc}), then deliver it again \
             (liner deliver {upc} --to {dsp}).\n",
            dsp = d.dsp,
            title = d.title,
            upc = d.upc,
            mid = d.message_id,
        ),
    }
}

/// A delivery could not be made (host key, credentials, a missing file, attempts used up).
pub fn failed(to: &str, d: &DeliveryFacts<'_>, error: &str) -> Notice {
    Notice {
        attachments: Vec::new(),
        to: to.to_owned(),
        subject: format!(
            "[Liner] delivery of {} to {} failed ({})",
            d.title, d.dsp, d.upc
        ),
        body: format!(
            "\"{title}\" (UPC {upc}) could not be delivered to {dsp}.\n\nReason: {error}\nMessage: {mid}\n\n\
             It is not marked delivered. Once the cause is fixed, run: liner deliver {upc} --to {dsp}\n",
            dsp = d.dsp,
            title = d.title,
            upc = d.upc,
            mid = d.message_id,
        ),
    }
}

/// No acknowledgement within the DSP's deadline.
pub fn overdue(to: &str, d: &DeliveryFacts<'_>, uploaded_at: &str, hours: u32) -> Notice {
    Notice {
        attachments: Vec::new(),
        to: to.to_owned(),
        subject: format!(
            "[Liner] {} has not acknowledged {} ({})",
            d.dsp, d.title, d.upc
        ),
        body: format!(
            "{dsp} received \"{title}\" (UPC {upc}) at {uploaded_at} and has not acknowledged it within \
             {hours} hours (its deadline).\nMessage: {mid}\n\nCheck with {dsp}; `liner deliveries --refresh` reads \
             acknowledgements again.\n",
            dsp = d.dsp,
            title = d.title,
            upc = d.upc,
            mid = d.message_id,
        ),
    }
}

/// Something unattended work could not do and an operator must look at (a job out of
/// attempts, a sales report refused).
pub fn operator_alert(to: &str, what: &str, details: &str, next: &str) -> Notice {
    Notice {
        attachments: Vec::new(),
        to: to.to_owned(),
        subject: format!("[Liner] {what}"),
        body: format!("{what}\n\n{details}\n\nWhat to do: {next}\n"),
    }
}

/// One line of the daily summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryLine {
    pub upc: String,
    pub dsp: String,
    pub status: String,
    pub error: Option<String>,
}

pub fn summary(to: &str, day: &str, lines: &[SummaryLine]) -> Notice {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for l in lines {
        *counts.entry(l.status.as_str()).or_default() += 1;
    }
    let mut body = format!("Deliveries on {day}: {}\n\n", lines.len());
    for (s, n) in &counts {
        body.push_str(&format!("  {s}: {n}\n"));
    }
    body.push('\n');
    for l in lines {
        body.push_str(&format!("{}  {:<14} {}", l.upc, l.dsp, l.status));
        if let Some(e) = &l.error {
            body.push_str(&format!("  ({e})"));
        }
        body.push('\n');
    }
    Notice {
        attachments: Vec::new(),
        to: to.to_owned(),
        subject: format!("[Liner] delivery summary {day}: {} deliveries", lines.len()),
        body,
    }
}

/// Reads the outbox (for tests and `liner` output).
pub fn outbox_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_name_the_release_the_dsp_and_what_to_do() {
        let d = DeliveryFacts {
            upc: "196543210010",
            title: "Night Drive",
            dsp: "spotify",
            message_id: "m1",
        };
        let n = rejected(
            "label@example.com",
            &d,
            "NewReleaseMessageInvalid",
            "line 3: bad",
        );
        assert!(
            n.subject
                .contains("spotify rejected Night Drive (196543210010)")
        );
        assert!(
            n.body.contains("line 3: bad")
                && n.body.contains("liner deliver 196543210010 --to spotify")
        );
        let s = summary(
            "ops@example.com",
            "2026-11-26",
            &[
                SummaryLine {
                    upc: "1".into(),
                    dsp: "a".into(),
                    status: "acknowledged".into(),
                    error: None,
                },
                SummaryLine {
                    upc: "2".into(),
                    dsp: "a".into(),
                    status: "rejected".into(),
                    error: Some("x".into()),
                },
            ],
        );
        assert!(
            s.body.contains("acknowledged: 1")
                && s.body.contains("rejected: 1")
                && s.body.contains("(x)")
        );
    }

    #[test]
    fn without_smtp_mail_lands_in_the_outbox() {
        let dir = tempfile_dir();
        let m = Mailer {
            smtp: None,
            from: "liner@example.com".into(),
            outbox: dir.clone(),
        };
        let sent = m
            .send(&Notice {
                attachments: Vec::new(),
                to: "label@example.com".into(),
                subject: "s".into(),
                body: "b".into(),
            })
            .expect("outbox");
        assert!(matches!(sent, Sent::Outbox(_)));
        let files = outbox_files(&dir);
        assert_eq!(files.len(), 1);
        let text = std::fs::read_to_string(&files[0]).expect("eml");
        assert!(text.contains("To: label@example.com") && text.contains("Subject: s"));
        let bad = m.send(&Notice {
            attachments: Vec::new(),
            to: "not an address".into(),
            subject: "s".into(),
            body: "b".into(),
        });
        assert!(matches!(bad, Err(MailError::Address(..))));
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("liner-notify-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }
}
