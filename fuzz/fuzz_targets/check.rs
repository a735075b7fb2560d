//! The checker never panics, and its labels point into the files.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let checked = deploy::check::check_source(std::path::Path::new("fuzz.deploy"), text.to_string());
    for diagnostic in checked.diagnostics.iter() {
        for label in diagnostic.primary.iter().chain(&diagnostic.secondary) {
            let file = checked.sources.get(label.file).expect("a label in a known file");
            assert!(label.span.end <= file.text.len());
        }
    }
});
