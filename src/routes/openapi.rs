//! `GET /api/v1/openapi.json`: the API described, for client generators and integrators.

use actix_web::HttpResponse;
use actix_web::http::header::ContentType;

pub async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(ContentType::json())
        .body(crate::openapi::json())
}
