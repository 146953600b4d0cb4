//! Local tooling for the DynamoDB tables.
//!
//! ```text
//! devtool create-tables [--template template.yaml] [--stage local]
//! devtool seed [--count 10000] [--stage local]
//! devtool smoke --base-url URL [--token TOKEN]
//! devtool impact --base-url URL --candidate FILE [--token TOKEN] [--width COLUMNS]
//! ```
//!
//! `create-tables` reads every `AWS::DynamoDB::Table` in the SAM template and creates it (keys,
//! GSIs, TTL) in the DynamoDB that `DYNAMODB_ENDPOINT` points at, so local tables are the cloud's
//! definitions, not a copy of them. Existing tables are left alone. `seed` writes a deterministic
//! set of realistic policies rated by the real engine; rerunning it overwrites the same items. `smoke` is a bounded black-box check of any running
//! deployment (see `smoke.rs`). `impact` tries a candidate rate table on a deployment's book and
//! prints the report as a terminal chart (see `impact.rs`).

use std::error::Error;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, PutRequest, ScalarAttributeType, TimeToLiveSpecification, WriteRequest,
};
use indicatif::{ProgressBar, ProgressStyle};
use policy_core::domain::{PolicyType, State, Term};
use policy_core::rating::tables::Business;
use policy_core::rating::tables::RateTable;
use policy_core::rating::{RateTables, RatingRequest, rate};
use policy_core::records::{DecisionEntry, Policy, PolicyStatus, RatedOn, SYSTEM_ACTOR, term_end};
use policy_core::storage::policy_item;
use policy_core::underwriting::decide;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_yaml_ng::Value;
use time::{Date, Month, OffsetDateTime};

mod impact;
mod smoke;

/// Seeded policies belong to `agent-01` to `agent-08`.
const SEED_AGENTS: usize = 8;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let option = |name: &str, default: &str| -> String {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    };
    if args.first().map(String::as_str) == Some("smoke") {
        let base = option("--base-url", "");
        if base.is_empty() {
            return Err("smoke needs --base-url, e.g. http://localhost:9000".into());
        }
        let token = Some(option("--token", "")).filter(|t| !t.is_empty());
        return if smoke::run(base.trim_end_matches('/'), token.as_deref()) {
            Ok(())
        } else {
            std::process::exit(1)
        };
    }
    if args.first().map(String::as_str) == Some("impact") {
        let base = option("--base-url", "");
        let file = option("--candidate", "");
        if base.is_empty() || file.is_empty() {
            return Err("impact needs --base-url URL and --candidate FILE".into());
        }
        let token = Some(option("--token", "")).filter(|t| !t.is_empty());
        let columns = std::env::var("COLUMNS").unwrap_or_else(|_| "100".to_owned());
        let width: usize = option("--width", &columns).parse()?;
        let candidate = std::fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
        let report = impact::fetch(base.trim_end_matches('/'), token.as_deref(), &candidate)?;
        print!("{}", impact::render(&report, width));
        return Ok(());
    }
    let stage = option("--stage", "local");
    let client =
        policy_core::storage::client_for(std::env::var("DYNAMODB_ENDPOINT").ok().as_deref()).await;
    match args.first().map(String::as_str) {
        Some("create-tables") => {
            let template = std::fs::read_to_string(option("--template", "template.yaml"))?;
            for table in tables_in(&template, &stage)? {
                create_table(&client, &table).await?;
            }
            Ok(())
        }
        Some("seed") => {
            let count: usize = option("--count", "10000").parse()?;
            seed(&client, &format!("policy-decision-{stage}-policies"), count).await
        }
        _ => Err("usage: devtool create-tables [--template FILE] [--stage NAME] | seed [--count N] [--stage NAME] \
                  | smoke --base-url URL [--token TOKEN] \
                  | impact --base-url URL --candidate FILE [--token TOKEN] [--width COLUMNS]"
            .into()),
    }
}

/// `(attribute name, type or key role)` pairs, as the template lists them.
type Pairs = Vec<(String, String)>;

