//! The HTTP route record and its bitmasks.
//!
//! A route matches on path, method mask and all of its `matches`, then performs its `action`.
//! Fields of other actions are written as zero / empty and ignored: `backends`, timeouts and
//! retries serve `Forward`; `redirect_*` serve `Redirect`; `direct_*` serve `Direct`.

use super::codes::{PathMatch, RouteAction};
use super::{Range, StrRef};
use bytemuck::{Pod, Zeroable};

/// Bits of [`Route::method_mask`]; a mask of 0 matches every method.
pub mod method {
    /// GET.
    pub const GET: u16 = 1 << 0;
    /// HEAD.
    pub const HEAD: u16 = 1 << 1;
    /// POST.
    pub const POST: u16 = 1 << 2;
    /// PUT.
    pub const PUT: u16 = 1 << 3;
    /// DELETE.
    pub const DELETE: u16 = 1 << 4;
    /// CONNECT.
    pub const CONNECT: u16 = 1 << 5;
    /// OPTIONS.
    pub const OPTIONS: u16 = 1 << 6;
    /// TRACE.
    pub const TRACE: u16 = 1 << 7;
    /// PATCH.
    pub const PATCH: u16 = 1 << 8;
    /// Every bit this ABI defines; the reader refuses others.
    pub const ALL: u16 = (1 << 9) - 1;

    /// The bit of a method name (case-sensitive, as on the wire); `None` for others.
    pub fn from_name(name: &[u8]) -> Option<u16> {
        Some(match name {
            b"GET" => GET,
            b"HEAD" => HEAD,
            b"POST" => POST,
            b"PUT" => PUT,
            b"DELETE" => DELETE,
            b"CONNECT" => CONNECT,
            b"OPTIONS" => OPTIONS,
            b"TRACE" => TRACE,
            b"PATCH" => PATCH,
            _ => return None,
        })
    }
}

/// Bits of [`Route::retry_on`]: which failures are retried.
pub mod retry_on {
    /// The upstream connection could not be established.
    pub const CONNECT_FAILURE: u8 = 1 << 0;
    /// The upstream reset the connection or stream.
    pub const RESET: u8 = 1 << 1;
    /// The upstream answered with a 5xx status.
    pub const STATUS_5XX: u8 = 1 << 2;
    /// One try exceeded the per-try timeout.
    pub const PER_TRY_TIMEOUT: u8 = 1 << 3;
    /// An HTTP/2 upstream refused the stream (REFUSED_STREAM): always safe to retry.
    pub const REFUSED_STREAM: u8 = 1 << 4;
    /// The upstream answered 502, 503 or 504.
    pub const GATEWAY_ERROR: u8 = 1 << 5;
    /// Every bit this ABI defines; the reader refuses others.
    pub const ALL: u8 =
        CONNECT_FAILURE | RESET | STATUS_5XX | PER_TRY_TIMEOUT | REFUSED_STREAM | GATEWAY_ERROR;
}

/// Bits of [`Route::retry_flags`].
pub mod retry_flags {
    /// Retry requests whose method is not idempotent (POST, PATCH, CONNECT).
    pub const ALLOW_NON_IDEMPOTENT: u8 = 1 << 0;
    /// Every bit this ABI defines; the reader refuses others.
    pub const ALL: u8 = ALLOW_NON_IDEMPOTENT;
}

/// An HTTP route of a virtual host.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Route {
    /// Route name, for logs and metrics.
    pub name: StrRef,
    /// Path to match (empty for `PathMatch::Any`).
    pub path: StrRef,
    /// Header and query conditions in `MATCHES`; all must hold.
    pub matches: Range,
    /// Weighted clusters in `ROUTE_BACKENDS` (for `Forward`).
    pub backends: Range,
    /// Header modifications in `HEADER_MODS`.
    pub header_mods: Range,
    /// Redirect scheme (empty = keep the request's).
    pub redirect_scheme: StrRef,
    /// Redirect host (empty = keep).
    pub redirect_host: StrRef,
    /// Redirect path (empty = keep).
    pub redirect_path: StrRef,
    /// Body of a direct response.
    pub direct_body: StrRef,
    /// Whole-request timeout in milliseconds (0 = none).
    pub timeout_ms: u32,
    /// Timeout of one try in milliseconds (0 = none).
    pub per_try_timeout_ms: u32,
    /// [`method`] bits; 0 matches every method.
    pub method_mask: u16,
    /// Redirect status (301, 302, 303, 307 or 308).
    pub redirect_status: u16,
    /// Redirect port (0 = keep).
    pub redirect_port: u16,
    /// Status of a direct response.
    pub direct_status: u16,
    /// [`PathMatch`] code.
    pub path_kind: u8,
    /// [`RouteAction`] code.
    pub action: u8,
    /// Retries after the first try (0 = no retry).
    pub retry_attempts: u8,
    /// [`retry_on`] bits.
    pub retry_on: u8,
    /// [`retry_flags`] bits.
    pub retry_flags: u8,
    /// Retry budget: retries may be at most this percent of active requests (0 = no budget).
    pub retry_budget_percent: u8,
    /// Zero.
    pub _pad: [u8; 2],
}

impl Route {
    /// How the path matches.
    pub fn path_kind(&self) -> Option<PathMatch> {
        PathMatch::from_code(self.path_kind)
    }

    /// What the route does.
    pub fn action(&self) -> Option<RouteAction> {
        RouteAction::from_code(self.action)
    }

    /// True if the route accepts this [`method`] bit (a zero mask accepts all).
    pub fn allows_method(&self, bit: u16) -> bool {
        self.method_mask == 0 || self.method_mask & bit != 0
    }

    /// True if a failure of this [`retry_on`] class may be retried.
    pub fn retries_on(&self, class: u8) -> bool {
        self.retry_attempts > 0 && self.retry_on & class != 0
    }
}
