//! Shared expenses: how a bill is divided, what each member's balance is, and which payments
//! clear the balances. Integer minor units throughout; nothing here touches the database.
//!
//! Rules (docs/shared-expenses.md repeats them):
//! - Members are taken in ascending user id. A proportional split (equal, shares, percent)
//!   gives each member the whole minor units of their exact part; the leftover units (fewer
//!   than the number of members) go one each to the members with the largest remainders,
//!   ties to the lower user id. The parts always add up to the total.
//! - A member's balance is what they paid minus their parts: positive, the others owe them.
//!   A settlement ("Bob paid Ada 25.00") is an entry paid by Bob with one part, Ada's, so the
//!   same sum covers it. One balance per currency, no conversion.
//! - Settling up: the fewest payments that clear every balance, found exactly for up to
//!   [`EXACT_MEMBERS`] members with a balance and by one greedy pass beyond. A plan members
//!   were shown stays while it is still one of the best, so paying one suggestion leaves the
//!   others as they were.

use super::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How an expense is divided among the members chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitMode {
    /// The same part for everyone.
    Equal,
    /// In proportion to whole shares (2 shares pay twice 1 share).
    Shares,
    /// Percentages (two decimals) that add up to 100.
    Percent,
    /// Each part given, adding up to the total.
    Exact,
}

impl SplitMode {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw {
            "equal" => Ok(Self::Equal),
            "shares" => Ok(Self::Shares),
            "percent" => Ok(Self::Percent),
            "exact" => Ok(Self::Exact),
            _ => Err(FieldError::new("mode", "Choose how to split: equally, by shares, by percentage or by exact amounts.")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Equal => "equal",
            Self::Shares => "shares",
            Self::Percent => "percent",
            Self::Exact => "exact",
        }
    }
}

/// Most shares one member may have in one expense.
pub const MAX_SHARES: i64 = 1000;

/// Percent in basis points: 100 % is 10,000.
pub const WHOLE_PERCENT: i64 = 10_000;

/// Divides `total` (minor units, > 0) among `members`: `(user id, weight)` pairs whose weight
/// means what `mode` says (ignored for `Equal`; shares; basis points; minor units). Returns
/// `(user id, part)` in ascending user id, parts adding up to `total`.
pub fn split(total: i64, mode: SplitMode, members: &[(i64, i64)]) -> Result<Vec<(i64, i64)>, FieldError> {
    let err = |m: &str| Err(FieldError::new("split", m));
    if total <= 0 {
        return Err(FieldError::new("amount", "An amount must be more than zero."));
    }
    let mut members = members.to_vec();
    members.sort_unstable_by_key(|&(user, _)| user);
    if members.is_empty() {
        return err("Choose at least one person to split with.");
    }
    if members.windows(2).any(|w| w[0].0 == w[1].0) {
        return err("Each person can be in a split once.");
    }
    let weights: Vec<(i64, i64)> = match mode {
        SplitMode::Equal => members.iter().map(|&(user, _)| (user, 1)).collect(),
        SplitMode::Shares => {
            if members.iter().any(|&(_, w)| !(1..=MAX_SHARES).contains(&w)) {
                return err("Shares are whole numbers from 1 to 1000.");
            }
            members
        }
        SplitMode::Percent => {
            if members.iter().any(|&(_, w)| !(1..=WHOLE_PERCENT).contains(&w)) {
                return err("Each percentage is more than 0 and at most 100.");
            }
            if members.iter().map(|&(_, w)| w).sum::<i64>() != WHOLE_PERCENT {
                return err("The percentages must add up to 100.");
            }
            members
        }
        SplitMode::Exact => {
            if members.iter().any(|&(_, w)| w <= 0) {
                return err("Each part must be more than zero.");
            }
            if members.iter().try_fold(0i64, |sum, &(_, w)| sum.checked_add(w)) != Some(total) {
                return err("The parts must add up to the amount.");
            }
            return Ok(members);
        }
    };
    Ok(proportional(total, &weights))
}

/// Largest-remainder division of `total` by positive `weights` (sorted by user id).
fn proportional(total: i64, weights: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let sum: i128 = weights.iter().map(|&(_, w)| i128::from(w)).sum();
    let exact: Vec<(i64, i128, i128)> = weights
        .iter()
        .map(|&(user, w)| {
            let scaled = i128::from(total) * i128::from(w);
            (user, scaled / sum, scaled % sum)
        })
        .collect();
    let given: i128 = exact.iter().map(|&(_, part, _)| part).sum();
    let leftover = usize::try_from(i128::from(total) - given).unwrap_or(0);
    // Who gets a leftover unit: largest remainder first, then lower user id.
    let mut order: Vec<usize> = (0..exact.len()).collect();
    order.sort_by(|&a, &b| exact[b].2.cmp(&exact[a].2).then(exact[a].0.cmp(&exact[b].0)));
    let mut parts: Vec<(i64, i64)> = exact.iter().map(|&(user, part, _)| (user, part as i64)).collect();
    for &i in order.iter().take(leftover) {
        parts[i].1 += 1;
    }
    parts
}

