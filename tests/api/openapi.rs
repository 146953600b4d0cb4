use std::collections::BTreeSet;

use e2e::post_json;
use policy_core::api::all_routes;
use policy_core::caller::ADMIN_SCOPE;
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

fn strings(list: &Yaml) -> BTreeSet<String> {
    list.as_sequence()
        .into_iter()
        .flatten()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// `(METHOD, path, function, scopes)` of every route in the functions' route tables, with the
/// scopes the template must grant (the route's own, and the administrator's).
fn tabled() -> BTreeSet<(String, String, String, BTreeSet<String>)> {
    all_routes()
        .into_iter()
        .map(|route| {
            let scopes = route
                .scope
                .map(|scope| BTreeSet::from([scope.as_str().to_owned(), ADMIN_SCOPE.to_owned()]))
                .unwrap_or_default();
            (
                route.method.to_string(),
                route.pattern.to_owned(),
                route.function.to_owned(),
                scopes,
            )
        })
        .collect()
}

/// The same four, for every HTTP API event of every function in the SAM template.
fn deployed_with_functions() -> BTreeSet<(String, String, String, BTreeSet<String>)> {
    let template: Yaml = serde_yaml_ng::from_str(&repo_file("template.yaml")).unwrap();
    let mut routes = BTreeSet::new();
    for resource in template["Resources"].as_mapping().unwrap().values() {
        let function = resource["Metadata"]["BuildProperties"]["Binary"].as_str();
        for event in resource["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flat_map(|m| m.values())
            .filter(|event| event["Type"] == "HttpApi")
        {
            let (method, path) = route_of(&event["Properties"]);
            let scopes = strings(&event["Properties"]["Auth"]["AuthorizationScopes"]);
            routes.insert((method, path, function.unwrap().to_owned(), scopes));
        }
    }
    routes
}

#[test]
fn the_route_tables_are_what_is_documented_deployed_and_served_locally() {
    let tables = tabled();
    let pairs: BTreeSet<(String, String)> = tables
        .iter()
        .map(|(method, path, ..)| (method.clone(), path.clone()))
        .collect();
    assert_eq!(pairs, documented(), "route tables vs docs/openapi.yaml");
    assert_eq!(
        pairs,
        routed(),
        "route tables vs the cargo lambda watch router"
    );
    assert_eq!(
        tables,
        deployed_with_functions(),
        "route tables vs template.yaml: method, path, function and scopes"
    );
}

#[test]
fn the_local_router_sends_each_route_to_the_function_whose_table_has_it() {
    let manifest: toml::Table = repo_file("Cargo.toml").parse().unwrap();
    let router = &manifest["workspace"]["metadata"]["lambda"]["watch"]["router"];
    for route in all_routes() {
        let targets = router[route.pattern].as_array().unwrap();
        let target = targets
            .iter()
            .find(|t| t["method"].as_str() == Some(route.method.as_str()))
            .unwrap_or_else(|| panic!("{} is routed locally", route.label));
        assert_eq!(
            target["function"].as_str(),
            Some(route.function),
            "{}",
            route.label
        );
    }
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

#[test]
fn the_readme_lists_the_route_tables_as_they_are() {
    let readme = repo_file("README.md");
    let start = readme.find("<!-- routes").expect("the README's route list");
    let end = readme.find("<!-- /routes -->").unwrap();
    let listed: BTreeSet<(String, String, String)> = readme[start..end]
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line
                .split('|')
                .map(|c| c.trim().trim_matches('`'))
                .collect();
            // | method | path | function | scope |: the label is "METHOD path".
            (
                format!("{} {}", cells[1], cells[2]),
                cells[3].to_owned(),
                cells[4].to_owned(),
            )
        })
        .collect();
    let tables: BTreeSet<(String, String, String)> = all_routes()
        .into_iter()
        .map(|route| {
            let scope = route.scope.map_or("public", |scope| scope.as_str());
            (
                route.label.to_owned(),
                route.function.to_owned(),
                scope.to_owned(),
            )
        })
        .collect();
    assert_eq!(listed, tables, "README.md's route list vs the route tables");
}
