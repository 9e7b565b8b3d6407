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
use std::collections::{BinaryHeap, HashMap};

use rstar::{AABB, RTree, RTreeNode, RTreeObject};

use super::index::{Traits, WideNodes};
use crate::domain::coordinates::chord2_km;

/// Relative margin within which the chord test defers to haversine: wider than the f32
/// rounding of an entry's radius chord (2^-24).
pub const RIM: f64 = 1e-6;

/// Rounding a unit-vector coordinate to f32 moves it by at most 2^-25; boxes are widened by
/// more than that when measured, so a bound taken from them never exceeds the true chord.
const ROUNDING: f64 = 1.0 / (1u64 << 24) as f64;

/// Centres on the unit sphere (x, y, z), in f32.
pub type CentreBox = AABB<[f32; 3]>;

/// 40 bytes, so that with rstar's node around it an entry takes 48 (a million services take
/// some 3.3 million entries).
#[derive(Clone, Copy)]
pub struct CentreEntry {
    /// The centre on the unit sphere: inside-or-not is then three multiplications against
    /// the radius chord, with haversine only for points on the rim.
    pub unit: [f64; 3],
    /// The squared chord of the radius, in f32 (the rim margin covers the rounding).
    chord2: f32,
    /// The service's position (low 24 bits) and the entry's place in its coverage list.
    service_and_slot: u32,
    pub traits: Traits,
}

impl CentreEntry {
    /// Positions must fit in 24 bits.
    pub const MAX_SERVICES: u32 = 1 << 24;

    /// None when `service` is past [`CentreEntry::MAX_SERVICES`].
    pub fn new(
        unit: [f64; 3],
        chord2: f64,
        service: u32,
        slot: u8,
        traits: Traits,
    ) -> Option<Self> {
        (service < Self::MAX_SERVICES).then_some(CentreEntry {
            unit,
            chord2: chord2 as f32,
            service_and_slot: service | u32::from(slot) << 24,
            traits,
        })
    }

    pub fn service(&self) -> u32 {
        self.service_and_slot & (Self::MAX_SERVICES - 1)
    }

    pub fn slot(&self) -> u8 {
        (self.service_and_slot >> 24) as u8
    }

