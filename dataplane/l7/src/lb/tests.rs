use super::*;

fn endpoints(weights: &[u32]) -> Vec<Endpoint> {
    weights
        .iter()
        .map(|&weight| Endpoint {
            weight,
            ..Default::default()
        })
        .collect()
}

fn all(_: &Endpoint) -> bool {
    true
}

#[test]
fn round_robin_follows_weights_and_skips_unusable() {
    let eps = endpoints(&[1, 3, 0]);
    let state = ClusterState::new(&eps, 0);
    let rng = Rng::new(1);
    let mut seen = [0; 3];
    for _ in 0..400 {
        let p = choose(LbPolicy::RoundRobin, &eps, &state, &[], None, &all, &rng).unwrap();
        seen[p] += 1;
    }
    assert_eq!(seen, [100, 300, 0]);
    // Endpoint 1 unhealthy: everything goes to 0.
    let only0 = |e: &Endpoint| std::ptr::eq(e, &eps[0]);
    for _ in 0..10 {
        assert_eq!(
            choose(LbPolicy::RoundRobin, &eps, &state, &[], None, &only0, &rng),
            Ok(0)
        );
    }
    let none = |_: &Endpoint| false;
    assert_eq!(
        choose(LbPolicy::RoundRobin, &eps, &state, &[], None, &none, &rng),
        Err(NoEndpoint::Unhealthy)
    );
    let empty = endpoints(&[0, 0]);
    let state = ClusterState::new(&empty, 0);
    assert_eq!(
        choose(
            LbPolicy::LeastRequest,
            &empty,
            &state,
            &[],
            None,
            &all,
            &rng
        ),
        Err(NoEndpoint::Empty)
    );
}

#[test]
fn least_request_avoids_the_busy_endpoint() {
    let eps = endpoints(&[1, 1]);
    let state = ClusterState::new(&eps, 0);
    for _ in 0..50 {
        state.begin(0);
    }
    let rng = Rng::new(7);
    let to_1 = (0..1000)
        .filter(|_| choose(LbPolicy::LeastRequest, &eps, &state, &[], None, &all, &rng) == Ok(1))
        .count();
    // Whenever the two choices differ (about half the time), the idle one wins.
    assert!(to_1 > 400, "{to_1}");
    for _ in 0..50 {
        state.end(0);
    }
}

#[test]
fn hashing_is_stable_and_falls_back() {
    let eps = endpoints(&[1, 1, 1]);
    let state = ClusterState::new(&eps, 0);
    let table = [0u32, 1, 2, 1, 0, 2, 2];
    let rng = Rng::new(3);
    let first = choose(
        LbPolicy::Maglev,
        &eps,
        &state,
        &table,
        Some(12345),
        &all,
        &rng,
    );
    for _ in 0..20 {
        assert_eq!(
            choose(
                LbPolicy::Maglev,
                &eps,
                &state,
                &table,
                Some(12345),
                &all,
                &rng
            ),
            first
        );
    }
    let not_first = |e: &Endpoint| !std::ptr::eq(e, &eps[first.unwrap()]);
    let moved = choose(
        LbPolicy::Maglev,
        &eps,
        &state,
        &table,
        Some(12345),
        &not_first,
        &rng,
    );
    assert!(moved.is_ok() && moved != first);
}

#[test]
fn backends_split_by_weight() {
    let backends = [
        RouteBackend {
            cluster: 0,
            weight: 1,
        },
        RouteBackend {
            cluster: 1,
            weight: 3,
        },
        RouteBackend {
            cluster: 2,
            weight: 0,
        },
    ];
    let rng = Rng::new(42);
    let mut seen = [0u32; 3];
    for _ in 0..40_000 {
        seen[pick_backend(&backends, &rng).unwrap().cluster as usize] += 1;
    }
    assert_eq!(seen[2], 0);
    let share = f64::from(seen[0]) / 40_000.0;
    assert!((share - 0.25).abs() < 0.02, "{seen:?}");
    let zero = [RouteBackend {
        cluster: 0,
        weight: 0,
    }];
    assert!(pick_backend(&zero, &rng).is_none());
}
