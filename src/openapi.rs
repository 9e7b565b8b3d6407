//! The OpenAPI 3.1 document served at `GET /api/v1/openapi.json`, generated from the code: the
//! paths, methods and access rules come from the routing table ([`ENDPOINTS`]), and the bodies
//! and answers from the types the handlers read and write. What the table cannot say (a
//! summary, which body, which answer) is in [`describe`], which must know every API endpoint.

use std::sync::OnceLock;

use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder, ParameterBuilder};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ComponentsBuilder, KnownFormat, ObjectBuilder,
    OneOfBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder};
use utoipa::openapi::security::{SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    Content, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr, Required,
    ResponseBuilder,
};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::auth::SESSION_COOKIE;
use crate::db::audit::AuditRow;
use crate::domain::coordinates::CoordinatesInput;
use crate::domain::need::NeedLabel;
use crate::domain::organization::{OrganizationInput, OrganizationPatchInput};
use crate::domain::service::{CapacityInput, ServiceInput, ServicePatchInput};
use crate::error::Envelope;
use crate::matching::ServiceMatch;
use crate::matching::query::{LocationSource, MatchRequest};
use crate::routes::audit::AuditQuery;
use crate::routes::idempotency;
use crate::routes::organizations::OrganizationResponse;
use crate::routes::regions::{RegionResponse, RegionSearch};
use crate::routes::services::{RevealInput, RevealResponse, ServiceListQuery, ServiceResponse};
use crate::routes::session::{SessionResponse, SignIn, WhoAmI};
use crate::routes::{Access, ENDPOINTS, Endpoint, Page, PageQuery};

/// The document as served: built once, on first request.
pub fn json() -> &'static [u8] {
    static DOCUMENT: OnceLock<Vec<u8>> = OnceLock::new();
    // Plain data with string keys: serializing it cannot fail.
    DOCUMENT.get_or_init(|| serde_json::to_vec(&document()).unwrap_or_default())
}

/// Whether `path` is part of the JSON API (the rest are pages for people).
pub fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path == "/healthz" || path == "/readyz"
}

pub fn document() -> OpenApi {
    let mut schemas = Vec::new();
    // Shared by many answers.
    component::<ServiceResponse>(&mut schemas);
    component::<OrganizationResponse>(&mut schemas);
    let mut paths = Paths::new();
    for endpoint in ENDPOINTS.iter().filter(|e| is_api(e.path)) {
        let Some(doc) = describe(endpoint, &mut schemas) else {
            continue;
        };
        paths.add_path_operation(
            endpoint.path,
            vec![method(endpoint)],
            doc.operation(endpoint),
        );
    }
    component::<Envelope>(&mut schemas);
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A session token from POST /api/v1/session, or an API token from \
                         `haven token create`.",
                    ))
                    .build(),
            ),
        )
        .security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The web console's session (`haven_session` on plain-HTTP localhost).",
            ))),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Haven")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Survivor-support resource directory and referral router. Errors are \
                     `{\"error\": {\"code\", \"message\", \"field\"}}`; searches that carry a \
                     person's location or needs are POST bodies, never query strings.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(components))
        .build()
}

fn method(endpoint: &Endpoint) -> HttpMethod {
    match endpoint.method {
        "POST" => HttpMethod::Post,
        "PUT" => HttpMethod::Put,
        "PATCH" => HttpMethod::Patch,
        "DELETE" => HttpMethod::Delete,
        _ => HttpMethod::Get,
    }
}

/// What the routing table does not say about one endpoint.
struct Doc {
    summary: &'static str,
    body: Option<RefOr<Schema>>,
    query: Vec<Parameter>,
    status: u16,
    answer: Option<RefOr<Schema>>,
    /// Answers even when Postgres is away (from memory).
    without_database: bool,
    /// Refusals particular to this endpoint.
    refusals: Vec<u16>,
    /// Takes an `Idempotency-Key` header.
    idempotent: bool,
}

impl Doc {
    fn new(summary: &'static str, status: u16, answer: Option<RefOr<Schema>>) -> Doc {
        Doc {
            summary,
            body: None,
            query: Vec::new(),
            status,
            answer,
            without_database: false,
            refusals: Vec::new(),
            idempotent: false,
        }
    }

    /// A create that a retry with the same `Idempotency-Key` does not repeat.
    fn idempotent(mut self) -> Doc {
        self.idempotent = true;
        self
    }

    fn or(mut self, status: u16) -> Doc {
        self.refusals.push(status);
        self
    }

    fn body(mut self, schema: RefOr<Schema>) -> Doc {
        self.body = Some(schema);
        self
    }

