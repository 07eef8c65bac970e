//! Stats region and health overlay: layout, sharing between two mappings, header validation.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::sync::atomic::Ordering;

use rustix::fs::{MemfdFlags, SealFlags};
use strait_shm::{
    COUNTER_WORDS, EndpointState, HEADER_BYTES, HealthOverlay, RECORD_BYTES, STATE_NOT_STARTED,
    STATE_RUNNING, STATS_MAGIC, STATS_VERSION, ShmError, StatsRegion, monotonic_ms,
};

/// A memfd holding `words` (little-endian) followed by zeros up to `len`, sealed `seals`.
fn raw_region(words: &[u64], len: usize, seals: SealFlags) -> OwnedFd {
    let fd =
        rustix::fs::memfd_create("test", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap();
    let mut file = std::fs::File::from(fd);
    let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    bytes.resize(len, 0);
    file.write_all(&bytes).unwrap();
    rustix::fs::fcntl_add_seals(&file, seals).unwrap();
    file.into()
}

fn stats_header(workers: u64) -> [u64; 5] {
    let total = HEADER_BYTES as u64 + workers * RECORD_BYTES as u64;
    [
        u64::from_le_bytes(STATS_MAGIC),
        STATS_VERSION,
        workers,
        RECORD_BYTES as u64,
        total,
    ]
}

const SIZE_SEALS: SealFlags = SealFlags::SHRINK.union(SealFlags::GROW);

#[test]
fn stats_written_by_the_worker_are_seen_by_the_agent() {
    let (dp, fd) = StatsRegion::create(3).unwrap();
    let agent = StatsRegion::open(&fd).unwrap();
    assert_eq!(agent.worker_count(), 3);
    assert_eq!(agent.header(), dp.header());
    assert!(dp.worker(3).is_none() && agent.worker(3).is_none());

    let w = dp.worker(2).unwrap();
    assert_eq!(w.state(), STATE_NOT_STARTED);
    w.set_core(5);
    w.set_state(STATE_RUNNING);
    w.set_generation(42);
    let now = monotonic_ms();
    w.heartbeat(now);
    w.heartbeat(now + 1);
    w.add(0, 10);
    w.add(COUNTER_WORDS - 1, 3);
    w.counter(7).fetch_add(1, Ordering::Relaxed);

    let seen = agent.worker(2).unwrap();
    assert_eq!(seen.generation(), 42);
    assert_eq!(seen.state(), STATE_RUNNING);
    assert_eq!(seen.core(), 5);
    assert_eq!(seen.loops(), 2);
    assert_eq!(seen.heartbeat_ms(), now + 1);
    assert_eq!(seen.counter(0).load(Ordering::Relaxed), 10);
    assert_eq!(seen.counter(7).load(Ordering::Relaxed), 1);
    assert_eq!(
        seen.counters()[COUNTER_WORDS - 1].load(Ordering::Relaxed),
        3
    );
    assert_eq!(
        agent.worker(1).unwrap().generation(),
        0,
        "records are separate"
    );

    w.set_loops(1000);
    w.set_heartbeat_ms(now + 5);
    assert_eq!((seen.loops(), seen.heartbeat_ms()), (1000, now + 5));
}

#[test]
fn records_are_64_byte_aligned_and_sized_by_the_abi() {
    let (dp, fd) = StatsRegion::create(2).unwrap();
    let a = dp.worker(0).unwrap().counter(0) as *const _ as usize;
    let b = dp.worker(1).unwrap().counter(0) as *const _ as usize;
    assert_eq!(b - a, RECORD_BYTES);
    assert_eq!(a % 64, (16 * 8) % 64);
    let len = rustix::fs::fstat(&fd).unwrap().st_size as usize;
    assert_eq!(len, HEADER_BYTES + 2 * RECORD_BYTES);
    let seals = rustix::fs::fcntl_get_seals(&fd).unwrap();
    assert!(seals.contains(SIZE_SEALS | SealFlags::SEAL) && !seals.contains(SealFlags::WRITE));
}

#[test]
fn worker_counts_out_of_range_are_refused() {
    assert!(matches!(
        StatsRegion::create(0),
        Err(ShmError::OutOfRange { .. })
    ));
    assert!(matches!(
        StatsRegion::create(100_000),
        Err(ShmError::OutOfRange { .. })
    ));
}

#[test]
fn stats_open_validates_the_header() {
    let len = HEADER_BYTES + RECORD_BYTES;
    let good = stats_header(1);
    assert!(StatsRegion::open(raw_region(&good, len, SIZE_SEALS)).is_ok());

    let mut bad_magic = good;
    bad_magic[0] = u64::from_le_bytes(*b"STRAITHO");
    let err = StatsRegion::open(raw_region(&bad_magic, len, SIZE_SEALS)).unwrap_err();
    assert!(matches!(err, ShmError::BadMagic { .. }), "{err}");

    let mut bad_version = good;
    bad_version[1] = 99;
    let err = StatsRegion::open(raw_region(&bad_version, len, SIZE_SEALS)).unwrap_err();
    assert!(
        matches!(err, ShmError::BadVersion { found: 99, .. }),
        "{err}"
    );

    let mut too_many = good;
    too_many[2] = 2;
    let err = StatsRegion::open(raw_region(&too_many, len, SIZE_SEALS)).unwrap_err();
    assert!(
        matches!(err, ShmError::BadHeader { field: "count", .. }),
        "{err}"
    );

    let err = StatsRegion::open(raw_region(&good, len - 8, SIZE_SEALS)).unwrap_err();
    assert!(
        matches!(
            err,
            ShmError::BadHeader {
                field: "total_bytes",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn regions_must_be_size_sealed_and_writable() {
    let len = HEADER_BYTES + RECORD_BYTES;
    let err = StatsRegion::open(raw_region(&stats_header(1), len, SealFlags::GROW)).unwrap_err();
    assert!(matches!(err, ShmError::RegionResizable { .. }), "{err}");
    assert!(
        err.to_string().contains("not sealed against resizing"),
        "{err}"
    );

    let sealed = SIZE_SEALS | SealFlags::WRITE;
    let err = StatsRegion::open(raw_region(&stats_header(1), len, sealed)).unwrap_err();
    assert!(matches!(err, ShmError::RegionReadOnly { .. }), "{err}");

    let file: OwnedFd = std::fs::File::open("/proc/self/exe").unwrap().into();
    assert!(matches!(
        StatsRegion::open(&file),
        Err(ShmError::NotMemfd { .. })
    ));
}

#[test]
fn overlay_states_round_trip_between_mappings() {
    let (dp, fd) = HealthOverlay::create(1000).unwrap();
    let agent = HealthOverlay::open(&fd).unwrap();
    assert_eq!(agent.capacity(), 1000);
    assert_eq!(dp.get(17), EndpointState::HEALTHY);

    let drain = EndpointState {
        unhealthy: false,
        draining: true,
    };
    let down = EndpointState {
        unhealthy: true,
        draining: true,
    };
    agent.set(17, drain).unwrap();
    agent.set(999, down).unwrap();
    assert_eq!(dp.get(17), drain);
    assert_eq!(dp.get(999), down);
    assert!(!dp.get(17).accepts_new() && dp.get(18).accepts_new());
    agent.set(17, EndpointState::HEALTHY).unwrap();
    assert_eq!(dp.get(17), EndpointState::HEALTHY);
}

#[test]
fn overlay_out_of_range_reads_healthy_and_refuses_writes() {
    let (overlay, _fd) = HealthOverlay::create(8).unwrap();
    assert_eq!(overlay.get(8), EndpointState::HEALTHY);
    assert_eq!(overlay.get(u32::MAX), EndpointState::HEALTHY);
    let err = overlay.set(8, EndpointState::default()).unwrap_err();
    assert!(
        matches!(
            err,
            ShmError::SlotOutOfRange {
                slot: 8,
                capacity: 8
            }
        ),
        "{err}"
    );
    assert!(matches!(
        HealthOverlay::create(0),
        Err(ShmError::OutOfRange { .. })
    ));
}

#[test]
fn state_bits_follow_the_abi() {
    assert_eq!(EndpointState::HEALTHY.to_bits(), 0);
    assert_eq!(
        EndpointState::from_bits(0b01),
        EndpointState {
            unhealthy: true,
            draining: false
        }
    );
    assert_eq!(
        EndpointState::from_bits(0b10),
        EndpointState {
            unhealthy: false,
            draining: true
        }
    );
    assert_eq!(
        EndpointState::from_bits(0xffff_fffc),
        EndpointState::HEALTHY,
        "reserved bits"
    );
}

#[test]
fn stats_region_is_not_an_overlay() {
    let (_stats, fd) = StatsRegion::create(1).unwrap();
    let err = HealthOverlay::open(&fd).unwrap_err();
    assert!(matches!(err, ShmError::BadMagic { .. }), "{err}");
}

#[test]
fn default_capacity_overlay_fits() {
    let (overlay, _fd) = HealthOverlay::create(strait_shm::DEFAULT_CAPACITY).unwrap();
    overlay
        .set(strait_shm::DEFAULT_CAPACITY - 1, EndpointState::default())
        .unwrap();
}
