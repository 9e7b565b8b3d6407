//! `GET /api/v1/needs`: the needs taxonomy with English and Spanish labels (public).

use actix_web::HttpResponse;
use serde_json::json;

use crate::domain::Need;

pub async fn list() -> HttpResponse {
    let needs: Vec<_> = Need::ALL.into_iter().map(Need::describe).collect();
    HttpResponse::Ok().json(json!({"data": needs}))
}
