//! Text helpers shared by the loaders, the metrics, the analysis and the views.

/// Cut `s` to at most `max_chars` characters (on a char boundary).
pub fn truncate_chars(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Compare strings with embedded numbers in numeric order ("t2" < "t10").
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("hi", 5), "hi");
        assert_eq!(truncate_chars("", 0), "");
    }

    #[test]
    fn numbers_sort_by_value() {
        let mut v = vec!["10", "2", "b", "1.5", "a"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["1.5", "2", "10", "a", "b"]);
    }
}
