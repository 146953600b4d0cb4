//! `template.yaml` agrees with the code: one function per `functions/*` folder, built the same way,
//! given exactly the environment the code reads; and the fuzz crate builds the core without its I/O.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use policy_core::settings::VARIABLES;
use policy_core::telemetry::emf::Metrics as _;
use serde_yaml_ng::Value;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn template() -> Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(root().join("template.yaml")).unwrap())
        .unwrap()
}

/// Template functions by binary name.
fn functions(template: &Value) -> BTreeMap<String, Value> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::Serverless::Function")
        .map(|r| {
            (
                r["Metadata"]["BuildProperties"]["Binary"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                r.clone(),
            )
        })
        .collect()
}

fn env_names(environment: &Value) -> BTreeSet<String> {
    environment["Variables"]
        .as_mapping()
        .into_iter()
        .flatten()
        .map(|(k, _)| k.as_str().unwrap().to_owned())
        .collect()
}

/// Environment variable names the functions read: the settings' list.
fn read_by_code() -> BTreeSet<String> {
    VARIABLES.iter().map(|v| v.name.to_owned()).collect()
}

#[test]
fn every_function_folder_has_a_template_function_and_back() {
    let mut folders: Vec<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    folders.sort();
    let declared: Vec<String> = functions(&template()).into_keys().collect();
    assert_eq!(folders, declared);
}

#[test]
fn functions_are_arm64_al2023_cargo_lambda_builds() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"][0], "arm64");
    assert_eq!(globals["Handler"], "bootstrap");
    assert_eq!(globals["Tracing"], "Active");
    assert_eq!(globals["LoggingConfig"]["LogFormat"], "JSON");
    for (name, function) in functions(&template) {
        assert_eq!(
            function["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{name}"
        );
        assert!(
            function["Properties"]["Events"]
                .as_mapping()
                .is_some_and(|e| !e.is_empty()),
            "{name} has a trigger"
        );
    }
}

#[test]
fn the_template_sets_exactly_the_environment_the_code_reads() {
    let template = template();
    let code = read_by_code();
    let globals = env_names(&template["Globals"]["Function"]["Environment"]);
    let mut set_anywhere = globals.clone();
    for (name, function) in functions(&template) {
        let own = env_names(&function["Properties"]["Environment"]);
        for variable in globals.union(&own) {
            assert!(
                code.contains(variable),
                "{name}: {variable} is set but no code reads it"
            );
        }
        set_anywhere.extend(own);
    }
    // Local-only and tuning knobs have defaults; everything else must be configured.
    let optional: BTreeSet<&str> = VARIABLES
        .iter()
        .filter(|v| v.optional)
        .map(|v| v.name)
        .collect();
    for variable in &code {
        assert!(
            set_anywhere.contains(variable) || optional.contains(variable.as_str()),
            "{variable} is read but never set"
        );
    }
}

#[test]
fn the_fuzz_crate_builds_the_core_without_the_aws_sdk_redis_or_aws_lc() {
    let lock: toml::Table = std::fs::read_to_string(root().join("fuzz/Cargo.lock"))
        .unwrap()
        .parse()
        .unwrap();
    let packages: BTreeSet<&str> = lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(packages.contains("policy-core"), "{packages:?}");
    for heavy in [
        "aws-sdk-dynamodb",
        "aws-config",
        "redis",
        "moka",
        "aws-lc-sys",
    ] {
        assert!(!packages.contains(heavy), "fuzz/Cargo.lock holds {heavy}");
    }
}

fn resources_of(template: &Value, kind: &str) -> Vec<(String, Value)> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(name, r)| (name.as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

#[test]
fn every_table_is_protected_from_deletion_and_recoverable_to_a_point_in_time() {
    let template = template();
    let tables = resources_of(&template, "AWS::DynamoDB::Table");
    assert_eq!(tables.len(), 3);
    for (name, table) in tables {
        assert_eq!(table["DeletionPolicy"], "Retain", "{name}");
        assert_eq!(
            table["Properties"]["DeletionProtectionEnabled"], true,
            "{name}"
        );
        assert_eq!(
            table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
            true,
            "{name}"
        );
    }
}

#[test]
fn every_alarm_notifies_the_alarm_topic_and_operator_and_cache_errors_are_watched() {
    let template = template();
    let alarms = resources_of(&template, "AWS::CloudWatch::Alarm");
    for (name, alarm) in &alarms {
        let actions = &alarm["Properties"]["AlarmActions"];
        let wired = serde_yaml_ng::to_string(actions).unwrap();
        assert!(wired.contains("AlarmTopicArn"), "{name}: {wired}");
    }
    for metric in ["OperatorErrors", "CacheErrors"] {
        let watched = alarms.iter().any(|(_, alarm)| {
            alarm["Properties"]["Metrics"]
                .as_sequence()
                .into_iter()
                .flatten()
                .any(|m| {
                    m["MetricStat"]["Metric"]["MetricName"] == metric
                        && m["MetricStat"]["Metric"]["Namespace"] == "policy-decision"
                })
        });
        assert!(watched, "an alarm on {metric}");
    }
    // The functions emit those metrics under that name.
    let emitted: Vec<&str> = policy_core::telemetry::emf::RequestMetrics::METRICS
        .iter()
        .map(|(name, _)| *name)
        .collect();
    assert!(emitted.contains(&"OperatorErrors") && emitted.contains(&"CacheErrors"));
}

#[test]
fn every_schedule_retries_and_keeps_what_failed_in_a_dead_letter_queue() {
    let template = template();
    let mut schedules = 0;
    for (name, function) in functions(&template) {
        for event in function["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flat_map(|m| m.values())
            .filter(|e| e["Type"] == "ScheduleV2" || e["Type"] == "Schedule")
        {
            schedules += 1;
            let properties = &event["Properties"];
            assert!(
                properties["RetryPolicy"]["MaximumRetryAttempts"].is_u64(),
                "{name}"
            );
            assert_eq!(properties["DeadLetterConfig"]["Type"], "SQS", "{name}");
        }
    }
    assert!(schedules >= 1);
}

#[test]
fn the_dynamodb_endpoint_admits_only_this_deployments_tables_and_the_tables_can_use_a_customer_key()
{
    let template = template();
    let endpoint = &template["Resources"]["DynamoDbEndpoint"]["Properties"]["PolicyDocument"];
    let statement = &endpoint["Statement"][0];
    assert_eq!(statement["Effect"], "Allow");
    let actions = strings(&statement["Action"]);
    assert!(actions.iter().all(|a| a.starts_with("dynamodb:")) && !actions.contains("dynamodb:*"));
    let resources = serde_yaml_ng::to_string(&statement["Resource"]).unwrap();
    for table in ["PoliciesTable", "QuotesTable", "IdempotencyTable"] {
        assert!(resources.contains(table), "{table} in {resources}");
    }
    assert!(!resources.contains("\"*\""), "{resources}");
    for (name, table) in resources_of(&template, "AWS::DynamoDB::Table") {
        let sse = serde_yaml_ng::to_string(&table["Properties"]["SSESpecification"]).unwrap();
        assert!(sse.contains("TableKmsKeyArn"), "{name}: {sse}");
    }
}

fn strings(list: &Value) -> BTreeSet<String> {
    list.as_sequence()
        .into_iter()
        .flatten()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}
