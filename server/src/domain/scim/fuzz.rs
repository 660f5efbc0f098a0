//! Property tests for what a SCIM client controls: `filter` strings and
//! PATCH bodies. Whatever comes in, parsing, mapping and applying return a
//! 4xx SCIM error or a result; they never panic, never overflow the stack
//! on deep nesting, and never answer 500. `make fuzz-scim` runs the same
//! properties for 10 minutes (`SCIM_FUZZ_SECONDS`).

use super::{
    filter,
    filter::Resource,
    patch,
    resource::{Projection, UserDocument, USER_URN},
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

const WORDS: &[&str] = &[
    "userName",
    "emails",
    "value",
    "members",
    "name",
    "givenName",
    "externalId",
    "id",
    "meta",
    "lastModified",
    "active",
    "displayName",
    "title",
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "eq",
    "ne",
    "co",
    "sw",
    "ew",
    "gt",
    "ge",
    "lt",
    "le",
    "pr",
    "and",
    "or",
    "not",
    "(",
    ")",
    "[",
    "]",
    ".",
    ":",
    "\"",
    "\"x\"",
    "\"2026-01-01T00:00:00Z\"",
    "true",
    "false",
    "null",
    "42",
    "-1.5e9",
    "\\",
    "\"\\u0000\"",
    " ",
    "",
];

/// Filter-like text: grammar tokens, random text, and deep nesting.
fn filter_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        6 => proptest::sample::select(WORDS).prop_map(str::to_owned),
        1 => any::<String>(),
        1 => "[a-zA-Z.:\\[\\]()\" ]{0,12}",
    ];
    let flat = proptest::collection::vec(token, 0..60).prop_map(|parts| parts.join(" "));
    let nested = (
        0usize..3000,
        proptest::sample::select(&["(", "[", "not ("][..]),
        flat.clone(),
    )
        .prop_map(|(depth, open, inner)| {
            format!("{}userName pr {inner}{}", open.repeat(depth), ")".repeat(depth))
        });
    prop_oneof![4 => flat, 1 => nested]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        filter_text().prop_map(Value::String),
        proptest::sample::select(WORDS).prop_map(|w| Value::String(w.to_owned())),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    proptest::sample::select(WORDS).prop_map(str::to_owned),
                    any::<String>()
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn patch_body() -> impl Strategy<Value = Value> {
    let op = prop_oneof![
        proptest::sample::select(&["add", "remove", "replace", "Add", "REPLACE", "move", ""][..])
            .prop_map(|s| json!(s)),
        json_value(),
    ];
    let operation = (
        op,
        proptest::option::of(filter_text()),
        proptest::option::of(json_value()),
    )
        .prop_map(|(op, path, value)| {
            let mut o = serde_json::Map::new();
            o.insert("op".into(), op);
            if let Some(p) = path {
                o.insert("path".into(), Value::String(p));
            }
            if let Some(v) = value {
                o.insert("value".into(), v);
            }
            Value::Object(o)
        });
    proptest::collection::vec(operation, 0..12).prop_map(
        |ops| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}),
    )
}

fn check_filter(raw: &str) -> Result<(), TestCaseError> {
    for resource in [Resource::User, Resource::Group] {
        if let Err(e) = filter::parse(raw, resource) {
            prop_assert_eq!(e.status, 400, "{}", e.detail);
        }
    }
    // The same text as an attribute selection (`attributes=`).
    for projection in [
        Projection::parse(Some(raw), None, USER_URN),
        Projection::parse(None, Some(raw), USER_URN),
    ] {
        match projection {
            Ok(p) => {
                p.apply(serde_json::json!({"id": "1", "userName": "a", "name": {"givenName": "A"}}));
            }
            Err(e) => prop_assert_eq!(e.status, 400, "{}", e.detail),
        }
    }
    Ok(())
}

fn check_patch(body: &Value) -> Result<(), TestCaseError> {
    let Ok(p) = patch::read(body) else {
        return Ok(());
    };
    let mut doc = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ada@example.com",
        "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
        "name": {"givenName": "Ada"}
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    match patch::apply_to_user(&mut doc, &p) {
        Ok(()) => {
            if let Err(e) = UserDocument::read(&Value::Object(doc)) {
                prop_assert_eq!(e.status, 400, "{}", e.detail);
            }
        }
        Err(e) => prop_assert_eq!(e.status, 400, "{}", e.detail),
    }
    if let Err(e) = patch::resolve_group(&p, "g1") {
        prop_assert_eq!(e.status, 400, "{}", e.detail);
    }
    Ok(())
}

fn run(runner: &mut TestRunner) {
    let filters = runner.run(&filter_text(), |raw| check_filter(&raw));
    assert!(filters.is_ok(), "{filters:?}");
    let patches = runner.run(&patch_body(), |body| check_patch(&body));
    assert!(patches.is_ok(), "{patches:?}");
}

#[test]
fn filters_and_patches_never_panic_or_fail_as_server_errors() {
    run(&mut TestRunner::new(Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    }));
}

/// `make fuzz-scim`: the same properties, for `SCIM_FUZZ_SECONDS`.
#[test]
#[ignore = "long-running; `make fuzz-scim`"]
fn fuzz() {
    let seconds: u64 = std::env::var("SCIM_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    let mut rounds = 0u64;
    while std::time::Instant::now() < until {
        // A new runner, a new random seed.
        run(&mut TestRunner::new(Config {
            cases: 2000,
            failure_persistence: None,
            ..Config::default()
        }));
        rounds += 1;
    }
    println!(
        "scim fuzz: {} filters and {} PATCH bodies in {seconds} s, 0 crashes",
        rounds * 2000,
        rounds * 2000
    );
}
