//! True peak (ITU-R BS.1770 Annex 2): the peak of the waveform between the samples, found by
//! 4× oversampling. Our own interpolator rather than libebur128's: its 12-tap-per-phase
//! Hann-windowed sinc over-reads high sines by up to 0.65 dB (an fs/8 sine at a 67.5° phase),
//! outside EBU Tech 3341's +0.2/−0.4 dB. Here each phase is a 24-tap Kaiser-windowed sinc
//! (β 6, about 60 dB of stop band), flat to within 0.01 dB up to 85% of Nyquist, normalised
//! to unity gain. Phase 0 is the samples themselves, so only 3 phases are computed.

/// Taps per phase.
const K: usize = 24;
const PHASES: usize = 4;
/// Outputs computed together.
const LANES: usize = 8;

fn bessel_i0(x: f64) -> f64 {
    // Power series; converges fast for the β used here.
    let mut sum = 1.0;
    let mut term = 1.0;
    let q = x * x / 4.0;
    for k in 1..50 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < 1e-12 * sum {
            break;
        }
    }
    sum
}

fn taps() -> [[f32; K]; PHASES - 1] {
    let beta = 6.0;
    let half = K as f64 / 2.0;
    let mut out = [[0f32; K]; PHASES - 1];
    for (p, phase) in out.iter_mut().enumerate() {
        let frac = (p + 1) as f64 / PHASES as f64;
        // Window position j covers sample n - K/2 + 1 + j; the output sits at n + frac.
        let raw: Vec<f64> = (0..K)
            .map(|j| {
                let t = j as f64 - (half - 1.0) - frac;
                let sinc = if t == 0.0 {
                    1.0
                } else {
                    (std::f64::consts::PI * t).sin() / (std::f64::consts::PI * t)
                };
                let r = t / (half + 0.5);
                let w = if r.abs() >= 1.0 {
                    0.0
                } else {
                    bessel_i0(beta * (1.0 - r * r).sqrt()) / bessel_i0(beta)
                };
                sinc * w
            })
            .collect();
        let sum: f64 = raw.iter().sum();
        for (dst, v) in phase.iter_mut().zip(raw) {
            *dst = (v / sum) as f32;
        }
    }
    out
}

/// Streaming true-peak meter over planar 32-bit full-scale samples.
pub(crate) struct TruePeakMeter {
    taps: [[f32; K]; PHASES - 1],
    /// Per channel: the last K − 1 samples of the previous chunk, then the current chunk.
    buffers: Vec<Vec<f32>>,
    /// Whether each channel has seen enough samples to fill a window.
    peak: f32,
}

impl TruePeakMeter {
    pub(crate) fn new(channels: usize) -> Self {
        TruePeakMeter {
            taps: taps(),
            buffers: vec![Vec::new(); channels],
            peak: 0.0,
        }
    }

    pub(crate) fn feed(&mut self, planes: &[&[i32]]) {
        const SCALE: f32 = 1.0 / 2_147_483_648.0;
        let taps = &self.taps;
        let mut peak = self.peak;
        for (buf, plane) in self.buffers.iter_mut().zip(planes) {
            buf.extend(plane.iter().map(|&s| s as f32 * SCALE));
            for &s in plane.iter() {
                peak = peak.max((s as f32 * SCALE).abs());
            }
            if buf.len() < K {
                continue;
            }
            // Eight outputs at a time with the taps outermost: independent accumulators the
            // compiler turns into SIMD lanes (a per-output dot product would be a serial sum).
            let windows = buf.len() - (K - 1);
            let mut n = 0;
            while n + LANES <= windows {
                for phase in taps {
                    let mut acc = [0f32; LANES];
                    for (j, h) in phase.iter().enumerate() {
                        let x = &buf[n + j..n + j + LANES];
                        for i in 0..LANES {
                            acc[i] += x[i] * h;
                        }
                    }
                    for a in acc {
                        peak = peak.max(a.abs());
                    }
                }
                n += LANES;
            }
            for w in buf[n..].windows(K) {
                for phase in taps {
                    let acc: f32 = w.iter().zip(phase).map(|(x, h)| x * h).sum();
                    peak = peak.max(acc.abs());
                }
            }
            let keep = buf.len() - (K - 1);
            buf.drain(..keep);
        }
        self.peak = peak;
    }

    /// The highest peak seen, linear (1.0 = full scale).
    pub(crate) fn peak(&self) -> f64 {
        f64::from(self.peak)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure(f: impl Fn(usize) -> f64, n: usize) -> f64 {
        let mut m = TruePeakMeter::new(1);
        let samples: Vec<i32> = (0..n).map(|i| (f(i) * 2_147_483_647.0) as i32).collect();
        for chunk in samples.chunks(1000) {
            m.feed(&[chunk]);
        }
        20.0 * m.peak().log10()
    }

    #[test]
    fn finds_the_peak_between_samples() {
        use std::f64::consts::PI;
        // Sines whose samples all miss the crest: the true peak is the amplitude, −6.02 dB.
        for (period, phase) in [(4.0, 45.0), (6.0, 60.0), (8.0, 67.5)] {
            let tp = measure(
                |i| 0.5 * (2.0 * PI * i as f64 / period + f64::to_radians(phase)).sin(),
                48_000,
            );
            assert!(
                (tp + 6.02).abs() < 0.05,
                "period {period}, phase {phase}: {tp}"
            );
        }
        // 4× oversampling lands 7.5° from this crest: it reads 0.075 dB low, as BS.1770 allows.
        let tp = measure(
            |i| 0.5 * (PI / 2.0 * i as f64 + f64::to_radians(30.0)).sin(),
            48_000,
        );
        assert!((tp + 6.095).abs() < 0.02, "{tp}");
        // A low tone reads its sample peak.
        let tp = measure(
            |i| 0.25 * (2.0 * PI * i as f64 * 997.0 / 48_000.0).sin(),
            48_000,
        );
        assert!((tp + 12.04).abs() < 0.02, "{tp}");
    }
}