    fn query<P: IntoParams>(mut self) -> Doc {
        self.query = P::into_params(|| Some(ParameterIn::Query));
        self
    }

    fn in_memory(mut self) -> Doc {
        self.without_database = true;
        self
    }

    fn operation(self, endpoint: &Endpoint) -> Operation {
        let reads_body = self.body.is_some();
        let reads_query = !self.query.is_empty();
        let names_one = endpoint.path.contains("{id}");
        let mut op = OperationBuilder::new()
            .summary(Some(self.summary))
            .description(Some(format!("Who may call: {}.", who(endpoint.access))))
            .tag(tag(endpoint.path))
            .parameters(Some(self.query));
        if names_one {
            op = op.parameter(
                ParameterBuilder::new()
                    .name("id")
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(
                        string().format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
                    )),
            );
        }
        if self.idempotent {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(idempotency::HEADER)
                    .parameter_in(ParameterIn::Header)
                    .required(Required::False)
                    .description(Some(
                        "Any 1 to 255 printable ASCII characters, such as a new UUID. A retry \
                         with the same key and body within a day gets the first answer (with \
                         `Idempotent-Replayed: true`) and creates nothing; the same key with \
                         another body gets 422 `idempotency_key_reused`.",
                    ))
                    .schema(Some(string().max_length(Some(255)))),
            );
        }
        if let Some(body) = self.body {
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content("application/json", json_content(body))
                    .build(),
            ));
        }
        let answered = ResponseBuilder::new().description(status_text(self.status));
        let answered = match self.answer {
            Some(schema) => answered.content("application/json", json_content(schema)),
            None => answered,
        };
        op = op.response(self.status.to_string(), answered.build());
        let mut errors = self.refusals;
        if reads_body {
            errors.extend([400, 408, 413, 415, 422]);
        } else if reads_query {
            errors.extend([400, 422]);
        }
        // Anonymous callers have an allowance, and so does a client whose unaccepted
        // credentials used it up, whatever it presents next.
        errors.push(429);
        match endpoint.access {
            Access::Public => {}
            Access::SignedIn => errors.push(401),
            Access::Roles(_) => errors.extend([401, 403]),
        }
        if names_one {
            errors.push(404);
        }
        if !self.without_database {
            errors.push(503);
        }
        errors.sort_unstable();
        errors.dedup();
        for status in errors {
            op = op.response(
                status.to_string(),
                ResponseBuilder::new()
                    .description(status_text(status))
                    .content(
                        "application/json",
                        json_content(Ref::from_schema_name(Envelope::name())),
                    )
                    .build(),
            );
        }
        if endpoint.access != Access::Public {
            op = op
                .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
                .security(SecurityRequirement::new(
                    "session_cookie",
                    Vec::<String>::new(),
                ));
        }
        op.build()
    }
}

fn who(access: Access) -> String {
    match access {
        Access::Public => "anyone, signed in or not (anonymous callers are rate-limited)".into(),
        Access::SignedIn => "any signed-in caller".into(),
        Access::Roles(roles) => roles
            .iter()
            .map(|r| r.code())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn tag(path: &str) -> &'static str {
    let rest = path.trim_start_matches("/api/v1/");
    match rest.split('/').next().unwrap_or_default() {
        "match" | "needs" | "regions" => "matching",
        "organizations" | "services" => "directory",
        "session" => "session",
        "audit" => "audit",
        "openapi.json" => "api",
        _ => "health",
    }
}

fn status_text(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "Done; no content",
        400 => {
            "Malformed JSON, an unknown query parameter, or a request that does not apply (signing out an API token)"
        }
        401 => "Not signed in, or the credentials have ended",
        403 => "Signed in, but this role may not",
        404 => "No such item (or not one this caller may see)",
        408 => "The body did not arrive in time",
        409 => "Not possible in the item's present state",
        413 => "Body too large",
        412 => "The service was written after the version sent in If-Match",
        415 => "Body is not application/json",
        422 => "A field is invalid: `error.field` names it",
        429 => "Too many requests; see Retry-After",
        503 => {
            "Not available for now (database away, index still loading, or too many sign-ins); see Retry-After"
        }
        _ => "",
    }
}

/// Registers `T` (and what it refers to) and returns a reference to it.
fn component<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) -> RefOr<Schema> {
    T::schemas(schemas);
    schemas.push((T::name().into_owned(), T::schema()));
    Ref::from_schema_name(T::name()).into()
}

fn array(items: RefOr<Schema>) -> ArrayBuilder {
    ArrayBuilder::new().items(items)
}

/// An object whose members are all required.
fn object<const N: usize>(members: [(&str, RefOr<Schema>); N]) -> ObjectBuilder {
    members
        .into_iter()
        .fold(ObjectBuilder::new(), |object, (name, schema)| {
            object.property(name, schema).required(name)
        })
}

