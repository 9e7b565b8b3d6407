//! What a write of a service changed, for its record in the audit trail: the names of the
//! members that read differently afterwards, never their values (every admin reads the trail,
//! and a value may be an intake line's keyword or a front door).

use serde_json::{Map, Value};

use super::services::ServiceResponse;
use crate::db::services::ServiceRecord;

/// The members a write changed, in name order, some with a word that carries no value but
/// answers what a maintainer asks of the trail: which status a service was given ("who closed
/// this shelter?") and whether its location turned public or confidential ("who published
/// its address?").
#[derive(Debug, PartialEq, Eq)]
pub struct Changes(Vec<String>);

/// A service as read, with what moves on every write set aside: when it was written, and when
/// beds were reported (a report of the same counts changes nothing).
fn as_read(record: &ServiceRecord) -> Map<String, Value> {
    let Ok(Value::Object(mut members)) =
        serde_json::to_value(ServiceResponse::from(record.clone()))
    else {
        return Map::new();
    };
    members.remove("updated_at");
    if let Some(Value::Object(capacity)) = members.get_mut("capacity") {
        capacity.remove("reported_at");
    }
    members
}

fn is_confidential(record: &ServiceRecord) -> Option<bool> {
    record.location.as_ref().map(|l| l.confidential)
}

impl Changes {
    /// From `before` to `after`. A confidential location sent counts as changed: reads do
    /// not show its sealed parts to compare.
    pub fn between(before: &ServiceRecord, after: &ServiceRecord, sealed_sent: bool) -> Changes {
        let (old, new) = (as_read(before), as_read(after));
        let mut members: Vec<&str> = new
            .iter()
            .filter(|(member, value)| old.get(member.as_str()) != Some(*value))
            .map(|(member, _)| member.as_str())
            .collect();
        if sealed_sent && !members.contains(&"location") {
            members.push("location");
        }
        members.sort_unstable();
        let words = members
            .into_iter()
            .map(|member| match member {
                "status" => format!("status to {}", after.service.status().code()),
                "location" => match (is_confidential(before), is_confidential(after)) {
                    (Some(false), Some(true)) => "location, made confidential".to_string(),
                    (Some(true), Some(false)) => "location, made public".to_string(),
                    _ => member.to_string(),
                },
                _ => member.to_string(),
            })
            .collect();
        Changes(words)
    }

    /// Whether beds are all it changed, if anything: a report, which carries its own time,
    /// and which a feed may send every few minutes.
    pub fn beds_alone(&self) -> bool {
        self.0.iter().all(|member| member == "capacity")
    }

    /// The record's `reason`: "changed name, status to temporarily_closed".
    pub fn reason(&self) -> String {
        if self.0.is_empty() {
            "changed nothing".to_string()
        } else {
            format!("changed {}", self.0.join(", "))
        }
    }
}
