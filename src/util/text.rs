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
    // A total order (sorting panics on one that is not): numbers first, by value (equal
    // values by their text), then everything else by its text. Comparing a number with a
    // word as text, as before, made cycles: "2" < "10" < "1a" < "2" (found by fuzzing).
    use std::cmp::Ordering;
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y).then_with(|| a.cmp(b)),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
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

    #[test]
    fn the_order_is_total_on_mixed_numbers_and_words() {
        // Every triple of these is transitive (the old order had 2 < 10 < 1a < 2).
        let items = [
            "2", "10", "1a", "9", "b", "-1", "1e3", "NaN", "1.0", "1", "", "01",
        ];
        for a in items {
            for b in items {
                assert_eq!(natural_cmp(a, b), natural_cmp(b, a).reverse(), "{a} {b}");
                for c in items {
                    if natural_cmp(a, b).is_le() && natural_cmp(b, c).is_le() {
                        assert!(natural_cmp(a, c).is_le(), "{a} <= {b} <= {c}");
                    }
                }
            }
        }
        let mut v = items.to_vec();
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(&v[..4], ["-1", "01", "1", "1.0"]);
    }
}
