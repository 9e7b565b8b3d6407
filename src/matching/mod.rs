//! Matching: given where a person is and what they need, who can help. Runs entirely in
//! memory on a [`Snapshot`] of the directory; Postgres is never on the request path.
//!
//! A snapshot is a large `base` index plus a small `overlay` of services changed since the
//! base was built; `hidden` lists base services the overlay supersedes or that were deleted.

mod centres;
pub mod encode;
pub mod index;
pub mod live;
pub mod load;
mod outline;
pub mod query;
pub mod reason;
pub mod regions;
pub mod shape;
#[cfg(test)]
mod tests;

use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use fixedbitset::FixedBitSet;

use self::index::{
    AddressView, CoverSink, Hit, Index, IndexedService, LACKS_LANGUAGE, PhoneView, Probe, Reach,
    Site, Traits,
};
use self::query::{MatchQuery, NeedSet, need_bit};
use self::reason::Reason;
use self::regions::RegionLocator;
use crate::boundaries::Boundaries;
use crate::domain::Need;
use crate::domain::coordinates::{chord2_km, km_chord2};
use crate::domain::eligibility::Facet;
use crate::domain::language::LanguageCode;

/// How far around the point "nearby, outside coverage" looks.
pub const NEARBY_KM: f64 = 100.0;
/// Capacity reported longer ago than this is flagged stale.
const CAPACITY_STALE_HOURS: i64 = 24;
const BANDS_KM: [f64; 5] = [5.0, 10.0, 25.0, 50.0, 100.0];

#[derive(Default)]
pub struct Snapshot {
    /// Id of the last change-log entry this snapshot reflects.
    pub version: i64,
    pub base: Arc<Index>,
    pub overlay: Arc<Index>,
    pub hidden: Arc<HashSet<Uuid>>,
    /// `hidden` as positions in `base`, so a hit is checked without reading its record.
    hidden_in_base: Arc<FixedBitSet>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrganizationRef<'a> {
    pub id: Uuid,
    pub name: &'a str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CapacityView {
    pub available: i32,
    pub total: i32,
    pub reported_at: DateTime<Utc>,
    pub stale: bool,
}

/// One service in a match response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServiceMatch<'a> {
    pub service_id: Uuid,
    pub name: &'a str,
    pub organization: OrganizationRef<'a>,
    pub needs_met: Vec<Need>,
    pub coverage_type: &'static str,
    /// To a public location, one decimal; null otherwise.
    pub distance_km: Option<f64>,
    /// For confidential or location-less services, from coverage only.
    pub distance_band: Option<&'static str>,
    pub confidential_location: bool,
    /// Public locations only.
    pub address: Option<&'a AddressView>,
    /// City, region and country of a confidential location: where it is, roughly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub front_door: Option<&'a AddressView>,
    pub phones: &'a [PhoneView],
    pub languages: &'a [LanguageCode],
    pub open_now: Option<bool>,
    /// Opening hours, for pages (the API answers `open_now`).
    #[serde(skip)]
    #[schema(ignore)]
    pub hours: &'a [index::CompactSchedule],
    /// Whom the service takes (ages, genders, facets), for pages to say on each card.
    #[serde(skip)]
    #[schema(ignore)]
    pub traits: index::Traits,
    pub capacity: Option<CapacityView>,
    pub verified_at: Option<DateTime<Utc>>,
    pub demo: bool,
    /// Short reasons, written out where they are shown.
    #[schema(value_type = Vec<String>)]
    pub why: Vec<Reason<'a>>,
    /// A national service's fields that are the same in every answer, already written.
    #[serde(skip)]
    #[schema(ignore)]
    pub fixed: Option<&'a encode::FixedParts>,
}

#[derive(Debug, Default, Serialize)]
pub struct MatchOutcome<'a> {
    pub results: Vec<ServiceMatch<'a>>,
    pub hotlines: Vec<ServiceMatch<'a>>,
    pub nearby_outside_coverage: Vec<ServiceMatch<'a>>,
    /// The needs asked that no local service offers: what the nearby list is for.
    #[serde(skip)]
    pub unmet_needs: NeedSet,
}