/// A page of `T`s (`routes::Page`), with `T` registered.
fn page<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) -> RefOr<Schema> {
    component::<T>(schemas);
    Page::<T>::schema()
}

/// JSON content of this schema, for a request or an answer.
fn json_content(schema: impl Into<RefOr<Schema>>) -> Content {
    ContentBuilder::new().schema(Some(schema)).build()
}

/// `{"data": [...]}`, as the list endpoints without paging answer.
fn data_of(items: RefOr<Schema>) -> RefOr<Schema> {
    object([("data", array(items).into())]).into()
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn number() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Number)
}

fn integer() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Integer)
}

/// `location` in a match request: coordinates, a US ZIP code, or a region code.
pub(crate) fn match_location() -> RefOr<Schema> {
    let only = |name: &str, schema: ObjectBuilder| {
        object([(name, schema.into())])
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
    };
    OneOfBuilder::new()
        .item(CoordinatesInput::schema())
        .item(only(
            "postal_code",
            string().pattern(Some("^[0-9]{5}$")).examples(["94110"]),
        ))
        .item(only(
            "region",
            string().examples(["US-06075", "US-CA", "US-06"]),
        ))
        .into()
}

/// A service's coverage: where it serves; at least one entry.
pub(crate) fn coverage_list() -> ArrayBuilder {
    array(coverage()).min_items(Some(1))
}

/// One coverage entry: a radius, a GeoJSON area, a region, or the whole nation.
fn coverage() -> RefOr<Schema> {
    let kind = |name: &str| string().enum_values(Some([name])).into();
    let ring = || {
        array(
            array(number().into())
                .min_items(Some(2))
                .max_items(Some(2))
                .into(),
        )
    };
    let polygon = || array(ring().into());
    let geometry = OneOfBuilder::new()
        .item(object([
            ("type", kind("Polygon")),
            ("coordinates", polygon().into()),
        ]))
        .item(object([
            ("type", kind("MultiPolygon")),
            ("coordinates", array(polygon().into()).into()),
        ]));
    OneOfBuilder::new()
        .item(object([
            ("type", kind("radius")),
            ("center", CoordinatesInput::schema()),
            ("radius_km", number().exclusive_minimum(Some(0.0)).into()),
        ]))
        .item(object([
            ("type", kind("area")),
            ("geometry", geometry.into()),
        ]))
        .item(object([
            ("type", kind("region")),
            ("code", string().examples(["US-06075"]).into()),
        ]))
        .item(object([
            ("type", kind("national")),
            ("country", string().examples(["US"]).into()),
        ]))
        .into()
}

/// The answer of `POST /api/v1/match`, which the matcher writes by hand for speed.
fn match_answer(schemas: &mut Vec<(String, RefOr<Schema>)>) -> RefOr<Schema> {
    let entries = || array(Ref::from_schema_name(ServiceMatch::name()).into()).into();
    component::<ServiceMatch>(schemas);
    let source = component::<LocationSource>(schemas);
    object([
        ("results", entries()),
        ("hotlines", entries()),
        ("nearby_outside_coverage", entries()),
        (
            "location",
            object([("source", source), ("precision_km", number().into())]).into(),
        ),
        ("index_version", integer().into()),
    ])
    .into()
}

