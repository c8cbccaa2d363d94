//! The mock DSP's sales reports: plausible, deterministic usage of what it has live, per
//! territory and commercial model, written where its profile says (`[sales_reports]`), as a
//! DDEX DSR flat file (Basic Audio 1.2) or as a CSV export in the `apple` layout.
//!
//! The same state, period and revision always give the same bytes, so a report fetched twice
//! is the same report; a higher revision is a corrected report with the same message id.

use std::path::PathBuf;

use dsr::write::{Context, Head, Sale, Track, write_basic_audio};
use model::Fine;

use crate::{Dsp, DspError};

/// Per-stream rates in the reporting currency, by commercial model and territory: enough
/// variety that allocation and rounding are exercised.
fn rate(model: &str, territory: &str) -> Fine {
    let base: i128 = if model == "SubscriptionModel" {
        4_100
    } else {
        900
    }; // 10^-6 units
    let factor: i128 = match territory {
        "US" => 100,
        "GB" => 93,
        "DE" => 87,
        "FR" => 81,
        "JP" => 96,
        "BR" => 31,
        _ => 70,
    };
    Fine(base * factor * 10_000_000_000) // base × factor/100 × 10^-6, at 10^-18
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn seed(parts: &[&str]) -> u64 {
    parts.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, p| {
        p.bytes()
            .fold(h, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    })
}

/// Who the report is for (the distributor).
#[derive(Debug, Clone)]
pub struct Recipient {
    pub dpid: String,
    pub name: String,
}

struct Usage {
    tracks: Vec<Track>,
    contexts: Vec<Context>,
    sales: Vec<Sale>,
}

fn usage(dsp: &Dsp, period: &str, revision: u32) -> Usage {
    let st = dsp.state();
    let currency = dsp.profile.sales_reports.currency.clone();
    let mut models: Vec<String> = dsp
        .profile
        .commercial_models
        .iter()
        .map(|m| m.as_str().to_owned())
        .filter(|m| m == "SubscriptionModel" || m == "AdvertisementSupportedModel")
        .collect();
    if models.is_empty() {
        models.push("SubscriptionModel".into());
    }
    let mut tracks = Vec::new();
    let mut contexts: Vec<Context> = Vec::new();
    let mut sales = Vec::new();
    for live in st.catalog.values().filter(|l| l.status == "live") {
        let territories: Vec<String> =
            if live.territories.iter().any(|t| t == "Worldwide") || live.territories.is_empty() {
                ["US", "GB", "DE", "FR", "JP", "BR"]
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect()
            } else {
                live.territories.iter().take(6).cloned().collect()
            };
        for r in &live.recordings {
            let t = tracks.len();
            tracks.push(Track {
                isrc: r.isrc.clone(),
                icpn: live.upc.clone(),
                title: r.title.clone(),
                artist: r.artist.clone(),
                dsp_resource_id: format!("{}:track:{}", dsp.name(), r.isrc.to_lowercase()),
                dsp_release_id: format!("{}:album:{}", dsp.name(), live.upc),
            });
            for terr in &territories {
                for m in &models {
                    let x = splitmix(seed(&[dsp.name(), period, &r.isrc, terr, m]));
                    let mut streams = (x % 5_000) as i64;
                    if x.is_multiple_of(7) {
                        streams = 0; // not every track is played everywhere
                    }
                    if revision > 0 && sales.is_empty() {
                        streams += i64::from(revision) * 1_000; // the correction
                    }
                    if streams == 0 {
                        continue;
                    }
                    let ci = match contexts
                        .iter()
                        .position(|c| c.territory == *terr && c.commercial_model == *m)
                    {
                        Some(i) => i,
                        None => {
                            contexts.push(Context {
                                commercial_model: m.clone(),
                                use_type: "OnDemandStream".into(),
                                territory: terr.clone(),
                                currency: currency.clone(),
                                amount: Fine::ZERO,
                            });
                            contexts.len() - 1
                        }
                    };
                    contexts[ci].amount += Fine(rate(m, terr).0 * i128::from(streams));
                    sales.push(Sale {
                        track: t,
                        context: ci,
                        streams,
                    });
                }
            }
        }
    }
    Usage {
        tracks,
        contexts,
        sales,
    }
}

fn month_end(period: &str) -> Result<(String, String), DspError> {
    let (y, m) = period
        .split_once('-')
        .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<u32>().ok()?)))
        .filter(|(_, m)| (1..=12).contains(m))
        .ok_or_else(|| DspError::Config(format!("period {period:?} is not YYYY-MM")))?;
    let days = match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    Ok((
        format!("{y:04}-{m:02}-01"),
        format!("{y:04}-{m:02}-{days:02}"),
    ))
}