fn band(km: f64) -> &'static str {
    const LABELS: [&str; 5] = [
        "within 5 km",
        "within 10 km",
        "within 25 km",
        "within 50 km",
        "within 100 km",
    ];
    BANDS_KM
        .iter()
        .zip(LABELS)
        .find(|(limit, _)| km <= **limit)
        .map_or("more than 100 km", |(_, label)| label)
}

fn band_upper(km: f64) -> f64 {
    BANDS_KM
        .iter()
        .copied()
        .find(|limit| km <= *limit)
        .unwrap_or(f64::INFINITY)
}

/// Where a candidate sits: in the overlay or the base, and its position there.
type Position = (bool, u32);

/// A service that fits, before it is rendered: only the best `limit` ever are. Ranking reads
/// nothing from the service record but, for ties across base and overlay, its id.
#[derive(Clone, Copy)]
struct Candidate<'s> {
    service: &'s IndexedService,
    position: Position,
    traits: Traits,
    reach: Reach,
    /// How far outside its coverage the point is (nearby list only).
    outside_km: Option<f64>,
    needs_met: u32,
    /// Distance used for ranking: exact to a public site, else the band's upper bound.
    distance_key: f64,
}

/// Squared unit chords of the band limits, so band keys need no trigonometry.
static BAND_CHORD2: std::sync::LazyLock<[f64; 5]> =
    std::sync::LazyLock::new(|| BANDS_KM.map(km_chord2));

fn band_key(center_chord2: f64) -> f64 {
    BAND_CHORD2
        .iter()
        .copied()
        .find(|limit| center_chord2 <= *limit)
        .unwrap_or(f64::INFINITY)
}

impl<'s> Candidate<'s> {
    fn new(
        service: &'s IndexedService,
        position: Position,
        traits: Traits,
        reach: Reach,
        outside_km: Option<f64>,
        q: &MatchQuery,
    ) -> Self {
        // Keys are squared unit chords (ordered like distances, no trigonometry): exact to a
        // public site, else the upper bound of the band.
        let distance_key = match (traits.has_public_site(), outside_km, reach) {
            (
                true,
                None,
                Reach::Radius {
                    center_chord2,
                    site_at_centre: true,
                    ..
                },
            ) => center_chord2,
            (true, _, _) => service.site_key(q.point_unit),
            (false, Some(gap), _) => km_chord2(band_upper(gap)),
            (false, None, Reach::Radius { center_chord2, .. }) => band_key(center_chord2),
            (false, None, Reach::National | Reach::OutsideNation) => f64::INFINITY,
            (false, None, _) => 0.0,
        };
        Candidate {
            service,
            position,
            traits,
            reach,
            outside_km,
            needs_met: traits.needs.count_common(q.needs),
            distance_key,
        }
    }

    /// Of two reaches of one service, whether this one is kept: the nearest (its ranking key),
    /// then the most specific, then radius entries in their listed order, so a service with
    /// several entries ranks by its best one whatever order the index finds them in. Nearest
    /// first: a statewide service that adds a local radius must not rank lower for it.
    fn reaches_better_than(&self, other: &Candidate<'_>) -> bool {
        self.distance_key
            .total_cmp(&other.distance_key)
            .then(self.reach.specificity().cmp(&other.reach.specificity()))
            .then(self.reach.listed_order().cmp(&other.reach.listed_order()))
            .is_lt()
    }

    fn rank(a: &Candidate<'_>, b: &Candidate<'_>) -> std::cmp::Ordering {
        b.needs_met
            .cmp(&a.needs_met)
            .then(a.distance_key.total_cmp(&b.distance_key))
            .then_with(|| {
                // An index holds its services in id order.
                if a.position.0 == b.position.0 {
                    a.position.1.cmp(&b.position.1)
                } else {
                    a.service.id.cmp(&b.service.id)
                }
            })
    }
}

