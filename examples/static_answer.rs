//! A benchmark ceiling, not part of Haven: an actix server that answers every request with the
//! same bytes, a real match answer captured by `bench/run.sh`. Driven by the same wrk script
//! as `/api/v1/match`, it measures what HTTP and an answer of that size cost on this machine
//! with no matching at all.
//!
//! Usage: `static_answer FILE ADDRESS WORKERS`

use std::io::{Error, ErrorKind};

use actix_web::{App, HttpResponse, HttpServer, web};

fn argument(args: &mut impl Iterator<Item = String>, name: &str) -> std::io::Result<String> {
    args.next().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("missing {name}: static_answer FILE ADDRESS WORKERS"),
        )
    })
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let body = web::Bytes::from(std::fs::read(argument(&mut args, "FILE")?)?);
    let address = argument(&mut args, "ADDRESS")?;
    let workers: usize = argument(&mut args, "WORKERS")?
        .parse()
        .map_err(|e| Error::new(ErrorKind::InvalidInput, format!("WORKERS: {e}")))?;
    HttpServer::new(move || {
        let body = body.clone();
        // The request body is read, as `/api/v1/match` reads it: actix closes a keep-alive
        // connection whose request body was left unread, and wrk would then open a new
        // connection for every request, which is what an earlier version of this ceiling
        // measured.
        App::new().default_service(web::to(move |_request: web::Bytes| {
            let body = body.clone();
            async move {
                HttpResponse::Ok()
                    .content_type("application/json")
                    .body(body)
            }
        }))
    })
    .workers(workers)
    .bind(address)?
    .run()
    .await
}
