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
}
