//! Structured logs through `tracing`. Requests are logged by route pattern, status and
//! duration only: never the client address, the query string, headers or bodies (SAFETY.md 6).

use std::io::IsTerminal;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

use crate::error::CorrelationId;

/// actix-http answers a request it cannot parse with 400 itself and logs it at ERROR, at
/// DEBUG with the offending header's value: anyone could fill the log with such lines, and a
/// value could be anything the sender typed. Off whatever the filter asks.
const QUIET_HTTP_PARSER: &str = "actix_http::h1=off";
/// actix-web's extractors log a refused path or query at DEBUG with the whole request path,
/// which may hold an id or whatever was typed there (LOGGING.md: the route pattern, never
/// the path). Haven logs its own refusals. Capped at INFO when the filter asks for more.
const QUIET_EXTRACTORS: &str = "actix_web=info";

/// `HAVEN_LOG` (or `RUST_LOG`) sets the filter; `HAVEN_LOG_FORMAT=json` switches to JSON lines.
pub fn init() {
    let filter = std::env::var("HAVEN_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    let mut filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let verbose = filter
        .max_level_hint()
        .is_some_and(|level| level > LevelFilter::INFO);
    let quiet = [QUIET_HTTP_PARSER]
        .into_iter()
        .chain(verbose.then_some(QUIET_EXTRACTORS));
    for directive in quiet {
        if let Ok(directive) = directive.parse() {
            filter = filter.add_directive(directive);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let result = if std::env::var("HAVEN_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // A subscriber already set (tests) is fine.
    drop(result);
}

pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let response = next.call(req).await?;
    // Debug, not info: a line per request costs throughput and keeps traces nobody needs.
    // The route is built only for that line (the pattern is a fresh string).
    if tracing::enabled!(tracing::Level::DEBUG) {
        // The pattern (`/api/v1/services/{id}`), not the path: no ids of what was looked at.
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        let extensions = response.response().extensions();
        let correlation = extensions.get::<CorrelationId>();
        tracing::debug!(
            method = %method,
            route = %route,
            status = response.status().as_u16(),
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            correlation_id = correlation.map(|id| tracing::field::display(&id.0)),
            "request"
        );
    }
    Ok(response)
}
