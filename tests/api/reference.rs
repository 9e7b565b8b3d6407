//! Public reference data: the needs taxonomy and region lookup.

use reqwest::{Method, StatusCode};

use crate::helpers::spawn_app;

#[tokio::test]
async fn needs_lists_every_code_with_english_and_spanish_labels() {
    let app = spawn_app().await;
    let res = app.send(Method::GET, "/api/v1/needs", None, None).await;
    assert_eq!(res.status, StatusCode::OK);
    let needs = res.body["data"].as_array().unwrap();
    let codes: Vec<&str> = needs.iter().map(|n| n["code"].as_str().unwrap()).collect();
    for code in [
        "shelter",
        "transitional_housing",
        "hotline",
        "legal_aid",
        "immigration_legal",
        "counseling",
        "medical",
        "case_management",
        "basic_needs",
        "youth_services",
        "substance_use",
        "employment_education",
    ] {
        assert!(codes.contains(&code), "{code} missing");
    }
    for need in needs {
        assert!(!need["label"]["en"].as_str().unwrap().is_empty());
        assert!(!need["label"]["es"].as_str().unwrap().is_empty());
    }
}

#[tokio::test]
async fn regions_are_found_by_name() {
    let app = spawn_app().await;
    let res = app
        .send(Method::GET, "/api/v1/regions?q=alameda", None, None)
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let first = &res.body["data"][0];
    assert_eq!(first["code"], "US-06001");
    assert_eq!(first["kind"], "county");
    assert_eq!(first["state"], "CA");

    let res = app
        .send(
            Method::GET,
            "/api/v1/regions?q=Harris%20County,%20TX",
            None,
            None,
        )
        .await;
    assert_eq!(res.body["data"][0]["code"], "US-48201");
    let res = app
        .send(Method::GET, "/api/v1/regions?q=new%20york", None, None)
        .await;
    assert_eq!(res.body["data"][0]["code"], "US-NY");

    let res = app
        .send(Method::GET, "/api/v1/regions?q=zzzzqqq", None, None)
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body["data"].as_array().unwrap().len(), 0);

    let res = app.send(Method::GET, "/api/v1/regions", None, None).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.code(), "bad_request");
    let res = app
        .send(Method::GET, "/api/v1/regions?q=%20", None, None)
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.field(), "q");
}
