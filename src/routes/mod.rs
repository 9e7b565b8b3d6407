//! The HTTP surface: the route table in one function, one module per resource.

mod health;
mod matching;
mod needs;
mod organizations;
mod regions;
mod services;

use actix_web::dev::HttpServiceFactory;
use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, Resource, web};
use serde::{Deserialize, Serialize};

use crate::auth;
use crate::domain::FieldError;
use crate::error::ApiError;

/// Every route Haven answers. A path with a method it does not take answers 405; an unknown
/// path 404; both in the error envelope.
pub fn router(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PathConfig::default().error_handler(|_, _| ApiError::NotFound.into()))
        .app_data(web::QueryConfig::default().error_handler(|e, _| {
            ApiError::BadRequest(format!("invalid query string: {e}")).into()
        }))
        .service(resource("/healthz").get(health::healthz))
        .service(resource("/readyz").get(health::readyz))
        .service(
            web::scope("/api/v1")
                .service(resource("/needs").get(needs::list))
                .service(resource("/match").post(matching::find))
                .service(resource("/regions").get(regions::search))
                .service(admin_only(
                    resource("/organizations")
                        .get(organizations::list)
                        .post(organizations::create),
                ))
                .service(admin_only(
                    resource("/organizations/{id}")
                        .get(organizations::get)
                        .patch(organizations::update)
                        .delete(organizations::delete),
                ))
                .service(admin_only(
                    resource("/services")
                        .get(services::list)
                        .post(services::create),
                ))
                .service(admin_only(
                    resource("/services/{id}")
                        .get(services::get)
                        .put(services::replace)
                        .delete(services::delete),
                )),
        )
        .default_service(web::to(not_found));
}

/// Directory maintenance: admins only, checked before anything else about the request.
fn admin_only(resource: Resource) -> impl HttpServiceFactory {
    resource.wrap(from_fn(auth::require_admin))
}

/// A resource whose unsupported methods answer 405 in the envelope.
fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn not_found(_: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

async fn method_not_allowed(_: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

/// `?page=&per_page=`: pages count from 1; at most 100 items a page.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

pub const MAX_PER_PAGE: i64 = 100;
const DEFAULT_PER_PAGE: i64 = 20;

#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub page: i64,
    pub per_page: i64,
}

impl PageRequest {
    pub fn parse(page: Option<i64>, per_page: Option<i64>) -> Result<Self, FieldError> {
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE);
        if page < 1 {
            return Err(FieldError::invalid("page", "must be 1 or more"));
        }
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(FieldError::invalid(
                "per_page",
                format!("must be between 1 and {MAX_PER_PAGE}"),
            ));
        }
        Ok(PageRequest { page, per_page })
    }

    pub fn offset(self) -> i64 {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

impl<T> Page<T> {
    pub fn new(data: Vec<T>, request: PageRequest, total: i64) -> Self {
        Page {
            data,
            page: request.page,
            per_page: request.per_page,
            total,
        }
    }
}
