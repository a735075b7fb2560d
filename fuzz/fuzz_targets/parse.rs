//! The parser never panics; the tolerant parse agrees with the strict one.
#![no_main]

use deploy::syntax::span::FileId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = deploy::syntax::parse(FileId(0), text);
    let (partial, diagnostics) = deploy::syntax::parse_tolerant(FileId(0), text);
    match parsed {
        Ok(tree) => assert!(diagnostics.is_empty() && partial == tree),
        Err(errors) => assert_eq!(diagnostics.first(), errors.first()),
    }
});
