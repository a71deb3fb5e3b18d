//! Numbers as text for tables and labels.

/// `v` with `places` decimals, or `missing` when it is NaN (an estimate that has no value,
/// e.g. the confidence interval of a single sample).
pub fn decimals(v: f64, places: usize, missing: &str) -> String {
    if v.is_nan() {
        missing.to_string()
    } else {
        format!("{v:.places$}")
    }
}

/// A table cell: four decimals, empty when NaN.
pub fn cell(v: f64) -> String {
    decimals(v, 4, "")
}

/// A table cell for an optional number: empty when absent or NaN.
pub fn cell_opt(v: Option<f64>) -> String {
    v.map(cell).unwrap_or_default()
}

/// A size in bytes with decimal units: `512 B`, `1.5 kB`, `4.0 GB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1000.0;
    let mut unit = 0;
    while v >= 999.95 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// 1234567 → "1,234,567".
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "8 min", "40 s", "2.5 h".
pub fn duration_words(s: f64) -> String {
    if !s.is_finite() {
        "an unknown time".into()
    } else if s < 90.0 {
        format!("{:.0} s", s.max(1.0))
    } else if s < 5400.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_decimal_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1500), "1.5 kB");
        assert_eq!(bytes(999_960), "1.0 MB");
        assert_eq!(bytes(4_000_000_000), "4.0 GB");
    }

    #[test]
    fn cells_have_four_decimals_and_nothing_for_missing() {
        assert_eq!(cell(0.5), "0.5000");
        assert_eq!(cell(f64::NAN), "");
        assert_eq!(cell_opt(None), "");
        assert_eq!(cell_opt(Some(1.0 / 3.0)), "0.3333");
        assert_eq!(decimals(f64::NAN, 3, "–"), "–");
        assert_eq!(decimals(2.0, 3, "–"), "2.000");
    }

    #[test]
    fn thousands_and_durations_read_as_words() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(133_204), "133,204");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(duration_words(0.2), "1 s");
        assert_eq!(duration_words(45.0), "45 s");
        assert_eq!(duration_words(480.0), "8 min");
        assert_eq!(duration_words(9000.0), "2.5 h");
        assert_eq!(duration_words(f64::NAN), "an unknown time");
    }
}
