//! Radius coverage indexed by centre, so that a query can visit the services covering a point
//! nearest first and stop once nothing it has not seen could still rank among the best.
//!
//! A radius entry is its centre on the unit sphere, and an R-tree node's box bounds the
//! centres under it. The straight-line distance from the query point to that box is a lower
//! bound on the chord to each of those centres (and chords order like great-circle
//! distances), so a node is skipped when that bound is beyond the widest radius in its tree,
//! and otherwise visited in order of that bound. Indexed by their bounding boxes instead,
//! every circle covering the point has a box holding the point, so there is no order to visit
//! them in: a city point covered by thousands of services would read all of them to show
//! twenty. The unit sphere has no edges, so the poles and the antimeridian need no care.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rstar::{AABB, RTree, RTreeNode, RTreeObject};

use super::index::{Traits, WideNodes};
use crate::domain::Need;
use crate::domain::coordinates::chord2_km;

/// Relative margin within which the chord test defers to haversine.
pub const RIM: f64 = 1e-9;

/// Rounding a unit-vector coordinate to f32 moves it by at most 2^-25; boxes are widened by
/// more than that when measured, so a bound taken from them never exceeds the true chord.
const ROUNDING: f64 = 1.0 / (1u64 << 24) as f64;

/// Centres on the unit sphere (x, y, z), in f32.
pub type CentreBox = AABB<[f32; 3]>;

#[derive(Clone, Copy)]
pub struct CentreEntry {
    /// The centre on the unit sphere and the squared chord of the radius: inside-or-not is
    /// then three multiplications, with haversine only for points on the rim.
    pub unit: [f64; 3],
    pub chord2: f64,
    pub service: u32,
    pub traits: Traits,
    /// The entry's place in the service's coverage list.
    pub slot: u8,
    /// 1 when the service's public site is the centre. Not a `bool`: a niche in the entry
    /// would let rstar's bulk load collect leaves in place, keeping each leaf in the (much
    /// larger) allocation of the slab it was cut from (see the test below).
    pub site_at_centre: u8,
}

impl RTreeObject for CentreEntry {
    type Envelope = CentreBox;
    fn envelope(&self) -> CentreBox {
        AABB::from_point(self.unit.map(|v| v as f32))
    }
}

/// A lower bound on the squared chord from `at` to every centre in the box.
pub fn gap2(at: &[f64; 3], b: &CentreBox) -> f64 {
    let (lower, upper) = (b.lower(), b.upper());
    (0..3)
        .map(|i| {
            let below = f64::from(lower[i]) - ROUNDING - at[i];
            let above = at[i] - f64::from(upper[i]) - ROUNDING;
            below.max(above).max(0.0).powi(2)
        })
        .sum()
}

/// What the nearest-first walk reports to, and asks whether to go on.
pub trait NearestVisitor<'a> {
    /// An entry that may reach the point; the visitor makes the exact test.
    fn visit(&mut self, entry: &'a CentreEntry);
    /// Whether the best already found all rank above any entry meeting at most `needs_met`
    /// needs at squared chord `chord2` or more: if so, nothing left is visited.
    fn settled(&mut self, needs_met: u32, chord2: f64) -> bool;
}

const NEEDS: usize = Need::ALL.len();

/// A tree of radius entries, with the widest radius in it (as a squared chord): the tree's
/// nodes bound where centres are, and this bounds how far any of them reaches.
pub struct CentreTree {
    tree: RTree<CentreEntry, WideNodes>,
    widest: f64,
}

impl CentreTree {
    pub fn new(entries: Vec<CentreEntry>) -> CentreTree {
        let widest = entries.iter().map(|e| e.chord2).fold(0.0, f64::max);
        CentreTree {
            tree: RTree::bulk_load_with_params(entries),
            widest,
        }
    }

    /// Whether an entry under a node with this box may reach `at` (rim margin included).
    pub fn may_reach(&self, at: &[f64; 3], b: &CentreBox) -> bool {
        gap2(at, b) <= self.widest * (1.0 + RIM)
    }

    /// The widest radius in km.
    pub fn widest_km(&self) -> f64 {
        chord2_km(self.widest)
    }

    fn root(&self) -> &rstar::ParentNode<CentreEntry> {
        self.tree.root()
    }
}

/// Radius entries in trees by need, and by pair of needs: a query asking for two or three
/// needs first walks the trees of the services offering two of them (small, and ranking
/// first, since more needs met rank first), and only then, if the best are not settled yet,
/// the trees of each need alone. Without the pair trees, a query for shelter and legal aid
/// would walk all the shelters and legal aid nearest first looking for the few offering both.
#[derive(Default)]
pub struct NeedSetTrees {
    /// By need: every service offering it.
    singles: Vec<CentreTree>,
    /// By pair of needs (`pair_tree`): every service offering both.
    pairs: Vec<CentreTree>,
    /// The most needs any one service here offers.
    most_needs: u32,
}

