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
fn functions_are_arm64_al2023_builds_packed_by_the_makefile_from_make_builds_binaries() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"][0], "arm64");
    assert_eq!(globals["Handler"], "bootstrap");
    assert_eq!(globals["Tracing"], "Active");
    assert_eq!(globals["LoggingConfig"]["LogFormat"], "JSON");
    let makefile = std::fs::read_to_string(root().join("Makefile")).unwrap();
    assert!(
        makefile.contains("\nbuild-%Function:\n")
            && makefile.contains("binary=target/aarch64-unknown-linux-gnu/release/$$fn;")
            && makefile.contains("cp $$binary \"$(ARTIFACTS_DIR)/bootstrap\""),
        "the Makefile packs each function's binary for sam build"
    );
    let resources = template["Resources"].as_mapping().unwrap();
    for (id, resource) in resources {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let id = id.as_str().unwrap();
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap();
        assert_eq!(resource["Metadata"]["BuildMethod"], "makefile", "{id}");
        // The Makefile's build-%Function rule finds the binary from the logical id, as here.
        assert_eq!(crate_of(id), binary, "{id}");
        assert!(
            resource["Properties"]["Events"]
                .as_mapping()
                .is_some_and(|e| !e.is_empty()),
            "{id} has a trigger"
        );
    }
}

