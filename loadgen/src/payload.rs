//! The segment payload: one buffer, made once, sliced for every upload.

use bytes::Bytes;

/// The shared payload and the size range uploads draw from.
#[derive(Debug, Clone)]
pub struct Payload {
    buf: Bytes,
    min: u64,
    max: u64,
    /// A measured distribution instead of the uniform range: (μ, σ) of `ln size`.
    lognormal: Option<(f64, f64)>,
}

/// The standard normal's 90th percentile.
const Z90: f64 = 1.281_551_565_5;

impl Payload {
    /// `max` bytes of noise (incompressible, like video), made once.
    pub fn generated(min: u64, max: u64) -> Payload {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut v = Vec::with_capacity(max as usize + 8);
        while (v.len() as u64) < max {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.truncate(max as usize);
        Payload {
            buf: Bytes::from(v),
            min,
            max,
            lognormal: None,
        }
    }

    /// Another size range over the same buffer (`max` at most the buffer's length).
    pub fn over(&self, min: u64, max: u64) -> Payload {
        let held = self.buf.len() as u64;
        Payload {
            buf: self.buf.clone(),
            min: min.min(held),
            max: max.min(held),
            lognormal: None,
        }
    }

    /// Sizes from a measured distribution (see `SizeDist`), clipped to the buffer.
    pub fn measured(&self, d: crate::scenario::SizeDist) -> Payload {
        let mu = (d.median.max(1) as f64).ln();
        let sigma = ((d.p90.max(1) as f64).ln() - mu).max(0.0) / Z90;
        Payload {
            lognormal: Some((mu, sigma)),
            ..self.over(1, d.max)
        }
    }

    /// A file's bytes, read once (every upload sends all of it).
    pub fn from_file(path: &std::path::Path) -> Result<Payload, crate::files::FileError> {
        let buf = Bytes::from(crate::files::read(path, "--payload", crate::files::PAYLOAD_CAP)?);
        let n = buf.len() as u64;
        Ok(Payload {
            buf,
            min: n,
            max: n,
            lognormal: None,
        })
    }

    /// The slice for one upload, its size drawn from `[min, max]` with `r`.
    pub fn segment(&self, r: u64) -> Bytes {
        let size = if let Some((mu, sigma)) = self.lognormal {
            // Box-Muller from the two halves of `r`: u1 in (0, 1], u2 in [0, 1).
            let u1 = ((r >> 32) + 1) as f64 / 4_294_967_296.0;
            let u2 = (r & 0xFFFF_FFFF) as f64 / 4_294_967_296.0;
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            let x = (mu + sigma * z).exp();
            // `as` saturates (NaN to 0); then clipped to 1..=max.
            (x as u64).clamp(self.min.max(1).min(self.max), self.max)
        } else if self.max > self.min {
            self.min + r % (self.max - self.min + 1)
        } else {
            self.max
        };
        let size = usize::try_from(size).unwrap_or(usize::MAX).min(self.buf.len());
        self.buf.slice(0..size)
    }

    /// Bytes held.
    pub fn held(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_slices_in_range() {
        let p = Payload::generated(100, 200);
        for r in 0..500 {
            let s = p.segment(r);
            assert!((100..=200).contains(&s.len()));
            assert_eq!(s.as_ptr(), p.buf.as_ptr());
        }
        assert_eq!(p.held(), 200);
        let small = p.over(10, 20);
        assert!((10..=20).contains(&small.segment(7).len()));
        assert_eq!(p.over(500, 900).segment(3).len(), 200, "never past the buffer");
    }

    #[test]
    fn measured_sizes_follow_median_and_p90_clipped_at_max() {
        let d = crate::scenario::SizeDist {
            median: 6_000,
            p90: 8_500,
            max: 10_600,
        };
        let p = Payload::generated(20_000, 20_000).measured(d);
        let mut x = 0x1234_5678_9ABC_DEF1u64;
        let mut sizes: Vec<usize> = (0..20_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                p.segment(x).len()
            })
            .collect();
        sizes.sort_unstable();
        let q = |f: f64| sizes[(f * sizes.len() as f64) as usize];
        assert!((5_800..6_200).contains(&q(0.5)), "median {}", q(0.5));
        assert!((8_200..8_800).contains(&q(0.9)), "p90 {}", q(0.9));
        assert_eq!(*sizes.last().unwrap(), 10_600, "clipped at max");
        assert!(sizes[0] >= 1);
    }
}
