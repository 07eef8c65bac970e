//! The TCP/UDP part of the pipeline: connection lookup, new-flow balancing, and the rewrite
//! for the service's mode.
//!
//! A connection's two conntrack keys carry everything its packets need, whatever generation
//! is current: the forward key is `client → vip:port`; the reply key is
//! `backend:port → snat:port` for full NAT (the packets the backend sends back) and
//! `backend:port → client:port` for the other modes (a key no packet matches: replies do not
//! come back through the node).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use strait_conntrack::{Conn, ConnId, Direction, InsertError, KeyHash};
use strait_l4::nat::{self, Ends};
use strait_l4::{
    Encap, EncapError, Health, Tunnel, choose_backend, encapsulate, flow_hash, flow_hash_for,
};
use strait_packet::flow::v4_mapped;
use strait_packet::ip::protocol;
use strait_packet::{Family, FlowKey, L4, Parsed};
use strait_table::{Image, L4Mode, L4Service, l4_flags};

use crate::counters::counter;
use crate::discovery;
use crate::neighbour;
use crate::pipeline::{Action, Pipeline, release};
use crate::view::backend_addr;

/// Addresses resolved ahead of traffic per burst.
const RESOLVE_PER_BURST: usize = 8;

fn ip_of(addr: [u8; 16], family: Family) -> IpAddr {
    match family {
        Family::V4 => {
            let [.., a, b, c, d] = addr;
            IpAddr::V4(Ipv4Addr::new(a, b, c, d))
        }
        Family::V6 => IpAddr::V6(Ipv6Addr::from(addr)),
    }
}

fn tcp_flags(buf: &[u8], l4: &L4) -> u8 {
    if l4.flow.proto == protocol::TCP {
        buf.get(l4.offset + 13).copied().unwrap_or(0)
    } else {
        0
    }
}

