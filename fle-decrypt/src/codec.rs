//! The one cursor that touches untrusted bytes.
//!
//! Everything that reads a message goes through [`Reader`]: lengths are checked before any
//! slice is taken, and a final [`Reader::finish`] refuses trailing bytes. Nothing else in the
//! crate indexes or slices input.

use crate::error::Error;

#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// The next `n` bytes; `what` names the field for the error message.
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Error> {
        let end = self.pos.checked_add(n).ok_or(Error::Malformed(what))?;
        let out = self.buf.get(self.pos..end).ok_or(Error::Malformed(what))?;
        self.pos = end;
        Ok(out)
    }

    pub(crate) fn take_array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<&'a [u8; N], Error> {
        self.take(N, what)?
            .try_into()
            .map_err(|_| Error::Malformed(what))
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, Error> {
        Ok(u8::from_be_bytes(*self.take_array::<1>(what)?))
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(*self.take_array::<2>(what)?))
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(*self.take_array::<4>(what)?))
    }

    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(*self.take_array::<8>(what)?))
    }

    /// A field prefixed by its big-endian u16 length, at most `cap` bytes long.
    pub(crate) fn vec16(&mut self, cap: usize, what: &'static str) -> Result<&'a [u8], Error> {
        let len = usize::from(self.u16(what)?);
        if len > cap {
            return Err(Error::Malformed(what));
        }
        self.take(len, what)
    }

    /// A reader over the next `n` bytes, which this reader skips.
    pub(crate) fn sub(&mut self, n: usize, what: &'static str) -> Result<Reader<'a>, Error> {
        Ok(Reader::new(self.take(n, what)?))
    }

    /// Everything read so far.
    pub(crate) fn consumed(&self) -> &'a [u8] {
        self.buf.get(..self.pos).unwrap_or_default()
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Succeeds only when every byte has been read.
    pub(crate) fn finish(self, what: &'static str) -> Result<(), Error> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(Error::Malformed(what))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_and_refuses_overruns() {
        let mut r = Reader::new(&[0, 1, 0, 0, 0, 2, 9]);
        assert_eq!(r.u16("a").unwrap(), 1);
        assert_eq!(r.u32("b").unwrap(), 2);
        assert_eq!(r.consumed(), &[0, 1, 0, 0, 0, 2]);
        assert_eq!(r.take(2, "c"), Err(Error::Malformed("c")));
        // A failed take consumes nothing.
        assert_eq!(r.remaining(), 1);
        assert_eq!(r.clone().finish("d"), Err(Error::Malformed("d")));
        assert_eq!(r.u8("e").unwrap(), 9);
        assert!(r.finish("f").is_ok());
    }

    #[test]
    fn vec16_enforces_its_cap() {
        let mut r = Reader::new(&[0, 3, b'a', b'b', b'c']);
        assert_eq!(r.clone().vec16(2, "x"), Err(Error::Malformed("x")));
        assert_eq!(r.vec16(3, "x").unwrap(), b"abc");
    }

    #[test]
    fn huge_lengths_do_not_overflow() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert!(r.u8("a").is_ok());
        assert_eq!(r.take(usize::MAX, "b"), Err(Error::Malformed("b")));
    }
}
