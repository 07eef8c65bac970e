//! Why a message was rejected, with the status the proxy answers with.
//!
//! Invariants: every variant is a fieldless `Copy` value with a fixed [`Error::status`] and a
//! fixed [`Error::reason`] (also its `Display`), which contains nothing from the peer's bytes and
//! is therefore safe to put in a response. Every error comes from the peer's bytes (or, for the
//! encoders, from the caller's own fields) and is never worth retrying on the same connection:
//! the connection must be closed after answering.
//!
//! `status()` is the answer to a *client*: when an upstream *response* fails to parse, the proxy
//! answers its client 502 Bad Gateway whatever the variant.

/// A framing error: the message cannot be forwarded safely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request line is not `method SP target SP version` with exactly one SP between parts.
    #[error("{}", self.reason())]
    InvalidRequestLine,
    /// The method is not a token.
    #[error("{}", self.reason())]
    InvalidMethod,
    /// The request target holds whitespace, a control or non-ASCII byte, a `#`, or does not have
    /// the form its method needs (authority-form for CONNECT, `*` only for OPTIONS).
    #[error("{}", self.reason())]
    InvalidTarget,
    /// The version is not of the form `HTTP/DIGIT.DIGIT`.
    #[error("{}", self.reason())]
    InvalidVersion,
    /// The version is `HTTP/x.y` but neither HTTP/1.0 nor HTTP/1.1.
    #[error("{}", self.reason())]
    UnsupportedVersion,
    /// The request line (or status line) is longer than `max_request_line`.
    #[error("{}", self.reason())]
    StartLineTooLong,
    /// An LF not preceded by CR.
    #[error("{}", self.reason())]
    BareLf,
    /// A CR not followed by LF.
    #[error("{}", self.reason())]
    BareCr,
    /// A field line starts with SP or HTAB (obsolete line folding).
    #[error("{}", self.reason())]
    ObsFold,
    /// Whitespace between a field name and its colon.
    #[error("{}", self.reason())]
    WhitespaceBeforeColon,
    /// A field line without a colon, with an empty name, or a name that is not a token.
    #[error("{}", self.reason())]
    InvalidHeaderName,
    /// A field value holds a control byte other than HTAB (NUL included).
    #[error("{}", self.reason())]
    InvalidHeaderValue,
    /// The head is larger than `max_header_bytes`.
    #[error("{}", self.reason())]
    HeadTooLarge,
    /// The head has more than `max_headers` field lines.
    #[error("{}", self.reason())]
    TooManyHeaders,
    /// `Content-Length` is not 1*DIGIT or does not fit a `u64`.
    #[error("{}", self.reason())]
    InvalidContentLength,
    /// `Content-Length` appears more than once, even with equal values.
    #[error("{}", self.reason())]
    DuplicateContentLength,
    /// The body is (or declares itself) larger than `max_body`.
    #[error("{}", self.reason())]
    BodyTooLarge,
    /// A request carries both `Content-Length` and `Transfer-Encoding`.
    #[error("{}", self.reason())]
    ContentLengthWithTransferEncoding,
    /// `Transfer-Encoding` has an empty element, a coding that is not a token, or parameters on
    /// `chunked`.
    #[error("{}", self.reason())]
    InvalidTransferEncoding,
    /// `chunked` is present but not the final transfer coding.
    #[error("{}", self.reason())]
    ChunkedNotLast,
    /// `chunked` is listed more than once.
    #[error("{}", self.reason())]
    ChunkedRepeated,
    /// A transfer coding other than `chunked` (gzip, deflate, …) that this proxy does not decode.
    #[error("{}", self.reason())]
    UnsupportedTransferCoding,
    /// `Transfer-Encoding` in an HTTP/1.0 message.
    #[error("{}", self.reason())]
    TransferEncodingInHttp10,
    /// An HTTP/1.1 request without `Host`.
    #[error("{}", self.reason())]
    MissingHost,
    /// More than one `Host` field.
    #[error("{}", self.reason())]
    DuplicateHost,
    /// `Host` is not `uri-host [ ":" port ]` (bad byte, empty, bad IPv6 literal, bad port).
    #[error("{}", self.reason())]
    InvalidHost,
    /// A `Connection` element is not a token.
    #[error("{}", self.reason())]
    InvalidConnection,
    /// `Expect` holds something other than `100-continue`.
    #[error("{}", self.reason())]
    ExpectationFailed,
    /// An upstream status line is not `HTTP/1.x SP 3DIGIT [SP reason]` with a code in 100..=599.
    #[error("{}", self.reason())]
    InvalidStatusLine,
    /// A chunk size is not 1*HEXDIG followed by `;` or CRLF (spaces, `0x`, empty).
    #[error("{}", self.reason())]
    InvalidChunkSize,
    /// A chunk size has more than 16 hex digits (it would overflow a `u64`).
    #[error("{}", self.reason())]
    ChunkSizeOverflow,
    /// A chunk extension is longer than `max_chunk_ext`.
    #[error("{}", self.reason())]
    ChunkExtensionTooLong,
    /// A chunk extension is not `;name[=token|quoted-string]`.
    #[error("{}", self.reason())]
    InvalidChunkExtension,
    /// Chunk data is not followed by exactly CRLF.
    #[error("{}", self.reason())]
    MissingChunkCrlf,
    /// The trailer section is larger than `max_trailer_bytes`.
    #[error("{}", self.reason())]
    TrailersTooLarge,
    /// The connection ended before the body did.
    #[error("{}", self.reason())]
    IncompleteBody,
}

