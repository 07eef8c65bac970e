use super::*;

fn config(weight: u32, port: u16) -> String {
    format!(
        r#"{{"listeners":[{{"name":"web","address":"127.0.0.1","port":8080,"protocol":"HTTP"}}],
          "httpRoutes":[{{"name":"r","parentRefs":["web"],"rules":[{{"backendRefs":[{{"name":"c","weight":{weight}}}]}}]}},
                        {{"name":"s","parentRefs":["web"],"rules":[{{"backendRefs":[{{"name":"c"}}]}}]}}],
          "clusters":[{{"name":"c","endpoints":[{{"address":"127.0.0.1:{port}"}},{{"address":"127.0.0.1:9001"}}]}}]}}"#
    )
}

/// Parses `text` with `cache` and keeps the result; asserts it equals a whole parse.
fn push(cache: &mut ParseCache, text: &str) -> Result<Config, Vec<FieldError>> {
    let got = cache.parse(text);
    assert_eq!(got, crate::parse(text), "{text}");
    if let Ok(config) = &got {
        let _ = cache.keep(config.clone());
    }
    got
}

#[test]
fn unchanged_parts_are_reused_and_the_result_is_the_same() {
    let mut cache = ParseCache::default();
    for (text, hits) in [
        (config(1, 9000), 0),
        (config(2, 9000), 1),
        (config(3, 9000), 2),
        (config(3, 9100), 2),
        (config(4, 9100), 3),
        // The same text again, with the routes in another order.
        (config(4, 9100).replace("\"r\"", "\"t\""), 4),
    ] {
        push(&mut cache, &text).expect("valid");
        assert_eq!(cache.hits(), hits, "{text}");
    }
    let got = push(&mut cache, &config(3, 9200)).expect("valid");
    assert_eq!(got.clusters[0].endpoints[0].addr.port(), 9200);
}

#[test]
fn routes_are_validated_again_when_what_they_refer_to_changes() {
    let mut cache = ParseCache::default();
    push(&mut cache, &config(1, 9000)).expect("valid");
    // The cluster renamed: the unchanged route `s` now refers to nothing.
    let renamed = config(2, 9000).replace(
        "\"name\":\"c\",\"endpoints\"",
        "\"name\":\"d\",\"endpoints\"",
    );
    assert!(push(&mut cache, &renamed).is_err());
    push(&mut cache, &config(1, 9000)).expect("valid");
    // Another cluster first: the same names at other indices.
    let two = config(2, 9000).replace(
        "\"clusters\":[",
        "\"clusters\":[{\"name\":\"z\",\"endpoints\":[{\"address\":\"127.0.0.1:7\"}]},",
    );
    let got = push(&mut cache, &two).expect("valid");
    assert_eq!(got.cluster_index("c"), Some(1));
    // A listener of another kind: the routes' parents are checked again.
    let tcp = config(2, 9000).replace("\"HTTP\"", "\"TCP\"");
    assert!(push(&mut cache, &tcp).is_err());
}

#[test]
fn errors_are_those_of_a_full_parse() {
    let mut cache = ParseCache::default();
    push(&mut cache, &config(1, 9000)).expect("valid");
    for text in [
        config(2_000_000, 9000), // bad weight, clusters reused
        config(1, 0),            // bad port in the clusters
        config(1, 9000).replace("\"port\":8080", "\"prot\":8080"), // unknown field
        config(1, 9000)[..40].to_owned(), // truncated JSON
        config(1, 9000).replace("\"clusters\"", "\"clusterz\""), // unknown section
        config(1, 9000).replace("\"name\":\"s\"", "\"name\":\"r\""), // duplicate route name
        config(1, 9000).replace("\"clusters\":[", "\"clusters\":null,\"x\":["), // null section
        r#"{"clusters":null}"#.to_owned(),
        r#"{"httpRoutes":null}"#.to_owned(),
        r#"{"httpRoutes":[null]}"#.to_owned(),
    ] {
        let _ = cache.keep(crate::parse(&config(1, 9000)).expect("valid"));
        assert_eq!(cache.parse(&text), crate::parse(&text), "{text}");
        assert!(cache.parse(&text).is_err(), "{text}");
        // After a refused push the next one is parsed whole, the same.
        push(&mut cache, &config(5, 9000)).expect("valid");
    }
}

#[test]
fn a_config_not_from_the_last_parse_is_not_kept() {
    let mut cache = ParseCache::default();
    push(&mut cache, &config(1, 9000)).expect("valid");
    // A YAML push between: nothing pending, the config given back is not kept.
    let yaml = "clusters:\n  - name: c\n    endpoints: [{ address: \"127.0.0.1:9000\" }]\n";
    let parsed = cache.parse(yaml).expect("valid");
    let Leftovers(left) = cache.keep(parsed);
    assert_eq!(left.len(), 1);
    assert_eq!(
        push(&mut cache, &config(2, 9000)).map(|_| cache.hits()),
        Ok(1)
    );
}

