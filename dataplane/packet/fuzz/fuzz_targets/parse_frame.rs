//! Fuzz `parse_frame`: it must never panic, and on `Ok` its offsets must be in order and
//! inside the buffer, and every layer view must re-open at them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strait_packet::{Kind, parse_frame, tcp, udp};

fuzz_target!(|data: &[u8]| {
    let Ok(p) = parse_frame(data) else { return };
    let Kind::Ip(l4) = p.kind else { return };
    assert!(p.l3_offset <= l4.offset);
    assert!(l4.offset <= l4.payload_offset);
    assert!(l4.payload_offset <= l4.payload_end);
    assert!(l4.payload_end <= l4.ip_end);
    assert!(l4.ip_end <= data.len());
    let seg = &data[l4.offset..l4.ip_end];
    match l4.flow.proto {
        6 => assert!(tcp::Packet::new_checked(seg).is_ok()),
        17 => assert!(udp::Packet::new_checked(seg).is_ok()),
        _ => {}
    }
});
