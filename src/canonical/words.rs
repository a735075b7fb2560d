//! A word diff of two lines (a step's command): removed words as `[-…-]`,
//! added ones as `{+…+}`, like `git diff --word-diff`.

use similar::{ChangeTag, TextDiff};

pub fn word_diff(old: &str, new: &str) -> String {
    let diff = TextDiff::from_words(old, new);
    let mut out = String::new();
    let mut open: Option<ChangeTag> = None;
    for change in diff.iter_all_changes() {
        let tag = change.tag();
        if open != Some(tag) {
            close(&mut out, open);
            match tag {
                ChangeTag::Delete => out.push_str("[-"),
                ChangeTag::Insert => out.push_str("{+"),
                ChangeTag::Equal => {}
            }
            open = Some(tag);
        }
        out.push_str(change.value());
    }
    close(&mut out, open);
    out
}

fn close(out: &mut String, open: Option<ChangeTag>) {
    match open {
        Some(ChangeTag::Delete) => out.push_str("-]"),
        Some(ChangeTag::Insert) => out.push_str("+}"),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::word_diff;

    #[test]
    fn marks_changed_words() {
        assert_eq!(word_diff("run ./install a b", "run ./install a c"), "run ./install a [-b-]{+c+}");
        assert_eq!(word_diff("same", "same"), "same");
    }
}
