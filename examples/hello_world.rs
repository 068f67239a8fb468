//! A bare actix-web hello-world: the baseline the load benchmarks compare against.
//!
//! `cargo run --release --example hello_world -- 127.0.0.1:8090 1` (address, workers).

use actix_web::{App, HttpResponse, HttpServer, get};

#[get("/")]
async fn hello() -> HttpResponse {
    HttpResponse::Ok().body("Hello world!")
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let bind = args.next().unwrap_or_else(|| "127.0.0.1:8090".into());
    let workers = args.next().and_then(|w| w.parse().ok()).unwrap_or(1);
    HttpServer::new(|| App::new().service(hello))
        .workers(workers)
        .bind(bind)?
        .run()
        .await
}
