//! Exact allocation: parts that always sum to the whole.

/// Splits `total` over `weights` by the largest-remainder method: each part gets the floor of
/// its exact share, then the units left over go one by one to the largest fractional
/// remainders, ties to the lower index (callers order their items by a stable key, e.g. the
/// payee id, so the result is deterministic). Negative weights count as zero; with no positive
/// weight the total is shared equally. A negative total is allocated as its mirror image.
///
/// Returns `None` only if the arithmetic would overflow i128.
pub fn allocate(total: i128, weights: &[i128]) -> Option<Vec<i128>> {
    if weights.is_empty() {
        return if total == 0 { Some(Vec::new()) } else { None };
    }
    if total < 0 {
        return allocate(total.checked_neg()?, weights)
            .map(|v| v.into_iter().map(|x| -x).collect());
    }
    let mut w: Vec<i128> = weights.iter().map(|&x| x.max(0)).collect();
    let mut sum: i128 = w.iter().try_fold(0i128, |a, &x| a.checked_add(x))?;
    if sum == 0 {
        w = vec![1; weights.len()];
        sum = weights.len() as i128;
    }
    let mut parts = Vec::with_capacity(w.len());
    let mut rems = Vec::with_capacity(w.len());
    let mut given: i128 = 0;
    for (i, &x) in w.iter().enumerate() {
        // total*x may not fit: split total into quotient and remainder by sum first.
        let (q, r) = (total / sum, total % sum);
        let part = q.checked_mul(x)?.checked_add(r.checked_mul(x)? / sum)?;
        let rem = r.checked_mul(x)? % sum;
        parts.push(part);
        rems.push((rem, i));
        given += part;
    }
    let mut left = total - given;
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut k = 0;
    while left > 0 {
        parts[rems[k % rems.len()].1] += 1;
        left -= 1;
        k += 1;
    }
    Some(parts)
}

/// Display rounding that adds up: exact `values` (fine units, 10^-18) shown in units of
/// `10^-places` so that the shown parts sum exactly to `total` (already in shown units).
/// Each part is its exact value floored, then the units still missing go one by one to the
/// largest remainders (ties to the lower index), or, if the parts overshoot, are taken one by
/// one from the smallest. When `total` is the exact sum rounded, every part is within one unit
/// of its exact value and a value that is already whole is shown as it is.
pub fn shown(values: &[model::Fine], places: u32, total: i128) -> Vec<i128> {
    let unit = 10i128.pow(model::FINE_DECIMALS - places.min(model::FINE_DECIMALS));
    let mut parts: Vec<i128> = values.iter().map(|v| v.0.div_euclid(unit)).collect();
    if parts.is_empty() {
        return parts;
    }
    let mut order: Vec<(i128, usize)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (v.0.rem_euclid(unit), i))
        .collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut left = total - parts.iter().sum::<i128>();
    let n = order.len();
    let mut k = 0usize;
    while left > 0 {
        parts[order[k % n].1] += 1;
        left -= 1;
        k += 1;
    }
    k = 0;
    while left < 0 {
        parts[order[n - 1 - k % n].1] -= 1;
        left += 1;
        k += 1;
    }
    parts
}

/// A shown amount (units of `10^-places`) as text for people, with thousands separators when
/// `grouped` (HTML); never `-0.00`.
pub fn format_shown(v: i128, places: u32, grouped: bool) -> String {
    model::format_minor(v, places, grouped)
}

/// The exact sum of `values` rounded to `places` by the display rule (half away from zero).
pub fn shown_total(values: &[model::Fine], places: u32) -> i128 {
    values
        .iter()
        .fold(model::Fine::ZERO, |a, &v| a + v)
        .round_minor(places)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn leftovers_go_to_the_largest_remainders_then_the_first() {
        assert_eq!(allocate(100, &[1, 1, 1]), Some(vec![34, 33, 33]));
        assert_eq!(allocate(-100, &[1, 1, 1]), Some(vec![-34, -33, -33]));
        assert_eq!(allocate(10, &[7000, 3000]), Some(vec![7, 3]));
        assert_eq!(allocate(1, &[5000, 5000]), Some(vec![1, 0]));
        assert_eq!(allocate(5, &[0, 0]), Some(vec![3, 2]));
        assert_eq!(allocate(7, &[]), None);
    }

    #[test]
    fn shown_amounts_add_up_and_keep_whole_values() {
        let f = |s: &str| model::Fine::parse(s).expect("decimal");
        let v = [f("0.333"), f("0.333"), f("0.334")];
        assert_eq!(shown(&v, 2, shown_total(&v, 2)), vec![33, 33, 34]);
        let v = [f("162.785"), f("-32.555"), f("0.5")];
        let t = shown_total(&v, 2);
        assert_eq!(t, 13_073);
        let s = shown(&v, 2, t);
        assert_eq!(s.iter().sum::<i128>(), t);
        assert_eq!(s[2], 50, "a whole value is shown as it is");
        // JPY: no decimals.
        let v = [f("1354.742366832"), f("10.4")];
        assert_eq!(shown(&v, 0, shown_total(&v, 0)), vec![1355, 10]);
    }

    proptest! {
        #[test]
        fn shown_parts_sum_to_the_shown_total_within_a_unit_each(
            cents in proptest::collection::vec(-10i128.pow(12)..10i128.pow(12), 1..30),
            places in 0u32..4,
        ) {
            // Values with 6 decimals, shown with `places`.
            let values: Vec<model::Fine> = cents.iter().map(|c| model::Fine(c * 10i128.pow(12))).collect();
            let total = shown_total(&values, places);
            let parts = shown(&values, places, total);
            prop_assert_eq!(parts.iter().sum::<i128>(), total);
            let unit = 10i128.pow(model::FINE_DECIMALS - places);
            for (p, v) in parts.iter().zip(&values) {
                prop_assert!((p * unit - v.0).abs() < unit, "{} vs {}", p, v.0);
            }
        }

        #[test]
        fn parts_sum_to_the_whole_and_stay_within_one_unit_of_the_share(
            total in -10i128.pow(30)..10i128.pow(30),
            weights in proptest::collection::vec(0i128..1_000_000_000_000, 1..20),
        ) {
            let parts = allocate(total, &weights).expect("no overflow");
            prop_assert_eq!(parts.iter().sum::<i128>(), total);
            let sum: i128 = weights.iter().sum();
            if sum > 0 {
                for (p, w) in parts.iter().zip(&weights) {
                    // |part - total*w/sum| < 1, checked without overflow via i128 on small cases.
                    let exact_floor = (total.abs() / sum) * w + ((total.abs() % sum) * w) / sum;
                    let pa = p.abs();
                    prop_assert!(pa == exact_floor || pa == exact_floor + 1);
                }
            }
        }
    }
}
