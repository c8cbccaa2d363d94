//! `liner bench qc`: full audio analysis against ffmpeg's `ebur128=peak=true` on the same
//! file in the same run (speed as a ratio, because the machines are shared and noisy), and
//! loudness / true-peak accuracy against ffmpeg on synthesized signals, EBU Tech 3341 style.
//! Needs `ffmpeg` on the PATH; not part of CI.

use std::f64::consts::PI;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

/// Writes a PCM WAV (plain 0x0001 tag) whose sample (frame, channel) is `f` in −1..1.
fn write_wav(
    path: &Path,
    rate: u32,
    bits: u16,
    seconds: f64,
    f: impl Fn(u64, f64) -> [f64; 2],
) -> Result<()> {
    let frames = (seconds * f64::from(rate)) as u64;
    let bps = u32::from(bits / 8);
    let data = u32::try_from(frames * 2 * u64::from(bps)).context("too long")?;
    let mut b = Vec::with_capacity(data as usize + 44);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * 2 * bps).to_le_bytes());
    b.extend_from_slice(&((2 * bps) as u16).to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data.to_le_bytes());
    let full = if bits == 16 { 32767.0 } else { 8_388_607.0 };
    for n in 0..frames {
        for v in f(n, n as f64 / f64::from(rate)) {
            let s = (v.clamp(-1.0, 1.0) * full).round() as i32;
            if bits == 16 {
                b.extend_from_slice(&(s as i16).to_le_bytes());
            } else {
                b.extend_from_slice(&s.to_le_bytes()[..3]);
            }
        }
    }
    std::fs::write(path, b).with_context(|| format!("writing {}", path.display()))
}

fn db(x: f64) -> f64 {
    10f64.powf(x / 20.0)
}

