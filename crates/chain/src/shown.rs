//! Echoing what a user typed back in an error, without echoing a megabyte.

/// `input` quoted as an error shows it: whole up to 80 characters, else its first 64 and how
/// long it was (a 100,000-character "txid" is not printed 100,000 times over).
pub fn shown(input: &str) -> String {
    const MAX: usize = 80;
    if input.chars().count() <= MAX {
        return format!("{input:?}");
    }
    let head: String = input.chars().take(64).collect();
    format!("{head:?}… ({} characters)", input.chars().count())
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn short_inputs_whole_long_ones_cut() {
        assert_eq!(shown("abc"), "\"abc\"");
        let long = "a".repeat(100_000);
        let s = shown(&long);
        assert!(s.ends_with("… (100000 characters)") && s.len() < 100, "{s}");
    }
}
