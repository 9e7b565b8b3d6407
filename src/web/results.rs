//! Match results in words a person in crisis understands: what a place offers, how to reach it
//! (call and text buttons), whether it is open, its beds and how fresh that count is, and for a
//! confidential shelter the front door instead of an address.

use chrono::{DateTime, Datelike, Timelike, Utc};
use maud::{Markup, html};

use super::text::{CONSOLE, Lang, Text, language_name};
use crate::domain::eligibility::{Facet, Gender};
use crate::domain::phone::PhoneKind;
use crate::matching::index::{
    LACKS_LANGUAGE, LACKS_REQUIREMENT, NOT_OPEN_NOW, OTHER_AGES, OTHER_GENDERS, PhoneView,
    PhoneWords, Traits, clock, day_name, zone_words,
};
use crate::matching::query::{facet_bit, gender_bit};
use crate::matching::reason::Reason;
use crate::matching::{MatchOutcome, ServiceMatch};

/// Digits and a leading `+`: what `tel:` and `sms:` links need.
fn dial(number: &str) -> String {
    number
        .chars()
        .enumerate()
        .filter(|(i, c)| c.is_ascii_digit() || (*i == 0 && *c == '+'))
        .map(|(_, c)| c)
        .collect()
}

/// What a text line's button says in words.
const TEXT_SAID: [&str; 8] = ["text", "sms", "txt", "mensaje", "texto", "to", "al", "a"];
/// What a voice or TTY line's button says in words.
const CALL_SAID: [&str; 5] = ["call", "llame", "llamar", "tty", "phone"];

/// Whether a line's label says more than its button ("Text 988", "Text START to 88788",
/// "Call 988") already does (`said`, its words): "Text 988" or "Text 1-800-422-4453" would
/// only repeat it, and so would "Text START to 88788" once the line's keyword is START.
fn says_more(label: &str, line: PhoneWords<'_>, said: &[&str]) -> bool {
    let keyword = line.keyword.map(str::to_lowercase);
    let lower = label.to_lowercase();
    let rest: String = lower
        .split(|c: char| !c.is_alphanumeric())
        // Numbers say nothing more: the button gives the number, and "24/7" its own tag.
        .filter(|word| {
            !word.is_empty()
                && !word.chars().all(|c| c.is_ascii_digit())
                && !said.contains(word)
                && Some(*word) != keyword.as_deref()
        })
        .collect();
    !rest.is_empty() && rest != dial(line.number).trim_start_matches('+')
}

/// What a text line's button says: "Text START to 88788" when the line asks for a word
/// first, "Text 988" when it does not.
fn text_button(line: PhoneWords<'_>, t: &Text) -> String {
    match line.keyword {
        Some(word) => format!(
            "{} {word} {} {}",
            t.text_word[0], t.text_word[1], line.number
        ),
        None => format!("{} {}", t.text_to, line.number),
    }
}

/// A text line in words, as its button and the referral slip give it: the button's words,
/// then its label where that says more.
pub(crate) fn text_line(line: PhoneWords<'_>, t: &Text) -> Markup {
    html! {
        (text_button(line, t))
        @if let Some(label) = line.label.filter(|l| says_more(l, line, &TEXT_SAID)) {
            " · " (label)
        }
    }
}

/// The `sms:` link of a text line, opening the message with its keyword already written, so
/// that a person in a hurry need not know it. `?&body=` is the form both Android and iOS read.
fn sms_href(line: PhoneWords<'_>) -> String {
    let mut href = format!("sms:{}", dial(line.number));
    if let Some(word) = line.keyword {
        href.push_str("?&body=");
        href.extend(url::form_urlencoded::byte_serialize(word.as_bytes()));
    }
    href
}

/// "2 hours ago" in the page's language.
pub fn age(then: DateTime<Utc>, now: DateTime<Utc>, lang: Lang) -> String {
    let minutes = (now - then).num_minutes().max(0);
    let (n, unit_en, unit_es) = match minutes {
        0..=59 => (minutes, "min", "min"),
        60..=2879 => (minutes / 60, "h", "h"),
        _ => (minutes / 1440, "days", "días"),
    };
    match lang {
        Lang::En => format!("{n} {unit_en} ago"),
        Lang::Es => format!("hace {n} {unit_es}"),
    }
}

