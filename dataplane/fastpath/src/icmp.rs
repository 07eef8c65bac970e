//! ICMP errors about the node's flows: sent on to the peer on the other side of the flow.
//!
//! A router that cannot deliver a packet the node sent (fragmentation needed, packet too big,
//! unreachable, time exceeded) reports it to the packet's source, a VIP or SNAT address. The
//! quoted packet names the connection; the error goes to the peer that sent the packet
//! before translation, so path-MTU discovery works through the node (as in Katran and IPVS):
//! * to a VIP, about a packet to a client: on to the connection's backend. Full NAT rewrites
//!   it (outer: SNAT address → backend; quote: the backend's own packet), DSR sends it as it
//!   is, IPIP/GUE encapsulate it, as the flow's packets are.
//! * to a SNAT address, about a packet to a backend: on to the client, rewritten (outer:
//!   VIP → client; quote: the client's own packet).
//!
//! # Invariants
//! * An error is only handled on the core that owns its flow (steered there by the quoted
//!   key, as the flow's packets are), and never changes the connection (no state, no time).
//! * An error whose flow is unknown, or whose connection was made under an older generation
//!   and has not been revalidated by a packet of its own since, is dropped as `drop_icmp`;
//!   one forwarded counts `icmp_errors_forwarded` (and `tx`).

use strait_conntrack::Direction;
use strait_l4::icmp_error::{self, Quote};
use strait_l4::nat::Ends;
use strait_packet::Parsed;
use strait_table::{Image, L4Mode};

use crate::counters::counter;
use crate::pipeline::{Action, Pipeline};

impl Pipeline {
    /// Handles the ICMP error `parsed` quoting `quote`, sent to one of the node's addresses.
    #[cold]
    #[inline(never)]
    pub(crate) fn icmp_error<B: AsRef<[u8]>>(
        &mut self,
        image: Option<&Image<B>>,
        buf: &mut [u8],
        len: usize,
        parsed: &Parsed,
        quote: &Quote,
        steered: bool,
    ) -> Action {
        // The connection's key for a packet going the other way from the quoted one.
        let key = quote.key.reversed();
        if let Some(handoff) = self.handoff(&key, steered) {
            return handoff;
        }
        let Some(image) = image else {
            self.counters.inc(counter::DROP_NO_TABLES);
            return Action::Drop;
        };
        let generation = self.view.generation;
        let Some(hit) = self.conntrack.lookup_hinted(&key, None, self.now) else {
            self.counters.inc(counter::DROP_ICMP);
            return Action::Drop;
        };
        if hit.conn.generation != generation {
            self.counters.inc(counter::DROP_ICMP);
            return Action::Drop;
        }
        let (dir, service, snat) = (hit.dir, hit.conn.service, hit.conn.snat());
        let keys = *hit.keys;
        // The peer's key: the error becomes one about the packet the peer sent.
        let peer = keys[dir.opposite().index()];
        let mode = self.view.mode(image, service).flatten();
        let full_nat = match dir {
            Direction::Original => mode == Some(L4Mode::FullNat),
            Direction::Reply if snat => true,
            Direction::Reply => {
                self.counters.inc(counter::DROP_ICMP);
                return Action::Drop;
            }
        };
        let action = if full_nat {
            let outer = Ends::against(&peer);
            let frame = &mut buf[..len];
            if icmp_error::rewrite(frame, parsed, quote, &outer, &peer, true).is_err() {
                self.counters.inc(counter::DROP_REWRITE);
                return Action::Drop;
            }
            self.send_to_next_hop(buf, len, peer.src, peer.family)
        } else {
            // DSR, IPIP, GUE: the backend gets the error as the flow's packets reach it.
            self.forward(buf, len, parsed, mode, &peer)
        };
        if matches!(action, Action::Tx(_)) {
            self.counters.inc(counter::ICMP_ERRORS_FORWARDED);
        }
        action
    }
}