/// The candidates a query finds, one per service (its best reach). A point in a
/// city is covered by thousands of services and only the best `limit` are shown, so local
/// candidates with a single coverage entry (the usual case) are kept in a heap of the best
/// `limit` so far, and anything ranking below the worst of a full heap is dropped on arrival.
/// National candidates and services with several entries (which may be replaced by a better
/// reach later) are all kept.
struct Candidates<'s> {
    limit: usize,
    /// The best `limit` local single-entry candidates so far, the worst on top.
    best: BinaryHeap<Worst<'s>>,
    kept: Vec<Candidate<'s>>,
    /// Where in `kept` each service with several entries is.
    several: HashMap<Position, usize>,
}

/// A candidate ordered so that the worst ranked is the greatest: the top of a heap of them
/// is the one the next better candidate replaces.
struct Worst<'s>(Candidate<'s>);

impl PartialEq for Worst<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Worst<'_> {}

impl PartialOrd for Worst<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Worst<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        Candidate::rank(&self.0, &other.0)
    }
}

impl<'s> Candidates<'s> {
    fn new(limit: usize) -> Self {
        let limit = limit.max(1);
        Candidates {
            limit,
            best: BinaryHeap::with_capacity(limit),
            kept: Vec::new(),
            several: HashMap::new(),
        }
    }

    fn push(&mut self, c: Candidate<'s>) {
        self.push_if(c, || true);
    }

