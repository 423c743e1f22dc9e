//! Shared expenses: any amount, mode and members give parts or a field error, and accepted
//! parts are exact; any balances that add up to zero settle with payments that clear them.
#![no_main]
use app::models::split::{self, SplitMode};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fuzz_target!(|input: (i64, u8, Vec<(i64, i64)>, Vec<i32>)| {
    let (total, mode, members, balances) = input;
    let mode = [SplitMode::Equal, SplitMode::Shares, SplitMode::Percent, SplitMode::Exact][usize::from(mode) % 4];
    if let Ok(parts) = split::split(total, mode, &members) {
        assert_eq!(parts.iter().map(|p| i128::from(p.1)).sum::<i128>(), i128::from(total));
        assert!(parts.iter().all(|p| p.1 >= 0));
        assert!(parts.windows(2).all(|w| w[0].0 < w[1].0), "one part per member, in user id order");
    }
    // Balances as the ledger sums them: bounded amounts, adding up to zero.
    let mut map: BTreeMap<i64, i64> = balances.iter().take(16).enumerate().map(|(i, &b)| (i as i64, i64::from(b))).collect();
    let sum: i64 = map.values().sum();
    map.insert(-1, -sum);
    for plan in [split::settle(&map), split::settle_keeping(&map, &[])] {
        let mut left = map.clone();
        for t in &plan {
            assert!(t.amount_minor > 0 && t.from != t.to);
            *left.get_mut(&t.from).unwrap() += t.amount_minor;
            *left.get_mut(&t.to).unwrap() -= t.amount_minor;
        }
        assert!(left.values().all(|&b| b == 0), "{map:?}: {plan:?}");
        assert!(plan.len() < map.values().filter(|&&b| b != 0).count().max(1));
    }
});
