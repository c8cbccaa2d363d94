//! `liner demo`: the main job on the embedded defaults, in one folder — fixtures, import,
//! QC per DSP, ERN messages, delivery to mock DSPs started in this process, their sales
//! reports fetched back and imported, last month closed, statements and payouts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use app::Config;
use app::ledger::{check_all, close_period};
use app::royalty::this_month;
use model::Fine;
use royalties::Period;
use royalties::statement::Statement;

pub(crate) async fn run(out: &Path, fixtures_dir: &Path) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let report = fixtures::generate(
        fixtures_dir,
        chrono::Local::now().date_naive(),
        fixtures::Regenerate::Missing,
    )
    .with_context(|| format!("generating fixtures in {}", fixtures_dir.display()))?;
    note!(
        "[1/8] fixtures: {} documents, {} media files synthesized, {} already there",
        report.documents.len(),
        report.synthesized.len(),
        report.kept
    );

    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let cfg = Config {
        database: app::sqlite_url(&out.join("catalog.db")),
        files: out.join("files"),
        // `LINER_FILES=s3://bucket/prefix`: the demo's files go to that bucket.
        files_remote: std::env::var("LINER_FILES")
            .ok()
            .filter(|v| v.starts_with("s3://")),
        profiles: PathBuf::from("deploy/dsps"),
        source: "demo".into(),
        operator: Some("liner demo <demo@liner.invalid>".into()),
        ai_policy: ::qc::AiPolicy::Review,
        label_ai_policy: Default::default(),
        allow: Vec::new(),
        mail: app::views::Mailer {
            smtp: None,
            from: "liner@localhost".into(),
            outbox: out.join("outbox"),
        },
        summary_to: None,
        contracts: Some(PathBuf::from("deploy/contracts.example.toml")),
        report_formats: PathBuf::from("deploy/report-formats"),
        schedule: Default::default(),
        limits: Default::default(),
        sender: ern::MessageParty {
            party_id: "PADPIDA2026112601L".into(),
            name: Some("Liner demo distributor".into()),
        },
        home: None,
        builtin_fallback: false,
    };
    app::App::create(cfg.clone()).await?.close().await;
    cfg.open_files()?;
    note!("[2/8] catalog: {}", app::redact(&cfg.database));

    let mut inputs: Vec<PathBuf> = std::fs::read_dir(fixtures_dir.join("releases"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    inputs.sort();
    inputs.push(fixtures_dir.join("sheets/catalog.csv"));
    // The QC showcase: a release with every kind of problem planted.
    inputs.push(fixtures_dir.join("qc/problems"));
    note!("[3/8] import: {} inputs", inputs.len());
    let code = crate::import::run(&cfg, &inputs, false).await?;

    let catalog = app::App::open(cfg.clone()).await?.catalog().clone();
    let list = catalog.releases().await?;
    catalog.close().await;
    note!(
        "[4/8] QC: every release, staff reports in {}",
        out.join("qc-<UPC>.html").display()
    );
    for r in &list {
        let args = crate::qc::QcArgs {
            target: r.upc.clone(),
            json: false,
            html: Some(out.join(format!("qc-{}.html", r.upc))),
            dsp: None,
            fix: false,
            brief: true,
        };
        // A blocked release is part of the show, not a failure of the demo.
        crate::qc::run(&cfg, args).await?;
    }
    // Staff review: under the "review" AI policy a release that discloses AI content waits
    // for a person; the demo's reviewer approves it for every DSP, signed and logged.
    {
        let catalog = app::App::open(cfg.clone()).await?.catalog().clone();
        let profiles = app::ern::load_profiles(&cfg)?;
        let mut waiting = Vec::new();
        for r in &list {
            for p in &profiles {
                if matches!(
                    catalog.gate(&r.upc, &p.name).await?,
                    Some(app::views::Gate::AwaitingReview { .. })
                ) && !waiting.contains(&r.upc)
                {
                    waiting.push(r.upc.clone());
                }
            }
        }
        catalog.close().await;
        for upc in waiting {
            crate::qc::review(
                &cfg,
                crate::qc::ReviewAction::Decide {
                    upc: upc.clone(),
                    approve: true,
                    code: Some("CLEAN".into()),
                    reason: Some("AI disclosure reviewed: partly AI instrumentation, disclosed to the DSPs that carry it".into()),
                    dsp: None,
                    json: false,
                },
            )
            .await?;
            note!("  {upc}: AI disclosure reviewed and approved by the demo's staff reviewer");
        }
    }

    // ERN for every release QC lets through, to every DSP profile, in each one's version.
    let ern_dir = out.join("ern");
    note!(
        "[5/8] ERN: messages for releases that passed QC, in {}",
        ern_dir.display()
    );
    let catalog = app::App::open(cfg.clone()).await?.catalog().clone();
    let profiles = app::ern::load_profiles(&cfg)?;
    let mut built = 0;
    for r in &list {
        for p in &profiles {
            if !catalog
                .gate(&r.upc, &p.name)
                .await?
                .is_some_and(|g| g.deliverable())
            {
                note!("  {} → {}: held back by QC", r.upc, p.name);
                continue;
            }
            let args = crate::ern_cmd::BuildArgs {
                upc: r.upc.clone(),
                dsp: Some(p.name.clone()),
                ern: None,
                takedown: false,
                purge: false,
                out: Some(ern_dir.join(format!("{}-{}.xml", r.upc, p.name))),
                schemas: None,
            };
            crate::ern_cmd::build(&cfg, args).await?;
            built += 1;
        }
    }
    catalog.close().await;
    let checked = if app::ern::schemas_dir(None).is_some() {
        "each validated against its XSD"
    } else {
        "XSD validation skipped: no schemas found"
    };
    note!("  {built} ERN messages written, {checked}");

    note!(
        "[6/8] delivery: to the mock DSPs started in this process on loopback (SFTP batch, SFTP release-by-release, HTTP), acknowledgements awaited"
    );
    let deliverable: Vec<String> = {
        let catalog = app::App::open(cfg.clone()).await?.catalog().clone();
        let mut v = Vec::new();
        for r in &list {
            for p in cfg.load_profiles().unwrap_or_default() {
                if catalog
                    .gate(&r.upc, &p.name)
                    .await?
                    .is_some_and(|g| g.deliverable())
                    && !v.contains(&r.upc)
                {
                    v.push(r.upc.clone());
                }
            }
        }
        catalog.close().await;
        v
    };
    let (mocks, dcfg) = deliver_step(&cfg, out, &deliverable).await?;

    note!(
        "[7/8] royalties: the mock DSPs' sales reports (DSR and CSV) fetched over SFTP and HTTP and imported, statements cut, payouts run"
    );
    let royalties = royalty_step(&dcfg, out).await;
    mocks.stop();
    royalties?;

    note!("[8/8] catalog contents:");
    let catalog = app::App::open(cfg.clone()).await?.catalog().clone();
    let list = catalog.releases().await?;
    crate::print_releases(&list);
    if let Some(first) = list.first() {
        let upc = model::Icpn::parse(&first.upc).map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Some(rev) = catalog.revision(&upc, None).await? {
            let doc: serde_json::Value = serde_json::from_str(&rev.document)?;
            println!();
            crate::print_release(first, &rev, &doc);
            let path = out.join(format!("{}.json", first.upc));
            std::fs::write(&path, serde_json::to_string_pretty(&doc)?)?;
            note!(
                "wrote {} (`liner show {} --json`)",
                path.display(),
                first.upc
            );
        }
    }
    catalog.close().await;
    note!(
        "demo done in {:.1}s; artifacts in {}",
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(code)
}

/// The demo's delivery step: the shipped profiles rewritten to free loopback ports and keys
/// under `out/dsp`, their mock DSPs started in this process, every deliverable release sent
/// to every DSP with `--wait`, then what each DSP holds.
/// Delivers the demo's releases to mock DSPs started in this process; the mocks are left
/// running (the royalty step fetches their sales reports), with the configuration whose
/// profiles point at them.
async fn deliver_step(
    cfg: &Config,
    out: &Path,
    upcs: &[String],
) -> Result<(mock_dsp::Running, Config)> {
    let keys = out.join("dsp/keys");
    let dir = out.join("dsps");
    std::fs::create_dir_all(&dir)?;
    let mut names = Vec::new();
    for e in std::fs::read_dir(&cfg.profiles)
        .with_context(|| format!("reading {}", cfg.profiles.display()))?
    {
        let path = e?.path();
        if path.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let text = std::fs::read_to_string(&path)?
            .replace(".liner/dsp/keys", &keys.display().to_string())
            .lines()
            .map(|l| {
                if l.starts_with("port = ") {
                    format!("port = {port}")
                } else if l.starts_with("base_url = \"http://127.0.0.1:") {
                    let rest = l.split_once("127.0.0.1:").map_or("", |(_, r)| r);
                    let path = rest.split_once('/').map_or("", |(_, p)| p);
                    format!("base_url = \"http://127.0.0.1:{port}/{path}")
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(dir.join(path.file_name().unwrap_or_default()), text)?;
        names.push(
            path.file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
        );
    }
    names.sort();
    let dcfg = Config {
        profiles: dir.clone(),
        ..cfg.clone()
    };
    let profiles = app::ern::load_profiles(&dcfg)?;
    let running = mock_dsp::start(
        &profiles,
        &mock_dsp::Settings {
            root: out.join("dsp"),
            schemas: app::ern::schemas_dir(None),
            faults: Default::default(),
            scan_every: Duration::from_millis(100),
        },
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    let code = crate::deliver::deliver(
        &dcfg,
        crate::deliver::DeliverArgs {
            upcs: upcs.to_vec(),
            to: names.clone(),
            priority: false,
            wait: true,
            timeout: 120,
            schemas: None,
            json: false,
        },
    )
    .await?;
    for d in &running.dsps {
        let st = d.state();
        let live = st.catalog.values().filter(|l| l.status == "live").count();
        note!(
            "  {:<14} holds {live} live release(s); {} message(s) ingested, {} acknowledgement(s)",
            d.name(),
            st.effects.len(),
            st.acks.len()
        );
    }
    // A release refused by one DSP's QC gate (exit 3) is part of the show; a failure is not.
    if code != ExitCode::SUCCESS && code != ExitCode::from(crate::qc::EXIT_BLOCKED) {
        running.stop();
        bail!("some deliveries did not end acknowledged (see above; `liner deliveries`)");
    }
    Ok((running, dcfg))
}

/// The demo's royalty step: each mock DSP writes its sales report for last month of what it
/// has live, Liner imports them into last month's reporting period, closes it (a month that
/// is over), cuts the final statements and pays out (e-mail to the outbox), then checks the
/// whole ledger.
async fn royalty_step(cfg: &Config, out: &Path) -> Result<()> {
    let now = Period::parse(&this_month(app::Clock::system())).map_err(|e| anyhow!(e))?;
    let (usage, period) = (now.prev().to_string(), now.prev().to_string());
    let catalog = crate::royalty_cmd::open(cfg).await?;
    // Demo rates, recorded like `liner fx import` would (fixed, not market data).
    let mut rates = Vec::new();
    for (b, q, r) in [
        ("USD", "EUR", "0.9231"),
        ("USD", "GBP", "0.7912"),
        ("USD", "JPY", "151.37"),
        ("EUR", "USD", "1.0833"),
        ("EUR", "GBP", "0.8571"),
        ("EUR", "JPY", "163.98"),
    ] {
        rates.push(app::views::FxRate {
            period: period.clone(),
            base: b.into(),
            quote: q.into(),
            rate: r.into(),
            source: "demo rates".into(),
        });
    }
    catalog.record_rates(&rates).await?;
    let profiles = app::ern::load_profiles(cfg)?;
    let app = app::App::open(cfg.clone()).await?;
    let me = &cfg.sender;
    let to = mock_dsp::reports::Recipient {
        dpid: me.party_id.clone(),
        name: me.name.clone().unwrap_or_default(),
    };
    let mut totals: BTreeMap<String, Fine> = BTreeMap::new();
    for p in profiles.iter().filter(|p| p.delivery.is_some()) {
        // The mock DSP leaves its report where its profile says; Liner fetches it from there
        // over the delivery account (SFTP or HTTP), as the scheduled fetch-reports job does.
        let dsp = mock_dsp::Dsp::new(p.clone(), &out.join("dsp"), None, Default::default())
            .map_err(|e| anyhow!("{e}"))?;
        mock_dsp::reports::write_sales_report(&dsp, &usage, 0, &to).map_err(|e| anyhow!("{e}"))?;
        let f = app::fetch::fetch_reports(&app, p, Some(&period), &crate::events::Cli).await?;
        if let Some((name, why)) = f.refused.first() {
            bail!("the {} report {name} was refused: {why}", p.name);
        }
        for s in &f.reports {
            let t: Vec<String> = s
                .totals
                .iter()
                .map(|(c, v)| {
                    crate::royalty_cmd::shown_money(c, Fine::parse(v).unwrap_or_default())
                })
                .collect();
            for (c, v) in &s.totals {
                *totals.entry(c.clone()).or_default() += Fine::parse(v)?;
            }
            note!(
                "  {:<14} {} usage lines ({}, over {}), {} matched, {} unmatched: {}",
                p.name,
                s.usage_lines,
                if p.sales_reports.format.starts_with("csv:") {
                    "CSV"
                } else {
                    "DSR"
                },
                match p.delivery.as_ref().map(|d| &d.transport) {
                    Some(profiles::Transport::Http(_)) => "HTTP",
                    _ => "SFTP",
                },
                s.matched_lines,
                s.unmatched_lines,
                t.join(", ")
            );
        }
    }
    let dir = out.join("statements").join(&period);
    // Last month is over: it closes as `liner period close` would.
    if let Err(refusal) = close_period(cfg, &catalog, &period, now, false).await? {
        bail!("closing {period}: {refusal}");
    }
    let report = app::ledger::run_payouts(&app, &period, &dir).await?;
    let check = check_all(&catalog).await?;
    if !check.violations.is_empty() {
        bail!("ledger check failed: {}", check.violations.join("; "));
    }
    let posted = catalog.posted("payee:").await?;
    println!("\nRoyalties, reporting period {period} (usage {usage}):");
    for (c, v) in &totals {
        println!(
            "  reported by the DSPs: {}",
            crate::royalty_cmd::shown_money(c, *v)
        );
    }
    // The statements add up to the reports: every unit reported is a fee, a payee's
    // income, suspense, or converted into a payee's currency (checked to the last unit).
    for (c, rc) in &check.reconciliation {
        println!("  {}", crate::royalty_cmd::reconciliation_line(c, rc));
    }
    for p in catalog.payees().await? {
        let exp = model::Currency::parse(&p.currency)?.exponent();
        let s = Statement::build(&p.id, &p.name, &p.currency, exp, &period, &posted);
        let sh = s.shown();
        let m = |v: i128| royalties::alloc::format_shown(v, sh.places, true);
        let paid = report
            .paid
            .iter()
            .find(|x| x.payee == p.id)
            .map(|x| format!("paid {}", m(i128::from(x.amount_minor))))
            .unwrap_or_else(|| "carried forward".into());
        println!(
            "  {:<16} {} income {:>10}  recouped {:>8}  reserve {:>8}  tax {:>8}  → {paid}, closing {}",
            p.id,
            p.currency,
            m(sh.income.total),
            m(-sh.recouped),
            m(-(sh.reserve_held + sh.reserve_released)),
            m(-sh.tax),
            m(sh.closing)
        );
    }
    note!(
        "  statements (CSV + HTML) and the payment file in {}; e-mails in {}; ledger check: {} transactions, {} entries, all invariants hold",
        dir.display(),
        cfg.mail.outbox.display(),
        check.transactions,
        check.entries
    );
    catalog.close().await;
    Ok(())
}
