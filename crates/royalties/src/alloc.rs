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

    proptest! {
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