impl Error {
    /// The status code to answer a client with.
    pub fn status(self) -> u16 {
        use Error::*;
        match self {
            StartLineTooLong => 414,
            UnsupportedVersion => 505,
            HeadTooLarge | TooManyHeaders | TrailersTooLarge => 431,
            BodyTooLarge => 413,
            UnsupportedTransferCoding => 501,
            ExpectationFailed => 417,
            InvalidStatusLine => 502,
            InvalidRequestLine
            | InvalidMethod
            | InvalidTarget
            | InvalidVersion
            | BareLf
            | BareCr
            | ObsFold
            | WhitespaceBeforeColon
            | InvalidHeaderName
            | InvalidHeaderValue
            | InvalidContentLength
            | DuplicateContentLength
            | ContentLengthWithTransferEncoding
            | InvalidTransferEncoding
            | ChunkedNotLast
            | ChunkedRepeated
            | TransferEncodingInHttp10
            | MissingHost
            | DuplicateHost
            | InvalidHost
            | InvalidConnection
            | InvalidChunkSize
            | ChunkSizeOverflow
            | ChunkExtensionTooLong
            | InvalidChunkExtension
            | MissingChunkCrlf
            | IncompleteBody => 400,
        }
    }

    /// A short text, safe to send to a client, saying what was wrong.
    pub fn reason(self) -> &'static str {
        use Error::*;
        match self {
            InvalidRequestLine => "malformed request line",
            InvalidMethod => "invalid method",
            InvalidTarget => "invalid request target",
            InvalidVersion => "malformed HTTP version",
            UnsupportedVersion => "HTTP version not supported",
            StartLineTooLong => "request line too long",
            BareLf => "line ending without CR",
            BareCr => "CR without LF",
            ObsFold => "folded header line",
            WhitespaceBeforeColon => "whitespace before header colon",
            InvalidHeaderName => "invalid header name",
            InvalidHeaderValue => "invalid header value",
            HeadTooLarge => "header section too large",
            TooManyHeaders => "too many header fields",
            InvalidContentLength => "invalid Content-Length",
            DuplicateContentLength => "repeated Content-Length",
            BodyTooLarge => "body too large",
            ContentLengthWithTransferEncoding => "both Content-Length and Transfer-Encoding",
            InvalidTransferEncoding => "invalid Transfer-Encoding",
            ChunkedNotLast => "chunked is not the final transfer coding",
            ChunkedRepeated => "chunked applied more than once",
            UnsupportedTransferCoding => "transfer coding not implemented",
            TransferEncodingInHttp10 => "Transfer-Encoding in HTTP/1.0",
            MissingHost => "missing Host",
            DuplicateHost => "repeated Host",
            InvalidHost => "invalid Host",
            InvalidConnection => "invalid Connection",
            ExpectationFailed => "unsupported expectation",
            InvalidStatusLine => "malformed status line",
            InvalidChunkSize => "invalid chunk size",
            ChunkSizeOverflow => "chunk size too large",
            ChunkExtensionTooLong => "chunk extension too long",
            InvalidChunkExtension => "invalid chunk extension",
            MissingChunkCrlf => "chunk data not followed by CRLF",
            TrailersTooLarge => "trailer section too large",
            IncompleteBody => "body ended early",
        }
    }
}
