//! Loads the bundled directories: the real national hotlines (`seed/hotlines.json`) and the
//! fictional demo providers (`seed/demo/directory.json`, flagged `demo`). Records go through
//! the same parsers and writes as the API. Loading is idempotent: an organization whose id is
//! already present is left as it is.

use chrono::Utc;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::boundaries::Boundaries;
use crate::crypto::DataKey;
use crate::db::{organizations, services};
use crate::domain::coverage::from_value;
use crate::domain::organization::{NewOrganization, OrganizationInput};
use crate::domain::service::{NewService, ServiceInput};

pub const HOTLINES_JSON: &str = include_str!("../seed/hotlines.json");
pub const DEMO_JSON: &str = include_str!("../seed/demo/directory.json");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    Hotlines,
    Demo,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub organizations_added: usize,
    pub services_added: usize,
    pub organizations_present: usize,
}

#[derive(Deserialize)]
struct SeedFile {
    #[serde(rename = "about")]
    _about: String,
    organizations: Vec<Map<String, Value>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("seed file {file}: {message}")]
    Invalid { file: &'static str, message: String },
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

struct ParsedOrganization {
    id: Uuid,
    organization: NewOrganization,
    services: Vec<(Uuid, NewService)>,
}

fn take_id(
    object: &mut Map<String, Value>,
    file: &'static str,
    at: &str,
) -> Result<Uuid, SeedError> {
    object
        .remove("id")
        .and_then(|v| v.as_str().and_then(|s| Uuid::parse_str(s).ok()))
        .ok_or_else(|| SeedError::Invalid {
            file,
            message: format!("{at}: missing or invalid id"),
        })
}

fn parse(dataset: Dataset, boundaries: &Boundaries) -> Result<Vec<ParsedOrganization>, SeedError> {
    let (file, text, demo) = match dataset {
        Dataset::Hotlines => ("seed/hotlines.json", HOTLINES_JSON, false),
        Dataset::Demo => ("seed/demo/directory.json", DEMO_JSON, true),
    };
    let invalid = |message: String| SeedError::Invalid { file, message };
    let seed: SeedFile = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let now = Utc::now();
    let mut parsed = Vec::with_capacity(seed.organizations.len());
    for (i, mut org) in seed.organizations.into_iter().enumerate() {
        let at = format!("organizations[{i}]");
        let id = take_id(&mut org, file, &at)?;
        let raw_services = match org.remove("services") {
            Some(Value::Array(list)) => list,
            _ => return Err(invalid(format!("{at}.services: missing"))),
        };
        let input: OrganizationInput =
            from_value(Value::Object(org), &at).map_err(|e| invalid(e.to_string()))?;
        let organization =
            NewOrganization::parse(input, demo).map_err(|e| invalid(format!("{at}.{e}")))?;
        let mut services = Vec::with_capacity(raw_services.len());
        for (j, raw) in raw_services.into_iter().enumerate() {
            let at = format!("{at}.services[{j}]");
            let Value::Object(mut service) = raw else {
                return Err(invalid(format!("{at}: not an object")));
            };
            let service_id = take_id(&mut service, file, &at)?;
            service.insert("organization_id".into(), Value::String(id.to_string()));
            let input: ServiceInput =
                from_value(Value::Object(service), &at).map_err(|e| invalid(e.to_string()))?;
            let new = NewService::parse(input, boundaries, now)
                .map_err(|e| invalid(format!("{at}.{e}")))?;
            services.push((service_id, new));
        }
        parsed.push(ParsedOrganization {
            id,
            organization,
            services,
        });
    }
    Ok(parsed)
}

/// Loads one dataset in one transaction.
pub fn load(
    conn: &mut PgConnection,
    dataset: Dataset,
    key: &DataKey,
    boundaries: &Boundaries,
) -> Result<SeedReport, SeedError> {
    let parsed = parse(dataset, boundaries)?;
    conn.transaction(|conn| {
        let mut report = SeedReport::default();
        for org in &parsed {
            if organizations::find_for_update(conn, org.id)?.is_some() {
                report.organizations_present += 1;
                continue;
            }
            organizations::insert(conn, org.id, &org.organization)?;
            report.organizations_added += 1;
            for (service_id, service) in &org.services {
                services::insert(
                    conn,
                    *service_id,
                    service,
                    org.organization.demo,
                    key,
                    boundaries,
                )?;
                report.services_added += 1;
            }
        }
        Ok(report)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_seed_files_parse_and_validate() {
        let boundaries = Boundaries::bundled();
        let hotlines = parse(Dataset::Hotlines, boundaries).unwrap();
        assert!(hotlines.iter().all(|o| !o.organization.demo));
        let demo = parse(Dataset::Demo, boundaries).unwrap();
        assert!(demo.iter().all(|o| o.organization.demo));
        let services: Vec<_> = demo
            .iter()
            .flat_map(|o| o.services.iter().map(|(_, s)| s))
            .collect();
        for need in crate::domain::Need::ALL {
            assert!(
                services.iter().any(|s| s.needs.contains(&need)),
                "no demo service offers {need:?}"
            );
        }
        for kind in ["radius", "area", "region", "national"] {
            assert!(
                services
                    .iter()
                    .any(|s| s.coverage.iter().any(|c| c.kind() == kind)),
                "no demo {kind} coverage"
            );
        }
        let confidential = services
            .iter()
            .filter(|s| s.location.as_ref().is_some_and(|l| l.confidential))
            .count();
        assert!(confidential >= 2);
    }
}