/// When a closed place opens next, in its own time zone, which it names: "opens today 9:00 AM
/// (Central time)", "abre el lun a las 9:00 a. m. (hora del Centro)".
fn next_opening(m: &ServiceMatch<'_>, lang: Lang, now: DateTime<Utc>) -> Option<String> {
    let at = m.hours.iter().filter_map(|h| h.next_opening(now)).min()?;
    let (day, time, zone) = moment(at, now, lang, true);
    Some(match lang {
        Lang::En => format!("opens {day}{time} ({zone})"),
        Lang::Es => format!("abre {day}a las {time} ({zone})"),
    })
}

/// When an open place closes, as the next opening is said: "closes 6:00 PM (Central time)",
/// "closes tomorrow 2:00 AM (Eastern time)". Hours that begin as others end are followed, so
/// that 9–12 and 12–5 close at 5. None for a place open around the clock.
fn closing(m: &ServiceMatch<'_>, lang: Lang, now: DateTime<Utc>) -> Option<String> {
    let closing_after = |instant: DateTime<Utc>| {
        m.hours
            .iter()
            .filter_map(|h| h.closing_after(instant))
            .max_by_key(|at| at.with_timezone(&Utc))
    };
    let mut at = closing_after(now)?;
    // A week of hours back to back is a place that never closes.
    for _ in 0..14 {
        match closing_after(at.with_timezone(&Utc)) {
            Some(later) if later > at => at = later,
            Some(_) => break,
            None if m.hours.iter().any(|h| h.is_open(at.with_timezone(&Utc))) => return None,
            None => break,
        }
    }
    if at.with_timezone(&Utc) - now > chrono::Duration::days(7) {
        return None;
    }
    let (day, time, zone) = moment(at, now, lang, false);
    // "Closes tomorrow 12:00 AM" is tonight.
    let tomorrow = now.with_timezone(&at.timezone()).date_naive().succ_opt();
    let tonight = at.hour() == 0 && at.minute() == 0 && Some(at.date_naive()) == tomorrow;
    Some(match (lang, tonight) {
        (Lang::En, true) => format!("closes at midnight ({zone})"),
        (Lang::Es, true) => format!("cierra a medianoche ({zone})"),
        (Lang::En, false) => format!("closes {day}{time} ({zone})"),
        (Lang::Es, false) => format!("cierra {day}a las {time} ({zone})"),
    })
}

/// A moment of a place's hours in its own time zone, as said beside "opens" or "closes": the
/// day ("today ", or nothing unless `say_today`; "tomorrow "; a day name), the time and the
/// zone's name. Today and tomorrow are the place's: the zone is named with them.
fn moment(
    at: DateTime<chrono_tz::Tz>,
    now: DateTime<Utc>,
    lang: Lang,
    say_today: bool,
) -> (String, String, String) {
    let es = lang == Lang::Es;
    let today = now.with_timezone(&at.timezone()).date_naive();
    let name = day_name(at.weekday().num_days_from_monday(), es);
    let day = match ((at.date_naive() - today).num_days(), es) {
        (0, _) if !say_today => String::new(),
        (0, false) => "today ".to_string(),
        (0, true) => "hoy ".to_string(),
        (1, false) => "tomorrow ".to_string(),
        (1, true) => "mañana ".to_string(),
        // The same day next week: the day's name alone would read as today.
        (7, false) => format!("next {name} "),
        (7, true) => format!("el próximo {name} "),
        (_, false) => format!("{name} "),
        (_, true) => format!("el {name} "),
    };
    let time = clock(u16::try_from(at.hour() * 60 + at.minute()).unwrap_or(0), es);
    (day, time, zone_words(at.timezone(), es))
}

const KM_PER_MILE: f64 = 1.609_344;

/// Why a place matched, with its distances in miles as the cards give them ("serves within
/// 25 mi of its base"), for the console, which shows the API's reasons.
pub(crate) fn reason_words(reason: &Reason<'_>) -> String {
    match reason {
        Reason::WithinKm(km) => format!("serves within {} of its base", miles(*km, Lang::En)),
        Reason::OutsideBand(b) => format!(
            "serves an area {} of here, not this location",
            band(b, Lang::En)
        ),
        Reason::OutsideKm(km) if *km < KM_PER_MILE => {
            "serves an area less than a mile away, not this location".to_string()
        }
        Reason::OutsideKm(km) => format!(
            "serves an area about {} away, not this location",
            miles(*km, Lang::En)
        ),
        other => other.to_string(),
    }
}

