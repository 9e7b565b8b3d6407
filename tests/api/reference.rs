//! Public reference data: the needs taxonomy and region lookup.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

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
async fn regions_are_found_by_name_in_a_body() {
    let app = spawn_app().await;
    let search = |q: Value| {
        let app = &app;
        async move {
            app.send(Method::POST, "/api/v1/regions/search", None, Some(&q))
                .await
        }
    };
    let res = search(json!({"q": "alameda"})).await;
    assert_eq!(res.status, StatusCode::OK);
    let first = &res.body["data"][0];
    assert_eq!(first["code"], "US-06001");
    assert_eq!(first["kind"], "county");
    assert_eq!(first["state"], "CA");
    assert_eq!(first["label"], "Alameda, CA");

    let res = search(json!({"q": "Harris County, TX"})).await;
    assert_eq!(res.body["data"][0]["code"], "US-48201");
    let res = search(json!({"q": "new york", "limit": 1})).await;
    assert_eq!(res.body["data"][0]["code"], "US-NY");
    assert_eq!(res.body["data"].as_array().unwrap().len(), 1);
    let res = search(json!({"q": "zzzzqqq"})).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body["data"].as_array().unwrap().len(), 0);

    for (body, field) in [
        (json!({"q": " "}), "q"),
        (json!({}), "q"),
        (json!({"q": "alameda", "limit": 51}), "limit"),
        (json!({"q": "alameda", "state": "CA"}), "state"),
    ] {
        let res = search(body.clone()).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(res.field(), field, "{body}");
    }
}

#[tokio::test]
async fn regions_are_listed_in_pages_and_never_searched_in_a_url() {
    let app = spawn_app().await;
    let res = app
        .send(Method::GET, "/api/v1/regions?per_page=100", None, None)
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let total = res.body["total"].as_i64().unwrap();
    // 50 states, DC, Puerto Rico and some 3,200 counties and their equivalents.
    assert!((3_000..4_000).contains(&total), "{total}");
    let codes: Vec<&str> = res.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 100);
    assert!(codes.windows(2).all(|w| w[0] < w[1]), "in code order");
    assert!(!codes.contains(&"US"), "the nation is national coverage");

    let last_page = (total + 99) / 100;
    let res = app
        .send(
            Method::GET,
            &format!("/api/v1/regions?page={last_page}&per_page=100"),
            None,
            None,
        )
        .await;
    let on_last = res.body["data"].as_array().unwrap().len() as i64;
    assert_eq!(on_last, total - (last_page - 1) * 100);

    // A name in the query string is refused, and the refusal says where it belongs.
    let res = app
        .send(Method::GET, "/api/v1/regions?q=alameda", None, None)
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.field(), "q");
    assert!(
        res.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("POST /api/v1/regions/search")
    );
    assert!(!res.body.to_string().contains("alameda"));
    let res = app
        .send(Method::GET, "/api/v1/regions?per_page=101", None, None)
        .await;
    assert_eq!(res.field(), "per_page");
}