/// One payment that moves money between two members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub from: i64,
    pub to: i64,
    pub amount_minor: i64,
}

/// Entries (who paid `amount`, and the parts) into balances per member: paid minus owed.
pub fn balances<'a>(entries: impl IntoIterator<Item = (i64, i64, &'a [(i64, i64)])>) -> BTreeMap<i64, i64> {
    let mut balance = BTreeMap::new();
    for (paid_by, amount, parts) in entries {
        *balance.entry(paid_by).or_insert(0) += amount;
        for &(user, part) in parts {
            *balance.entry(user).or_insert(0) -= part;
        }
    }
    balance
}

/// Up to this many members with a balance, settling up finds the fewest payments exactly.
pub const EXACT_MEMBERS: usize = 10;

/// The payments that clear `balances` (which add up to zero): the fewest possible for up to
/// [`EXACT_MEMBERS`] members with a balance, at most one fewer than their number beyond.
///
/// The members are split into as many groups as possible whose balances add up to zero (each
/// group of k members needs k - 1 payments, so more groups is fewer payments); within a group,
/// members owing and members owed are lined up by user id and matched in one pass. With ties
/// (two ways to pair people with as few payments) the choice depends on all balances, so a plan
/// already shown is kept with [`settle_keeping`].
pub fn settle(balances: &BTreeMap<i64, i64>) -> Vec<Transfer> {
    let members: Vec<(i64, i64)> = balances.iter().filter(|&(_, &b)| b != 0).map(|(&u, &b)| (u, b)).collect();
    let groups = if members.len() <= EXACT_MEMBERS { zero_sum_groups(&members) } else { vec![members.clone()] };
    let mut transfers: Vec<Transfer> = groups.iter().flat_map(|group| sweep(group)).collect();
    transfers.sort_by_key(|t| (t.from, t.to));
    transfers
}

/// [`settle`], but keeping `previous` (the plan members were shown) where it still works: when
/// `previous`, or `previous` less one of its payments (the one somebody just made), clears
/// `balances` with as few payments as the best plan, it is the plan. So paying a suggestion
/// leaves the others as they were, unless the new balances can be cleared with fewer payments.
pub fn settle_keeping(balances: &BTreeMap<i64, i64>, previous: &[Transfer]) -> Vec<Transfer> {
    let best = settle(balances);
    let clears = |plan: &[Transfer]| {
        let mut left = balances.clone();
        for t in plan {
            if t.amount_minor <= 0 || t.from == t.to {
                return false;
            }
            *left.entry(t.from).or_insert(0) += t.amount_minor;
            *left.entry(t.to).or_insert(0) -= t.amount_minor;
        }
        left.values().all(|&b| b == 0)
    };
    if previous.len() == best.len() && clears(previous) {
        return previous.to_vec();
    }
    if previous.len() == best.len() + 1 {
        for paid in 0..previous.len() {
            let mut rest = previous.to_vec();
            rest.remove(paid);
            if clears(&rest) {
                return rest;
            }
        }
    }
    best
}

