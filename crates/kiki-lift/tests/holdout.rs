//! Audience holdouts on simulated users with a known effect.

use kiki_lift::{
    Arm, HoldoutDesign, HoldoutInput, HoldoutRecord, Population, SplitMix64, analyze_holdout,
    assign_arm,
};

/// `users` users; 40 % reachable (the bidder bids or logs a ghost bid); base
/// conversion 5 %; treatment adds `lift` to the conversion probability of
/// reachable treated users only; revenue 40 ± 15 per conversion.
fn simulate(seed: u64, users: usize, lift: f64, design: &HoldoutDesign) -> Vec<HoldoutRecord> {
    let mut rng = SplitMix64::new(seed);
    (0..users)
        .map(|i| {
            let user_id = format!("s{seed}-u{i}");
            let arm = assign_arm(&design.salt, &user_id, design.treatment_share);
            let reachable = rng.bernoulli(0.4);
            let p = 0.05
                + if reachable && arm == Arm::Treatment {
                    lift
                } else {
                    0.0
                };
            let converted = rng.bernoulli(p);
            let revenue = if converted {
                (40.0 + 15.0 * rng.normal()).max(1.0)
            } else {
                0.0
            };
            HoldoutRecord {
                user_id,
                converted,
                revenue,
                would_have_bid: reachable,
                logged_arm: Some(arm),
            }
        })
        .collect()
}

fn design(salt: &str) -> HoldoutDesign {
    HoldoutDesign {
        salt: salt.into(),
        treatment_share: 0.5,
    }
}

#[test]
fn ghost_bids_sharpen_the_estimate_of_the_reached_users_effect() {
    let d = design("holdout-a");
    let records = simulate(11, 60_000, 0.02, &d);
    let all = analyze_holdout(&HoldoutInput {
        design: d.clone(),
        records: records.clone(),
        population: Population::All,
        confidence: 0.9,
    })
    .unwrap();
    let reached = analyze_holdout(&HoldoutInput {
        design: d,
        records,
        population: Population::WouldHaveBid,
        confidence: 0.9,
    })
    .unwrap();
    println!("{}\n{}", all.summary, reached.summary);
    // Intent to treat over everyone: 40 % of users × 2 points = 0.8 points.
    assert!(all.conversion_rate.interval.lower.unwrap() < 0.008);
    assert!(all.conversion_rate.interval.upper.unwrap() > 0.008);
    // Among reachable users the effect is the full 2 points, and it is
    // measured with a larger signal-to-noise ratio.
    let r = &reached.conversion_rate;
    assert!(r.interval.lower.unwrap() < 0.02 && 0.02 < r.interval.upper.unwrap());
    assert!(
        r.absolute / r.std_error > all.conversion_rate.absolute / all.conversion_rate.std_error
    );
    assert!(r.p_value < 0.001);
    // Relative lift around 0.02 / 0.05 = 40 %, delta-method interval.
    let rel = r.relative_interval.unwrap();
    assert!(
        rel.lower.unwrap() < 0.4 && 0.4 < rel.upper.unwrap(),
        "{rel:?}"
    );
    assert_eq!(all.assignment_mismatches, 0);
    assert!(all.sample_ratio_p_value > 0.001);
    assert!(all.warnings.is_empty(), "{:?}", all.warnings);
}

#[test]
fn logged_arms_that_disagree_with_the_hash_are_counted() {
    let d = design("holdout-b");
    let mut records = simulate(5, 2_000, 0.0, &d);
    for r in records.iter_mut().take(10) {
        r.logged_arm = r.logged_arm.map(|a| match a {
            Arm::Treatment => Arm::Control,
            Arm::Control => Arm::Treatment,
        });
    }
    let res = analyze_holdout(&HoldoutInput {
        design: d,
        records,
        population: Population::All,
        confidence: 0.9,
    })
    .unwrap();
    assert_eq!(res.assignment_mismatches, 10);
    assert!(res.warnings.iter().any(|w| w.contains("different arm")));
}

#[test]
fn a_null_holdout_is_significant_about_as_often_as_the_level_says() {
    // 400 independent experiments (fixed seeds, distinct salts) with no
    // effect: the 90 % interval excludes zero in about 10 % of them. The
    // binomial standard deviation at 400 runs is 1.5 points, so 5–15 % is
    // a ±3.3 sd band; the seeds are fixed, so the count is too.
    let runs = 400;
    let mut rejections = 0;
    for seed in 0..runs {
        let d = design(&format!("null-{seed}"));
        let records = simulate(1_000 + seed, 2_500, 0.0, &d);
        let res = analyze_holdout(&HoldoutInput {
            design: d,
            records,
            population: Population::All,
            confidence: 0.9,
        })
        .unwrap();
        if res.conversion_rate.p_value <= 0.1 {
            rejections += 1;
        }
        assert_eq!(
            res.conversion_rate.p_value <= 0.1,
            !(res.conversion_rate.interval.lower.unwrap() <= 0.0
                && 0.0 <= res.conversion_rate.interval.upper.unwrap()),
            "p-value and interval agree"
        );
    }
    let rate = rejections as f64 / runs as f64;
    println!("false-positive rate {rate}");
    assert!((0.05..=0.15).contains(&rate), "{rate}");
}
