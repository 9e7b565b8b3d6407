//! Organizations: the agencies that run services.

use serde::{Deserialize, Deserializer};

use super::{FieldError, optional_text, required_text};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationInput {
    pub name: String,
    pub description: Option<String>,
    pub website: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewOrganization {
    pub name: String,
    pub description: Option<String>,
    pub website: Option<String>,
    pub email: Option<String>,
    /// Fictional demo data; set by the seeder, never by API clients.
    pub demo: bool,
}

/// `PATCH` body: a member left out stays as it is; `null` clears an optional member.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationPatchInput {
    /// `null` is refused: a name cannot be cleared (left out, it stays).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub website: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub email: Option<Option<String>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrganizationPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub website: Option<Option<String>>,
    pub email: Option<Option<String>>,
}

/// Tells a member sent as `null` (Some(None)) from one left out (None).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn parse_website(value: Option<String>) -> Result<Option<String>, FieldError> {
    let Some(website) = optional_text(value, "website", 500)? else {
        return Ok(None);
    };
    match url::Url::parse(&website) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(Some(website))
        }
        _ => Err(FieldError::invalid(
            "website",
            "must be an http or https address such as https://example.org",
        )),
    }
}

fn parse_email(value: Option<String>) -> Result<Option<String>, FieldError> {
    let Some(email) = optional_text(value, "email", 254)? else {
        return Ok(None);
    };
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        }
        None => false,
    };
    if valid && !email.chars().any(char::is_whitespace) {
        Ok(Some(email))
    } else {
        Err(FieldError::invalid(
            "email",
            "must be an email address such as intake@example.org",
        ))
    }
}

impl NewOrganization {
    pub fn parse(input: OrganizationInput, demo: bool) -> Result<Self, FieldError> {
        Ok(NewOrganization {
            name: required_text(input.name, "name", 200)?,
            description: optional_text(input.description, "description", 4000)?,
            website: parse_website(input.website)?,
            email: parse_email(input.email)?,
            demo,
        })
    }
}

impl OrganizationPatch {
    pub fn parse(input: OrganizationPatchInput) -> Result<Self, FieldError> {
        // As a service's PATCH: an empty one is a mistake, not a change to record.
        if input.name.is_none()
            && input.description.is_none()
            && input.website.is_none()
            && input.email.is_none()
        {
            return Err(FieldError::invalid(
                "",
                "give at least one of name, description, website or email",
            ));
        }
        Ok(OrganizationPatch {
            name: input
                .name
                .map(|n| {
                    let n = n.ok_or_else(|| {
                        FieldError::invalid("name", "cannot be cleared: leave it out to keep it")
                    })?;
                    required_text(n, "name", 200)
                })
                .transpose()?,
            description: input
                .description
                .map(|d| optional_text(d, "description", 4000))
                .transpose()?,
            website: input.website.map(parse_website).transpose()?,
            email: input.email.map(parse_email).transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, website: Option<&str>, email: Option<&str>) -> OrganizationInput {
        OrganizationInput {
            name: name.into(),
            description: None,
            website: website.map(Into::into),
            email: email.map(Into::into),
        }
    }

    #[test]
    fn validates_members() {
        assert!(
            NewOrganization::parse(
                input(
                    "Safe Harbor",
                    Some("https://example.org"),
                    Some("a@example.org")
                ),
                false
            )
            .is_ok()
        );
        assert_eq!(
            NewOrganization::parse(input("  ", None, None), false)
                .unwrap_err()
                .field,
            "name"
        );
        assert_eq!(
            NewOrganization::parse(input("A", Some("javascript:alert(1)"), None), false)
                .unwrap_err()
                .field,
            "website"
        );
        assert_eq!(
            NewOrganization::parse(input("A", None, Some("nobody")), false)
                .unwrap_err()
                .field,
            "email"
        );
    }

    #[test]
    fn a_name_cannot_be_patched_away() {
        let patch: OrganizationPatchInput = serde_json::from_str(r#"{"name": null}"#).unwrap();
        assert_eq!(OrganizationPatch::parse(patch).unwrap_err().field, "name");
        let patch: OrganizationPatchInput =
            serde_json::from_str(r#"{"description": "d"}"#).unwrap();
        assert_eq!(OrganizationPatch::parse(patch).unwrap().name, None);
    }

    #[test]
    fn patch_tells_null_from_absent() {
        let patch: OrganizationPatchInput =
            serde_json::from_str(r#"{"description": null}"#).unwrap();
        assert_eq!(patch.description, Some(None));
        assert_eq!(patch.website, None);
    }
}