impl Pipeline {
    /// Balances or forwards a TCP/UDP frame this worker owns; `hint` is the hash
    /// [`Pipeline::ahead`] computed for the frame at this place of the burst, if any.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn flow<B, H>(
        &mut self,
        image: &Image<B>,
        buf: &mut [u8],
        len: usize,
        parsed: &Parsed,
        l4: &L4,
        hint: Option<KeyHash>,
        health: &H,
    ) -> Action
    where
        B: AsRef<[u8]>,
        H: Fn(u32) -> Health,
    {
        let flow = &l4.flow;
        let flags = tcp_flags(buf, l4);
        let (now, generation) = (self.now, self.view.generation);
        // One resolution of the key serves the whole packet: direction, state update and the
        // key the rewrite needs, read in place.
        let Some(hit) = self.conntrack.lookup_hinted(flow, hint, now) else {
            return self.new_flow(image, buf, len, parsed, l4, health);
        };
        if hit.dir == Direction::Reply {
            if !hit.conn.snat() {
                return self.exception();
            }
            hit.conn.observe(Direction::Reply, flags, now);
            let fwd = hit.keys[Direction::Original.index()];
            return self.reverse(buf, len, parsed, &fwd);
        }
        let mode = if hit.conn.generation == generation {
            self.view.mode(image, hit.conn.service)
        } else {
            None
        };
        let Some(mode) = mode else {
            // Rare: the generation moved since the connection's last packet (or its service
            // index is stale). Check it against the new tables, then resolve it again.
            let id = hit.id;
            let Some(service) = self.revalidate(image, id, flow) else {
                return self.new_flow(image, buf, len, parsed, l4, health);
            };
            let reply = match self.conntrack.keys(id) {
                Some(keys) => keys[Direction::Reply.index()],
                None => return self.exception(),
            };
            self.conntrack.observe(id, Direction::Original, flags, now);
            return self.forward(buf, len, parsed, service.mode(), &reply);
        };
        hit.conn.observe(Direction::Original, flags, now);
        let reply = hit.keys[Direction::Reply.index()];
        self.forward(buf, len, parsed, mode, &reply)
    }

    /// Checks a connection created under an older generation (or whose service index is
    /// stale) against the current one: returns its service record after re-pointing it, or
    /// `None` after removing it if its backend or service is gone.
    fn revalidate<'i, B: AsRef<[u8]>>(
        &mut self,
        image: &'i Image<B>,
        id: ConnId,
        flow: &FlowKey,
    ) -> Option<&'i L4Service> {
        let generation = self.view.generation;
        let found = match (self.conntrack.get(id), self.conntrack.keys(id)) {
            (Some(conn), _) if conn.generation == generation => image
                .l4_services()
                .get(conn.service as usize)
                .map(|s| (conn.service, s, conn.backend)),
            (Some(_), Some(keys)) => {
                let reply = &keys[Direction::Reply.index()];
                self.view.services.lookup(flow).and_then(|si| {
                    let svc = image.l4_services().get(si as usize)?;
                    let bi = image.l4_backends_of(svc).iter().position(|b| {
                        backend_addr(b) == reply.src && b.port_for(svc.port) == reply.src_port
                    })?;
                    Some((si, svc, bi as u32))
                })
            }
            _ => return None,
        };
        match found {
            Some((si, svc, bi)) => {
                if let Some(c) = self.conntrack.get_mut(id) {
                    c.generation = generation;
                    c.service = si;
                    c.backend = bi;
                }
                Some(svc)
            }
            None => {
                if let Some((keys, conn)) = self.conntrack.remove(id) {
                    release(&mut self.snat, &mut self.counters, &keys, &conn);
                }
                self.counters.inc(counter::FLOWS_MOVED);
                None
            }
        }
    }

    fn new_flow<B, H>(
        &mut self,
        image: &Image<B>,
        buf: &mut [u8],
        len: usize,
        parsed: &Parsed,
        l4: &L4,
        health: &H,
    ) -> Action
    where
        B: AsRef<[u8]>,
        H: Fn(u32) -> Health,
    {
        let flow = l4.flow;
        let flags = tcp_flags(buf, l4);
        let Some(si) = self.view.services.lookup(&flow) else {
            if self.is_snat(&flow.dst) {
                return self.no_connection(buf, len, parsed);
            }
            return self.exception();
        };
        let Some(svc) = image.l4_services().get(si as usize) else {
            return self.exception();
        };
        let hash = flow_hash_for(svc, &flow);
        let Some(bi) = choose_backend(image, si, hash, health) else {
            return self.no_backend(buf, len, parsed);
        };
        let Some(backend) = image.l4_backends_of(svc).get(bi as usize) else {
            return self.no_backend(buf, len, parsed);
        };
        let backend_port = backend.port_for(svc.port);
        let mut reply = FlowKey {
            src: backend_addr(backend),
            dst: flow.src,
            src_port: backend_port,
            dst_port: flow.src_port,
            proto: flow.proto,
            family: flow.family,
        };
        let mut conn = Conn::new(flow.proto, si, bi, self.view.generation);
        conn.idle_timeout_s = svc.idle_timeout_s;
        let full_nat = svc.mode() == Some(L4Mode::FullNat);
        if full_nat {
            let Some((snat_addr, port)) = self.snat.alloc(flow.family) else {
                let reason = if self.snat.has_family(flow.family) {
                    counter::DROP_SNAT_EXHAUSTED
                } else {
                    counter::DROP_NO_SNAT_ADDRESS
                };
                self.counters.inc(reason);
                return Action::Drop;
            };
            reply.dst = snat_addr;
            reply.dst_port = port;
            conn.snat_port = port;
        } else if svc.has_flag(l4_flags::CONNTRACK_BYPASS) {
            self.counters.inc(counter::NEW_FLOWS);
            return self.forward(buf, len, parsed, svc.mode(), &reply);
        }
        let (snat, counters) = (&mut self.snat, &mut self.counters);
        let inserted = self.conntrack.insert(flow, reply, conn, self.now, |r| {
            release(snat, counters, &r.keys, &r.conn)
        });
        let id = match inserted {
            Ok(id) => id,
            // `Exists` cannot happen after a lookup miss on the forward key unless the reply
            // key collides with a live connection's; either way the flow has no room.
            Err(InsertError::Full | InsertError::Exists) | Err(_) => {
                if conn.snat() {
                    self.snat.free(&reply.dst, conn.snat_port);
                }
                self.counters.inc(counter::DROP_CONNTRACK_FULL);
                return Action::Drop;
            }
        };
        self.counters.inc(counter::NEW_FLOWS);
        self.conntrack
            .observe(id, Direction::Original, flags, self.now);
        self.forward(buf, len, parsed, svc.mode(), &reply)
    }

    /// Client → backend, by the service's `mode`; `reply` is the connection's reply key.
    #[inline(always)]
    pub(crate) fn forward(
        &mut self,
        buf: &mut [u8],
        len: usize,
        parsed: &Parsed,
        mode: Option<L4Mode>,
        reply: &FlowKey,
    ) -> Action {
        let family = reply.family;
        let backend = reply.src;
        match mode {
            Some(L4Mode::FullNat) => {
                // src := snat address:port, dst := backend:port; full NAT routes (TTL - 1).
                let ends = Ends::against(reply);
                if nat::rewrite_ends(&mut buf[..len], parsed, &ends, true).is_err() {
                    self.counters.inc(counter::DROP_REWRITE);
                    return Action::Drop;
                }
                self.send_to_next_hop(buf, len, backend, family)
            }
            Some(L4Mode::Dsr) => self.send_to_next_hop(buf, len, backend, family),
            Some(mode @ (L4Mode::Ipip | L4Mode::Gue)) => {
                self.encapsulate(buf, len, parsed, mode, backend, family)
            }
            _ => {
                self.counters.inc(counter::DROP_UNSUPPORTED_MODE);
                Action::Drop
            }
        }
    }

    /// IPIP/GUE: wraps the packet in a header from the node's address of the backend's family
    /// to the backend, and sends it to the backend's MAC.
    fn encapsulate(
        &mut self,
        buf: &mut [u8],
        len: usize,
        parsed: &Parsed,
        mode: L4Mode,
        backend: [u8; 16],
        family: Family,
    ) -> Action {
        let src = match family {
            Family::V4 => self.node.primary_v4().map(IpAddr::V4),
            Family::V6 => self.node.primary_v6().map(IpAddr::V6),
        };
        let (Some(kind), Some(src)) = (Encap::for_mode(mode), src) else {
            self.counters.inc(counter::DROP_NO_SNAT_ADDRESS);
            return Action::Drop;
        };
        let hash = parsed.flow().map_or(0, flow_hash);
        let tunnel = Tunnel {
            kind,
            src,
            dst: ip_of(backend, family),
        };
        let mtu = self.node.max_frame.saturating_sub(parsed.l3_offset);
        match encapsulate(buf, len, parsed, &tunnel, hash, mtu) {
            Ok(n) => self.send_to_next_hop(buf, n, backend, family),
            Err(EncapError::ExceedsMtu) => {
                self.too_big(buf, len, parsed, mtu.saturating_sub(tunnel.overhead()))
            }
            Err(_) => {
                self.counters.inc(counter::DROP_REWRITE);
                Action::Drop
            }
        }
    }

    /// Backend → client for full NAT; `fwd` is the connection's forward key.
    fn reverse(&mut self, buf: &mut [u8], len: usize, parsed: &Parsed, fwd: &FlowKey) -> Action {
        // src := vip:port, dst := client:port; full NAT routes (TTL - 1).
        let ends = Ends::against(fwd);
        if nat::rewrite_ends(&mut buf[..len], parsed, &ends, true).is_err() {
            self.counters.inc(counter::DROP_REWRITE);
            return Action::Drop;
        }
        self.send_to_next_hop(buf, len, fwd.src, fwd.family)
    }

    /// Sets the MACs for the next hop towards `ip` (`ip` itself on the segment, else the
    /// gateway: see [`crate::route`]) and sends; a miss asks for the next hop and drops.
    #[inline(always)]
    pub(crate) fn send_to_next_hop(
        &mut self,
        buf: &mut [u8],
        len: usize,
        ip: [u8; 16],
        family: Family,
    ) -> Action {
        let hop = *self.node.routes.next_hop(&ip, family);
        let Some(&macs) = self.neighbours.next_hop_macs(&hop) else {
            self.ask(hop, family);
            self.counters.inc(counter::DROP_NEIGHBOUR_MISS);
            return Action::Drop;
        };
        // `parse_frame` validated the Ethernet header: 12 bytes of MACs are there.
        let Some(head) = buf.first_chunk_mut::<12>() else {
            self.counters.inc(counter::DROP_REWRITE);
            return Action::Drop;
        };
        // Both MACs ready-made by the cache (the node's own is fixed): one 12-byte copy.
        *head = macs;
        self.counters.inc(counter::TX);
        Action::Tx(len)
    }

    /// Queues an ARP request or neighbour solicitation for `ip`, at most one per interval.
    fn ask(&mut self, ip: [u8; 16], family: Family) {
        if !self.outbox.has_room() || !self.neighbours.should_ask(ip, self.now) {
            return;
        }
        let mac = self.node.mac;
        let queued = match family {
            Family::V4 => {
                let sender = self.node.primary_v4().map_or([0; 4], |a| a.octets());
                let [.., a, b, c, d] = ip;
                self.outbox
                    .push(|out| discovery::arp_request(out, mac, sender, [a, b, c, d]))
            }
            Family::V6 => {
                let Some(src) = self.node.primary_v6() else {
                    return;
                };
                self.outbox
                    .push(|out| discovery::neighbour_solicit(out, mac, src.octets(), ip))
            }
        };
        if queued {
            self.counters.inc(counter::NEIGHBOUR_REQUESTS);
        }
    }

    /// Records the static backend MACs of a new image and, on worker 0, queues the other
    /// backends for resolution ahead of traffic.
    pub(crate) fn learn_static<B: AsRef<[u8]>>(&mut self, image: &Image<B>) {
        if self.worker != 0 {
            return;
        }
        self.resolve.clear();
        for svc in image.l4_services() {
            for b in image.l4_backends_of(svc) {
                let ip = backend_addr(b);
                // An off-segment backend is reached through the gateway: resolve that.
                let hop = *self.node.routes.next_hop(&ip, family_of(&ip));
                match b.mac() {
                    Some(mac) => self.neighbours.set_static(ip, mac),
                    None if self.neighbours.lookup(&hop).is_none() => self.resolve.push(hop),
                    None => {}
                }
            }
        }
        self.resolve.sort_unstable();
        self.resolve.dedup();
    }

    /// Asks for a few of the addresses queued by [`Pipeline::learn_static`].
    pub(crate) fn resolve_some(&mut self) {
        for _ in 0..RESOLVE_PER_BURST {
            let Some(ip) = self.resolve.pop() else { return };
            if self.neighbours.lookup(&ip).is_none() {
                self.ask(ip, family_of(&ip));
            }
        }
    }

    /// On worker 0, every [`neighbour::REFRESH_NS`]: asks again for every learned neighbour,
    /// a few a burst, so a changed MAC is learned from the answer.
    pub(crate) fn refresh_learned(&mut self) {
        if self.worker != 0 {
            return;
        }
        if self.refreshing.is_empty() {
            if self.now < self.refresh_at {
                return;
            }
            self.refresh_at = self.now + neighbour::REFRESH_NS;
            let learned = self.neighbours.learned();
            self.refreshing.extend(learned);
        }
        for _ in 0..RESOLVE_PER_BURST {
            let Some(ip) = self.refreshing.pop() else {
                return;
            };
            self.ask(ip, family_of(&ip));
        }
    }
}

/// The family of an address in flow-key form.
fn family_of(ip: &[u8; 16]) -> Family {
    if ip[..12] == v4_mapped([0; 4])[..12] {
        Family::V4
    } else {
        Family::V6
    }
}