/// The most groups with zero sums that `members` (non-zero balances adding up to zero) can be
/// cut into; among partitions with that many groups, each group is the one with the fewest
/// members (then the lowest members) that contains the lowest member not yet placed.
fn zero_sum_groups(members: &[(i64, i64)]) -> Vec<Vec<(i64, i64)>> {
    let n = members.len();
    let full = (1usize << n) - 1;
    let sum = |mask: usize| -> i64 { (0..n).filter(|i| mask & (1 << i) != 0).map(|i| members[i].1).sum() };
    // most[mask]: how many zero-sum groups the members of `mask` (a zero-sum set) can form.
    let mut most = vec![0usize; full + 1];
    // zero[mask]: whether the balances of `mask`'s members add up to zero (the empty set does).
    let zero: Vec<bool> = (0..=full).map(|mask| sum(mask) == 0).collect();
    for mask in 1..=full {
        if !zero[mask] {
            continue;
        }
        let lowest = mask & mask.wrapping_neg();
        let rest = mask ^ lowest;
        // A group holding the lowest member, plus the best of what remains.
        let mut best = 1;
        let mut group = rest;
        loop {
            let with = group | lowest;
            if with != mask && zero[with] && zero[mask ^ with] {
                best = best.max(1 + most[mask ^ with]);
            }
            if group == 0 {
                break;
            }
            group = (group - 1) & rest;
        }
        most[mask] = best;
    }
    let mut groups = Vec::new();
    let mut left = full;
    while left != 0 {
        let lowest = left & left.wrapping_neg();
        let rest = left ^ lowest;
        let target = most[left];
        let mut candidates: Vec<usize> = Vec::new();
        let mut group = rest;
        loop {
            let with = group | lowest;
            let remaining = left ^ with;
            if zero[with] && (remaining == 0 && target == 1 || remaining != 0 && zero[remaining] && 1 + most[remaining] == target) {
                candidates.push(with);
            }
            if group == 0 {
                break;
            }
            group = (group - 1) & rest;
        }
        // The smallest group, then the one of the lowest members (a lower member sets a higher
        // bit once the bits are reversed).
        let chosen = candidates.into_iter().max_by_key(|&g| (std::cmp::Reverse(g.count_ones()), g.reverse_bits())).unwrap_or(left);
        groups.push((0..n).filter(|i| chosen & (1 << i) != 0).map(|i| members[i]).collect());
        left ^= chosen;
    }
    groups
}

/// Members owing and members owed, each in user id order, matched in one pass: the first owing
/// pays the first owed as much as both allow, and so on. k members make at most k - 1 payments.
fn sweep(group: &[(i64, i64)]) -> Vec<Transfer> {
    let mut owing: Vec<(i64, i64)> = group.iter().filter(|m| m.1 < 0).map(|&(u, b)| (u, -b)).collect();
    let mut owed: Vec<(i64, i64)> = group.iter().filter(|m| m.1 > 0).copied().collect();
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < owing.len() && j < owed.len() {
        let amount = owing[i].1.min(owed[j].1);
        out.push(Transfer { from: owing[i].0, to: owed[j].0, amount_minor: amount });
        owing[i].1 -= amount;
        owed[j].1 -= amount;
        if owing[i].1 == 0 {
            i += 1;
        }
        if owed[j].1 == 0 {
            j += 1;
        }
    }
    out
}

/// One member's part of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedPart {
    pub user_id: i64,
    /// What was entered: shares, basis points of a percent, minor units (1 for equal).
    pub weight: i64,
    pub amount_minor: i64,
}

/// A shared expense or a settlement of a room, as its members see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedEntry {
    pub id: i64,
    /// A payment between two members ("Bob paid Ada"): `paid_by` paid the one member in `parts`.
    pub settlement: bool,
    pub description: String,
    pub amount_minor: i64,
    pub currency: String,
    pub spent_on: String,
    pub paid_by: i64,
    pub mode: SplitMode,
    pub parts: Vec<SharedPart>,
    pub created_by: i64,
    pub created_at: i64,
    pub updated_at: Option<i64>,
    /// Who added, changed and deleted it and when, oldest first, as the viewer reads it
    /// ("Edited by Ada, 2026-11-29 14:05"): filled for the ledger page.
    #[serde(default)]
    pub history: Vec<String>,
    /// Whether the viewer copied their part into their personal expenses.
    #[serde(default)]
    pub copied_by_me: bool,
}

/// Someone a room's ledger names: a member, or someone who was one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerPerson {
    pub user_id: i64,
    pub name: String,
    pub username: String,
    pub member: bool,
}

/// The balances in one currency and the payments that clear them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrencyLedger {
    pub currency: String,
    /// `(user id, balance)`, every member with a non-zero balance: positive, they are owed.
    pub balances: Vec<(i64, i64)>,
    pub settle: Vec<Transfer>,
}

/// How many entries a ledger page shows, newest first; the CSV export has all of them.
pub const SHOWN_ENTRIES: usize = 200;

/// A room's shared expenses: who owes whom, and its entries, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomLedger {
    pub room_id: i64,
    pub room_name: String,
    pub me: i64,
    pub people: Vec<LedgerPerson>,
    pub currencies: Vec<CurrencyLedger>,
    /// The newest [`SHOWN_ENTRIES`] entries.
    pub entries: Vec<SharedEntry>,
    /// How many entries the room has in all (the CSV export has every one).
    pub entry_count: i64,
    /// The viewer's own currency, the form's default.
    pub default_currency: String,
    /// Today in the viewer's time zone, the form's default date.
    pub today: String,
    /// The viewer's categories, for copying their part into their personal expenses.
    pub categories: Vec<super::expense::Category>,
}

