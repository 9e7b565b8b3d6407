//! Opening hours: weekdays with an opening and closing time in an IANA time zone, so "open now"
//! stays right across daylight-saving changes.

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

use super::{FieldError, path};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    #[schema(min_items = 1, examples(json!(["mon", "tue"])))]
    pub days: Vec<String>,
    pub opens_at: String,
    pub closes_at: String,
    pub timezone: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schedule {
    /// ISO weekdays, 1 = Monday .. 7 = Sunday, as three-letter codes on the wire.
    #[serde(serialize_with = "serialize_days")]
    pub weekdays: Vec<i16>,
    #[serde(serialize_with = "serialize_time")]
    pub opens_at: NaiveTime,
    /// At or before `opens_at` means the opening runs past midnight: equal means 24 hours from
    /// `opens_at` (`00:00`-`00:00`, or `00:00`-`24:00`, the whole of each listed day).
    #[serde(serialize_with = "serialize_time")]
    pub closes_at: NaiveTime,
    pub timezone: chrono_tz::Tz,
}

const DAY_CODES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

pub fn day_code(weekday: i16) -> &'static str {
    usize::try_from(weekday - 1)
        .ok()
        .and_then(|i| DAY_CODES.get(i))
        .copied()
        .unwrap_or("?")
}

fn serialize_days<S: serde::Serializer>(days: &[i16], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(days.iter().map(|d| day_code(*d)))
}

fn serialize_time<S: serde::Serializer>(time: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&time.format("%H:%M"))
}

/// Reads `HH:MM`. "24:00" reads naturally as the end of the day, so it may close an opening
/// (stored as midnight); as an opening time it would be stored as the start of the same day,
/// a day early, so it is refused.
fn parse_time(value: &str, field: &str, may_be_end_of_day: bool) -> Result<NaiveTime, FieldError> {
    if value == "24:00" {
        if may_be_end_of_day {
            return Ok(NaiveTime::MIN);
        }
        return Err(FieldError::invalid(
            field,
            "24:00 ends a day; an opening at the end of a listed day opens at 00:00 of the next",
        ));
    }
    NaiveTime::parse_from_str(value, "%H:%M").map_err(|_| {
        FieldError::invalid(
            field,
            "must be a time of day as HH:MM, such as 09:00 or 17:30",
        )
    })
}

impl Schedule {
    pub fn parse(input: ScheduleInput, field: &str) -> Result<Schedule, FieldError> {
        let days_field = path(field, "days");
        if input.days.is_empty() {
            return Err(FieldError::invalid(
                days_field,
                "give at least one day (mon .. sun)",
            ));
        }
        let mut weekdays = Vec::with_capacity(input.days.len());
        for (i, day) in input.days.iter().enumerate() {
            let index = DAY_CODES
                .iter()
                .position(|d| d.eq_ignore_ascii_case(day.trim()))
                .ok_or_else(|| {
                    FieldError::invalid(
                        format!("{days_field}[{i}]"),
                        "unknown day; use mon, tue, wed, thu, fri, sat or sun",
                    )
                })?;
            let weekday = i16::try_from(index + 1).unwrap_or(1);
            if !weekdays.contains(&weekday) {
                weekdays.push(weekday);
            }
        }
        weekdays.sort_unstable();
        let timezone = input
            .timezone
            .trim()
            .parse::<chrono_tz::Tz>()
            .map_err(|_| {
                FieldError::new(
                    "unknown_timezone",
                    path(field, "timezone"),
                    "is not an IANA time zone (such as America/Chicago)",
                )
            })?;
        Ok(Schedule {
            weekdays,
            opens_at: parse_time(input.opens_at.trim(), &path(field, "opens_at"), false)?,
            closes_at: parse_time(input.closes_at.trim(), &path(field, "closes_at"), true)?,
            timezone,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(days: &[&str], opens: &str, closes: &str, tz: &str) -> ScheduleInput {
        ScheduleInput {
            days: days.iter().map(|d| d.to_string()).collect(),
            opens_at: opens.into(),
            closes_at: closes.into(),
            timezone: tz.into(),
        }
    }

    #[test]
    fn parses_and_rejects() {
        let s = Schedule::parse(
            input(&["fri", "mon"], "09:00", "24:00", "America/Chicago"),
            "s",
        )
        .unwrap();
        assert_eq!(s.weekdays, vec![1, 5]);
        assert_eq!(s.closes_at, NaiveTime::MIN);
        assert_eq!(
            Schedule::parse(input(&["mon"], "9am", "17:00", "UTC"), "s")
                .unwrap_err()
                .field,
            "s.opens_at"
        );
        // Stored as midnight, it would open the listed day's start, a day early.
        assert_eq!(
            Schedule::parse(input(&["sun"], "24:00", "04:00", "UTC"), "s")
                .unwrap_err()
                .field,
            "s.opens_at"
        );
        assert_eq!(
            Schedule::parse(input(&["funday"], "09:00", "17:00", "UTC"), "s")
                .unwrap_err()
                .field,
            "s.days[0]"
        );
        assert_eq!(
            Schedule::parse(input(&["mon"], "09:00", "17:00", "Mars/Olympus"), "s")
                .unwrap_err()
                .code,
            "unknown_timezone"
        );
    }
}