/// A global secondary index as the template declares it.
#[derive(Debug)]
struct IndexDef {
    name: String,
    key: Pairs,
    projection: String,
    non_key: Vec<String>,
}

/// A table definition as the template declares it.
#[derive(Debug)]
struct TableDef {
    name: String,
    attributes: Pairs,
    key: Pairs,
    indexes: Vec<IndexDef>,
    ttl: Option<String>,
}

fn text(value: &Value, stage: &str) -> Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        // `!Sub policy-decision-${Stage}-quotes`: the only substitution the tables use.
        Value::Tagged(tagged) if tagged.tag == "Sub" => {
            Ok(text(&tagged.value, stage)?.replace("${Stage}", stage))
        }
        other => Err(format!("expected a string, found {other:?}").into()),
    }
}

fn pairs(list: &Value, a: &str, b: &str, stage: &str) -> Result<Pairs> {
    list.as_sequence()
        .ok_or("expected a list")?
        .iter()
        .map(|item| Ok((text(&item[a], stage)?, text(&item[b], stage)?)))
        .collect()
}

/// Every DynamoDB table in the template, with `${Stage}` replaced by `stage`.
fn tables_in(template: &str, stage: &str) -> Result<Vec<TableDef>> {
    let doc: Value = serde_yaml_ng::from_str(template)?;
    let resources = doc["Resources"]
        .as_mapping()
        .ok_or("the template has no Resources")?;
    let mut tables = Vec::new();
    for resource in resources.values() {
        if resource["Type"].as_str() != Some("AWS::DynamoDB::Table") {
            continue;
        }
        let p = &resource["Properties"];
        let mut indexes = Vec::new();
        if let Some(list) = p["GlobalSecondaryIndexes"].as_sequence() {
            for index in list {
                let projection = &index["Projection"];
                let non_key = projection["NonKeyAttributes"]
                    .as_sequence()
                    .map(|names| {
                        names
                            .iter()
                            .map(|n| text(n, stage))
                            .collect::<Result<Vec<_>>>()
                    })
                    .transpose()?
                    .unwrap_or_default();
                indexes.push(IndexDef {
                    name: text(&index["IndexName"], stage)?,
                    key: pairs(&index["KeySchema"], "AttributeName", "KeyType", stage)?,
                    projection: text(&projection["ProjectionType"], stage)?,
                    non_key,
                });
            }
        }
        let ttl = match &p["TimeToLiveSpecification"] {
            Value::Null => None,
            spec => Some(text(&spec["AttributeName"], stage)?),
        };
        tables.push(TableDef {
            name: text(&p["TableName"], stage)?,
            attributes: pairs(
                &p["AttributeDefinitions"],
                "AttributeName",
                "AttributeType",
                stage,
            )?,
            key: pairs(&p["KeySchema"], "AttributeName", "KeyType", stage)?,
            indexes,
            ttl,
        });
    }
    Ok(tables)
}

fn key_schema(key: &Pairs) -> Result<Vec<KeySchemaElement>> {
    key.iter()
        .map(|(name, kind)| {
            Ok(KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(KeyType::from(kind.as_str()))
                .build()?)
        })
        .collect()
}

async fn create_table(client: &Client, table: &TableDef) -> Result<()> {
    let mut request = client
        .create_table()
        .table_name(&table.name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(&table.key)?));
    for (name, kind) in &table.attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::from(kind.as_str()))
                .build()?,
        );
    }
    for IndexDef {
        name,
        key,
        projection,
        non_key,
    } in &table.indexes
    {
        let projection = Projection::builder()
            .projection_type(ProjectionType::from(projection.as_str()))
            .set_non_key_attributes((!non_key.is_empty()).then(|| non_key.clone()))
            .build();
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .set_key_schema(Some(key_schema(key)?))
                .projection(projection)
                .build()?,
        );
    }
    match request.send().await {
        Ok(_) => println!("created table {}", table.name),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(CreateTableError::is_resource_in_use_exception) =>
        {
            println!("table {} exists", table.name);
            return Ok(());
        }
        Err(err) => {
            return Err(aws_sdk_dynamodb::error::DisplayErrorContext(err)
                .to_string()
                .into());
        }
    }
    if let Some(attribute) = &table.ttl {
        client
            .update_time_to_live()
            .table_name(&table.name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attribute)
                    .enabled(true)
                    .build()?,
            )
            .send()
            .await
            .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
    }
    Ok(())
}