/// A distance band in the page's words and in miles, which a US reader goes by: "within 25
/// km" is "within 16 miles", its limit rounded up so that the band stays true.
fn band(band: &str, lang: Lang) -> String {
    let es = lang == Lang::Es;
    match band {
        // "su zona" would read as the visitor's own area.
        "in its service area" if es => "dentro de la zona que atiende".into(),
        "nationwide" if es => "en todo el país".into(),
        other => {
            let Some((words, km)) = other
                .strip_suffix(" km")
                .and_then(|rest| rest.rsplit_once(' '))
                .and_then(|(words, km)| Some((words, km.parse::<f64>().ok()?)))
            else {
                return other.to_string();
            };
            let more = words == "more than";
            // Rounded down past "more than", up within, so the words stay true.
            let mi = km / KM_PER_MILE;
            let mi = if more { mi.floor() } else { mi.ceil() };
            match (es, more) {
                (false, false) => format!("within {mi} miles"),
                (false, true) => format!("more than {mi} miles"),
                (true, false) => format!("a menos de {mi} millas"),
                (true, true) => format!("a más de {mi} millas"),
            }
        }
    }
}

/// Who reads a card, and when: the page's language and words (a survivor page's, or the
/// console's), the time, and the age searched for.
#[derive(Clone, Copy)]
pub struct Reader {
    pub lang: Lang,
    pub t: &'static Text,
    pub now: DateTime<Utc>,
    pub asker_age: Option<u8>,
    /// Staff at the console: every line's label ("Warm transfer, professionals only",
    /// "Intake"), which tells apart lines a survivor's page gives as one kind.
    pub staff: bool,
}

impl Reader {
    pub fn survivor(lang: Lang, now: DateTime<Utc>, asker_age: Option<u8>) -> Reader {
        Reader {
            lang,
            t: lang.text(),
            now,
            asker_age,
            staff: false,
        }
    }

    pub fn staff(now: DateTime<Utc>, asker_age: Option<u8>) -> Reader {
        Reader {
            lang: Lang::En,
            t: &CONSOLE,
            now,
            asker_age,
            staff: true,
        }
    }
}

/// A place's lines as buttons. A text line's label is shown where it says more than its
/// button; with `every_label` (staff), every line's label is.
pub fn phones(list: &[PhoneView], t: &Text, every_label: bool) -> Markup {
    html! {
        div class="phones" {
            @for phone in list {
                @let number = dial(phone.number());
                @let label = phone
                    .words()
                    .label
                    .filter(|l| every_label && says_more(l, phone.words(), &CALL_SAID));
                @match phone.kind {
                    PhoneKind::Text => {
                        @let line = phone.words();
                        a class="sms" href=(sms_href(line)) { (text_line(line, t)) }
                    }
                    // A text telephone line is dialled like any other, but only a TTY (or the
                    // relay) can talk to it: a voice call would meet silence.
                    PhoneKind::Tty => {
                        a class="tel" href={ "tel:" (number) } {
                            "TTY " (phone.number())
                            @if let Some(label) = label { " · " (label) }
                        }
                    }
                    PhoneKind::Voice => {
                        a class="tel" href={ "tel:" (number) } {
                            (t.call) " " (phone.number())
                            @if phone.available_24_7 { " · " (t.all_day) }
                            @if let Some(label) = label { " · " (label) }
                        }
                    }
                }
            }
        }
    }
}

/// A distance in miles, which a US reader goes by: "1.5 mi", or "1.5 millas" in Spanish (US
/// Spanish, like Mexico's and Puerto Rico's, writes a decimal point); whole miles from 10 on.
fn miles(km: f64, lang: Lang) -> String {
    let mi = km / KM_PER_MILE;
    let unit = if lang == Lang::Es { "millas" } else { "mi" };
    if mi < 10.0 {
        format!("{mi:.1} {unit}")
    } else {
        format!("{mi:.0} {unit}")
    }
}

