//! Structured logs through `tracing`. Requests are logged by route pattern, status and
//! duration only: never the client address, the query string, headers or bodies (SAFETY.md 6).

use std::io::IsTerminal;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use tracing_subscriber::EnvFilter;

use crate::error::CorrelationId;

/// actix-http answers a request it cannot parse with 400 itself and logs it at ERROR, at
/// DEBUG with the offending header's value: anyone could fill the log with such lines, and a
/// value could be anything the sender typed. Off whatever the filter asks.
const QUIET_HTTP_PARSER: &str = "actix_http::h1=off";

/// Whether a line may be written at its level. Haven's own lines follow the filter; every
/// other crate's stop at INFO whatever the filter asks, since below that they write what
/// they were handed: actix-web a refused path whole, geo the points of a region a person
/// searched by (LOGGING.md: never a person's location).
fn below_info_only_from_haven(line: &tracing::Metadata<'_>) -> bool {
    *line.level() <= tracing::Level::INFO
        || line.target() == "haven"
        || line.target().starts_with("haven::")
}

/// `HAVEN_LOG` (or `RUST_LOG`) sets the filter; `HAVEN_LOG_FORMAT=json` switches to JSON lines.
pub fn init() {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::filter::filter_fn;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let filter = std::env::var("HAVEN_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    let mut filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    if let Ok(directive) = QUIET_HTTP_PARSER.parse() {
        filter = filter.add_directive(directive);
    }
    let lines = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let lines = if std::env::var("HAVEN_LOG_FORMAT").is_ok_and(|f| f == "json") {
        lines.json().boxed()
    } else {
        lines.boxed()
    };
    let result = tracing_subscriber::registry()
        .with(filter.and_then(filter_fn(below_info_only_from_haven)))
        .with(lines)
        .try_init();
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
