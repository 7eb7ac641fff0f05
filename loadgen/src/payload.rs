//! The segment payload: one buffer, made once, sliced for every upload.

use bytes::Bytes;

/// The shared payload and the size range uploads draw from.
#[derive(Debug, Clone)]
pub struct Payload {
    buf: Bytes,
    min: u64,
    max: u64,
}

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
        }
    }

    /// Another size range over the same buffer (`max` at most the buffer's length).
    pub fn over(&self, min: u64, max: u64) -> Payload {
        let held = self.buf.len() as u64;
        Payload {
            buf: self.buf.clone(),
            min: min.min(held),
            max: max.min(held),
        }
    }

    /// A file's bytes, read once (every upload sends all of it).
    pub fn from_file(path: &std::path::Path) -> Result<Payload, crate::files::FileError> {
        let buf = Bytes::from(crate::files::read(path, "--payload", crate::files::PAYLOAD_CAP)?);
        let n = buf.len() as u64;
        Ok(Payload { buf, min: n, max: n })
    }

    /// The slice for one upload, its size drawn from `[min, max]` with `r`.
    pub fn segment(&self, r: u64) -> Bytes {
        let size = if self.max > self.min {
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
}