    pub fn chord2(&self) -> f64 {
        f64::from(self.chord2)
    }
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
    /// An entry that may reach the point of `source`; the visitor makes the exact test.
    fn visit(&mut self, entry: &'a CentreEntry, source: usize);
    /// Whether the best already found all rank above any entry meeting at most `needs_met`
    /// needs at squared chord `chord2` or more: if so, nothing left is visited.
    fn settled(&mut self, needs_met: u32, chord2: f64) -> bool;
}

/// A tree of radius entries, with the widest radius in it (as a squared chord): the tree's
/// nodes bound where centres are, and this bounds how far any of them reaches.
pub struct CentreTree {
    tree: RTree<CentreEntry, WideNodes>,
    widest: f64,
}

impl CentreTree {
    pub fn new(entries: Vec<CentreEntry>) -> CentreTree {
        let widest = entries.iter().map(CentreEntry::chord2).fold(0.0, f64::max);
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

/// Radius entries in trees by need, and by pair of needs. More needs met rank first, so a
/// query asking for two or three needs first walks the trees of the services offering two
/// of them, and only then, if the best are not settled yet, each need's own tree for those
/// offering one. The pair trees are small and their entries rank first: without them, a query
/// for shelter and legal aid would walk all the shelters and all the legal aid nearest first
/// looking for the few that offer both. (Trees of triples too saved a query for three needs
/// about 3%, within noise, for some 17 MB.)
///
/// A service offering more than [`MOST_PAIRED_NEEDS`] needs would be in too many pair trees;
/// it is in a "broad" tree for each of its needs instead, walked as if each of its entries
/// met every need asked.
#[derive(Default)]
pub struct NeedSetTrees {
    trees: HashMap<TreeKey, CentreTree>,
    /// The most needs any one service here offers.
    most_needs: u32,
}

/// Which tree: of a need (every service offering it), of a pair of needs (as a bitset: every
/// service offering both, but broad ones), or a need's broad tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum TreeKey {
    Need(u32),
    Pair(u16),
    Broad(u32),
}

/// Services offering more needs than this are not in the pair trees (a service of four needs
/// is in six).
const MOST_PAIRED_NEEDS: u32 = 4;

fn bits(set: u16) -> impl Iterator<Item = u32> {
    (0..16).filter(move |b| set & (1 << b) != 0)
}

/// The pairs of members of `set`, as bitsets.
fn pairs(set: u16) -> impl Iterator<Item = u16> {
    bits(set).flat_map(move |a| bits(set & !((2u16 << a) - 1)).map(move |b| (1 << a) | (1 << b)))
}

/// The lowest `n` members of `set`.
fn lowest(set: u16, n: u32) -> u16 {
    let mut rest = set;
    let mut taken = 0;
    for _ in 0..n {
        let low = rest & rest.wrapping_neg();
        taken |= low;
        rest &= !low;
    }
    taken
}

/// The trees an entry offering `offered` is in; `paired` when there are pair trees.
fn homes(offered: u16, paired: bool) -> Vec<TreeKey> {
    let mut homes: Vec<TreeKey> = bits(offered).map(TreeKey::Need).collect();
    if paired && offered.count_ones() > MOST_PAIRED_NEEDS {
        homes.extend(bits(offered).map(TreeKey::Broad));
    } else if paired {
        homes.extend(pairs(offered).map(TreeKey::Pair));
    }
    homes
}

/// The trees a query for `asked` walks nearest first, which of their entries it visits (so
/// that each service is visited once), and the most of its needs those entries meet, given
/// that no service offers more than `most_needs`.
fn walks(asked: u16, most_needs: u32) -> Vec<(TreeKey, Visits, u32)> {
    let count = asked.count_ones();
    if count == 1 {
        return bits(asked)
            .map(|n| (TreeKey::Need(n), Visits::All, 1))
            .collect();
    }
    // A pair tree's services may offer a third need asked.
    let most = count.min(most_needs);
    pairs(asked)
        .map(|pair| (TreeKey::Pair(pair), Visits::Pair(pair), most))
        .chain(bits(asked).map(|n| (TreeKey::Need(n), Visits::Alone, 1)))
        .chain(bits(asked).map(|n| (TreeKey::Broad(n), Visits::Broad(1 << n), most)))
        .collect()
}

/// Builds [`NeedSetTrees`].
pub struct NeedSetTreesBuilder {
    entries: HashMap<TreeKey, Vec<CentreEntry>>,
    /// Whether there are pair trees: not when the trees are only ever walked in full.
    paired: bool,
    most_needs: u32,
}

impl NeedSetTreesBuilder {
    /// Trees for walking nearest first (`paired`), or in full.
    pub fn new(paired: bool) -> Self {
        NeedSetTreesBuilder {
            entries: HashMap::new(),
            paired,
            most_needs: 0,
        }
    }

    pub fn add(&mut self, entry: CentreEntry) {
        let needs = entry.traits.needs.0;
        self.most_needs = self.most_needs.max(needs.count_ones());
        for home in homes(needs, self.paired) {
            self.entries.entry(home).or_default().push(entry);
        }
    }

