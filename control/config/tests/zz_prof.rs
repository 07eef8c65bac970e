#[path = "scale.rs"]
#[allow(dead_code)]
mod scale;

fn min_of<T>(n: usize, mut f: impl FnMut() -> T) -> std::time::Duration {
    let mut best = std::time::Duration::MAX;
    for _ in 0..n {
        let t = std::time::Instant::now();
        let v = f();
        best = best.min(t.elapsed());
        std::mem::forget(v);
    }
    best
}

#[test]
fn prof() {
    let raw = scale::big_config(10_000);
    let json = serde_json::to_string(&raw).unwrap();
    let what = std::env::var("PROF").unwrap_or_default();
    if what != "validate" {
        println!("parse min {:?}", min_of(20, || strait_config::parse_raw(&json).unwrap()));
        println!("serde_json::Value min {:?}", min_of(20, || serde_json::from_str::<serde_json::Value>(&json).unwrap()));
        println!("serde IgnoredAny min {:?}", min_of(20, || serde_json::from_str::<serde::de::IgnoredAny>(&json).unwrap()));
    }
    if what != "parse" {
        let r = strait_config::parse_raw(&json).unwrap();
        let mut copies: Vec<_> = (0..20).map(|_| r.clone()).collect();
        println!("validate min {:?}", min_of(20, || strait_config::validate(copies.pop().unwrap()).unwrap()));
    }
}