/// Seeds each policy's own stream of risk details.
const RISK_SEED: u64 = 0x7269_736b;

/// Fills in what a complete application gives for `table`'s product, drawn from `rng`: a ZIP code
/// (most in a listed territory), claims and a credit score, then the drivers and vehicle of an auto
/// policy or the dwelling of a home or renters policy, none built after `effective`. Rated on, so the book spreads over tiers
/// and territories.
fn describe_risk(
    table: &RateTable,
    body: &mut serde_json::Value,
    effective: Date,
    rng: &mut StdRng,
) {
    let listed = table.territory_prefixes();
    let prefix = if !listed.is_empty() && rng.random_range(0..10) < 6 {
        listed[rng.random_range(0..listed.len())]
    } else {
        let ranges = table.zip_prefixes();
        let range = &ranges[rng.random_range(0..ranges.len())];
        rng.random_range(range.clone())
    };
    let prefix = if table.excludes_zip_prefix(prefix) {
        *table.zip_prefixes()[0].start()
    } else {
        prefix
    };
    body["zip_code"] = format!("{prefix:03}{:02}", rng.random_range(0..100)).into();
    body["claims"] = [0, 0, 0, 0, 0, 1, 1, 2][rng.random_range(0..8)].into();
    body["credit_score"] = rng.random_range(560..=840).into();
    if table.policy_type == PolicyType::Auto {
        let drivers: Vec<serde_json::Value> = (0..rng.random_range(1..=2))
            .map(|_| {
                let age: u32 = rng.random_range(17..=80);
                let years_licensed = rng.random_range(0..=age - 16);
                let violations = [0, 0, 0, 0, 1, 2][rng.random_range(0..6)];
                let accidents = [0, 0, 0, 0, 0, 1][rng.random_range(0..6)];
                serde_json::json!({
                    "age": age, "years_licensed": years_licensed,
                    "violations": violations, "at_fault_accidents": accidents,
                })
            })
            .collect();
        body["drivers"] = drivers.into();
        body["vehicle"] = serde_json::json!({
            "year": rng.random_range(2008..=effective.year() + 1),
            "value": rng.random_range(8..=60) * 1000,
            "annual_mileage": rng.random_range(3..=25) * 1000,
        });
    } else {
        let mut property = serde_json::json!({
            "year_built": rng.random_range(1950..=effective.year()),
            "protection_class": rng.random_range(1..=10),
        });
        if table.policy_type == PolicyType::Home {
            property["dwelling_value"] = body["coverage"]["dwelling"].clone();
        }
        body["property"] = property;
    }
}

