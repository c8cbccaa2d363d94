//! Staff review: the queue with each DSP's gate, the decision log, and decisions — signed
//! by the person who makes them (a parameter, not process configuration).

use crate::{App, Error, Result, bail};

/// One DSP's gate for a release.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GateCell {
    pub gate: Option<store::Gate>,
    pub deliverable: bool,
}

/// Values by DSP profile, in profile order (a JSON object).
#[derive(Debug, Clone)]
pub struct ByDsp(pub Vec<(String, GateCell)>);

impl serde::Serialize for ByDsp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// One release in the review queue.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QueueRow {
    pub upc: String,
    pub title: String,
    pub artist: String,
    pub revision: i64,
    pub status: String,
    /// The verdict matrix: each DSP profile's gate, in profile order.
    pub dsps: ByDsp,
    pub deliverable_to: Vec<String>,
    pub blocked_revisions: usize,
    /// Three blocked revisions or more: a person takes it over.
    pub escalate: bool,
}

/// The review queue: every release with its gate per DSP.
pub async fn queue(app: &App) -> Result<(Vec<String>, Vec<QueueRow>)> {
    let store = app.catalog();
    let profiles: Vec<String> = app.profiles()?.iter().map(|p| p.name.clone()).collect();
    let mut rows = Vec::new();
    for r in store.releases().await? {
        let mut dsps = Vec::new();
        for dsp in &profiles {
            let g = store.gate(&r.upc, dsp).await?;
            let deliverable = g.as_ref().is_some_and(store::Gate::deliverable);
            dsps.push((
                dsp.clone(),
                GateCell {
                    gate: g,
                    deliverable,
                },
            ));
        }
        let mut blocked_revisions: Vec<i64> = store
            .qc_runs(&r.upc)
            .await?
            .iter()
            .filter(|q| q.blocked)
            .map(|q| q.revision)
            .collect();
        blocked_revisions.dedup();
        rows.push(QueueRow {
            deliverable_to: dsps
                .iter()
                .filter(|(_, c)| c.deliverable)
                .map(|(d, _)| d.clone())
                .collect(),
            upc: r.upc,
            title: r.title,
            artist: r.artist,
            revision: r.revision,
            status: r.status,
            dsps: ByDsp(dsps),
            blocked_revisions: blocked_revisions.len(),
            escalate: blocked_revisions.len() >= ::qc::review::ESCALATE_AFTER,
        });
    }
    Ok((profiles, rows))
}

/// The decision log, of one release or all.
pub async fn log(app: &App, upc: Option<&str>) -> Result<Vec<store::Decision>> {
    Ok(app.catalog().decisions(upc).await?)
}

/// What a decision is.
#[derive(Debug, Clone, Default)]
pub struct DecideRequest<'a> {
    pub upc: &'a str,
    pub approve: bool,
    pub code: Option<&'a str>,
    pub reason: Option<&'a str>,
    /// The DSP the decision is for; None: every DSP.
    pub dsp: Option<&'a str>,
}

/// Records a staff decision on a release's current revision, signed by `operator`
/// ("Name <email>"), against its latest QC run (that DSP's, or every DSP's).
pub async fn decide(app: &App, r: &DecideRequest<'_>, operator: &str) -> Result<store::Decision> {
    if operator.trim().is_empty() {
        return Err(Error::Refused("a decision is signed: who makes it?".into()));
    }
    let store = app.catalog();
    let upc = r.upc;
    let icpn = crate::lookup_upc(upc).map_err(|e| Error::Refused(format!("{upc}: {e}")))?;
    let summary = store.release(&icpn).await?.ok_or_else(|| {
        Error::NotFound(format!(
            "{upc} is not in the catalog{}",
            crate::upc_note(&icpn)
        ))
    })?;
    let dsps: Vec<String> = match r.dsp {
        Some(d) => vec![crate::qc::load_profile(app.config(), d)?.name],
        None => app.profiles()?.iter().map(|p| p.name.clone()).collect(),
    };
    let mut runs = Vec::new();
    for d in &dsps {
        if let Some(run) = store
            .latest_qc_run(&summary.upc, summary.revision, Some(d))
            .await?
        {
            runs.push(run);
        }
    }
    let Some(run) = runs.iter().max_by_key(|r| r.id).cloned() else {
        bail!(
            "revision {} of {upc} has not been through QC{}: run `liner qc {upc}` first",
            summary.revision,
            r.dsp.map(|d| format!(" for {d}")).unwrap_or_default()
        );
    };
    let blocked_for: Vec<&str> = runs
        .iter()
        .filter(|r| r.blocked)
        .map(|r| r.profile.as_str())
        .collect();
    let (code, reason) =
        ::qc::review::checked_decision(r.approve, r.code, r.reason, summary.revision, &blocked_for)
            .map_err(Error::Refused)?;
    Ok(store
        .record_decision(&store::NewDecision {
            upc: &summary.upc,
            revision: summary.revision,
            approve: r.approve,
            code: &code,
            reason: &reason,
            operator,
            qc_run_id: Some(run.id),
            dsp: r.dsp,
        })
        .await?)
}
