//! The server name of a TLS ClientHello, read from the first bytes of a connection without
//! terminating TLS (SNI pass-through). Sans-IO: [`parse`] looks at what has arrived so far and
//! says whether it needs more.
//!
//! Order: read some bytes, [`parse`] them all; on [`Hello::Partial`] read more (the caller bounds
//! the bytes with [`MAX_HELLO`] and the time with a timeout) and parse again from the start.
//!
//! Invariants: nothing is consumed (the caller forwards every byte it read, unchanged); the
//! handshake message may span several TLS records, which are reassembled; any length that
//! points past its enclosing structure, a record that is not a handshake, a handshake message
//! that is not a ClientHello, or a server name that is not a printable ASCII host name is
//! [`HelloError`]: the connection is closed, never forwarded on a guess.

/// The most bytes the records of one ClientHello may take; more is [`HelloError::TooLong`].
pub(crate) const MAX_HELLO: usize = 32 * 1024;

const RECORD_HANDSHAKE: u8 = 22;
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
const EXTENSION_SERVER_NAME: u16 = 0;
const NAME_TYPE_HOST: u8 = 0;
/// Largest record payload (TLS 1.2 allows ciphertext expansion up to 2048 more).
const MAX_RECORD: usize = 16 * 1024 + 2048;

/// What the bytes so far say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Hello {
    /// The ClientHello is not whole yet.
    Partial,
    /// A whole ClientHello, with its server name (lower case) if it sent one.
    Complete(Option<String>),
}

/// Why the bytes are not a usable ClientHello.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HelloError {
    /// The first record is not a TLS handshake record.
    #[error("not a TLS handshake")]
    NotTls,
    /// The first handshake message is not a ClientHello.
    #[error("not a ClientHello")]
    NotClientHello,
    /// A length or a field is inconsistent.
    #[error("malformed ClientHello")]
    Malformed,
    /// The ClientHello is longer than [`MAX_HELLO`].
    #[error("ClientHello longer than {MAX_HELLO} bytes")]
    TooLong,
}

/// Parses the start of a connection; see the module documentation.
pub(crate) fn parse(buf: &[u8]) -> Result<Hello, HelloError> {
    // Reassemble the handshake bytes carried by the leading handshake records.
    let mut handshake = Vec::new();
    let mut rest = buf;
    loop {
        if let Some(message) = whole_message(&handshake)? {
            return client_hello(message).map(Hello::Complete);
        }
        if rest.len() < 5 {
            return partial(buf);
        }
        let (kind, major, len) = (
            rest[0],
            rest[1],
            usize::from(u16::from_be_bytes([rest[3], rest[4]])),
        );
        if kind != RECORD_HANDSHAKE || major != 3 {
            return Err(HelloError::NotTls);
        }
        if len == 0 || len > MAX_RECORD {
            return Err(HelloError::Malformed);
        }
        let Some(payload) = rest.get(5..5 + len) else {
            return partial(buf);
        };
        handshake.extend_from_slice(payload);
        rest = &rest[5 + len..];
    }
}

fn partial(buf: &[u8]) -> Result<Hello, HelloError> {
    if buf.len() >= MAX_HELLO {
        Err(HelloError::TooLong)
    } else {
        Ok(Hello::Partial)
    }
}

/// The first handshake message if it is whole.
fn whole_message(handshake: &[u8]) -> Result<Option<&[u8]>, HelloError> {
    if handshake.len() < 4 {
        return Ok(None);
    }
    if handshake[0] != HANDSHAKE_CLIENT_HELLO {
        return Err(HelloError::NotClientHello);
    }
    let len = u32::from_be_bytes([0, handshake[1], handshake[2], handshake[3]]) as usize;
    if len > MAX_HELLO {
        return Err(HelloError::TooLong);
    }
    Ok(handshake.get(4..4 + len))
}

/// Big-endian reads over a slice that refuse to run past its end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], HelloError> {
        if self.0.len() < n {
            return Err(HelloError::Malformed);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, HelloError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, HelloError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A vector with a one- or two-byte length.
    fn vec8(&mut self) -> Result<Reader<'a>, HelloError> {
        let n = usize::from(self.u8()?);
        Ok(Reader(self.take(n)?))
    }

    fn vec16(&mut self) -> Result<Reader<'a>, HelloError> {
        let n = usize::from(self.u16()?);
        Ok(Reader(self.take(n)?))
    }
}

/// The server name of a whole ClientHello body.
fn client_hello(body: &[u8]) -> Result<Option<String>, HelloError> {
    let mut r = Reader(body);
    r.take(2 + 32)?; // legacy_version, random
    let session_id = r.vec8()?;
    if session_id.0.len() > 32 {
        return Err(HelloError::Malformed);
    }
    r.vec16()?; // cipher_suites
    r.vec8()?; // legacy_compression_methods
    if r.0.is_empty() {
        return Ok(None); // no extensions at all
    }
    let mut extensions = r.vec16()?;
    if !r.0.is_empty() {
        return Err(HelloError::Malformed);
    }
    while !extensions.0.is_empty() {
        let kind = extensions.u16()?;
        let mut data = extensions.vec16()?;
        if kind == EXTENSION_SERVER_NAME {
            return server_name(&mut data);
        }
    }
    Ok(None)
}

fn server_name(data: &mut Reader<'_>) -> Result<Option<String>, HelloError> {
    let mut list = data.vec16()?;
    while !list.0.is_empty() {
        let kind = list.u8()?;
        let name = list.vec16()?.0;
        if kind != NAME_TYPE_HOST {
            continue;
        }
        let printable = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_');
        if name.is_empty() || !name.iter().all(printable) {
            return Err(HelloError::Malformed);
        }
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        return Ok(Some(name));
    }
    Ok(None)
}

#[cfg(test)]
mod tests;
