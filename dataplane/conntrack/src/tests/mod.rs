//! Unit tests: state machine and timeouts (`state`), table behaviour (`table`), and shared
//! helpers.

mod state;
mod table;

use crate::{Config, Conn, Conntrack, FlowKey, NS_PER_SEC};
use strait_packet::ip::protocol;

pub(crate) const S: u64 = NS_PER_SEC;

/// Client `n` → VIP 10.0.0.1:80 over `proto`.
pub(crate) fn fwd(n: u16, proto: u8) -> FlowKey {
    FlowKey::v4(
        [192, 168, (n >> 8) as u8, n as u8],
        [10, 0, 0, 1],
        proto,
        10_000 + n,
        80,
    )
}

/// Backend 10.1.0.2:8080 → SNAT 10.0.0.100 port `20_000 + n`.
pub(crate) fn reply(n: u16, proto: u8) -> FlowKey {
    FlowKey::v4([10, 1, 0, 2], [10, 0, 0, 100], proto, 8080, 20_000 + n)
}

pub(crate) fn table(capacity: usize) -> Conntrack {
    Conntrack::new(Config::new(capacity, 0x5eed)).expect("valid capacity")
}

/// Inserts TCP connection `n` at `now`; panics on error or on any release.
pub(crate) fn add(t: &mut Conntrack, n: u16, now: u64) -> crate::ConnId {
    let conn = Conn::new(protocol::TCP, 7, u32::from(n), 1);
    t.insert(
        fwd(n, protocol::TCP),
        reply(n, protocol::TCP),
        conn,
        now,
        |r| panic!("unexpected release {r:?}"),
    )
    .expect("insert")
}
