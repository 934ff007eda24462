//! Outliers: family members whose mean execution time is far from the
//! family's, by a robust score (the median and the median absolute
//! deviation, which one slow member cannot drag along as it would a mean
//! and a standard deviation).

use optidb_model::facts::Outlier;

/// Families smaller than this have no outliers: with two members there is
/// no majority to deviate from.
pub const MIN_FAMILY_SIZE: usize = 3;

/// A member is an outlier when its modified z-score exceeds this: the
/// cut-off Iglewicz and Hoaglin recommend (*How to Detect and Handle
/// Outliers*, 1993). It amounts to `|x - median| > 5.2 × MAD`; for normally
/// distributed times it flags well under 0.1 % of members.
pub const OUTLIER_SCORE: f64 = 3.5;

/// MAD × 1.4826 estimates the standard deviation of a normal distribution,
/// so `0.6745 × (x - median) / MAD` reads like a z-score.
const MAD_TO_SIGMA: f64 = 1.4826;

/// When more than half the members have the same mean time, the MAD is 0;
/// the mean absolute deviation × 1.2533 (the same normal-consistency
/// factor for it) takes its place.
const MEAN_AD_TO_SIGMA: f64 = 1.253_314;

/// The spread is taken to be at least this share of the median, so that
/// members a few microseconds apart are not outliers of a family whose
/// times are nearly identical: an outlier lies at least 3.5 × 5 % = 17.5 %
/// from the median.
const MIN_RELATIVE_SPREAD: f64 = 0.05;

/// The outliers among `members` (`(id, mean time in ms)`), sorted by id.
/// Members with a non-finite time are left out of the statistics and are
/// never outliers. Empty for fewer than [`MIN_FAMILY_SIZE`] members.
pub fn outliers(members: &[(i64, f64)]) -> Vec<Outlier> {
    let times: Vec<f64> = members
        .iter()
        .map(|&(_, t)| t)
        .filter(|t| t.is_finite())
        .collect();
    if times.len() < MIN_FAMILY_SIZE {
        return Vec::new();
    }
    let Some(center) = median(times.clone()) else {
        return Vec::new();
    };
    let deviations: Vec<f64> = times.iter().map(|t| (t - center).abs()).collect();
    let mad = median(deviations.clone()).unwrap_or(0.0);
    let robust = if mad > 0.0 {
        mad * MAD_TO_SIGMA
    } else {
        deviations.iter().sum::<f64>() / deviations.len() as f64 * MEAN_AD_TO_SIGMA
    };
    let scale = robust.max(MIN_RELATIVE_SPREAD * center.abs());
    if scale <= 0.0 {
        return Vec::new(); // all equal
    }
    let mut found: Vec<Outlier> = members
        .iter()
        .filter(|(_, t)| t.is_finite())
        .filter_map(|&(member, mean_time_ms)| {
            let score = (mean_time_ms - center) / scale;
            (score.abs() > OUTLIER_SCORE).then_some(Outlier {
                member,
                mean_time_ms,
                score,
            })
        })
        .collect();
    found.sort_by_key(|outlier| outlier.member);
    found
}

/// The median of `values` (finite), `None` when empty.
pub(crate) fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(found: &[Outlier]) -> Vec<i64> {
        found.iter().map(|o| o.member).collect()
    }

    #[test]
    fn a_slow_member_is_flagged_with_a_positive_score() {
        let found = outliers(&[(1, 10.0), (2, 11.0), (3, 9.5), (4, 10.5), (5, 95.0)]);
        assert_eq!(ids(&found), vec![5]);
        assert!(found[0].score > OUTLIER_SCORE);
        assert_eq!(found[0].mean_time_ms, 95.0);
    }

    #[test]
    fn a_fast_member_is_flagged_with_a_negative_score() {
        let found = outliers(&[(1, 100.0), (2, 104.0), (3, 98.0), (4, 101.0), (5, 1.0)]);
        assert_eq!(ids(&found), vec![5]);
        assert!(found[0].score < -OUTLIER_SCORE);
    }

    #[test]
    fn ordinary_spread_has_no_outliers() {
        assert!(outliers(&[(1, 10.0), (2, 12.0), (3, 14.0), (4, 11.0), (5, 13.0)]).is_empty());
    }

    #[test]
    fn families_below_the_minimum_size_have_no_outliers() {
        assert!(outliers(&[(1, 1.0), (2, 1000.0)]).is_empty());
    }

    #[test]
    fn zero_mad_falls_back_to_the_mean_absolute_deviation() {
        // Five identical times and one far off: MAD is 0.
        let found = outliers(&[(1, 2.0), (2, 2.0), (3, 2.0), (4, 2.0), (5, 2.0), (6, 40.0)]);
        assert_eq!(ids(&found), vec![6]);
    }

    #[test]
    fn identical_times_have_no_outliers() {
        assert!(outliers(&[(1, 0.0), (2, 0.0), (3, 0.0)]).is_empty());
        assert!(outliers(&[(1, 3.0), (2, 3.0), (3, 3.0), (4, 3.0)]).is_empty());
    }

    #[test]
    fn tiny_absolute_differences_are_not_outliers() {
        // 4 % from the median: below the relative floor.
        assert!(outliers(&[(1, 1.0), (2, 1.0001), (3, 0.9999), (4, 1.0), (5, 1.04)]).is_empty());
    }

    #[test]
    fn non_finite_times_are_ignored() {
        let found = outliers(&[
            (1, 10.0),
            (2, f64::NAN),
            (3, 10.5),
            (4, 9.5),
            (5, 10.0),
            (6, 200.0),
        ]);
        assert_eq!(ids(&found), vec![6]);
        assert!(outliers(&[(1, 1.0), (2, f64::INFINITY), (3, f64::NAN)]).is_empty());
    }

    #[test]
    fn median_of_even_and_odd_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(Vec::new()), None);
    }
}