/// One place. `picture` (the console's coverage map) goes beside the name, `extra` (the
/// console's actions) at the end; both are empty on public pages. `level` is its name's
/// heading level, one below the list's heading.
pub fn card(m: &ServiceMatch<'_>, r: Reader, picture: Markup, extra: Markup, level: u8) -> Markup {
    let (t, lang, now) = (r.t, r.lang, r.now);
    html! {
        article class="result" data-service=(m.service_id) {
            (picture)
            @if level <= 2 { h2 { (m.name) } } @else { h3 { (m.name) } }
            p class="muted" { (m.organization.name) }
            p {
                @if m.demo { span class="tag demo" { (t.demo) } }
                @match m.open_now {
                    Some(true) => span class="tag open" {
                        (t.open)
                        @if let Some(when) = closing(m, lang, now) { " · " (when) }
                    },
                    Some(false) => span class="tag closed" {
                        (t.closed)
                        @if let Some(when) = next_opening(m, lang, now) { " · " (when) }
                    },
                    None => {},
                }
                @if m.phones.iter().any(|p| p.available_24_7) { span class="tag open" { (t.all_day) } }
                @if m.phones.iter().any(|p| p.kind == PhoneKind::Text) { span class="tag text" { (t.text) } }
            }
            @if m.needs_met.is_empty() {
                p { strong { (t.any_need) } }
            } @else {
                p {
                    strong { (t.offers) ": " }
                    @for (i, need) in m.needs_met.iter().enumerate() {
                        @if i > 0 { ", " }
                        @let label = need.describe();
                        (if lang == Lang::Es { label.label.es } else { label.label.en })
                    }
                }
            }
            @if let Some(who) = serves(&m.traits, lang) {
                p class="serves" { strong { (if lang == Lang::Es { "A quién atiende" } else { "Who it serves" }) ": " } (who) }
            }
            @if alone_under_18_may_be_turned_away(m, r.asker_age) { p class="notice" { (t.minors_ask) } }
            @for lack in lacks(m, t) { p class="notice" { (lack) } }
            @if !m.hours.is_empty() {
                p class="hours muted" {
                    @for (i, h) in m.hours.iter().enumerate() {
                        @if i > 0 { "; " }
                        (h.describe(lang == Lang::Es))
                    }
                }
            }
            @if let Some(capacity) = &m.capacity {
                p class="capacity" {
                    @if capacity.available == 0 && capacity.total > 0 {
                        strong { (t.full) } " (0 / " (capacity.total) ")"
                    } @else {
                        strong { (capacity.available) " / " (capacity.total) " " (t.beds) }
                    }
                    " · " (t.updated) " " (age(capacity.reported_at, now, lang))
                    @if capacity.stale { " (" (t.may_be_old) ")" }
                }
            }
            @if m.confidential_location {
                p class="confidential" { (t.confidential) }
                @if let Some(door) = m.front_door {
                    p class="muted" { (door.city().unwrap_or("")) @if let Some(r) = door.region() { ", " (r) } }
                }
                @if let Some(b) = m.distance_band { p class="muted" { (band(b, lang)) } }
            } @else if let Some(address) = m.address {
                p class="address" {
                    @if let Some(street) = address.street() { (street) ", " }
                    (address.city().unwrap_or(""))
                    @if let Some(r) = address.region() { ", " (r) }
                    @if let Some(km) = m.distance_km { " · " (miles(km, lang)) " " (t.away) }
                }
            } @else if let Some(b) = m.distance_band {
                p class="muted" { (band(b, lang)) }
            }
            (phones(m.phones, t, r.staff))
            @if !m.languages.is_empty() {
                p class="muted" {
                    (t.speaks) ": "
                    @for (i, l) in m.languages.iter().enumerate() { @if i > 0 { ", " } (language_name(l.as_str(), lang)) }
                }
            }
            (extra)
        }
    }
}