/// Where the tree of the services offering needs `a` and `b` (`a < b`) is.
fn pair_tree(a: u32, b: u32) -> usize {
    let (a, b) = (a as usize, b as usize);
    a * (2 * NEEDS - a - 1) / 2 + (b - a - 1)
}

const PAIRS: usize = NEEDS * (NEEDS - 1) / 2;

fn bits(set: u16) -> impl Iterator<Item = u32> {
    (0..16).filter(move |b| set & (1 << b) != 0)
}

/// The needs' pairs, each once, `a < b`.
fn pairs_of(set: u16) -> impl Iterator<Item = (u32, u32)> {
    bits(set).flat_map(move |a| bits(set & !((2u16 << a) - 1)).map(move |b| (a, b)))
}

/// Builds [`NeedSetTrees`].
pub struct NeedSetTreesBuilder {
    singles: Vec<Vec<CentreEntry>>,
    /// Empty when the trees are only ever walked in full.
    pairs: Vec<Vec<CentreEntry>>,
    most_needs: u32,
}

impl NeedSetTreesBuilder {
    /// Trees for walking nearest first (`pairs`), or in full.
    pub fn new(pairs: bool) -> Self {
        NeedSetTreesBuilder {
            singles: (0..NEEDS).map(|_| Vec::new()).collect(),
            pairs: (0..if pairs { PAIRS } else { 0 })
                .map(|_| Vec::new())
                .collect(),
            most_needs: 0,
        }
    }

    pub fn add(&mut self, entry: CentreEntry) {
        let needs = entry.traits.needs.0;
        self.most_needs = self.most_needs.max(needs.count_ones());
        for need in bits(needs) {
            self.singles[need as usize].push(entry);
        }
        if !self.pairs.is_empty() {
            for (a, b) in pairs_of(needs) {
                self.pairs[pair_tree(a, b)].push(entry);
            }
        }
    }

    pub fn finish(self) -> NeedSetTrees {
        let load = |trees: Vec<Vec<CentreEntry>>| trees.into_iter().map(CentreTree::new).collect();
        NeedSetTrees {
            singles: load(self.singles),
            pairs: load(self.pairs),
            most_needs: self.most_needs,
        }
    }
}

/// A node still to visit: the most needs its entries can meet and how near its centres can be.
struct Pending<'a> {
    needs_met: u32,
    gap2: f64,
    children: &'a [RTreeNode<CentreEntry>],
    tree: &'a CentreTree,
    /// Which of the tree's entries this walk visits, by the needs they offer.
    visits: Visits,
}

/// The entries a tree's walk visits, so that each service is visited once.
#[derive(Clone, Copy)]
enum Visits {
    /// All (a single need asked).
    All,
    /// In pair tree (a, b): those whose first two needs among those asked are a and b.
    FirstPair(u16),
    /// In a need's tree: those offering no other need asked (the rest were in a pair tree).
    Alone,
}

impl Visits {
    fn admits(self, offered: u16, asked: u16) -> bool {
        let shared = offered & asked;
        match self {
            Visits::All => true,
            Visits::FirstPair(pair) => {
                let first = shared & shared.wrapping_neg();
                let rest = shared & !first;
                first | (rest & rest.wrapping_neg()) == pair
            }
            Visits::Alone => shared.count_ones() == 1,
        }
    }
}

impl Pending<'_> {
    /// Visited first: more needs met, then nearer.
    fn priority(&self, other: &Self) -> Ordering {
        self.needs_met
            .cmp(&other.needs_met)
            .then(other.gap2.total_cmp(&self.gap2))
    }
}

impl PartialEq for Pending<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.priority(other).is_eq()
    }
}
impl Eq for Pending<'_> {}
impl PartialOrd for Pending<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority(other)
    }
}

impl NeedSetTrees {
    /// The trees a query for `asked` walks, which of their entries it visits, and the most
    /// of its needs those entries meet.
    fn trees_for(&self, asked: u16) -> Vec<(&CentreTree, Visits, u32)> {
        let count = asked.count_ones();
        let single = |need: u32| self.singles.get(need as usize);
        if count == 1 {
            return bits(asked)
                .filter_map(|n| Some((single(n)?, Visits::All, 1)))
                .collect();
        }
        let both = count.min(self.most_needs);
        pairs_of(asked)
            .filter_map(|(a, b)| {
                let tree = self.pairs.get(pair_tree(a, b))?;
                Some((tree, Visits::FirstPair((1 << a) | (1 << b)), both))
            })
            .chain(bits(asked).filter_map(|n| Some((single(n)?, Visits::Alone, 1))))
            .collect()
    }