    /// The worst of the best `limit` local candidates, once there are that many.
    fn cut(&self) -> Option<&Candidate<'s>> {
        self.best
            .peek()
            .filter(|_| self.best.len() == self.limit)
            .map(|w| &w.0)
    }

    /// Pushes `c` if `admit` says it may be shown. `admit` is asked only when `c` is not
    /// already ranked out: it reads memory a ranked-out candidate never needs (the hidden set,
    /// the service record), and most of a city's candidates are ranked out.
    fn push_if(&mut self, c: Candidate<'s>, admit: impl FnOnce() -> bool) {
        if !c.traits.has_several_entries() && c.reach.is_local() {
            if self
                .cut()
                .is_some_and(|cut| Candidate::rank(&c, cut).is_ge())
                || !admit()
            {
                return;
            }
            if self.best.len() < self.limit {
                self.best.push(Worst(c));
            } else if let Some(mut worst) = self.best.peek_mut() {
                *worst = Worst(c);
            }
            return;
        }
        if !admit() {
            return;
        }
        if !c.traits.has_several_entries() {
            self.kept.push(c);
            return;
        }
        match self.several.get(&c.position) {
            Some(&i) => {
                if let Some(existing) = self.kept.get_mut(i) {
                    let better = match (c.outside_km, existing.outside_km) {
                        (Some(a), Some(b)) => a < b,
                        _ => c.reaches_better_than(existing),
                    };
                    if better {
                        *existing = c;
                    }
                }
            }
            None => {
                self.several.insert(c.position, self.kept.len());
                self.kept.push(c);
            }
        }
    }

    /// Whether `limit` local candidates are found that all rank above any candidate meeting
    /// at most `needs_met` needs at a key of `key` or more (an equal key might win on id).
    /// Local candidates with several entries are left out of the count, so the answer errs
    /// towards looking further.
    fn outranks(&self, needs_met: u32, key: f64) -> bool {
        self.cut().is_some_and(|cut| {
            cut.needs_met > needs_met || (cut.needs_met == needs_met && cut.distance_key < key)
        })
    }

    /// Local candidates, the best `limit` in rank order; and national ones (see
    /// [`Self::national_top`]).
    fn into_top(self) -> (Vec<Candidate<'s>>, Vec<Candidate<'s>>) {
        let (mut local, national): (Vec<_>, Vec<_>) =
            self.kept.into_iter().partition(|c| c.reach.is_local());
        local.extend(self.best.into_iter().map(|w| w.0));
        let limit = self.limit;
        (Self::top(local, limit), Self::national_top(national, limit))
    }

    /// National candidates in rank order: every crisis line, and the best of the others in
    /// the room `limit` leaves. The crisis lines are a handful, and neither a small `limit`
    /// nor a national service that ranks higher may push one out.
    fn national_top(national: Vec<Candidate<'s>>, limit: usize) -> Vec<Candidate<'s>> {
        let (mut lines, others): (Vec<_>, Vec<_>) =
            national.into_iter().partition(|c| c.traits.is_hotline());
        let room = limit.saturating_sub(lines.len());
        lines.extend(Self::top(others, room));
        lines.sort_by(Candidate::rank);
        lines
    }

    /// The best `limit`, in rank order.
    fn top(mut list: Vec<Candidate<'s>>, limit: usize) -> Vec<Candidate<'s>> {
        if limit == 0 {
            return Vec::new();
        }
        if list.len() > limit {
            list.select_nth_unstable_by(limit - 1, Candidate::rank);
            list.truncate(limit);
        }
        list.sort_by(Candidate::rank);
        list
    }
}

/// Takes one index's hits into the candidates, and tells the index when the candidates
/// already found outrank what it has left.
struct Gatherer<'s, 'f> {
    snapshot: &'s Snapshot,
    index: &'s Index,
    overlay: bool,
    q: &'f MatchQuery,
    /// Whether languages or open-now are asked: those are read from the service record.
    record_filters: bool,
    found: &'f mut Candidates<'s>,
}

impl CoverSink for Gatherer<'_, '_> {
    fn found(&mut self, hit: Hit) {
        let position = (self.overlay, hit.service);
        let Some(service) = self.index.service(hit.service) else {
            return;
        };
        let (snapshot, q) = (self.snapshot, self.q);
        let record_filters = self.record_filters;
        self.found.push_if(
            Candidate::new(service, position, hit.traits, hit.reach, None, q),
            || snapshot.is_live(position) && (!record_filters || service.passes_record_filters(q)),
        );
    }

    fn settled(&mut self, needs_met: u32, key: f64) -> bool {
        self.found.outranks(needs_met, key)
    }
}

impl Snapshot {
    pub fn new(
        version: i64,
        base: Arc<Index>,
        overlay: Arc<Index>,
        hidden: Arc<HashSet<Uuid>>,
    ) -> Snapshot {
        let mut hidden_in_base = FixedBitSet::with_capacity(base.len());
        for position in hidden.iter().filter_map(|id| base.position(id)) {
            hidden_in_base.insert(position as usize);
        }
        Snapshot {
            version,
            base,
            overlay,
            hidden,
            hidden_in_base: Arc::new(hidden_in_base),
        }
    }

    pub fn len(&self) -> usize {
        self.base.len() - self.hidden_in_base.count_ones(..) + self.overlay.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Live services: the base's not hidden, then the overlay's.
    pub fn services(&self) -> impl Iterator<Item = &IndexedService> {
        self.base
            .services()
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.hidden_in_base.contains(*i))
            .map(|(_, s)| s)
            .chain(self.overlay.services())
    }

    /// The base first, then the overlay (flagged `true`).
    fn indexes(&self) -> [(&Index, bool); 2] {
        [(&self.base, false), (&self.overlay, true)]
    }

    fn is_live(&self, (overlay, position): Position) -> bool {
        overlay || !self.hidden_in_base.contains(position as usize)
    }

    /// Answers a query: local services covering the point, national ones that fit, and when
    /// nothing local fits, fitting services whose coverage is close.
    pub fn find<'s>(
        &'s self,
        q: &MatchQuery,
        locator: &RegionLocator,
        boundaries: &'s Boundaries,
    ) -> MatchOutcome<'s> {
        // Public and location-less services are judged at the point; confidential ones at the
        // centre of its coarse cell, so nothing about them varies within a cell.
        let point_regions = locator.regions_at(q.point);
        let cell_regions = if q.cell == q.point {
            point_regions.clone()
        } else {
            locator.regions_at(q.cell)
        };
        let probe = Probe {
            point: q.point,
            point_regions: &point_regions,
            cell: q.cell,
            cell_regions: &cell_regions,
            nation: boundaries
                .index_of("US")
                .and_then(|i| u32::try_from(i).ok()),
            needs: q.needs,
        };
        // Local services must offer a requested need; national crisis lines come back
        // whatever the needs. Every other filter applies to all.
        let keep = |t: Traits, reach: Reach| {
            (t.needs.count_common(q.needs) > 0 || (!reach.is_local() && t.is_hotline()))
                && t.passes(q)
        };
        let mut found = Candidates::new(q.limit);
        self.gather(q, &probe, keep, &mut found);
        let (mut local, mut national) = found.into_top();
        let unmet = self.give_every_need_a_place(&mut local, q, &probe);
        // Nothing found is never a dead end (DESIGN.md): when the filters asked for leave no
        // crisis line, every crisis line comes back, each saying what it does not meet.
        let filtered = q.require != 0
            || q.age.is_some()
            || q.gender.is_some()
            || !q.languages.is_empty()
            || q.open_now;
        let regardless = filtered && !national.iter().any(|c| c.traits.is_hotline());
        if regardless {
            national.extend(self.crisis_lines_regardless(q, &probe));
            national = Candidates::national_top(national, q.limit);
        }
        if !regardless && !q.languages.is_empty() {
            // A crisis line answers through an interpreter: one that does not list the
            // language asked comes after those that do, saying so, rather than not at all.
            let mut interpreted: Vec<Candidate<'s>> = self
                .crisis_lines_regardless(q, &probe)
                .into_iter()
                .filter(|c| {
                    let mut misses = c.service.misses(q);
                    misses.next() == Some(LACKS_LANGUAGE) && misses.next().is_none()
                })
                .collect();
            interpreted.sort_by(Candidate::rank);
            national.extend(interpreted);
        }
        // Near misses for each need nothing local offers, so that a second need ticked does
        // not hide the only shelter around. A national service offering the need (a crisis
        // line, an online clinic) does not take their place: in-person help close by, if
        // just outside its area, may still be the better way.
        let nearby = if unmet.0 == 0 {
            Vec::new()
        } else if unmet == q.needs {
            self.nearby(q, locator, probe.nation)
        } else {
            let for_unmet = MatchQuery {
                needs: unmet,
                ..q.clone()
            };
            self.nearby(&for_unmet, locator, probe.nation)
        };
        warm(&[&local, &national, &nearby]);
        let render_all = |list: Vec<Candidate<'s>>| -> Vec<ServiceMatch<'s>> {
            list.into_iter().map(|c| render(c, q, boundaries)).collect()
        };
        let hotlines = national
            .into_iter()
            .map(|c| {
                let mut line = ServiceMatch {
                    fixed: self.national_parts(c, q, boundaries),
                    ..render(c, q, boundaries)
                };
                if (regardless || !q.languages.is_empty()) && c.traits.is_hotline() {
                    line.why.extend(c.service.misses(q).map(Reason::Says));
                }
                line
            })
            .collect();
        MatchOutcome {
            results: render_all(local),
            hotlines,
            nearby_outside_coverage: render_all(nearby),
            unmet_needs: unmet,
        }
    }

    /// Every index's hits for `probe`, as [`Index::covering`] gives them, into `found`.
    fn gather<'s>(
        &'s self,
        q: &MatchQuery,
        probe: &Probe<'_>,
        keep: impl Fn(Traits, Reach) -> bool,
        found: &mut Candidates<'s>,
    ) {
        for (index, overlay) in self.indexes() {
            let sink = Gatherer {
                snapshot: self,
                index,
                overlay,
                q,
                record_filters: !q.languages.is_empty() || q.open_now,
                found: &mut *found,
            };
            index.covering(probe, &keep, sink);
        }
    }

    /// Gives each requested need that some local service offers a place in `local` (the
    /// best `limit` local candidates, in rank order). A person asking for shelter and
    /// counseling must see the shelter even when twenty counseling rooms are nearer: the
    /// nearest local service offering a need no entry offers takes the place of the
    /// lowest-ranked entry whose needs other entries offer too (when none can give way, the
    /// need goes without). Returns the requested needs no local service offers at all, for
    /// the nearby list.
    fn give_every_need_a_place<'s>(
        &'s self,
        local: &mut Vec<Candidate<'s>>,
        q: &MatchQuery,
        probe: &Probe<'_>,
    ) -> NeedSet {
        let offered_but = |list: &[Candidate<'_>], skip: Option<usize>| {
            let others = list.iter().enumerate().filter(|(i, _)| Some(*i) != skip);
            others.fold(0, |acc, (_, c)| acc | c.traits.needs.0) & q.needs.0
        };
        let mut unmet = q.needs.0 & !offered_but(local, None);
        // Short of the limit, every local candidate is here already.
        if unmet == 0 || local.len() < q.limit {
            return NeedSet(unmet);
        }
        for need in NeedSet(unmet).iter() {
            let bit = need_bit(need);
            if offered_but(local, None) & bit != 0 {
                // The place given to an earlier need offers this one too.
                unmet &= !bit;
                continue;
            }
            let Some(mut nearest) = self.nearest_offering(NeedSet(bit), q, probe) else {
                continue;
            };
            unmet &= !bit;
            nearest.needs_met = nearest.traits.needs.count_common(q.needs);
            let gives_way = (0..local.len())
                .rev()
                .find(|&i| local[i].traits.needs.0 & q.needs.0 & !offered_but(local, Some(i)) == 0);
            if let Some(i) = gives_way {
                local[i] = nearest;
                local.sort_by(Candidate::rank);
            }
        }
        NeedSet(unmet)
    }

    /// The nearest local service that offers `need` and passes the query's filters.
    fn nearest_offering<'s>(
        &'s self,
        need: NeedSet,
        q: &MatchQuery,
        probe: &Probe<'_>,
    ) -> Option<Candidate<'s>> {
        let q = MatchQuery {
            needs: need,
            limit: 1,
            ..q.clone()
        };
        let probe = Probe {
            needs: need,
            ..*probe
        };
        let keep = |t: Traits, reach: Reach| {
            reach.is_local() && t.needs.count_common(need) > 0 && t.passes(&q)
        };
        let mut found = Candidates::new(1);
        self.gather(&q, &probe, keep, &mut found);
        found.into_top().0.pop()
    }

    /// Every live crisis line, whatever the filters: for when they leave none, and for the
    /// lines that lack only the language asked.
    fn crisis_lines_regardless<'s>(
        &'s self,
        q: &MatchQuery,
        probe: &Probe<'_>,
    ) -> Vec<Candidate<'s>> {
        let Some(nation) = probe.nation else {
            return Vec::new();
        };
        let reach = if probe.point_regions.contains(&nation) {
            Reach::National
        } else {
            Reach::OutsideNation
        };
        let mut lines = Vec::new();
        for (index, overlay) in self.indexes() {
            for &(i, traits) in index.in_region(nation) {
                let position = (overlay, i);
                if let Some(s) = index
                    .service(i)
                    .filter(|_| traits.is_hotline() && self.is_live(position))
                {
                    lines.push(Candidate::new(s, position, traits, reach, None, q));
                }
            }
        }
        lines
    }

    /// The fixed parts of a national candidate's entry (see [`encode::FixedParts`]). Each
    /// index writes those of all its national services when first asked. They are the
    /// fields that depend on the service alone, so the query they are rendered with leaves
    /// nothing in them.
    fn national_parts<'s>(
        &'s self,
        c: Candidate<'s>,
        q: &MatchQuery,
        boundaries: &'s Boundaries,
    ) -> Option<&'s encode::FixedParts> {
        let (overlay, position) = c.position;
        let index = if overlay { &self.overlay } else { &self.base };
        let parts = index.national_parts(|| {
            let nation = boundaries
                .index_of("US")
                .and_then(|i| u32::try_from(i).ok());
            let nation = nation.map_or(&[][..], |nation| index.in_region(nation));
            let national = |&(position, traits): &(u32, Traits)| {
                let c = Candidate {
                    service: index.service(position)?,
                    position: (overlay, position),
                    traits,
                    reach: Reach::National,
                    outside_km: None,
                    needs_met: 0,
                    distance_key: f64::INFINITY,
                };
                Some((position, encode::FixedParts::of(&render(c, q, boundaries))))
            };
            nation.iter().filter_map(national).collect()
        });
        parts.get(&position)
    }

    /// Answers a query as `POST /api/v1/match` does: [`Snapshot::find`], then the JSON answer
    /// written to `out`.
    pub fn answer_json(
        &self,
        q: &MatchQuery,
        locator: &RegionLocator,
        boundaries: &Boundaries,
        out: &mut Vec<u8>,
    ) {
        let outcome = self.find(q, locator, boundaries);
        encode::answer(&outcome, q.source, q.precision_km, self.version, out);
    }

    /// Fitting services whose coverage misses the point by at most [`NEARBY_KM`], but the
    /// national ones (with the hotlines wherever the point is); asked only for needs no local
    /// service offers (`q.needs` are those), so none of these covers the point either.
    fn nearby<'s>(
        &'s self,
        q: &MatchQuery,
        locator: &RegionLocator,
        nation: Option<u32>,
    ) -> Vec<Candidate<'s>> {
        let mut near = Candidates::new(q.limit);
        let mut hits = Vec::new();
        for (at, confidential) in [(q.point, false), (q.cell, true)] {
            // National services are with the hotlines wherever the point is.
            let near_regions = locator.regions_near(at, NEARBY_KM, |r| {
                Some(r) != nation && (self.base.has_region(r) || self.overlay.has_region(r))
            });
            for (index, overlay) in self.indexes() {
                hits.clear();
                index.near(at, NEARBY_KM, q.needs.0, &near_regions, &mut hits);
                for (i, gap) in hits.drain(..) {
                    let position = (overlay, i);
                    let Some(s) = index.service(i) else { continue };
                    // One also serving the whole country is with the hotlines.
                    let national = || nation.is_some_and(|n| index.covers_region(n, i));
                    if s.is_confidential() != confidential
                        || !self.is_live(position)
                        || !s.fits(q)
                        || national()
                    {
                        continue;
                    }
                    near.push(Candidate::new(
                        s,
                        position,
                        s.traits,
                        Reach::Area,
                        Some(gap),
                        q,
                    ));
                }
            }
        }
        near.into_top().0
    }
}

