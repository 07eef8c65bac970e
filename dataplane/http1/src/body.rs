//! The streaming body decoder: sans-IO, no buffering, one event per call.
//!
//! Order of use: build a [`BodyDecoder`] from the head's framing, then call
//! [`BodyDecoder::decode`] with the unconsumed input (the bytes after the head, then whatever
//! arrives); drop `consumed` bytes from the front after each call, act on the event, and call
//! again while it is not [`Event::NeedMore`] or [`Event::Done`]. When the peer closes, call
//! [`BodyDecoder::finish`]: it says whether the body was complete.
//!
//! Invariants:
//! * [`Event::Data`] ranges index the input of that call and `consumed` covers them; payload is
//!   never copied. On `NeedMore`, unconsumed bytes are a partial line the caller must keep and
//!   pass again with what follows (at most a chunk-size line or one trailer line).
//! * Nothing after the body is consumed: once `Done`, the rest of the input is the next message.
//! * Payload never exceeds `max_body` (413) and a trailer section never exceeds
//!   `max_trailer_bytes` (431); errors are final, as for the head parsers.

use core::ops::Range;

use crate::chunked::Chunked;
use crate::semantics::BodyFraming;
use crate::{Error, Limits};

/// What one [`BodyDecoder::decode`] call found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// How many input bytes were used; the caller drops them before the next call.
    pub consumed: usize,
    /// What those bytes were.
    pub event: Event,
}

/// One step of a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The input ends inside the body (possibly inside a chunk-size or trailer line).
    NeedMore,
    /// `input[range]` is payload to forward.
    Data(Range<usize>),
    /// One validated trailer field: `input[name]`, `input[value]` (value trimmed of OWS).
    Trailer {
        /// The field name's bytes in the input.
        name: Range<usize>,
        /// The field value's bytes in the input.
        value: Range<usize>,
    },
    /// The body is complete; bytes after `consumed` belong to the next message.
    Done,
}

#[derive(Debug, Clone)]
enum Kind {
    Done,
    Length { remaining: u64 },
    Chunked(Chunked),
    UntilClose,
    Tunnel,
}

/// Decodes one body; see the module docs.
#[derive(Debug, Clone)]
pub struct BodyDecoder {
    kind: Kind,
    limits: Limits,
    payload: u64,
    failed: Option<Error>,
}

impl BodyDecoder {
    /// A decoder for a body with `framing` under `limits` (`max_body`, `max_chunk_ext`,
    /// `max_trailer_bytes`; a tunnel is not bounded by `max_body`).
    pub fn new(framing: BodyFraming, limits: &Limits) -> Self {
        let kind = match framing {
            BodyFraming::None | BodyFraming::Length(0) => Kind::Done,
            BodyFraming::Length(remaining) => Kind::Length { remaining },
            BodyFraming::Chunked => Kind::Chunked(Chunked::default()),
            BodyFraming::UntilClose => Kind::UntilClose,
            BodyFraming::Tunnel => Kind::Tunnel,
        };
        let failed = match framing {
            BodyFraming::Length(len) if limits.body_over(len) => Some(Error::BodyTooLarge),
            _ => None,
        };
        BodyDecoder {
            kind,
            limits: *limits,
            payload: 0,
            failed,
        }
    }

    /// Decodes from the front of `input`; see [`Event`].
    pub fn decode(&mut self, input: &[u8]) -> Result<Decoded, Error> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        let result = self.step(input);
        if let Err(err) = result {
            self.failed = Some(err);
        }
        result
    }

    fn step(&mut self, input: &[u8]) -> Result<Decoded, Error> {
        let data = |n: usize| Decoded {
            consumed: n,
            event: Event::Data(0..n),
        };
        match &mut self.kind {
            Kind::Done => Ok(Decoded {
                consumed: 0,
                event: Event::Done,
            }),
            _ if input.is_empty() => Ok(Decoded {
                consumed: 0,
                event: Event::NeedMore,
            }),
            Kind::Length { remaining } => {
                let n = usize::try_from(*remaining).map_or(input.len(), |r| r.min(input.len()));
                *remaining -= n as u64;
                if *remaining == 0 {
                    self.kind = Kind::Done;
                }
                self.payload += n as u64;
                Ok(data(n))
            }
            Kind::UntilClose => {
                self.payload = self.payload.saturating_add(input.len() as u64);
                if self.limits.body_over(self.payload) {
                    return Err(Error::BodyTooLarge);
                }
                Ok(data(input.len()))
            }
            Kind::Tunnel => {
                self.payload = self.payload.saturating_add(input.len() as u64);
                Ok(data(input.len()))
            }
            Kind::Chunked(chunked) => {
                let decoded = chunked.decode(input, &self.limits, &mut self.payload)?;
                if decoded.event == Event::Done {
                    self.kind = Kind::Done;
                }
                Ok(decoded)
            }
        }
    }

    /// The peer closed the connection: `Ok` if the body is complete (a body delimited by the
    /// close, or a tunnel, is complete now), [`Error::IncompleteBody`] otherwise.
    pub fn finish(&mut self) -> Result<(), Error> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        match self.kind {
            Kind::Done | Kind::UntilClose | Kind::Tunnel => {
                self.kind = Kind::Done;
                Ok(())
            }
            Kind::Length { .. } | Kind::Chunked(_) => {
                self.failed = Some(Error::IncompleteBody);
                Err(Error::IncompleteBody)
            }
        }
    }

    /// Whether the body is complete (the next `decode` returns [`Event::Done`]).
    pub fn is_done(&self) -> bool {
        matches!(self.kind, Kind::Done)
    }

    /// Payload bytes handed out so far.
    pub fn payload_len(&self) -> u64 {
        self.payload
    }
}
