use std::collections::BTreeSet;

use e2e::post_json;
use serde_yaml_ng::Value as Yaml;

fn repo_file(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn openapi() -> Yaml {
    serde_yaml_ng::from_str(&repo_file("docs/openapi.yaml")).unwrap()
}

/// `(METHOD, path)` of every operation in the `OpenAPI` document.
fn documented() -> BTreeSet<(String, String)> {
    let doc = openapi();
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_mapping().unwrap() {
        for method in item.as_mapping().unwrap().keys() {
            routes.insert((
                method.as_str().unwrap().to_uppercase(),
                path.as_str().unwrap().to_owned(),
            ));
        }
    }
    routes
}

/// `(METHOD, path)` of every route `cargo lambda watch` serves.
fn routed() -> BTreeSet<(String, String)> {
    let manifest: toml::Table = repo_file("Cargo.toml").parse().unwrap();
    let table = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .unwrap();
    let mut routes = BTreeSet::new();
    for (path, targets) in table {
        for target in targets.as_array().unwrap() {
            routes.insert((target["method"].as_str().unwrap().to_owned(), path.clone()));
        }
    }
    routes
}

/// The properties of every HTTP API event in the SAM template.
fn http_api_events() -> Vec<Yaml> {
    let template: Yaml = serde_yaml_ng::from_str(&repo_file("template.yaml")).unwrap();
    let mut events = Vec::new();
    for resource in template["Resources"].as_mapping().unwrap().values() {
        for event in resource["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flat_map(|m| m.values())
        {
            if event["Type"] == "HttpApi" {
                events.push(event["Properties"].clone());
            }
        }
    }
    events
}

fn route_of(event: &Yaml) -> (String, String) {
    (
        event["Method"].as_str().unwrap().to_owned(),
        event["Path"].as_str().unwrap().to_owned(),
    )
}

/// `(METHOD, path)` of every HTTP API event in the SAM template.
fn deployed() -> BTreeSet<(String, String)> {
    http_api_events().iter().map(route_of).collect()
}

fn strings(list: &Yaml) -> BTreeSet<String> {
    list.as_sequence()
        .into_iter()
        .flatten()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_router_the_template_and_the_openapi_document_list_the_same_routes() {
    assert_eq!(
        routed(),
        documented(),
        "cargo lambda watch router vs docs/openapi.yaml"
    );
    assert_eq!(
        deployed(),
        documented(),
        "template.yaml vs docs/openapi.yaml"
    );
}

#[test]
fn each_operation_documents_the_scopes_its_route_is_deployed_with() {
    let doc = openapi();
    let mut checked = 0;
    for event in http_api_events() {
        let (method, path) = route_of(&event);
        let operation = &doc["paths"][path.as_str()][method.to_lowercase().as_str()];
        let auth = &event["Auth"];
        // Each alternative is one scope of the `bearer` scheme: any one of them admits the caller.
        let documented: BTreeSet<String> = operation["security"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{method} {path} declares its security"))
            .iter()
            .flat_map(|requirement| strings(&requirement["bearer"]))
            .collect();
        if auth["Authorizer"] == "NONE" {
            assert!(documented.is_empty(), "{method} {path} is public");
            assert_eq!(operation["security"].as_sequence().map(Vec::len), Some(0));
        } else {
            assert_eq!(auth["Authorizer"], "Jwt", "{method} {path}");
            assert_eq!(
                documented,
                strings(&auth["AuthorizationScopes"]),
                "{method} {path}: docs/openapi.yaml vs template.yaml"
            );
            for code in ["401", "403"] {
                assert!(
                    operation["responses"][code].is_mapping(),
                    "{method} {path} documents {code}"
                );
            }
        }
        checked += 1;
    }
    assert_eq!(checked, documented().len());
}

#[test]
fn every_request_example_in_the_openapi_document_is_accepted() {
    let doc = openapi();
    let mut tried = 0;
    for (path, item) in doc["paths"].as_mapping().unwrap() {
        for (method, operation) in item.as_mapping().unwrap() {
            let examples = &operation["requestBody"]["content"]["application/json"]["examples"];
            let Some(examples) = examples.as_mapping() else {
                continue;
            };
            assert_eq!(method, "post", "only POST operations take bodies");
            let success: u16 = operation["responses"]
                .as_mapping()
                .unwrap()
                .keys()
                .filter_map(|code| code.as_str().and_then(|c| c.parse().ok()))
                .find(|code| (200..300).contains(code))
                .unwrap();
            for (name, example) in examples {
                let body: serde_json::Value =
                    serde_yaml_ng::from_value(example["value"].clone()).unwrap();
                let reply = post_json(path.as_str().unwrap(), &body);
                assert_eq!(
                    reply.status, success,
                    "{path:?} example {name:?}: {:#}",
                    reply.json
                );
                tried += 1;
            }
        }
    }
    assert!(tried >= 7, "examples tried: {tried}");
}