/// Starts loading the cache line holding `value`, without waiting for it. The index is far
/// larger than the caches, so nearly every record, node and shape a query reads is a miss;
/// asking for many at once lets the misses overlap.
fn prefetch<T>(value: &T) {
    mem_prefetch::prefetch_read_data::<T, 3>(value);
}

/// Reads the chosen services' records, then the parts they point to, then what those point
/// to, level by level across all of them. In a large index these are cache misses; read
/// here they do not depend on one another and overlap, where the renderer, going service by
/// service and pointer by pointer, would wait for each in turn.
fn warm(lists: &[&[Candidate<'_>]]) {
    let mut sum = 0u64;
    for depth in 0..3 {
        for c in lists.iter().copied().flatten() {
            sum ^= c.service.touch(depth);
        }
    }
    std::hint::black_box(sum);
}

/// Builds the response entry, with the reasons it matched.
fn render<'s>(c: Candidate<'s>, q: &MatchQuery, boundaries: &'s Boundaries) -> ServiceMatch<'s> {
    let (s, reach, outside_by_km) = (c.service, c.reach, c.outside_km);
    let met = NeedSet(s.traits.needs.0 & q.needs.0);
    let needs_met: Vec<Need> = met.iter().collect();
    let mut why: Vec<Reason<'s>> = Vec::with_capacity(4);
    why.push(if met.0 == 0 {
        Reason::Says("crisis line that can help with any need")
    } else {
        Reason::Offers(met)
    });
    let (coverage_type, coverage_why) = match reach {
        Reach::Radius { slot, .. } => (
            "radius",
            Reason::WithinKm(s.radius(slot).map_or(0.0, |(_, km)| km)),
        ),
        Reach::Area => (
            "area",
            Reason::Says("serves a defined area that includes this location"),
        ),
        Reach::Region { region } => (
            "region",
            boundaries
                .regions()
                .get(region as usize)
                .map_or(Reason::Says("serves its region"), Reason::Serves),
        ),
        Reach::National => ("national", Reason::Says("serves the whole country")),
        Reach::OutsideNation => (
            "national",
            Reason::Says("serves the United States, not this location"),
        ),
    };
    let (address, front_door, distance_km, distance_band) = match &s.site {
        Site::Public { address, .. } => {
            let km = (chord2_km(c.distance_key) * 10.0).round() / 10.0;
            (Some(address), None, Some(km), None)
        }
        other => {
            let front_door = match other {
                Site::Confidential { front_door } => Some(front_door),
                _ => None,
            };
            let band_label = match (outside_by_km, reach) {
                (Some(gap), _) => band(gap),
                (None, Reach::Radius { center_chord2, .. }) => band(chord2_km(center_chord2)),
                (None, Reach::National | Reach::OutsideNation) => "nationwide",
                (None, _) => "in its service area",
            };
            (None, front_door, None, Some(band_label))
        }
    };
    why.push(match outside_by_km {
        Some(gap) if s.is_confidential() => Reason::OutsideBand(band(gap)),
        Some(gap) => Reason::OutsideKm(gap),
        None => coverage_why,
    });
    let mut said = 0;
    if let Some(age) = q.age {
        let t = s.traits;
        let minors = query::facet_bit(Facet::AcceptsUnaccompaniedMinors);
        if age < 18 && t.facets & minors != 0 {
            why.push(Reason::Has(Facet::AcceptsUnaccompaniedMinors));
            said = minors;
        } else if t.min_age != 0 || t.max_age != u8::MAX {
            why.push(Reason::Ages {
                min: t.min_age,
                max: (t.max_age != u8::MAX).then_some(t.max_age),
            });
        }
    }
    // Only what the service has: a crisis line back despite the filters must not claim them.
    why.extend(
        Facet::ALL
            .into_iter()
            .filter(|f| (q.require & !said & s.traits.facets) & query::facet_bit(*f) != 0)
            .map(Reason::Has),
    );
    let spoken: Vec<LanguageCode> = q
        .languages
        .iter()
        .filter(|l| s.languages.contains(l) || s.phones.iter().any(|p| p.languages.contains(l)))
        .copied()
        .collect();
    if !spoken.is_empty() {
        why.push(Reason::Speaks(spoken));
    }
    let open_now = s.open_now(q.now);
    if open_now == Some(true) {
        why.push(Reason::Says("open now"));
    }
    if s.demo {
        why.push(Reason::Says("demo record (fictional)"));
    }
    ServiceMatch {
        service_id: s.id,
        name: &s.name,
        organization: OrganizationRef {
            id: s.organization.id,
            name: &s.organization.name,
        },
        coverage_type: if outside_by_km.is_some() {
            "outside"
        } else {
            coverage_type
        },
        needs_met,
        distance_km,
        distance_band,
        confidential_location: s.is_confidential(),
        address,
        front_door,
        phones: &s.phones,
        languages: &s.languages,
        open_now,
        hours: &s.schedules,
        traits: s.traits,
        capacity: s
            .capacity
            .map(|(available, total, reported_at)| CapacityView {
                available,
                total,
                reported_at,
                stale: q.now - reported_at > chrono::Duration::hours(CAPACITY_STALE_HOURS),
            }),
        verified_at: s.verified_at,
        demo: s.demo,
        why,
        fixed: None,
    }
}