/// Writes the DSP's sales report for a month into its reports folder; the paths written.
pub fn write_sales_report(
    dsp: &Dsp,
    period: &str,
    revision: u32,
    to: &Recipient,
) -> Result<Vec<PathBuf>, DspError> {
    let (start, end) = month_end(period)?;
    let u = usage(dsp, period, revision);
    let dir = dsp.jail().join(&dsp.profile.sales_reports.folder);
    std::fs::create_dir_all(&dir).map_err(|e| DspError::Io(format!("{}: {e}", dir.display())))?;
    let created_compact = format!("{}T0000{:02}", end.replace('-', ""), revision.min(59));
    let format = dsp.profile.sales_reports.format.clone();
    if let Some(layout) = format.strip_prefix("csv:") {
        if layout != "apple" {
            return Err(DspError::Config(format!(
                "the mock writes CSV only in the apple layout, not {layout:?}"
            )));
        }
        let name = format!(
            "{}_sales_{period}{}.csv",
            dsp.name(),
            if revision > 0 {
                format!("_r{revision}")
            } else {
                String::new()
            }
        );
        let mut out = String::from(
            "Provider,Vendor Identifier,UPC,ISRC,Artist,Title,Product Type Identifier,Units,Extended Partner Share,Partner Share Currency,Begin Date,End Date,Country Code,Apple Identifier\n",
        );
        let (y, m) = (&start[..4], &start[5..7]);
        let q = |s: &str| {
            if s.contains([',', '"']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_owned()
            }
        };
        for s in &u.sales {
            let t = &u.tracks[s.track];
            let c = &u.contexts[s.context];
            let amount = Fine(rate(&c.commercial_model, &c.territory).0 * i128::from(s.streams));
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{},{m}/01/{y},{m}/{}/{y},{},{}\n",
                q(&dsp.profile.display_name),
                t.isrc,
                t.icpn,
                t.isrc,
                q(&t.artist),
                q(&t.title),
                if c.commercial_model == "SubscriptionModel" {
                    "STR-SUB"
                } else {
                    "STR-AD"
                },
                s.streams,
                amount,
                c.currency,
                &end[8..],
                c.territory,
                t.dsp_resource_id
            ));
        }
        let path = dir.join(name);
        write_atomic(&path, out.as_bytes())?;
        return Ok(vec![path]);
    }
    let head = Head {
        message_id: format!("{}-{period}", dsp.name()),
        created: format!("{end}T00:00:{:02}Z", revision.min(59)),
        usage_start: start,
        usage_end: end,
        sender_dpid: dsp.profile.party_id.to_string(),
        sender_name: dsp.profile.display_name.clone(),
        recipient_dpid: to.dpid.clone(),
        recipient_name: to.name.clone(),
        service: dsp.profile.display_name.replace([' ', '_'], ""),
        period: period.to_owned(),
        territory: "WW".into(),
        created_compact: created_compact.clone(),
        gzip: false,
    };
    let mut written: Vec<(PathBuf, PathBuf)> = Vec::new();
    let names = write_basic_audio(
        &head,
        &u.contexts,
        &u.tracks,
        &|| Box::new(u.sales.iter().copied()),
        1,
        &mut |n| {
            let path = dir.join(n.render());
            let tmp = dir.join(format!(".{}.part", n.render()));
            written.push((tmp.clone(), path));
            std::fs::File::create(&tmp)
        },
    )
    .map_err(|e| DspError::Io(format!("{}: {e}", dir.display())))?;
    let _ = names;
    let mut out = Vec::new();
    for (tmp, path) in written {
        std::fs::rename(&tmp, &path)
            .map_err(|e| DspError::Io(format!("{}: {e}", path.display())))?;
        out.push(path);
    }
    Ok(out)
}

fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<(), DspError> {
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, bytes).map_err(|e| DspError::Io(format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(|e| DspError::Io(format!("{}: {e}", path.display())))
}