    /// Visits the entries offering an `asked` need that may reach `at`, nodes in order of the
    /// most needs their entries can meet and then of how near their centres can be, until
    /// the visitor is settled: every entry not yet visited is under a node still pending, so
    /// ranks no better than that node's bounds. Each service is visited at most once.
    pub fn nearest_first<'a>(
        &'a self,
        asked: u16,
        at: &[f64; 3],
        visitor: &mut impl NearestVisitor<'a>,
    ) {
        let mut pending = BinaryHeap::with_capacity(64);
        for (tree, visits, needs_met) in self.trees_for(asked) {
            let root = tree.root();
            let envelope = root.envelope();
            if !root.children().is_empty() && tree.may_reach(at, &envelope) {
                pending.push(Pending {
                    needs_met,
                    gap2: gap2(at, &envelope),
                    children: root.children(),
                    tree,
                    visits,
                });
            }
        }
        while let Some(node) = pending.pop() {
            if visitor.settled(node.needs_met, node.gap2) {
                return;
            }
            for child in node.children {
                match child {
                    RTreeNode::Leaf(entry) => {
                        if node.visits.admits(entry.traits.needs.0, asked) {
                            visitor.visit(entry);
                        }
                    }
                    RTreeNode::Parent(parent) => {
                        let envelope = parent.envelope();
                        if !node.tree.may_reach(at, &envelope) {
                            continue;
                        }
                        let gap2 = gap2(at, &envelope);
                        if visitor.settled(node.needs_met, gap2) {
                            continue;
                        }
                        for grandchild in parent.children() {
                            super::prefetch(grandchild);
                        }
                        pending.push(Pending {
                            gap2,
                            children: parent.children(),
                            ..node
                        });
                    }
                }
            }
        }
    }

    /// Visits every entry offering an `asked` need under nodes `wants` (given the node's box
    /// and its tree), once per service.
    pub fn for_each(
        &self,
        asked: u16,
        wants: impl Fn(&CentreBox, &CentreTree) -> bool,
        mut visit: impl FnMut(&CentreEntry),
    ) {
        let mut stack = Vec::new();
        for need in bits(asked) {
            let Some(tree) = self.singles.get(need as usize) else {
                continue;
            };
            let earlier = asked & ((1u16 << need) - 1);
            if wants(&tree.root().envelope(), tree) {
                stack.push((tree.root().children(), tree, earlier));
            }
        }
        while let Some((children, tree, earlier)) = stack.pop() {
            for child in children {
                match child {
                    RTreeNode::Leaf(entry) => {
                        if entry.traits.needs.0 & earlier == 0 {
                            visit(entry);
                        }
                    }
                    RTreeNode::Parent(parent) => {
                        if wants(&parent.envelope(), tree) {
                            stack.push((parent.children(), tree, earlier));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::mem::size_of;

    use proptest::prelude::*;
    use rstar::RTreeNode;

    use super::{CentreBox, CentreEntry, gap2};
    use crate::domain::Coordinates;
    use crate::domain::coordinates::{chord2, unit_vector};

    /// When a tree node is no larger than its entry, `Vec::into_iter().map().collect()` in
    /// rstar's bulk load reuses the slab's allocation for each leaf, and a 1M-service index
    /// grew by about 1 GB. A niche-free entry keeps the node larger than the entry.
    #[test]
    fn tree_nodes_are_larger_than_entries_so_leaves_get_their_own_allocation() {
        assert!(size_of::<RTreeNode<CentreEntry>>() > size_of::<CentreEntry>());
        assert_eq!(size_of::<CentreEntry>(), 48);
    }

    fn unit(lat: f64, lon: f64) -> [f64; 3] {
        unit_vector(Coordinates::new(lat, lon).expect("in range"))
    }

    proptest! {
        /// The bound from a box of centres (rounded to f32 as entries are) is never more than
        /// the chord to any of them, at the poles and across the antimeridian too.
        #[test]
        fn a_box_bound_never_exceeds_the_chord_to_a_centre_in_it(
            centres in prop::collection::vec((-90.0..=90.0f64, -180.0..=180.0f64), 1..6),
            at in (-90.0..=90.0f64, -180.0..=180.0f64),
        ) {
            let points: Vec<[f32; 3]> = centres
                .iter()
                .map(|(lat, lon)| unit(*lat, *lon).map(|v| v as f32))
                .collect();
            let b = CentreBox::from_points(&points);
            let at = unit(at.0, at.1);
            for (lat, lon) in centres {
                prop_assert!(gap2(&at, &b) <= chord2(at, unit(lat, lon)));
            }
        }
    }

    #[test]
    fn a_box_far_from_the_point_is_measured_from_its_nearest_face() {
        let b = CentreBox::from_points(&[[0.0, 0.0, 1.0]]);
        // From the equator to the north pole the chord is sqrt(2).
        let g = gap2(&unit(0.0, 30.0), &b);
        assert!((g - 2.0).abs() < 1e-6, "{g}");
    }
}
