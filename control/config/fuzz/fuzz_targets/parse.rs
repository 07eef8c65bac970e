//! Any text either fails with field errors or yields a config that prints back, as YAML and as
//! JSON, to a document that validates to the same config.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(config) = strait_config::parse(text) {
        let yaml = strait_config::to_yaml(config.raw());
        let json = strait_config::to_json(config.raw());
        assert_eq!(strait_config::parse(&yaml).ok().as_ref(), Some(&config), "{yaml}");
        assert_eq!(strait_config::parse(&json).ok().as_ref(), Some(&config), "{json}");
    }
});