/// The crate a function's logical id names, as the Makefile's `build-%Function` rule works it out:
/// `CalculateRateFunction` is `calculate-rate`.
fn crate_of(logical_id: &str) -> String {
    let stem = logical_id
        .strip_suffix("Function")
        .expect("function ids end in Function");
    let mut name = String::new();
    for (i, c) in stem.char_indices() {
        if c.is_ascii_uppercase() && i > 0 {
            name.push('-');
        }
        name.push(c.to_ascii_lowercase());
    }
    name
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
    assert_eq!(tables.len(), 4);
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

fn yaml(value: &Value) -> String {
    serde_yaml_ng::to_string(value).unwrap()
}

#[test]
fn every_function_has_a_reserved_concurrency_parameter() {
    let template = template();
    for (name, function) in functions(&template) {
        let reserved = yaml(&function["Properties"]["ReservedConcurrentExecutions"]);
        // `!If [Reserve<Name>, !Ref <Name>Concurrency, !Ref AWS::NoValue]`
        let parameter = reserved
            .split_whitespace()
            .find(|word| word.ends_with("Concurrency") || word.ends_with("Concurrency,"))
            .unwrap_or_else(|| panic!("{name}: {reserved}"))
            .trim_end_matches(',')
            .to_owned();
        assert_eq!(
            template["Parameters"][parameter.as_str()]["Type"],
            "Number",
            "{name}: {parameter}"
        );
        let condition = parameter.replace("Concurrency", "");
        assert!(
            yaml(&template["Conditions"][format!("Reserve{condition}").as_str()])
                .contains(&parameter),
            "{name}"
        );
    }
}

#[test]
fn the_cursor_secret_is_a_secrets_manager_secret_only_the_functions_that_page_can_read() {
    let template = template();
    let secret = &template["Resources"]["CursorSecret"];
    assert_eq!(secret["Type"], "AWS::SecretsManager::Secret");
    let length = secret["Properties"]["GenerateSecretString"]["PasswordLength"]
        .as_u64()
        .unwrap();
    assert!(length >= 32);
    assert!(
        template["Parameters"]["CursorSecret"].is_null(),
        "no plain parameter"
    );
    let mut paging = BTreeSet::new();
    for (name, function) in functions(&template) {
        let properties = &function["Properties"];
        let environment = env_names(&properties["Environment"]);
        assert!(
            !environment.contains("CURSOR_SECRET"),
            "{name}: local stacks only"
        );
        let reads = yaml(&properties["Policies"]).contains("secretsmanager:GetSecretValue");
        if environment.contains("CURSOR_SECRET_ID") {
            paging.insert(name.clone());
            assert!(
                yaml(&properties["Environment"]).contains("!Ref CursorSecret"),
                "{name}"
            );
            assert!(reads, "{name} reads its cursor secret");
        } else {
            assert!(!reads, "{name} has no secret to read");
        }
    }
    assert_eq!(
        paging,
        BTreeSet::from(["create-quote".to_owned(), "list-policies".to_owned()])
    );
    // Reached from the VPC through an endpoint that admits only this secret.
    let endpoint = &template["Resources"]["SecretsManagerEndpoint"]["Properties"];
    assert_eq!(endpoint["VpcEndpointType"], "Interface");
    let policy = yaml(&endpoint["PolicyDocument"]);
    assert!(
        policy.contains("secretsmanager:GetSecretValue") && policy.contains("!Ref CursorSecret")
    );
}

#[test]
fn the_cache_user_cannot_run_admin_or_dangerous_commands_or_touch_other_keys() {
    let template = template();
    let users = resources_of(&template, "AWS::ElastiCache::User");
    assert_eq!(users.len(), 1);
    let access = users[0].1["Properties"]["AccessString"].as_str().unwrap();
    for word in ["-@admin", "-@dangerous", "~pd:*", "-@all"] {
        assert!(
            access.split_whitespace().any(|w| w == word),
            "{word} in {access}"
        );
    }
    assert!(
        !access.contains("~*") && !access.contains("allkeys"),
        "{access}"
    );
    let cache = yaml(&template["Resources"]["Cache"]["Properties"]["UserGroupId"]);
    assert!(cache.contains("CacheUserGroup"), "{cache}");
    let group = yaml(&template["Resources"]["CacheUserGroup"]["Properties"]["UserIds"]);
    assert!(group.contains(&users[0].0), "{group}");
}

#[test]
fn the_functions_reach_only_dynamodb_the_secrets_and_elasticache_endpoints_and_the_cache() {
    let template = template();
    let group = &template["Resources"]["FunctionSecurityGroup"]["Properties"];
    for rule in group["SecurityGroupEgress"].as_sequence().unwrap() {
        assert!(
            rule["CidrIp"].is_null() && rule["CidrIpv6"].is_null(),
            "{}",
            yaml(rule)
        );
        assert_eq!(
            yaml(&rule["DestinationPrefixListId"]).trim(),
            "!Ref DynamoDbPrefixListId"
        );
        assert_eq!(
            (rule["FromPort"].as_u64(), rule["ToPort"].as_u64()),
            (Some(443), Some(443))
        );
    }
    let mut targets = BTreeSet::new();
    for (name, rule) in resources_of(&template, "AWS::EC2::SecurityGroupEgress") {
        let properties = &rule["Properties"];
        if yaml(&properties["GroupId"]).contains("FunctionSecurityGroup") {
            assert!(properties["CidrIp"].is_null(), "{name}");
            targets.insert(
                yaml(&properties["DestinationSecurityGroupId"])
                    .trim()
                    .to_owned(),
            );
        }
    }
    assert_eq!(
        targets,
        BTreeSet::from([
            "!Ref CacheSecurityGroup".to_owned(),
            "!Ref ElastiCacheApiEndpointSecurityGroup".to_owned(),
            "!Ref SecretsEndpointSecurityGroup".to_owned()
        ])
    );
}

#[test]
fn every_function_has_a_near_timeout_alarm_and_crashes_and_500s_are_watched() {
    let template = template();
    let default_timeout = template["Globals"]["Function"]["Timeout"].as_u64().unwrap();
    let resources = template["Resources"].as_mapping().unwrap();
    let alarms = resources_of(&template, "AWS::CloudWatch::Alarm");
    for (name, function) in resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
    {
        let name = name.as_str().unwrap();
        let timeout = function["Properties"]["Timeout"]
            .as_u64()
            .unwrap_or(default_timeout);
        let alarm = alarms
            .iter()
            .find(|(_, a)| {
                a["Properties"]["MetricName"] == "Duration"
                    && yaml(&a["Properties"]["Dimensions"]).contains(&format!("!Ref {name}"))
            })
            .unwrap_or_else(|| panic!("{name} has no duration alarm"));
        assert_eq!(
            alarm.1["Properties"]["Threshold"].as_u64(),
            Some(timeout * 800),
            "{name}: 80% of {timeout} s"
        );
        assert_eq!(alarm.1["Properties"]["Statistic"], "Maximum");
    }
    assert!(
        alarms
            .iter()
            .any(|(_, a)| a["Properties"]["MetricName"] == "Errors"
                && a["Properties"]["Namespace"] == "AWS/Lambda"),
        "crashed invocations are watched"
    );
    // Every HTTP function's 500s count toward the operator-errors alarm.
    let operator = yaml(&template["Resources"]["OperatorErrorsAlarm"]["Properties"]["Metrics"]);
    for route in policy_core::api::all_routes() {
        assert!(
            operator.contains(&format!("Value: {}", route.function)),
            "{} in the operator-errors alarm",
            route.function
        );
    }
}

#[test]
fn only_warm_cache_may_describe_the_cache_and_only_that_cache() {
    let template = template();
    for (name, function) in functions(&template) {
        let statements: Vec<&Value> = function["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|policy| policy["Statement"].as_sequence())
            .flatten()
            .filter(|statement| yaml(&statement["Action"]).contains("elasticache:"))
            .collect();
        if name == "warm-cache" {
            assert_eq!(statements.len(), 1, "{name}");
            assert_eq!(
                strings(&statements[0]["Action"]),
                BTreeSet::from(["elasticache:DescribeServerlessCaches".to_owned()])
            );
            assert_eq!(yaml(&statements[0]["Resource"]).trim(), "!GetAtt Cache.ARN");
            let environment = env_names(&function["Properties"]["Environment"]);
            assert!(environment.contains("SERVERLESS_CACHE_NAME"), "{name}");
        } else {
            assert!(statements.is_empty(), "{name}: {statements:?}");
        }
    }
    let endpoint = &template["Resources"]["ElastiCacheApiEndpoint"]["Properties"];
    let statement = &endpoint["PolicyDocument"]["Statement"][0];
    assert_eq!(
        strings(&statement["Action"]),
        BTreeSet::from(["elasticache:DescribeServerlessCaches".to_owned()])
    );
    assert_eq!(yaml(&statement["Resource"]).trim(), "!GetAtt Cache.ARN");
}