#[test]
fn yaml_is_parsed_whole() {
    let mut cache = ParseCache::default();
    let yaml = "clusters:\n  - name: c\n    endpoints: [{ address: \"127.0.0.1:9000\" }]\n";
    assert_eq!(cache.parse(yaml), crate::parse(yaml));
    assert_eq!(cache.hits(), 0);
}

#[test]
fn a_push_changing_one_route_is_spliced_and_the_same_as_a_whole_parse() {
    let mut cache = ParseCache::default();
    push(&mut cache, &config(1, 9000)).expect("valid");
    for weight in [2, 30, 4] {
        push(&mut cache, &config(weight, 9000)).expect("valid");
    }
    assert_eq!(cache.splices, 3);
    // Route `s` given rules of its own, then back: spliced both ways.
    let other = config(4, 9000).replace(
        r#"{"name":"s","parentRefs":["web"],"rules":[{"backendRefs":[{"name":"c"}]}]}"#,
        r#"{"name":"s","parentRefs":["web"],"hostnames":["s.example"],"rules":[{"backendRefs":[{"name":"c","weight":7}]}]}"#,
    );
    let got = push(&mut cache, &other).expect("valid");
    assert_eq!(got.http_routes[1].hostnames.len(), 1);
    push(&mut cache, &config(4, 9000)).expect("valid");
    assert_eq!(cache.splices, 5);
    // A route inserted right before another, and one right after: the text between the same
    // prefix and suffix holds two objects, so it is not spliced.
    for (from, to) in [
        (
            r#"{"name":"s""#,
            r#"{"name":"t","parentRefs":["web"],"rules":[{"backendRefs":[{"name":"c"}]}]},{"name":"s""#,
        ),
        (
            r#"{"name":"c"}]}]}]"#,
            r#"{"name":"c"}]}]},{"name":"u","parentRefs":["web"],"rules":[{"backendRefs":[{"name":"c"}]}]}]"#,
        ),
    ] {
        let text = config(4, 9000).replace(from, to);
        assert_ne!(text, config(4, 9000));
        let got = push(&mut cache, &text).expect("valid");
        assert_eq!(got.http_routes.len(), 3, "{text}");
        assert_eq!(cache.splices, 5, "{text}");
        push(&mut cache, &config(4, 9000)).expect("valid");
    }
}

#[test]
fn a_spliced_route_that_does_not_validate_gets_the_errors_of_a_whole_parse() {
    let mut cache = ParseCache::default();
    push(&mut cache, &config(1, 9000)).expect("valid");
    for text in [
        config(1, 9000).replace(r#""name":"s""#, r#""name":"r""#), // duplicate name
        config(1, 9000).replace(r#"{"name":"c"}"#, r#"{"name":"nope"}"#), // unknown cluster
        config(1, 9000).replace(
            r#""parentRefs":["web"],"rules":[{"backendRefs":[{"name":"c"}"#,
            r#""parentRefs":["web"],"rules":[{"backendRefs":[{"name":"c","weight":-1}"#,
        ),
        config(2_000_000, 9000), // weight out of range
    ] {
        assert_ne!(text, config(1, 9000));
        assert!(push(&mut cache, &text).is_err(), "{text}");
        // Nothing kept after a refusal: the next push is parsed whole, then spliced again.
        let splices = cache.splices;
        push(&mut cache, &config(1, 9000)).expect("valid");
        push(&mut cache, &config(3, 9000)).expect("valid");
        push(&mut cache, &config(1, 9000)).expect("valid");
        assert_eq!(cache.splices, splices + 2);
    }
}

mod edits {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any edit of a kept document (bytes replaced anywhere, by JSON's own punctuation or
        /// not) parses through the cache exactly as a whole parse does.
        #[test]
        fn any_edit_parses_as_a_whole_parse_does(
            at in 0usize..1000,
            cut in 0usize..24,
            with in "[ \\{\\}\\[\\],:\"a-z0-9]{0,24}",
        ) {
            let base = config(1, 9000);
            let at = at % base.len();
            let end = (at + cut).min(base.len());
            let mut text = base[..at].to_owned();
            text.push_str(&with);
            text.push_str(&base[end..]);
            let mut cache = ParseCache::default();
            push(&mut cache, &base).expect("valid");
            let _ = push(&mut cache, &text);
        }
    }
}
