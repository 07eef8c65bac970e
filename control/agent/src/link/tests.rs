//! The link with a data plane played in-process: endpoint states land in the overlay the data
//! plane created, a new data plane gets them again, and a slot freed by a publish is reset
//! only when the data plane runs it.

use std::{collections::BTreeMap, net::SocketAddr, os::fd::AsFd, sync::Arc, time::Duration};

use strait_compile::HealthSlots;
use strait_shm::{EndpointState, HealthOverlay, Link, Message, StatsRegion};

use super::{LinkServer, PublishedImage};
use crate::endpoints::EndpointStates;

const DRAINING: EndpointState = EndpointState {
    unhealthy: false,
    draining: true,
};

fn ep(n: u8) -> SocketAddr {
    SocketAddr::from(([198, 18, 0, n], 8080))
}

/// A data plane that says `Hello` running `generation`; keep the stats region alive with it.
fn data_plane(path: &std::path::Path, generation: u64) -> (Link, HealthOverlay, StatsRegion) {
    let (stats, stats_fd) = StatsRegion::create(1).unwrap();
    let (overlay, overlay_fd) = HealthOverlay::create(64).unwrap();
    let link = Link::connect(path).unwrap();
    let hello = Message::Hello {
        pid: std::process::id(),
        workers: 1,
        generation,
        abi_version: strait_table::ABI_VERSION,
    };
    link.send(&hello, &[stats_fd.as_fd(), overlay_fd.as_fd()])
        .unwrap();
    (link, overlay, stats)
}

fn eventually(what: &str, mut ok: impl FnMut() -> bool) {
    for _ in 0..500 {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn endpoint_states_reach_every_data_planes_overlay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("link.sock");
    let mut slots = HealthSlots::default();
    slots.assign([ep(1), ep(2), ep(3)]);
    let states = EndpointStates::new(1, slots.clone(), BTreeMap::new());
    let (link, _state) = LinkServer::start(&path, None, states).unwrap();

    let (dp, overlay, _stats) = data_plane(&path, 1);
    eventually("the handshake", || {
        link.endpoints().0.iter().all(|e| e.dataplane.is_some())
    });
    let set = link.set_endpoint(ep(3), DRAINING).unwrap();
    assert_eq!(set.endpoint.slot, 2);
    assert_eq!(overlay.get(2), DRAINING, "the data plane's mapping sees it");
    assert_eq!(set.endpoint.dataplane, Some(DRAINING));
    assert_eq!(overlay.get(1), EndpointState::HEALTHY);
    assert!(link.set_endpoint(ep(9), DRAINING).is_err());

    // A new data plane with its own, all-active overlay replaces the first.
    let (dp2, overlay2, _stats2) = data_plane(&path, 1);
    eventually("the state in the new overlay", || {
        overlay2.get(2) == DRAINING
    });
    drop(dp);

    // ep(3) leaves, ep(4) takes its slot: the word stays until the data plane runs it.
    let mut next = slots.clone();
    assert_eq!(next.assign([ep(1), ep(2), ep(4)]), [0, 1, 2]);
    let image = Arc::new(PublishedImage {
        generation: 2,
        fd: strait_shm::seal_image(b"image", "test").unwrap(),
        len: 5,
    });
    assert!(link.publish(image, next), "ep(3)'s state is forgotten");
    let (msg, _fds) = dp2.recv().unwrap();
    assert!(
        matches!(msg, Message::Publish { generation: 2, .. }),
        "{msg:?}"
    );
    assert_eq!(
        overlay2.get(2),
        DRAINING,
        "the old image may still use slot 2"
    );
    dp2.send(
        &Message::Live {
            generation: 2,
            switch_us: 0,
        },
        &[],
    )
    .unwrap();
    eventually("slot 2 reset", || overlay2.get(2) == EndpointState::HEALTHY);
    assert!(link.endpoint_states().is_empty());
}