/// Summary, body and answer of every API endpoint; `None` for one this does not know, which a
/// test forbids.
fn describe(endpoint: &Endpoint, schemas: &mut Vec<(String, RefOr<Schema>)>) -> Option<Doc> {
    let service = || Ref::from_schema_name(ServiceResponse::name()).into();
    let organization = || Ref::from_schema_name(OrganizationResponse::name()).into();
    Some(match (endpoint.method, endpoint.path) {
        ("GET", "/healthz") => Doc::new(
            "The process is up",
            200,
            Some(object([("status", string().into())]).into()),
        )
        .in_memory(),
        ("GET", "/readyz") => Doc::new(
            "The database answers and the matching index is loaded",
            200,
            Some(
                object([
                    ("status", string().into()),
                    ("database", string().into()),
                    (
                        "index",
                        object([
                            ("services", integer().into()),
                            ("version", integer().into()),
                        ])
                        .into(),
                    ),
                ])
                .into(),
            ),
        ),
        ("GET", "/api/v1/openapi.json") => {
            Doc::new("This document", 200, Some(ObjectBuilder::new().into())).in_memory()
        }
        ("GET", "/api/v1/needs") => Doc::new(
            "The needs a search may ask for, with English and Spanish labels",
            200,
            Some(data_of(component::<NeedLabel>(schemas))),
        )
        .in_memory(),
        ("POST", "/api/v1/match") => {
            let body = component::<MatchRequest>(schemas);
            Doc::new(
                "Who can help here with these needs: ranked, with reasons, from memory",
                200,
                Some(match_answer(schemas)),
            )
            .body(body)
            .in_memory()
        }
        ("GET", "/api/v1/regions") => Doc::new(
            "Every region (state, county) a coverage entry or a search may name, in code order",
            200,
            Some(page::<RegionResponse>(schemas)),
        )
        .query::<PageQuery>()
        .in_memory(),
        ("POST", "/api/v1/regions/search") => Doc::new(
            "Regions (states, counties) by name or code; the name travels in the body, not the URL",
            200,
            Some(data_of(component::<RegionResponse>(schemas))),
        )
        .body(component::<RegionSearch>(schemas))
        .in_memory(),
        ("POST", "/api/v1/session") => Doc::new(
            "Sign in with email and password: a bearer token and a session cookie",
            201,
            Some(component::<SessionResponse>(schemas)),
        )
        .body(component::<SignIn>(schemas))
        .or(401),
        ("GET", "/api/v1/session") => Doc::new(
            "Who these credentials belong to",
            200,
            Some(component::<WhoAmI>(schemas)),
        ),
        ("DELETE", "/api/v1/session") => Doc::new("Sign out: the session ends", 204, None).or(400),
        ("GET", "/api/v1/organizations") => Doc::new(
            "Organizations, a page at a time",
            200,
            Some(page::<OrganizationResponse>(schemas)),
        )
        .query::<PageQuery>(),
        ("POST", "/api/v1/organizations") => {
            Doc::new("Add an organization", 201, Some(organization()))
                .body(component::<OrganizationInput>(schemas))
                .idempotent()
        }
        ("GET", "/api/v1/organizations/{id}") => {
            Doc::new("One organization", 200, Some(organization()))
        }
        ("PATCH", "/api/v1/organizations/{id}") => Doc::new(
            "Change an organization: members left out stay, null clears",
            200,
            Some(organization()),
        )
        .body(component::<OrganizationPatchInput>(schemas)),
        ("DELETE", "/api/v1/organizations/{id}") => {
            Doc::new("Remove an organization without services", 204, None).or(409)
        }
        ("GET", "/api/v1/services") => Doc::new(
            "Services, a page at a time, optionally of one organization or status",
            200,
            Some(page::<ServiceResponse>(schemas)),
        )
        .query::<ServiceListQuery>(),
        ("POST", "/api/v1/services") => Doc::new("Add a service", 201, Some(service()))
            .body(component::<ServiceInput>(schemas))
            .idempotent(),
        ("GET", "/api/v1/services/{id}") => Doc::new("One service", 200, Some(service())),
        ("PUT", "/api/v1/services/{id}") => Doc::new("Replace a service", 200, Some(service()))
            .body(component::<ServiceInput>(schemas))
            .or(412),
        ("PATCH", "/api/v1/services/{id}") => Doc::new(
            "Keep a service true: phones, schedules, capacity, status",
            200,
            Some(service()),
        )
        .body(component::<ServicePatchInput>(schemas))
        .or(412),
        ("DELETE", "/api/v1/services/{id}") => Doc::new("Remove a service", 204, None),
        ("PATCH", "/api/v1/services/{id}/capacity") => {
            let body = component::<CapacityInput>(schemas);
            Doc::new("Report beds or slots free now", 200, Some(service()))
                .body(body)
                .or(412)
        }
        ("POST", "/api/v1/services/{id}/reveal") => Doc::new(
            "Open a confidential location, with a reason; the reveal is audited",
            200,
            Some(component::<RevealResponse>(schemas)),
        )
        .body(component::<RevealInput>(schemas))
        .or(409),
        ("GET", "/api/v1/audit") => Doc::new(
            "The audit trail: who revealed which confidential location and why, who wrote which service",
            200,
            Some(page::<AuditRow>(schemas)),
        )
        .query::<AuditQuery>(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    #[test]
    fn every_api_endpoint_is_described() {
        let mut schemas = Vec::new();
        let missing: Vec<String> = ENDPOINTS
            .iter()
            .filter(|e| is_api(e.path))
            .filter(|e| describe(e, &mut schemas).is_none())
            .map(|e| format!("{} {}", e.method, e.path))
            .collect();
        assert!(missing.is_empty(), "not in the API document: {missing:?}");
    }

    #[test]
    fn role_names_read_as_on_the_wire() {
        assert_eq!(
            who(Access::Roles(&[Role::Admin, Role::Provider])),
            "admin, provider"
        );
    }
}
