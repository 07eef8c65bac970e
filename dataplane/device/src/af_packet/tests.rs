//! Ring geometry and frame restoration, without sockets (the socket paths are tested in
//! `tests/af_packet.rs`).

use libc::{TP_STATUS_COPY, TP_STATUS_USER, TP_STATUS_VLAN_TPID_VALID, TP_STATUS_VLAN_VALID};

use super::{
    frame::{VlanTag, restore},
    layout::{FRAME_SIZE, Geometry, MAX_FRAMES, MIN_FRAMES},
};

#[test]
fn ring_sizes_are_clamped_and_rounded_up_to_powers_of_two() {
    assert_eq!(Geometry::new(0).frames(), MIN_FRAMES);
    assert_eq!(Geometry::new(17).frames(), 32);
    assert_eq!(Geometry::new(4096).frames(), 4096);
    assert_eq!(Geometry::new(5000).frames(), 8192);
    assert_eq!(Geometry::new(u32::MAX).frames(), MAX_FRAMES);
}

#[test]
fn ring_requests_are_whole_blocks_of_whole_pages() {
    for requested in [1, 16, 32, 100, 4096, 1 << 20] {
        let ring = Geometry::new(requested);
        let req = ring.request();
        assert_eq!(req.tp_frame_size as usize, FRAME_SIZE);
        assert_eq!(req.tp_frame_nr, ring.frames());
        assert_eq!(
            req.tp_block_nr * req.tp_block_size,
            ring.frames() * FRAME_SIZE as u32
        );
        // 64 KiB: a whole number of pages on 4, 16 and 64 KiB page systems.
        assert_eq!(req.tp_block_size % (64 << 10), 0, "{requested}: {req:?}");
        assert_eq!(req.tp_block_size as usize % FRAME_SIZE, 0);
        assert_eq!(ring.bytes(), ring.frames() as usize * FRAME_SIZE);
    }
}

/// A frame area as a ring frame has it: `headroom` bytes, then `frame`, then spare room.
fn area(headroom: usize, frame: &[u8]) -> Vec<u8> {
    let mut data = vec![0xee; 64];
    data[headroom..headroom + frame.len()].copy_from_slice(frame);
    data
}

const UNTAGGED: [u8; 16] = [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 0x08, 0x00, 0x45, 0x00];

#[test]
fn an_untagged_frame_is_lent_as_captured() {
    let mut data = area(14, &UNTAGGED);
    assert_eq!(
        VlanTag::from_header(TP_STATUS_USER | TP_STATUS_COPY, 7, 0x88a8),
        None
    );
    assert_eq!(restore(&mut data, 14, 16, None), (14, 16));
    assert_eq!(&data[14..30], &UNTAGGED);
}

#[test]
fn a_stripped_tag_goes_back_in_front_of_the_ethertype() {
    let mut data = area(14, &UNTAGGED);
    let tag = VlanTag::from_header(TP_STATUS_USER | TP_STATUS_VLAN_VALID, 0xa064, 0);
    assert_eq!(
        tag,
        Some(VlanTag {
            tpid: 0x8100,
            tci: 0xa064
        })
    );
    let (start, len) = restore(&mut data, 14, 16, tag);
    assert_eq!((start, len), (10, 20));
    let expected = [
        1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 0x81, 0x00, 0xa0, 0x64, 0x08, 0x00, 0x45, 0x00,
    ];
    assert_eq!(&data[start..start + len], &expected);
}

#[test]
fn the_kernels_tpid_is_used_when_it_gives_one() {
    let status = TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID;
    let tag = VlanTag::from_header(status, 5, 0x88a8);
    assert_eq!(
        tag,
        Some(VlanTag {
            tpid: 0x88a8,
            tci: 5
        })
    );
    let mut data = area(4, &UNTAGGED);
    let (start, len) = restore(&mut data, 4, 16, tag);
    assert_eq!((start, len), (0, 20));
    assert_eq!(&data[12..16], &[0x88, 0xa8, 0x00, 0x05]);
}

#[test]
fn a_frame_without_room_for_its_tag_is_left_alone() {
    let tag = Some(VlanTag {
        tpid: 0x8100,
        tci: 1,
    });
    let mut data = area(2, &UNTAGGED);
    assert_eq!(restore(&mut data, 2, 16, tag), (2, 16));
    assert_eq!(&data[2..18], &UNTAGGED);
    let mut data = area(14, &UNTAGGED[..10]);
    assert_eq!(restore(&mut data, 14, 10, tag), (14, 10));
}

#[test]
fn offsets_beyond_the_frame_are_clamped() {
    let mut data = area(14, &UNTAGGED);
    assert_eq!(restore(&mut data, 60, 100, None), (60, 4));
    assert_eq!(restore(&mut data, 1000, 100, None), (64, 0));
}
