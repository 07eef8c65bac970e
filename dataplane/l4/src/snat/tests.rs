use super::*;
use proptest::prelude::*;
use std::collections::HashSet;

#[test]
fn split_layout_and_steering() {
    let split = PortSplit::new(4, 1024..=65535).unwrap();
    assert_eq!(split.per_core(), (65535 - 1024 + 1) / 4);
    assert_eq!(split.slice(0), Some(1024..=1024 + split.per_core() - 1));
    assert_eq!(split.slice(4), None);
    for core in 0..4 {
        let s = split.slice(core).unwrap();
        assert_eq!(split.core_of(*s.start()), Some(core));
        assert_eq!(split.core_of(*s.end()), Some(core));
    }
    assert_eq!(split.core_of(1023), None);
    // 64512 ports split evenly over 4 cores: no leftover, so the top port is core 3's.
    assert_eq!(split.core_of(65535), Some(3));
    let odd = PortSplit::new(3, 10..=20).unwrap(); // 11 ports: 3 each, port 19 and 20 unused
    assert_eq!(odd.slice(2), Some(16..=18));
    assert_eq!((odd.core_of(18), odd.core_of(19)), (Some(2), None));
}

#[test]
fn bad_arguments() {
    assert_eq!(
        PortSplit::new(0, 1..=10),
        Err(SnatError::BadCores { cores: 0 })
    );
    assert_eq!(
        PortSplit::new(5, 1..=4),
        Err(SnatError::TooFewPorts { ports: 4, cores: 5 })
    );
    #[allow(clippy::reversed_empty_ranges)]
    let empty = 10..=9;
    assert!(matches!(
        PortSplit::new(1, empty),
        Err(SnatError::TooFewPorts { ports: 0, .. })
    ));
    assert!(matches!(
        SnatPorts::new(2, 2, 1..=10),
        Err(SnatError::CoreOutOfRange { core: 2, cores: 2 })
    ));
    assert!(matches!(
        SnatPorts::new(0, 1, 0..=65535),
        Err(SnatError::PortZero { lo: 0, hi: 65535 })
    ));
    let whole = SnatPorts::new(0, 1, 1..=65535).unwrap();
    assert_eq!(whole.capacity(), 65535);
}

#[test]
fn alloc_to_exhaustion_then_cycle() {
    let mut p = SnatPorts::new(1, 2, 100..=119).unwrap(); // ports 110..=119
    let got: Vec<u16> = std::iter::from_fn(|| p.alloc()).collect();
    assert_eq!(got, (110..=119).collect::<Vec<_>>());
    assert_eq!((p.alloc(), p.available()), (None, 0));
    assert!(got.iter().all(|&port| p.is_allocated(port)));
    // Refused frees change nothing.
    assert!(!p.free(109) && !p.free(120) && !p.free(100));
    assert!(p.free(113));
    assert!(!p.free(113), "double free refused");
    assert!(p.free(111));
    // FIFO: freed ports come back in the order they were freed.
    assert_eq!(
        (p.alloc(), p.alloc(), p.alloc()),
        (Some(113), Some(111), None)
    );
    for port in 110..=119 {
        assert!(p.free(port));
    }
    assert_eq!(p.available(), 10);
    for _ in 0..3 {
        let all: HashSet<u16> = std::iter::from_fn(|| p.alloc()).collect();
        assert_eq!(all.len(), 10);
        for port in all {
            assert!(p.free(port));
        }
    }
}

proptest! {
    #[test]
    fn cores_never_share_a_port(cores in 1usize..16, lo in 0u16..60000, len in 16u16..5000) {
        let hi = lo.saturating_add(len);
        let mut seen = HashSet::new();
        for core in 0..cores {
            let Ok(mut p) = SnatPorts::new(core, cores, lo..=hi) else { continue };
            while let Some(port) = p.alloc() {
                prop_assert!(seen.insert(port), "port {port} handed out twice");
                prop_assert_eq!(p.split().core_of(port), Some(core));
                prop_assert!((lo..=hi).contains(&port));
            }
        }
    }

    #[test]
    fn random_alloc_free_keeps_accounting(ops in proptest::collection::vec(any::<(bool, u16)>(), 1..400)) {
        let mut p = SnatPorts::new(0, 1, 5000..=5063).unwrap();
        let mut held: Vec<u16> = Vec::new();
        for (alloc, pick) in ops {
            if alloc {
                match p.alloc() {
                    Some(port) => {
                        prop_assert!(!held.contains(&port));
                        held.push(port);
                    }
                    None => prop_assert_eq!(held.len(), 64),
                }
            } else if !held.is_empty() {
                let port = held.swap_remove(usize::from(pick) % held.len());
                prop_assert!(p.free(port));
            }
            prop_assert_eq!(p.available() + held.len(), 64);
        }
    }
}