/// Whom a service takes, when it does not take everyone: its ages, its genders, and that it
/// takes young people on their own. Even a person who left "about you" empty sees before
/// calling that a place is for adult women, or for youth.
fn serves(traits: &Traits, lang: Lang) -> Option<String> {
    let es = lang == Lang::Es;
    let mut said = Vec::new();
    let (min, max) = (
        traits.min_age,
        (traits.max_age != u8::MAX).then_some(traits.max_age),
    );
    match (min, max, es) {
        (0, None, _) => {}
        (0, Some(max), false) => said.push(format!("ages up to {max}")),
        (0, Some(max), true) => said.push(format!("hasta los {max} años")),
        (min, None, false) => said.push(format!("ages {min} and up")),
        (min, None, true) => said.push(format!("desde los {min} años")),
        (min, Some(max), false) => said.push(format!("ages {min}–{max}")),
        (min, Some(max), true) => said.push(format!("de {min} a {max} años")),
    }
    let all_genders = Gender::ALL.iter().fold(0, |bits, g| bits | gender_bit(*g));
    if traits.genders != 0 && traits.genders != all_genders {
        let names: Vec<&str> = Gender::ALL
            .into_iter()
            .filter(|g| traits.genders & gender_bit(*g) != 0)
            .map(|g| match (g, es) {
                (Gender::Female, false) => "women",
                (Gender::Male, false) => "men",
                (Gender::Nonbinary, false) => "nonbinary people",
                (Gender::Female, true) => "mujeres",
                (Gender::Male, true) => "hombres",
                (Gender::Nonbinary, true) => "personas no binarias",
            })
            .collect();
        let and = if es { " y " } else { " and " };
        said.push(match names.split_last() {
            Some((last, [])) => (*last).to_string(),
            Some((last, rest)) => format!("{}{and}{last}", rest.join(", ")),
            None => String::new(),
        });
    }
    if traits.facets & facet_bit(Facet::AcceptsUnaccompaniedMinors) != 0 {
        said.push(if es {
            "acepta a menores sin acompañante".to_string()
        } else {
            "takes young people on their own".to_string()
        });
    }
    let mut sentence = said.join("; ");
    if let Some(first) = sentence.get(..1) {
        sentence = first.to_uppercase() + &sentence[1..];
    }
    (!sentence.is_empty()).then_some(sentence)
}

/// `list` in its order, but the places that reported lately that they are full after the
/// others: on a phone the first card is the one called. The API's ranking leaves beds out
/// (DESIGN.md); a page for a person in need of a bed tonight does not.
pub(crate) fn with_room_first<'l, 's>(list: &'l [ServiceMatch<'s>]) -> Vec<&'l ServiceMatch<'s>> {
    let full = |m: &ServiceMatch<'_>| {
        m.capacity
            .as_ref()
            .is_some_and(|c| c.available == 0 && c.total > 0 && !c.stale)
    };
    let (room, no_room): (Vec<_>, Vec<_>) = list.iter().partition(|m| !full(m));
    room.into_iter().chain(no_room).collect()
}

/// Whether a place may turn away someone under 18 who comes alone: it does not say it takes
/// young people on their own, and it is not a line (lines talk to anyone). An age filter
/// keeps only the ages a place serves, and many that serve all ages take children only with
/// a parent: a teenager who called such a shelter alone would be turned away in a crisis.
fn alone_under_18_may_be_turned_away(m: &ServiceMatch<'_>, age: Option<u8>) -> bool {
    age.is_some_and(|age| age < 18)
        && !m.traits.is_hotline()
        && m.traits.facets & facet_bit(Facet::AcceptsUnaccompaniedMinors) == 0
}

/// What a crisis line that came back although it does not fit lacks, in the page's words.
fn lacks<'t>(m: &ServiceMatch<'_>, t: &'t Text) -> impl Iterator<Item = &'t str> {
    let says = |words: &str| {
        m.why
            .iter()
            .any(|r| matches!(r, Reason::Says(w) if *w == words))
    };
    [
        says(LACKS_LANGUAGE).then_some(t.ask_interpreter),
        says(NOT_OPEN_NOW).then_some(t.not_open_now),
        says(OTHER_AGES).then_some(t.other_ages),
        says(OTHER_GENDERS).then_some(t.other_genders),
        says(LACKS_REQUIREMENT).then_some(t.lacks_requirement),
    ]
    .into_iter()
    .flatten()
}

