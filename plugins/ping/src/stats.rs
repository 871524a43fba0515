//! Round-trip time statistics, as iputils `ping` prints them, plus jitter.

/// Statistics of the round-trip times of one run, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RttStats {
    pub(crate) min: f64,
    pub(crate) avg: f64,
    pub(crate) max: f64,
    /// The population standard deviation (iputils `mdev`).
    pub(crate) mdev: f64,
    /// The mean absolute difference of consecutive round-trip times; none
    /// with fewer than two.
    pub(crate) jitter: Option<f64>,
}

impl RttStats {
    /// The statistics of `rtts_ns`, in the order the replies' requests were
    /// sent; none for no replies.
    pub(crate) fn of(rtts_ns: &[u64]) -> Option<RttStats> {
        let rtts: Vec<f64> = rtts_ns.iter().map(|&ns| ns as f64).collect();
        let n = rtts.len() as f64;
        let min = rtts.iter().copied().reduce(f64::min)?;
        let max = rtts.iter().copied().reduce(f64::max)?;
        let avg = rtts.iter().sum::<f64>() / n;
        let mdev = (rtts.iter().map(|r| (r - avg).powi(2)).sum::<f64>() / n).sqrt();
        let jitter = (rtts.len() >= 2).then(|| {
            let steps = rtts.windows(2).map(|w| (w[1] - w[0]).abs());
            steps.sum::<f64>() / (n - 1.0)
        });
        Some(RttStats {
            min,
            avg,
            max,
            mdev,
            jitter,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_hand_computed_values() {
        // Mean 5, squared deviations 9+1+1+1+0+0+4+16 = 32, 32/8 = 4, mdev 2;
        // steps 2+0+0+1+0+2+2 = 7 over 7 pairs, jitter 1.
        let stats = RttStats::of(&[2, 4, 4, 4, 5, 5, 7, 9]).unwrap();
        assert_eq!(
            stats,
            RttStats {
                min: 2.0,
                avg: 5.0,
                max: 9.0,
                mdev: 2.0,
                jitter: Some(1.0),
            }
        );
    }

    #[test]
    fn jitter_follows_the_send_order_not_the_sorted_values() {
        // Sorted, the steps would be 1 and 1; in send order they are 2 and 1.
        let stats = RttStats::of(&[1_000_000, 3_000_000, 2_000_000]).unwrap();
        assert_eq!(stats.jitter, Some(1_500_000.0));
        assert_eq!(stats.avg, 2_000_000.0);
        // sqrt((1 + 1 + 0) / 3) ms
        assert!((stats.mdev - 816_496.580_927_726).abs() < 1e-6, "{stats:?}");
    }

    #[test]
    fn one_reply_has_no_spread_and_none_has_no_statistics() {
        let stats = RttStats::of(&[7_500_000]).unwrap();
        assert_eq!((stats.min, stats.avg, stats.max), (7.5e6, 7.5e6, 7.5e6));
        assert_eq!(stats.mdev, 0.0);
        assert_eq!(stats.jitter, None);
        assert_eq!(RttStats::of(&[]), None);
    }
}