/// A music-like test master: a detuned chord with a swell, a bass line, and noise with a
/// gentle treble roll-off; about −10 LUFS, peaking near −1 dBTP.
fn music(n: u64, t: f64) -> [f64; 2] {
    let mut state = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    state ^= state >> 29;
    let noise = (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
    let swell = 0.7 + 0.3 * (2.0 * PI * 0.5 * t).sin();
    let chord = |detune: f64| {
        [1.0, 1.259_921, 1.498_307, 2.0]
            .iter()
            .map(|r| (2.0 * PI * 220.0 * r * detune * t).sin())
            .sum::<f64>()
            / 4.0
    };
    let bass = (2.0 * PI * 55.0 * t).sin() * (0.6 + 0.4 * (2.0 * PI * 2.0 * t).sin().max(0.0));
    [
        0.42 * swell * chord(1.0) + 0.3 * bass + 0.05 * noise,
        0.42 * swell * chord(1.003) + 0.3 * bass - 0.05 * noise,
    ]
}

/// ffmpeg's own figures for a file: integrated loudness (LUFS) and true peak (dBTP), read
/// from the meter's per-frame metadata at full precision (the summary prints one decimal).
fn ffmpeg_measures(path: &Path) -> Result<(f64, f64)> {
    let out = Command::new("ffmpeg")
        .args(["-nostats", "-hide_banner", "-i"])
        .arg(path)
        .args([
            "-af",
            "ebur128=peak=true:metadata=1,ametadata=mode=print:file=-",
            "-f",
            "null",
            "-",
        ])
        .output()
        .context("running ffmpeg (install it: apt-get install ffmpeg)")?;
    ensure!(
        out.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let last = |key: &str| {
        text.lines()
            .filter_map(|l| l.strip_prefix(key))
            .filter_map(|v| v.trim().parse::<f64>().ok())
            .next_back()
    };
    let i = last("lavfi.r128.I=").context("ffmpeg printed no integrated loudness")?;
    let tp = last("lavfi.r128.true_peak=").context("ffmpeg printed no true peak")?;
    Ok((i, 20.0 * tp.log10()))
}

fn time_ffmpeg(path: &Path) -> Result<Duration> {
    let start = Instant::now();
    let out = Command::new("ffmpeg")
        .args(["-nostats", "-hide_banner", "-i"])
        .arg(path)
        .args(["-af", "ebur128=peak=true", "-f", "null", "-"])
        .output()?;
    ensure!(out.status.success(), "ffmpeg failed");
    Ok(start.elapsed())
}

fn time_liner(path: &Path) -> Result<Duration> {
    let start = Instant::now();
    let r = audio::analyse(path);
    let elapsed = start.elapsed();
    ensure!(r.measures.is_some(), "analysis failed: {:?}", r.unreadable);
    Ok(elapsed)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub fn qc(runs: usize, seconds: f64) -> Result<()> {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        bail!("`liner bench qc` compares against ffmpeg: install it (apt-get install ffmpeg)");
    }
    let dir = tempfile::tempdir()?;
    let master = dir.path().join("master.wav");
    write_wav(&master, 44_100, 24, seconds, music)?;
    let size = std::fs::metadata(&master)?.len();
    eprintln!(
        "test master: {seconds} s, 24-bit/44.1 kHz stereo, {:.1} MB",
        size as f64 / 1e6
    );

    // Warm the page cache and both code paths, then alternate so drift hits both equally.
    time_liner(&master)?;
    time_ffmpeg(&master)?;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        ours.push(time_liner(&master)?);
        theirs.push(time_ffmpeg(&master)?);
    }
    let (o, t) = (median(ours), median(theirs));
    println!("speed (median of {runs} runs, whole file, same machine, same run):");
    println!(
        "  liner audio::analyse (every measure, one decode) {:>8.3} s  {:>6.0}× realtime",
        o.as_secs_f64(),
        seconds / o.as_secs_f64()
    );
    println!(
        "  ffmpeg -af ebur128=peak=true                      {:>8.3} s  {:>6.0}× realtime",
        t.as_secs_f64(),
        seconds / t.as_secs_f64()
    );
    println!(
        "  ratio: liner is {:.2}× the speed of ffmpeg (target ≥ 1.5×)",
        t.as_secs_f64() / o.as_secs_f64()
    );

    // Accuracy: EBU Tech 3341 cases 1–5 (stereo 1 kHz sines), a true-peak case, and the master.
    let sine = |level: f64| move |_n: u64, t: f64| [db(level) * (2.0 * PI * 1000.0 * t).sin(); 2];
    let steps = |parts: Vec<(f64, f64)>| {
        move |_n: u64, t: f64| {
            let mut at = 0.0;
            let mut level = parts.last().map_or(-120.0, |p| p.1);
            for (len, l) in &parts {
                if t < at + len {
                    level = *l;
                    break;
                }
                at += len;
            }
            [db(level) * (2.0 * PI * 1000.0 * t).sin(); 2]
        }
    };
    type Signal = Box<dyn Fn(u64, f64) -> [f64; 2]>;
    /// Name, seconds, signal, expected integrated loudness, expected true peak.
    type Case = (&'static str, f64, Signal, Option<f64>, Option<f64>);
    // Tech 3341 cases 15–18 shape: sines at fs/4, fs/6, fs/8 whose samples miss the waveform's
    // peak by a known phase, at −6 dBFS so nothing clips; the true peak is the amplitude.
    let phased = |div: f64, phase_deg: f64| {
        move |n: u64, _t: f64| [0.5 * (2.0 * PI / div * n as f64 + phase_deg.to_radians()).sin(); 2]
    };
    let cases: Vec<Case> = vec![
        (
            "3341 #1: 1 kHz at −23 dBFS, 20 s",
            20.0,
            Box::new(sine(-23.0)),
            Some(-23.0),
            Some(-23.0),
        ),
        (
            "3341 #2: 1 kHz at −33 dBFS, 20 s",
            20.0,
            Box::new(sine(-33.0)),
            Some(-33.0),
            Some(-33.0),
        ),
        (
            "3341 #3: −36/−23/−36 dBFS, 10/60/10 s",
            80.0,
            Box::new(steps(vec![(10.0, -36.0), (60.0, -23.0), (10.0, -36.0)])),
            Some(-23.0),
            Some(-23.0),
        ),
        (
            "3341 #4: −72/−36/−23/−36/−72 dBFS",
            100.0,
            Box::new(steps(vec![
                (10.0, -72.0),
                (10.0, -36.0),
                (60.0, -23.0),
                (10.0, -36.0),
                (10.0, -72.0),
            ])),
            Some(-23.0),
            Some(-23.0),
        ),
        (
            "3341 #5: −26/−20/−26 dBFS, 20/20.1/20 s",
            60.1,
            Box::new(steps(vec![(20.0, -26.0), (20.1, -20.0), (20.0, -26.0)])),
            Some(-23.0),
            Some(-20.0),
        ),
        (
            "TP: fs/4 sine, 45° phase, −6.02 dB peak",
            10.0,
            Box::new(phased(4.0, 45.0)),
            None,
            Some(-6.02),
        ),
        (
            "TP: fs/6 sine, 60° phase, −6.02 dB peak",
            10.0,
            Box::new(phased(6.0, 60.0)),
            None,
            Some(-6.02),
        ),
        (
            "TP: fs/8 sine, 67.5° phase, −6.02 dB peak",
            10.0,
            Box::new(phased(8.0, 67.5)),
            None,
            Some(-6.02),
        ),
        (
            "TP: 1 kHz at −0.5 dBFS",
            10.0,
            Box::new(sine(-0.5)),
            None,
            Some(-0.5),
        ),
        (
            "the music-like master",
            seconds,
            Box::new(music),
            None,
            None,
        ),
    ];
    println!(
        "\naccuracy against ffmpeg ebur128 (targets: |ΔI| ≤ 0.1 LU, |ΔTP| ≤ 0.2 dB); \"expected\" is the analytic value"
    );
    println!(
        "  {:<42} {:>8} {:>8} {:>8} {:>6} | {:>8} {:>8} {:>8} {:>6}",
        "signal", "I exp", "I liner", "I ffmpeg", "ΔI", "TP exp", "TP liner", "TP ffm", "ΔTP"
    );
    let (mut worst_i, mut worst_tp) = (0f64, 0f64);
    // Cases where ffmpeg itself misses the analytic true peak by more than 0.2 dB.
    let mut ffmpeg_off = Vec::new();
    let mut worst_tp_trusted = 0f64;
    let show = |v: Option<f64>| v.map_or("—".to_owned(), |x| format!("{x:.2}"));
    for (name, secs, f, exp_i, exp_tp) in cases {
        let p = dir.path().join("case.wav");
        write_wav(&p, 48_000, 24, secs, f)?;
        let m = audio::analyse(&p).measures.context("analysis failed")?;
        let (fi, ftp) = ffmpeg_measures(&p)?;
        let i = m.integrated_lufs.unwrap_or(f64::NEG_INFINITY);
        let (di, dtp) = (i - fi, m.true_peak_dbtp - ftp);
        worst_i = worst_i.max(di.abs());
        worst_tp = worst_tp.max(dtp.abs());
        match exp_tp {
            Some(e) if (ftp - e).abs() > 0.2 => ffmpeg_off.push(format!(
                "{name}: ffmpeg {ftp:.2}, analytic {e:.2}, liner {:.2}",
                m.true_peak_dbtp
            )),
            _ => worst_tp_trusted = worst_tp_trusted.max(dtp.abs()),
        }
        println!(
            "  {name:<42} {:>8} {i:>8.2} {fi:>8.2} {di:>+6.2} | {:>8} {:>8.2} {ftp:>8.2} {dtp:>+6.2}",
            show(exp_i),
            show(exp_tp),
            m.true_peak_dbtp
        );
    }
    println!(
        "  worst: ΔI {worst_i:.3} LU, ΔTP {worst_tp:.3} dB; ΔTP {worst_tp_trusted:.3} dB where ffmpeg reads the analytic value"
    );
    for off in ffmpeg_off {
        println!("  ffmpeg off the analytic true peak by more than 0.2 dB: {off}");
    }
    Ok(())
}
