//! Fit UMAP's output kernel `1 / (1 + a·d^(2b))` to the offset-exponential membership curve
//! given by `min_dist` and `spread` (umap-learn's `find_ab_params`, by Levenberg–Marquardt).

/// Returns `(a, b)`.
pub fn find_ab(spread: f64, min_dist: f64) -> (f64, f64) {
    let xs: Vec<f64> = (0..300).map(|i| 3.0 * spread * i as f64 / 299.0).collect();
    let ys: Vec<f64> = xs
        .iter()
        .map(|&x| {
            if x < min_dist {
                1.0
            } else {
                (-(x - min_dist) / spread).exp()
            }
        })
        .collect();
    let residuals = |a: f64, b: f64| -> f64 {
        xs.iter()
            .zip(&ys)
            .map(|(&x, &y)| {
                let f = 1.0 / (1.0 + a * x.powf(2.0 * b));
                (f - y) * (f - y)
            })
            .sum()
    };
    let (mut a, mut b) = (1.0f64, 1.0f64);
    let mut lambda = 1e-3;
    let mut cost = residuals(a, b);
    for _ in 0..500 {
        // Normal equations J^T J and J^T r.
        let (mut jaa, mut jab, mut jbb, mut ga, mut gb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&x, &y) in xs.iter().zip(&ys) {
            if x <= 0.0 {
                continue; // f = 1 exactly, derivatives 0.
            }
            let u = x.powf(2.0 * b);
            let den = 1.0 + a * u;
            let f = 1.0 / den;
            let da = -u / (den * den);
            let db = -a * u * 2.0 * x.ln() / (den * den);
            let r = f - y;
            jaa += da * da;
            jab += da * db;
            jbb += db * db;
            ga += da * r;
            gb += db * r;
        }
        let (m11, m22) = (jaa * (1.0 + lambda), jbb * (1.0 + lambda));
        let det = m11 * m22 - jab * jab;
        if det.abs() < 1e-300 {
            break;
        }
        let step_a = -(m22 * ga - jab * gb) / det;
        let step_b = -(m11 * gb - jab * ga) / det;
        let (na, nb) = (a + step_a, b + step_b);
        let new_cost = if na > 0.0 && nb > 0.0 {
            residuals(na, nb)
        } else {
            f64::INFINITY
        };
        if new_cost < cost {
            let converged = (cost - new_cost) < 1e-15 * cost.max(1e-30);
            a = na;
            b = nb;
            cost = new_cost;
            lambda = (lambda * 0.3).max(1e-12);
            if converged {
                break;
            }
        } else {
            lambda *= 10.0;
            if lambda > 1e12 {
                break;
            }
        }
    }
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_umap_learn_defaults() {
        // umap-learn: find_ab_params(1.0, 0.1) = (1.5769434603113077, 0.8950608779109733)
        let (a, b) = find_ab(1.0, 0.1);
        assert!((a - 1.5769).abs() < 2e-3, "a = {a}");
        assert!((b - 0.8951).abs() < 2e-3, "b = {b}");
        // min_dist 0.5: (0.5830300205483709, 1.334166992455648)
        let (a, b) = find_ab(1.0, 0.5);
        assert!((a - 0.5830).abs() < 2e-3, "a = {a}");
        assert!((b - 1.3342).abs() < 2e-3, "b = {b}");
    }
}
