//! Formatting keeps the tree, and formatting twice changes nothing.
#![no_main]

use deploy::fmt::{equivalence::without_spans, format_source, FormatError};
use deploy::syntax::span::FileId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match format_source(FileId(0), text) {
        Err(FormatError::Syntax(_)) => {}
        Err(FormatError::Internal(problem)) => panic!("{problem}"),
        Ok(formatted) => {
            let before = deploy::syntax::parse(FileId(0), text).expect("input parses");
            let after = deploy::syntax::parse(FileId(0), &formatted).expect("output parses");
            assert_eq!(without_spans(&before), without_spans(&after));
            assert_eq!(format_source(FileId(0), &formatted).ok().as_deref(), Some(formatted.as_str()));
        }
    }
});
