//! State transitions and the timeout of every state.

use super::{S, add, table};
use crate::Direction::{Original, Reply};
use crate::{State, Timeouts};
use strait_packet::tcp::Flags;

const SYN: u8 = Flags::SYN.0;
const ACK: u8 = Flags::ACK.0;
const FIN: u8 = Flags::FIN.0;
const RST: u8 = Flags::RST.0;
const SYN_ACK: u8 = SYN | ACK;
const FIN_ACK: u8 = FIN | ACK;

#[test]
fn initial_states_by_protocol() {
    assert_eq!(State::initial(6), State::TcpNew);
    assert_eq!(State::initial(17), State::Udp);
    assert_eq!(State::initial(1), State::Icmp);
    assert_eq!(State::initial(58), State::Icmp);
    assert_eq!(State::initial(47), State::Udp);
}

#[test]
fn three_way_handshake() {
    let s = State::TcpNew.next(Original, SYN);
    assert_eq!(s, State::SynSent);
    assert_eq!(s.next(Original, SYN), State::SynSent, "SYN retransmit");
    assert_eq!(s.next(Reply, ACK), State::SynSent, "bare ACK from reply");
    let s = s.next(Reply, SYN_ACK);
    assert_eq!(s, State::SynRecv);
    assert_eq!(s.next(Reply, SYN_ACK), State::SynRecv);
    assert_eq!(s.next(Original, ACK), State::Established);
}

#[test]
fn dsr_and_midstream_pickup_establish() {
    assert_eq!(State::SynSent.next(Original, ACK), State::Established);
    assert_eq!(State::TcpNew.next(Original, ACK), State::Established);
    assert_eq!(State::TcpNew.next(Reply, ACK), State::Established);
    assert_eq!(State::TcpNew.next(Original, 0), State::TcpNew);
}

#[test]
fn fin_from_each_side_then_both() {
    for first in [Original, Reply] {
        let s = State::Established.next(first, FIN_ACK);
        assert_eq!(s, State::FinWait(first));
        assert_eq!(s.next(first, FIN_ACK), s, "FIN retransmit same side");
        assert_eq!(s.next(first.opposite(), ACK), s);
        let s = s.next(first.opposite(), FIN_ACK);
        assert_eq!(s, State::Closing);
        assert_eq!(s.next(first, ACK), State::Closing);
    }
    assert_eq!(State::SynSent.next(Original, FIN), State::FinWait(Original));
}

#[test]
fn rst_closes_from_any_tcp_state() {
    for s in [
        State::TcpNew,
        State::SynSent,
        State::SynRecv,
        State::Established,
        State::FinWait(Reply),
        State::Closing,
        State::Closed,
    ] {
        assert_eq!(s.next(Reply, RST), State::Closed, "{s:?}");
        assert_eq!(s.next(Original, RST | ACK), State::Closed, "{s:?}");
    }
}

#[test]
fn syn_reopens_closed_tuple() {
    assert_eq!(State::Closed.next(Original, SYN), State::SynSent);
    assert_eq!(State::Closing.next(Original, SYN), State::SynSent);
    assert_eq!(State::Closed.next(Reply, SYN), State::Closed);
}

#[test]
fn non_tcp_states_ignore_flags() {
    for s in [State::Udp, State::Icmp] {
        for f in [SYN, RST, FIN, ACK, 0xff] {
            assert_eq!(s.next(Original, f), s);
        }
    }
}

#[test]
fn timeout_for_every_state() {
    let t = Timeouts::default();
    assert_eq!(t.for_state(State::TcpNew, 0), 10 * S);
    assert_eq!(t.for_state(State::SynSent, 0), 10 * S);
    assert_eq!(t.for_state(State::SynRecv, 0), 10 * S);
    assert_eq!(t.for_state(State::Established, 0), 300 * S);
    assert_eq!(t.for_state(State::Established, 7 * S), 7 * S);
    assert_eq!(t.for_state(State::FinWait(Original), 7 * S), 30 * S);
    assert_eq!(t.for_state(State::Closing, 0), 30 * S);
    assert_eq!(t.for_state(State::Closed, 7 * S), 5 * S);
    assert_eq!(t.for_state(State::Udp, 0), 30 * S);
    assert_eq!(t.for_state(State::Udp, 7 * S), 7 * S);
    assert_eq!(t.for_state(State::Icmp, 7 * S), 10 * S);
}