    pub fn finish(self) -> NeedSetTrees {
        NeedSetTrees {
            trees: self
                .entries
                .into_iter()
                .map(|(key, entries)| (key, CentreTree::new(entries)))
                .collect(),
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
    /// Which source's tree, and so which point the entries are judged at.
    source: usize,
}

/// The entries a tree's walk visits, so that each service is visited once, from the tree
/// of the needs asked it meets the most of.
#[derive(Debug, Clone, Copy)]
enum Visits {
    /// All (one need asked).
    All,
    /// In a need's tree: those meeting no other need asked.
    Alone,
    /// In a pair tree: those meeting more needs asked, of which the pair is the lowest two.
    Pair(u16),
    /// In a need's broad tree: those meeting more needs asked, of which it is the lowest.
    Broad(u16),
}

impl Visits {
    fn admits(self, offered: u16, asked: u16) -> bool {
        let shared = offered & asked;
        match self {
            Visits::All => true,
            Visits::Alone => shared.count_ones() == 1,
            Visits::Pair(pair) => shared.count_ones() > 1 && lowest(shared, 2) == pair,
            Visits::Broad(need) => shared.count_ones() > 1 && lowest(shared, 1) == need,
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
    /// The trees a query for `asked` walks nearest first (see [`walks`]).
    fn trees_for(&self, asked: u16) -> impl Iterator<Item = (&CentreTree, Visits, u32)> {
        walks(asked, self.most_needs)
            .into_iter()
            .filter_map(|(key, visits, met)| Some((self.trees.get(&key)?, visits, met)))
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
            let Some(tree) = self.trees.get(&TreeKey::Need(need)) else {
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

/// Visits the entries offering an `asked` need that may reach their source's point, from
/// each source (trees and the point they are judged at), nodes in order of the most needs
/// their entries can meet and then of how near their centres can be, until the visitor is
/// settled: every entry not yet visited is under a node still pending, so ranks no better
/// than that node's bounds. Each service is visited at most once.
pub fn nearest_first<'a>(
    sources: &[(&'a NeedSetTrees, [f64; 3])],
    asked: u16,
    visitor: &mut impl NearestVisitor<'a>,
) {
    let mut pending = BinaryHeap::with_capacity(64);
    for (source, (trees, at)) in sources.iter().enumerate() {
        for (tree, visits, needs_met) in trees.trees_for(asked) {
            let root = tree.root();
            let envelope = root.envelope();
            if !root.children().is_empty() && tree.may_reach(at, &envelope) {
                pending.push(Pending {
                    needs_met,
                    gap2: gap2(at, &envelope),
                    children: root.children(),
                    tree,
                    visits,
                    source,
                });
            }
        }
    }
    while let Some(node) = pending.pop() {
        if visitor.settled(node.needs_met, node.gap2) {
            return;
        }
        let at = &sources[node.source].1;
        // The next node to visit is most likely the best still pending: its loads start
        // while this one is read. (Loads started for every node pushed were slower: most
        // are never visited.)
        if let Some(next) = pending.peek() {
            next.children.iter().for_each(super::prefetch);
        }
        for child in node.children {
            match child {
                RTreeNode::Leaf(entry) => {
                    if node.visits.admits(entry.traits.needs.0, asked) {
                        visitor.visit(entry, node.source);
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

#[cfg(test)]
mod tests {
    use std::mem::size_of;

    use proptest::prelude::*;
    use rstar::RTreeNode;

    use super::{CentreBox, CentreEntry, TreeKey, gap2, homes, walks};
    use crate::domain::Coordinates;
    use crate::domain::coordinates::{chord2, unit_vector};

    /// When a tree node is no larger than its entry, `Vec::into_iter().map().collect()` in
    /// rstar's bulk load reuses the slab's allocation for each leaf, and a 1M-service index
    /// grew by about 1 GB. A niche-free entry keeps the node larger than the entry.
    #[test]
    fn tree_nodes_are_larger_than_entries_so_leaves_get_their_own_allocation() {
        assert!(size_of::<RTreeNode<CentreEntry>>() > size_of::<CentreEntry>());
        assert_eq!(size_of::<CentreEntry>(), 40);
        assert_eq!(size_of::<RTreeNode<CentreEntry>>(), 48);
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

    /// For every service of up to six needs and every query of up to four, exactly one of the
    /// trees the query walks holds the service and visits it, with a bound on the needs met
    /// no lower than the needs it meets.
    #[test]
    fn every_service_is_visited_once_from_a_tree_bounding_its_needs_met() {
        let sets = |most: u32| (1u16..1 << 12).filter(move |s| s.count_ones() <= most);
        let services: Vec<(u16, Vec<TreeKey>)> = sets(6).map(|s| (s, homes(s, true))).collect();
        for asked in sets(4) {
            let walked = walks(asked, 6);
            for (offered, homes) in &services {
                let met = (offered & asked).count_ones();
                let mut visited = walked.iter().filter(|(key, visits, _)| {
                    homes.contains(key) && visits.admits(*offered, asked)
                });
                let first = visited.next();
                assert_eq!(first.is_some(), met > 0, "{offered:b} {asked:b}");
                assert!(visited.next().is_none(), "{offered:b} {asked:b}: twice");
                if let Some((_, _, bound)) = first {
                    assert!(*bound >= met, "{offered:b} {asked:b}: {first:?}");
                }
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