/// The survivor results: local places, near misses for the needs nothing local offers, the
/// national services that help from anywhere, and the crisis lines (always: the local ones
/// that serve the place, `local_lines`, first), so that no answer is a dead end. Each page
/// starts with a link down to the lines. `asker_age` is the age searched for.
pub fn survivor_results(
    outcome: &MatchOutcome<'_>,
    local_lines: &[&ServiceMatch<'_>],
    r: Reader,
) -> Markup {
    let (t, lang) = (r.t, r.lang);
    let (lines, national): (Vec<&ServiceMatch<'_>>, Vec<&ServiceMatch<'_>>) =
        outcome.hotlines.iter().partition(|m| m.traits.is_hotline());
    html! {
        section aria-labelledby="results-heading" {
            h1 id="results-heading" { (t.results) }
            @if outcome.results.is_empty() {
                p class="notice" role="status" { (t.nothing_local) }
            }
            @for m in with_room_first(&outcome.results) { (card(m, r, html! {}, html! {}, 2)) }
        }
        @if !outcome.nearby_outside_coverage.is_empty() {
            section aria-labelledby="nearby-heading" {
                h2 id="nearby-heading" { (t.nearby) }
                @if !outcome.results.is_empty() {
                    p {
                        (t.nearby_for) " "
                        @for (i, need) in outcome.unmet_needs.iter().enumerate() {
                            @if i > 0 { "; " }
                            @let label = need.describe().label;
                            (if lang == Lang::Es { label.es } else { label.en })
                        }
                        "."
                    }
                }
                p { (t.nearby_intro) }
                @for m in with_room_first(&outcome.nearby_outside_coverage) { (card(m, r, html! {}, html! {}, 3)) }
            }
        }
        @if !national.is_empty() {
            section aria-labelledby="national-heading" {
                h2 id="national-heading" { (t.national) }
                p { (t.national_intro) }
                @for m in national { (card(m, r, html! {}, html! {}, 3)) }
            }
        }
        (hotlines(local_lines.iter().copied().chain(lines), r))
    }
}

/// "Talk to someone now": the lines a person can call or text, on the results and, before
/// any search, on the search page itself.
pub fn hotlines<'m, 's: 'm>(
    lines: impl IntoIterator<Item = &'m ServiceMatch<'s>>,
    r: Reader,
) -> Markup {
    let t = r.t;
    // A line's card is the same for any age: lines talk to anyone.
    let r = Reader {
        asker_age: None,
        ..r
    };
    html! {
        section class="hotlines" aria-labelledby="hotlines-heading" {
            h2 id="hotlines-heading" { (t.hotlines) }
            p { (t.hotlines_intro) }
            // Before the first number, which is the one called.
            p class="muted" { (t.call_log) }
            @for m in lines { (card(m, r, html! {}, html! {}, 3)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(number: &str, kind: PhoneKind, label: &str, keyword: Option<&str>) -> PhoneView {
        let words = PhoneWords {
            number,
            label: Some(label),
            keyword,
        };
        PhoneView::new(words, kind, true, Box::new([]))
    }

    #[test]
    fn staff_see_a_call_lines_label_when_it_says_more_than_the_button() {
        let list = [
            line("988", PhoneKind::Voice, "Call 988", None),
            line(
                "713-555-0199",
                PhoneKind::Voice,
                "Warm transfer, professionals only",
                None,
            ),
            line("711", PhoneKind::Tty, "TTY", None),
        ];
        let staff = phones(&list, Lang::En.text(), true).into_string();
        assert!(!staff.contains("· Call 988"), "{staff}");
        assert!(
            staff.contains("· Warm transfer, professionals only"),
            "{staff}"
        );
        assert!(!staff.contains("TTY 711 ·"), "{staff}");
        let repeats = [
            line("512-555-0105", PhoneKind::Voice, "24/7", None),
            line("512-555-0124", PhoneKind::Voice, "+1 512 555 0124", None),
            line(
                "512-555-0128",
                PhoneKind::Voice,
                "Call 512-555-0128 · 24/7",
                None,
            ),
        ];
        let staff = phones(&repeats, Lang::En.text(), true).into_string();
        assert_eq!(
            staff.matches(" · ").count(),
            3,
            "only the 24/7 tags: {staff}"
        );
        let survivor = phones(&list, Lang::En.text(), false).into_string();
        assert!(!survivor.contains("Warm transfer"), "{survivor}");
    }

    #[test]
    fn a_text_label_is_shown_only_when_it_says_more_than_the_button() {
        let list = [
            line("988", PhoneKind::Text, "Text 988", None),
            line(
                "1-800-422-4453",
                PhoneKind::Text,
                "Text 1-800-422-4453",
                None,
            ),
            line("88788", PhoneKind::Text, "Text START to 88788", None),
            line(
                "233733",
                PhoneKind::Text,
                "Text HELP to 233733",
                Some("HELP"),
            ),
            line("741741", PhoneKind::Text, "for teens", Some("HOME")),
            // The label only repeats the button's words.
            line("202-555-0117", PhoneKind::Text, "Text HELLO", Some("HELLO")),
        ];
        let html = phones(&list, Lang::En.text(), false).into_string();
        assert!(html.contains(">Text HELLO to 202-555-0117</a>"), "{html}");
        assert!(html.contains(">Text 988</a>"), "{html}");
        assert!(html.contains(">Text 1-800-422-4453</a>"), "{html}");
        assert!(
            html.contains("Text 88788 · Text START to 88788</a>"),
            "{html}"
        );
        assert!(html.contains(">Text HELP to 233733</a>"), "{html}");
        assert!(
            html.contains(">Text HOME to 741741 · for teens</a>"),
            "{html}"
        );
        let es = phones(&list[..1], Lang::Es.text(), false).into_string();
        assert!(es.contains(">Enviar mensaje al 988</a>"), "{es}");
    }

    /// A person in a hurry should not have to know the word a line asks for: the link opens
    /// the message with it written, in the form both Android and iOS read.
    #[test]
    fn a_text_lines_keyword_is_written_into_the_message_it_opens() {
        let list = [
            line(
                "88788",
                PhoneKind::Text,
                "Text START to 88788",
                Some("START"),
            ),
            line("988", PhoneKind::Text, "Text 988", None),
            line("555-0100", PhoneKind::Text, "Mensajes", Some("AYÚDA")),
        ];
        let html = phones(&list, Lang::En.text(), false).into_string();
        assert!(
            html.contains(r#"href="sms:88788?&amp;body=START">Text START to 88788</a>"#),
            "{html}"
        );
        assert!(html.contains(r#"href="sms:988">"#), "{html}");
        assert!(
            html.contains(r#"href="sms:5550100?&amp;body=AY%C3%9ADA""#),
            "{html}"
        );
        let es = phones(&list[..1], Lang::Es.text(), false).into_string();
        assert!(es.contains(">Enviar START al 88788</a>"), "{es}");
    }

    #[test]
    fn distances_are_in_miles_with_a_decimal_point_in_spanish_too() {
        assert_eq!(miles(1.609_344, Lang::En), "1.0 mi");
        assert_eq!(miles(12.5, Lang::Es), "7.8 millas");
        assert_eq!(miles(40.0, Lang::En), "25 mi");
    }

    #[test]
    fn the_consoles_reasons_give_miles() {
        assert_eq!(
            reason_words(&Reason::WithinKm(40.0)),
            "serves within 25 mi of its base"
        );
        assert_eq!(
            reason_words(&Reason::OutsideBand("within 25 km")),
            "serves an area within 16 miles of here, not this location"
        );
        assert_eq!(
            reason_words(&Reason::OutsideKm(12.0)),
            "serves an area about 7.5 mi away, not this location"
        );
        assert_eq!(reason_words(&Reason::Says("open now")), "open now");
    }

    #[test]
    fn bands_are_in_miles_rounded_to_stay_true() {
        assert_eq!(band("within 5 km", Lang::En), "within 4 miles");
        assert_eq!(band("within 25 km", Lang::Es), "a menos de 16 millas");
        assert_eq!(band("more than 100 km", Lang::En), "more than 62 miles");
        assert_eq!(band("in its service area", Lang::En), "in its service area");
        assert_eq!(
            band("in its service area", Lang::Es),
            "dentro de la zona que atiende"
        );
        assert_eq!(band("nationwide", Lang::Es), "en todo el país");
    }

    #[test]
    fn a_tty_line_says_so_instead_of_call() {
        let list = [
            line("1-800-787-3224", PhoneKind::Tty, "TTY", None),
            line("1-800-799-7233", PhoneKind::Voice, "Hotline", None),
        ];
        for lang in [Lang::En, Lang::Es] {
            let html = phones(&list, lang.text(), false).into_string();
            assert!(
                html.contains(r#"href="tel:18007873224">TTY 1-800-787-3224</a>"#),
                "{html}"
            );
            let call = format!("{} 1-800-799-7233 · 24/7", lang.text().call);
            assert!(html.contains(&call), "{html}");
        }
    }
}