/// Drives a connection into a state through `observe`, then checks it lives exactly until
/// `last_seen + timeout`.
fn expires_after(flags: &[(crate::Direction, u8)], want: State, timeout: u64) {
    let mut t = table(4);
    let id = add(&mut t, 1, 0);
    let mut now = 0;
    for &(d, f) in flags {
        now += S;
        t.observe(id, d, f, now);
    }
    assert_eq!(t.get(id).map(|c| c.state), Some(want));
    let key = super::fwd(1, 6);
    assert!(
        t.lookup(&key, now + timeout - 1).is_some(),
        "{want:?} alive"
    );
    assert!(t.lookup(&key, now + timeout).is_none(), "{want:?} expired");
    assert!(t.is_expired(id, now + timeout));
}

#[test]
fn each_state_expires_at_its_timeout() {
    expires_after(&[], State::TcpNew, 10 * S);
    expires_after(&[(Original, SYN)], State::SynSent, 10 * S);
    expires_after(&[(Original, SYN), (Reply, SYN_ACK)], State::SynRecv, 10 * S);
    let est = [(Original, SYN), (Reply, SYN_ACK), (Original, ACK)];
    expires_after(&est, State::Established, 300 * S);
    let fin = [est[0], est[1], est[2], (Reply, FIN_ACK)];
    expires_after(&fin, State::FinWait(Reply), 30 * S);
    let closing = [fin[0], fin[1], fin[2], fin[3], (Original, FIN_ACK)];
    expires_after(&closing, State::Closing, 30 * S);
    expires_after(
        &[est[0], est[1], est[2], (Original, RST)],
        State::Closed,
        5 * S,
    );
}

#[test]
fn service_idle_timeout_overrides_established() {
    let mut t = table(4);
    let id = add(&mut t, 1, 0);
    t.get_mut(id).expect("live").idle_timeout_s = 3;
    t.observe(id, Original, ACK, 0);
    let key = super::fwd(1, 6);
    assert!(t.lookup(&key, 3 * S - 1).is_some());
    assert!(t.lookup(&key, 3 * S).is_none());
}

#[test]
fn udp_and_icmp_idle_timeouts() {
    use crate::Conn;
    use strait_packet::ip::protocol::{ICMP, UDP};
    let mut t = table(4);
    for (n, proto, timeout) in [(1, UDP, 30 * S), (2, ICMP, 10 * S)] {
        let (f, r) = (super::fwd(n, proto), super::reply(n, proto));
        let id = t
            .insert(f, r, Conn::new(proto, 0, 0, 0), 0, |_| panic!())
            .expect("insert");
        t.observe(id, Reply, 0, 2 * S);
        assert!(t.lookup(&r, 2 * S + timeout - 1).is_some());
        assert!(t.lookup(&f, 2 * S + timeout).is_none());
    }
}

#[test]
fn shortest_is_the_least_timeout() {
    assert_eq!(Timeouts::default().shortest(), 5 * S);
    let icmp = Timeouts {
        icmp: 2 * S,
        ..Timeouts::default()
    };
    assert_eq!(icmp.shortest(), 2 * S);
    let syn = Timeouts {
        syn: 0,
        ..Timeouts::default()
    };
    assert_eq!(syn.shortest(), 0);
}

/// A state whose timeout is below the defaults' shortest still expires at its own.
#[test]
fn a_short_state_timeout_expires_on_time() {
    let mut config = crate::Config::new(4, 0x5eed);
    config.timeouts.syn = S / 2;
    let mut t = crate::Conntrack::new(config).expect("valid capacity");
    let id = add(&mut t, 1, 0);
    let key = super::fwd(1, 6);
    assert!(t.lookup(&key, S / 2 - 1).is_some());
    assert!(t.lookup(&key, S / 2).is_none());
    assert!(t.is_expired(id, S / 2));
}
