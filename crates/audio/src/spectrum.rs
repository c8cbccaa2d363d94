//! The long-term spectrum of a track, sampled from a few dozen frames spread over it, and the
//! one thing QC reads from it: where the content stops. A master that went through MP3 or AAC
//! has a brick wall at 16–20 kHz with nothing but the noise floor above it; real masters roll
//! off gradually or reach Nyquist.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};
use serde::Serialize;

pub(crate) const FRAME: usize = 4096;
/// At most this many frames are transformed per track: enough for a stable average, cheap
/// next to the loudness measures.
const MAX_FRAMES: u64 = 48;

pub(crate) struct SpectrumAccumulator {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    input: Vec<f32>,
    scratch: Vec<realfft::num_complex::Complex<f32>>,
    output: Vec<realfft::num_complex::Complex<f32>>,
    power: Vec<f64>,
    frames_used: u32,
    /// Frames (sample frames, all channels) between the starts of two analysed windows.
    spacing: u64,
    next_start: u64,
    filling: bool,
}

impl SpectrumAccumulator {
    pub(crate) fn new(expected_frames: Option<u64>, sample_rate: u32) -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        let fft = planner.plan_fft_forward(FRAME);
        let window = (0..FRAME)
            .map(|i| {
                let x = std::f32::consts::PI * 2.0 * i as f32 / FRAME as f32;
                0.5 - 0.5 * x.cos()
            })
            .collect();
        let spacing = match expected_frames {
            Some(n) if n > 0 => (n / MAX_FRAMES).max(FRAME as u64),
            _ => u64::from(sample_rate) * 2,
        };
        SpectrumAccumulator {
            input: fft.make_input_vec(),
            scratch: fft.make_scratch_vec(),
            output: fft.make_output_vec(),
            power: vec![0.0; FRAME / 2 + 1],
            fft,
            window,
            frames_used: 0,
            // Skip the first second: intros are often near-silent.
            spacing,
            next_start: u64::from(sample_rate).min(spacing),
            filling: false,
        }
    }

    /// Feeds the mono mix of the frames starting at `position`. Only the stretches inside a
    /// scheduled window are copied.
    pub(crate) fn feed(&mut self, position: u64, mono: &[f32]) {
        let mut i = 0usize;
        while i < mono.len() {
            let at = position + i as u64;
            if !self.filling {
                if at + (mono.len() - i) as u64 <= self.next_start {
                    return;
                }
                i = (self.next_start.saturating_sub(position)) as usize;
                self.filling = true;
                self.input.clear();
                continue;
            }
            let take = (FRAME - self.input.len()).min(mono.len() - i);
            self.input.extend_from_slice(&mono[i..i + take]);
            i += take;
            if self.input.len() == FRAME {
                self.transform();
                self.filling = false;
                self.next_start += self.spacing;
            }
        }
    }

    fn transform(&mut self) {
        let energy: f32 = self.input.iter().map(|s| s * s).sum::<f32>() / FRAME as f32;
        // Near-silent frames say nothing about the spectrum.
        if energy < 1e-6 {
            return;
        }
        for (s, w) in self.input.iter_mut().zip(&self.window) {
            *s *= w;
        }
        if self
            .fft
            .process_with_scratch(&mut self.input, &mut self.output, &mut self.scratch)
            .is_err()
        {
            return;
        }
        for (p, c) in self.power.iter_mut().zip(&self.output) {
            *p += f64::from(c.norm_sqr());
        }
        self.frames_used += 1;
    }

    pub(crate) fn finish(self, sample_rate: u32) -> Option<Spectrum> {
        if self.frames_used == 0 {
            return None;
        }
        let n = f64::from(self.frames_used);
        let db = self
            .power
            .iter()
            .map(|p| 10.0 * (p / n + 1e-20).log10())
            .collect::<Vec<_>>();
        Some(Spectrum::from_bins(db, sample_rate))
    }
}

/// Where the content of a track's spectrum ends, and how it ends.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Spectrum {
    /// The highest frequency whose band stands 20 dB above the floor measured just below
    /// Nyquist; `None` when nothing does (a signal with no broadband content).
    pub cutoff_hz: Option<f64>,
    /// Level drop, in dB, from the 500 Hz below the cutoff to the 500 Hz above it.
    pub edge_drop_db: f64,
    /// The band from 2 kHz to 0.5 kHz below the cutoff is broadband (its median bin, not just a
    /// few harmonics, stands 30 dB above the floor).
    pub broadband_below: bool,
    /// A coarse spectrum for the report: (Hz, dB) every 250 Hz.
    pub bands: Vec<(f64, f64)>,
}

impl Spectrum {
    fn from_bins(db: Vec<f64>, sample_rate: u32) -> Spectrum {
        let hz_per_bin = f64::from(sample_rate) / FRAME as f64;
        let nyquist = f64::from(sample_rate) / 2.0;
        let median = |lo_hz: f64, hi_hz: f64| -> f64 {
            let lo = ((lo_hz / hz_per_bin).floor().max(1.0)) as usize;
            let hi = ((hi_hz / hz_per_bin).ceil() as usize).min(db.len() - 1);
            if lo >= hi {
                return db[lo.min(db.len() - 1)];
            }
            let mut v = db[lo..hi].to_vec();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let floor = median(nyquist - 600.0, nyquist - 50.0);
        let step = 100.0;
        let mut cutoff = None;
        let mut f = nyquist - 700.0;
        while f > 1000.0 {
            if median(f, f + step) > floor + 20.0 {
                cutoff = Some(f + step);
                break;
            }
            f -= step;
        }
        let (edge_drop_db, broadband_below) = match cutoff {
            Some(c) => (
                median(c - 600.0, c - 100.0) - median(c + 100.0, c + 600.0),
                median(c - 2000.0, c - 500.0) > floor + 30.0,
            ),
            None => (0.0, false),
        };
        let bands = (0..)
            .map(|i| f64::from(i) * 250.0)
            .take_while(|f| *f + 250.0 <= nyquist)
            .map(|f| (f, (median(f, f + 250.0) * 10.0).round() / 10.0))
            .collect();
        Spectrum {
            cutoff_hz: cutoff,
            edge_drop_db: (edge_drop_db * 10.0).round() / 10.0,
            broadband_below,
            bands,
        }
    }

    /// A brick-wall cutoff well below Nyquist under broadband content: the signature of a
    /// master made from an MP3 or AAC.
    pub fn lossy_suspect(&self, sample_rate: u32) -> bool {
        let nyquist = f64::from(sample_rate) / 2.0;
        match self.cutoff_hz {
            Some(c) => {
                (11_000.0..=20_600.0).contains(&c)
                    && c < nyquist - 1_500.0
                    && self.broadband_below
                    && self.edge_drop_db >= 25.0
            }
            None => false,
        }
    }

    /// A high-rate file with no content above what a 44.1/48 kHz master holds.
    pub fn upsampled_suspect(&self, sample_rate: u32) -> bool {
        sample_rate >= 88_200
            && self.broadband_below
            && matches!(self.cutoff_hz, Some(c) if c <= 24_500.0)
    }
}