/// Policy `index` of the seed set: the same every run, so reseeding overwrites rather than adds.
fn seeded_policy(
    tables: &'static RateTables,
    written: &[State],
    rng: &mut StdRng,
    index: usize,
) -> Result<Policy> {
    let state = written[rng.random_range(0..written.len())];
    let policy_type = match rng.random_range(0..10) {
        0..=5 => PolicyType::Auto,
        6..=8 => PolicyType::Home,
        _ => PolicyType::Renters,
    };
    let start = Date::from_calendar_date(2024, Month::January, 1)?;
    let effective_date = start + time::Duration::days(rng.random_range(0..1035));
    let table = tables
        .in_force(state, policy_type, Business::NewBusiness, effective_date)
        .ok_or("no table in force")?
        .table;
    let term = if policy_type == PolicyType::Auto && rng.random_range(0..3) == 0 {
        Term::SemiAnnual
    } else {
        Term::Annual
    };
    // The request is built as a client would send it, so the policy keeps what it was rated on.
    let mut coverage = serde_json::Map::new();
    for kind in table.required_coverages() {
        let rates = table.coverage(kind).ok_or("no coverage")?;
        let limit = (rates.min_limit * rng.random_range(1..=4)).min(rates.max_limit);
        coverage.insert(kind.as_str().to_owned(), limit.into());
    }
    let mut body = serde_json::json!({
        "state": state, "policy_type": policy_type, "term": term, "coverage": coverage,
    });
    // The risk, drawn from a stream of its own so that the draws above and below (the book's
    // states, products, dates, terms and statuses) stay what they were.
    let mut risk = StdRng::seed_from_u64(RISK_SEED ^ u64::try_from(index)?);
    describe_risk(table, &mut body, effective_date, &mut risk);
    let request: RatingRequest = serde_json::from_value(body.clone())?;
    let rated = rate(tables, &request, effective_date)?;
    let decision = decide(&request, &rated, table);
    let rated_on = RatedOn {
        request: serde_json::to_string(&body)?,
        rate_table_version: rated.rate_table_version.to_owned(),
        rate_table_sha256: rated.rate_table_sha256.to_owned(),
    };
    let expiration_date = term_end(effective_date, term.months());
    let today = OffsetDateTime::now_utc().date();
    let status = if expiration_date < today {
        PolicyStatus::Expired
    } else if rng.random_range(0..10) == 0 {
        PolicyStatus::Cancelled
    } else {
        PolicyStatus::Active
    };
    // Drawn after the status, as before the rated inputs were kept, so the seed set is the same.
    let bound_at =
        effective_date.midnight().assume_utc() - time::Duration::days(rng.random_range(1..30));
    Ok(Policy {
        policy_number: format!("POL-{}-{index:06}", effective_date.year()),
        quote_id: format!("Q-{}-{index:06}", effective_date.year()),
        // Spread over a handful of agents, so per-caller lists have something to show.
        owner: format!("agent-{:02}", index % SEED_AGENTS + 1),
        state,
        policy_type,
        status,
        term,
        effective_date,
        expiration_date,
        total_premium: rated.total_premium,
        breakdown: serde_json::to_string(&rated)?,
        bound_at,
        bound_by: None,
        added_coverages: Vec::new(),
        rated_on: Some(rated_on),
        decisions: vec![DecisionEntry {
            outcome: decision.outcome,
            actor: SYSTEM_ACTOR.to_owned(),
            at: bound_at,
            note: None,
        }],
        decision: Some(decision),
        version: 1,
        term_number: 1,
        renewal_offer: None,
        cancellation_date: None,
    })
}

async fn seed(client: &Client, table: &str, count: usize) -> Result<()> {
    let tables = RateTables::builtin()?;
    let written = tables.states();
    let mut rng = StdRng::seed_from_u64(20_261_128);
    let bar = ProgressBar::new(u64::try_from(count)?);
    bar.set_style(ProgressStyle::with_template(
        "seeding {bar:40} {pos}/{len} policies ({per_sec}, eta {eta})",
    )?);
    let mut batch = Vec::with_capacity(25);
    for index in 1..=count {
        let policy = seeded_policy(tables, &written, &mut rng, index)?;
        let put = PutRequest::builder()
            .set_item(Some(policy_item(&policy)?))
            .build()?;
        batch.push(WriteRequest::builder().put_request(put).build());
        if batch.len() == 25 || index == count {
            let written = u64::try_from(batch.len())?;
            write_batch(client, table, std::mem::take(&mut batch)).await?;
            bar.inc(written);
        }
    }
    bar.finish();
    println!("seeded {count} policies into {table}");
    Ok(())
}

/// `BatchWriteItem`, retrying what DynamoDB leaves unprocessed with backoff.
async fn write_batch(client: &Client, table: &str, mut requests: Vec<WriteRequest>) -> Result<()> {
    for attempt in 0..8u32 {
        let output = client
            .batch_write_item()
            .request_items(table, requests)
            .send()
            .await
            .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
        match output
            .unprocessed_items
            .and_then(|mut left| left.remove(table))
            .filter(|l| !l.is_empty())
        {
            None => return Ok(()),
            Some(left) => requests = left,
        }
        tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
    }
    Err("DynamoDB kept items unprocessed".into())
}