impl RoomLedger {
    /// The name to show for `user`.
    pub fn name_of(&self, user: i64) -> String {
        self.people.iter().find(|p| p.user_id == user).map_or_else(|| "someone".to_string(), |p| p.name.clone())
    }

    pub fn members(&self) -> impl Iterator<Item = &LedgerPerson> {
        self.people.iter().filter(|p| p.member)
    }
}

/// What one member owes (negative) or is owed in one room and currency: the dashboard's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomBalance {
    pub room_id: i64,
    pub room_name: String,
    pub currency: String,
    pub balance_minor: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), so every run checks the same cases.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    #[test]
    fn an_even_split_gives_leftover_cents_to_the_lowest_ids() {
        let parts = split(1000, SplitMode::Equal, &[(9, 0), (3, 0), (5, 0)]).unwrap();
        assert_eq!(parts, [(3, 334), (5, 333), (9, 333)]);
        assert_eq!(split(2, SplitMode::Equal, &[(1, 0), (2, 0), (3, 0)]).unwrap(), [(1, 1), (2, 1), (3, 0)]);
    }

    #[test]
    fn shares_and_percentages_give_leftovers_by_largest_remainder() {
        // 100 by 1:1:1:3 -> 16.67, 16.67, 16.67, 50: the three small ones share the leftover.
        assert_eq!(split(100, SplitMode::Shares, &[(1, 1), (2, 1), (3, 1), (4, 3)]).unwrap(), [(1, 17), (2, 17), (3, 16), (4, 50)]);
        // 10.00 at 33.33 / 33.33 / 33.34 %
        assert_eq!(split(1000, SplitMode::Percent, &[(1, 3333), (2, 3333), (3, 3334)]).unwrap(), [(1, 333), (2, 333), (3, 334)]);
    }

    #[test]
    fn exact_parts_must_add_up() {
        assert_eq!(split(1000, SplitMode::Exact, &[(2, 600), (1, 400)]).unwrap(), [(1, 400), (2, 600)]);
        assert!(split(1000, SplitMode::Exact, &[(1, 600), (2, 300)]).is_err());
        assert!(split(1000, SplitMode::Exact, &[(1, 1000), (2, 0)]).is_err());
        assert!(split(i64::MAX, SplitMode::Exact, &[(1, i64::MAX), (2, 1)]).is_err());
    }

    #[test]
    fn bad_splits_are_refused() {
        assert!(split(0, SplitMode::Equal, &[(1, 0)]).is_err());
        assert!(split(100, SplitMode::Equal, &[]).is_err());
        assert!(split(100, SplitMode::Equal, &[(1, 0), (1, 0)]).is_err());
        assert!(split(100, SplitMode::Shares, &[(1, 0)]).is_err());
        assert!(split(100, SplitMode::Shares, &[(1, MAX_SHARES + 1)]).is_err());
        assert!(split(100, SplitMode::Percent, &[(1, 5000), (2, 4999)]).is_err());
        assert!(split(100, SplitMode::Percent, &[(1, 10_001), (2, -1)]).is_err());
    }

    #[test]
    fn every_split_adds_up_to_its_total() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..5000 {
            let total = 1 + rng.below(1_000_000_000) as i64;
            let n = 1 + rng.below(12) as i64;
            let members: Vec<(i64, i64)> = (0..n).map(|u| (u * 7 + 1, 1 + rng.below(MAX_SHARES as u64) as i64)).collect();
            for mode in [SplitMode::Equal, SplitMode::Shares] {
                let parts = split(total, mode, &members).unwrap();
                assert_eq!(parts.iter().map(|p| p.1).sum::<i64>(), total);
                assert!(parts.iter().all(|p| p.1 >= 0));
            }
        }
    }

    /// The fewest payments, by trying every way to pay (for small groups).
    fn fewest_by_brute_force(balances: &[i64]) -> usize {
        // Fewest payments = members - most zero-sum groups; count the groups by trying every
        // assignment of members to groups.
        fn most_groups(rest: &[i64]) -> usize {
            if rest.is_empty() {
                return 0;
            }
            let n = rest.len();
            let mut best = 0;
            for mask in 1..(1usize << n) {
                if mask & 1 == 0 {
                    continue;
                }
                let sum: i64 = (0..n).filter(|i| mask & (1 << i) != 0).map(|i| rest[i]).sum();
                if sum == 0 {
                    let others: Vec<i64> = (0..n).filter(|i| mask & (1 << i) == 0).map(|i| rest[i]).collect();
                    best = best.max(1 + most_groups(&others));
                }
            }
            best
        }
        balances.len() - most_groups(balances)
    }

    fn random_balances(rng: &mut Rng, n: usize, spread: u64) -> BTreeMap<i64, i64> {
        let mut b: Vec<i64> = (0..n - 1).map(|_| rng.below(spread) as i64 - (spread / 2) as i64).collect();
        b.push(-b.iter().sum::<i64>());
        b.into_iter().enumerate().map(|(i, v)| (i as i64 * 3 + 1, v)).collect()
    }

    fn apply(balances: &BTreeMap<i64, i64>, transfers: &[Transfer]) -> BTreeMap<i64, i64> {
        let mut after = balances.clone();
        for t in transfers {
            *after.get_mut(&t.from).unwrap() += t.amount_minor;
            *after.get_mut(&t.to).unwrap() -= t.amount_minor;
        }
        after
    }

    #[test]
    fn settling_up_clears_every_balance_with_the_fewest_payments() {
        let mut rng = Rng(42);
        for case in 0..3000 {
            let n = 2 + rng.below(7) as usize;
            // A small spread makes zero-sum subgroups common, where fewer payments are possible.
            let balances = random_balances(&mut rng, n, if case % 2 == 0 { 7 } else { 10_000 });
            let transfers = settle(&balances);
            assert!(apply(&balances, &transfers).values().all(|&b| b == 0), "{balances:?} {transfers:?}");
            assert!(transfers.iter().all(|t| t.amount_minor > 0 && t.from != t.to));
            let nonzero: Vec<i64> = balances.values().copied().filter(|&b| b != 0).collect();
            assert_eq!(transfers.len(), fewest_by_brute_force(&nonzero), "{balances:?} {transfers:?}");
        }
    }

    #[test]
    fn large_groups_settle_in_at_most_one_payment_fewer_than_their_members() {
        let mut rng = Rng(7);
        for _ in 0..200 {
            let n = 11 + rng.below(30) as usize;
            let balances = random_balances(&mut rng, n, 1_000_000);
            let transfers = settle(&balances);
            assert!(apply(&balances, &transfers).values().all(|&b| b == 0));
            assert!(transfers.len() < balances.values().filter(|&&b| b != 0).count());
        }
    }

    #[test]
    fn paying_one_suggestion_leaves_the_others_as_they_were() {
        let mut rng = Rng(1234);
        let (mut kept, mut better) = (0, 0);
        for case in 0..2000 {
            let n = 2 + rng.below(12) as usize;
            let balances = random_balances(&mut rng, n, if case % 2 == 0 { 9 } else { 100_000 });
            let plan = settle_keeping(&balances, &[]);
            assert_eq!(plan, settle(&balances));
            // Shown again with nothing paid, the plan stays.
            assert_eq!(settle_keeping(&balances, &plan), plan);
            for (k, paid) in plan.iter().enumerate() {
                let after = apply(&balances, std::slice::from_ref(paid));
                let replan = settle_keeping(&after, &plan);
                assert!(apply(&after, &replan).values().all(|&b| b == 0));
                let mut rest = plan.clone();
                rest.remove(k);
                if replan == rest {
                    kept += 1;
                } else {
                    // Only ever for a plan with fewer payments.
                    assert!(replan.len() < rest.len(), "{balances:?}: paid {paid:?}: {replan:?} instead of {rest:?}");
                    better += 1;
                }
            }
        }
        assert!(kept > 5000 && better > 0, "{kept} kept, {better} better");
    }

    #[test]
    fn a_plan_that_no_longer_clears_the_balances_is_made_anew() {
        let balances = BTreeMap::from([(1, 5), (2, -5)]);
        let stale = [Transfer { from: 2, to: 1, amount_minor: 4 }];
        assert_eq!(settle_keeping(&balances, &stale), settle(&balances));
        let longer = [Transfer { from: 2, to: 1, amount_minor: 2 }, Transfer { from: 2, to: 1, amount_minor: 3 }];
        assert_eq!(settle_keeping(&balances, &longer), [Transfer { from: 2, to: 1, amount_minor: 5 }], "never more payments than needed");
    }

    #[test]
    fn balances_are_paid_minus_owed() {
        let dinner = [(1, 3000), (2, 3000), (3, 3000)];
        let settlement = [(1, 3000)];
        let b = balances([(1, 9000, &dinner[..]), (2, 3000, &settlement[..])]);
        assert_eq!(b, BTreeMap::from([(1, 3000), (2, 0), (3, -3000)]));
        assert_eq!(settle(&b), [Transfer { from: 3, to: 1, amount_minor: 3000 }]);
    }
}
