//! The load run: `--users` simulated users, each sending one request after another for
//! `--duration`, optionally under a global `--rate` cap, over pooled HTTP/1 keep-alive connections,
//! or to the functions' route tables in this process (the testbed's ceiling, [`crate::inprocess`]).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::Value;
use tokio::time::Instant;

use crate::inprocess::Functions;
use crate::mix::{self, BRIEF_STATES, Profile, Step};
use crate::stats::{Outcome, Recorder};

/// One request's time limit.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Ids and numbers kept for later reads, per kind.
const KEEP: usize = 2000;

/// What a run is asked to do.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `http://host:port`, no trailing slash.
    pub base_url: String,
    /// The mix.
    pub profile: Profile,
    /// Concurrent users.
    pub users: usize,
    /// How long to send.
    pub duration: Duration,
    /// Requests per second over all users, if capped.
    pub rate: Option<u32>,
    /// Random seed: the same seed draws the same sequence of steps per user.
    pub seed: u64,
}

/// Where requests go.
pub enum Transport {
    /// Over HTTP to the plan's base URL.
    Http(Box<Client<HttpConnector, Full<Bytes>>>),
    /// To the functions' route tables in this process.
    InProcess(Arc<Functions>),
}

impl Transport {
    /// A pooled HTTP/1 keep-alive client for `users` users.
    pub fn http(users: usize) -> Transport {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Transport::Http(Box::new(
            Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(users)
                .pool_idle_timeout(Duration::from_secs(30))
                .build(connector),
        ))
    }
}

/// What users share: the transport, the clock, the rate limiter and what earlier requests returned.
struct Shared {
    plan: Plan,
    transport: Transport,
    start: Instant,
    deadline: Instant,
    next_slot: Cell<Instant>,
    /// The run's first day: changes take effect from it on.
    today: time::Date,
    recorder: RefCell<Recorder>,
    quotes: RefCell<VecDeque<String>>,
    bindable: RefCell<VecDeque<String>>,
    policies: RefCell<VecDeque<String>>,
    /// Policies this run bound and may change, with the day offset their next change takes
    /// effect on (changes go forward in time, so none is out of sequence). A policy is taken out
    /// while a user changes it, so no two users change one policy at once.
    owned: RefCell<VecDeque<(String, i64)>>,
    /// Policies this run cancelled for non-payment, to reinstate.
    cancelled: RefCell<VecDeque<(String, i64)>>,
}

fn keep<T>(list: &RefCell<VecDeque<T>>, value: T) {
    let mut list = list.borrow_mut();
    if list.len() == KEEP {
        list.pop_front();
    }
    list.push_back(value);
}

/// Runs `plan` over `transport` and returns what it recorded and how long it took.
pub async fn run(plan: Plan, transport: Transport) -> (Recorder, Duration) {
    let start = Instant::now();
    let shared = Rc::new(Shared {
        deadline: start + plan.duration,
        next_slot: Cell::new(start),
        today: time::OffsetDateTime::now_utc().date(),
        plan,
        transport,
        start,
        recorder: RefCell::new(Recorder::default()),
        quotes: RefCell::new(VecDeque::new()),
        bindable: RefCell::new(VecDeque::new()),
        policies: RefCell::new(VecDeque::new()),
        owned: RefCell::new(VecDeque::new()),
        cancelled: RefCell::new(VecDeque::new()),
    });
    let local = tokio::task::LocalSet::new();
    let users: Vec<_> = (0..shared.plan.users)
        .map(|user| local.spawn_local(simulate(Rc::clone(&shared), user)))
        .collect();
    local
        .run_until(async move {
            for user in users {
                let _ = user.await;
            }
        })
        .await;
    let elapsed = start.elapsed();
    let recorder = shared.recorder.take();
    (recorder, elapsed)
}

/// Waits for this request's slot under the rate cap; false when the slot is past the deadline.
async fn wait_for_slot(shared: &Shared) -> bool {
    let Some(rate) = shared.plan.rate.filter(|&r| r > 0) else {
        return true;
    };
    let interval = Duration::from_secs(1) / rate;
    let slot = shared.next_slot.get().max(Instant::now());
    shared.next_slot.set(slot + interval);
    if slot >= shared.deadline {
        return false;
    }
    tokio::time::sleep_until(slot).await;
    true
}

async fn simulate(shared: Rc<Shared>, user: usize) {
    let mut rng =
        StdRng::seed_from_u64(shared.plan.seed ^ (user as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let steps = shared.plan.profile.steps();
    let total = mix::total_weight(steps);
    while Instant::now() < shared.deadline {
        if !wait_for_slot(&shared).await {
            break;
        }
        let Some(step) = mix::pick(steps, rng.random_range(0..total)) else {
            break;
        };
        step_once(&shared, step, &mut rng).await;
    }
}

/// Sends one request for `step`, or for what it needs first (a quote to read or bind, a list page
/// to find a policy number in).
async fn step_once(shared: &Shared, step: Step, rng: &mut StdRng) {
    match step {
        Step::ListFirstPage => {
            send(
                shared,
                step,
                Method::GET,
                "/api/v1/policies?limit=10".to_owned(),
                None,
            )
            .await;
        }
        Step::CreateQuote => create_quote(shared, rng).await,
        Step::Rate => {
            let state = BRIEF_STATES[rng.random_range(0..BRIEF_STATES.len())];
            send(
                shared,
                step,
                Method::POST,
                "/api/v1/rates/calculate".to_owned(),
                Some(shared.plan.profile.body(state)),
            )
            .await;
        }
        Step::GetQuote => {
            let id = {
                let quotes = shared.quotes.borrow();
                (!quotes.is_empty()).then(|| quotes[rng.random_range(0..quotes.len())].clone())
            };
            match id {
                Some(id) => {
                    send(
                        shared,
                        step,
                        Method::GET,
                        format!("/api/v1/quotes/{id}"),
                        None,
                    )
                    .await;
                }
                None => create_quote(shared, rng).await,
            }
        }
        Step::Bind => {
            let id = shared.bindable.borrow_mut().pop_front();
            match id {
                Some(id) => {
                    let answer = send(
                        shared,
                        step,
                        Method::POST,
                        format!("/api/v1/quotes/{id}/bind"),
                        Some(String::new()),
                    )
                    .await;
                    if let Some((StatusCode::CREATED, json)) = answer
                        && let Some(number) = json["policy_number"].as_str()
                    {
                        keep(&shared.owned, (number.to_owned(), 1));
                    }
                }
                None => create_quote(shared, rng).await,
            }
        }
        Step::Endorse | Step::Cancel | Step::Ledger => change_policy(shared, step, rng).await,
        Step::Reinstate => reinstate(shared, rng).await,
        Step::ListFiltered => {
            let path = filtered_list_path(rng);
            if let Some((StatusCode::OK, json)) = send(shared, step, Method::GET, path, None).await
            {
                for item in json["items"].as_array().into_iter().flatten().take(5) {
                    if let Some(number) = item["policy_number"].as_str() {
                        keep(&shared.policies, number.to_owned());
                    }
                }
            }
        }
        Step::GetPolicy => {
            let number = {
                let policies = shared.policies.borrow();
                (!policies.is_empty())
                    .then(|| policies[rng.random_range(0..policies.len())].clone())
            };
            match number {
                Some(number) => {
                    send(
                        shared,
                        step,
                        Method::GET,
                        format!("/api/v1/policies/{number}"),
                        None,
                    )
                    .await;
                }
                None => Box::pin(step_once(shared, Step::ListFiltered, rng)).await,
            }
        }
    }
}

/// An endorsement, a non-payment cancellation or a ledger read of a policy this run bound (one
/// bound first if there is none yet), effective on the policy's next day.
async fn change_policy(shared: &Shared, step: Step, rng: &mut StdRng) {
    let Some((number, day)) = shared.owned.borrow_mut().pop_front() else {
        return Box::pin(step_once(shared, Step::Bind, rng)).await;
    };
    let date = shared.today + time::Duration::days(day);
    match step {
        Step::Endorse => {
            let collision = 20_000 + 5_000 * rng.random_range(0..20);
            let body = format!(
                r#"{{"effective_date":"{date}","changes":{{"coverage":{{"collision":{collision}}}}}}}"#
            );
            let path = format!("/api/v1/policies/{number}/endorsements");
            send(shared, step, Method::POST, path, Some(body)).await;
            keep(&shared.owned, (number, day + 1));
        }
        Step::Cancel => {
            let body = format!(r#"{{"effective_date":"{date}","reason":"non_payment"}}"#);
            let path = format!("/api/v1/policies/{number}/cancellation");
            if let Some((StatusCode::CREATED, _)) =
                send(shared, step, Method::POST, path, Some(body)).await
            {
                keep(&shared.cancelled, (number, day));
            }
        }
        _ => {
            let path = format!("/api/v1/policies/{number}/transactions");
            send(shared, step, Method::GET, path, None).await;
            keep(&shared.owned, (number, day));
        }
    }
}

/// A reinstatement of a policy this run cancelled (one cancelled first if there is none yet).
async fn reinstate(shared: &Shared, rng: &mut StdRng) {
    let Some((number, day)) = shared.cancelled.borrow_mut().pop_front() else {
        return Box::pin(step_once(shared, Step::Cancel, rng)).await;
    };
    let path = format!("/api/v1/policies/{number}/reinstatement");
    if let Some((StatusCode::CREATED, _)) = send(
        shared,
        Step::Reinstate,
        Method::POST,
        path,
        Some(String::new()),
    )
    .await
    {
        keep(&shared.owned, (number, day + 1));
    }
}

/// `POST /api/v1/quotes` of the profile's body; the quote is kept for reads, and for binding when
/// accepted.
async fn create_quote(shared: &Shared, rng: &mut StdRng) {
    let state = BRIEF_STATES[rng.random_range(0..BRIEF_STATES.len())];
    let answer = send(
        shared,
        Step::CreateQuote,
        Method::POST,
        "/api/v1/quotes".to_owned(),
        Some(shared.plan.profile.body(state)),
    )
    .await;
    let created = answer
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .map(|(_, json)| json);
    if let Some(json) = created
        && let Some(id) = json["quote_id"].as_str()
    {
        if json["decision"]["outcome"] == "accepted" {
            keep(&shared.bindable, id.to_owned());
        }
        keep(&shared.quotes, id.to_owned());
    }
}

/// A list query with some of the filters a client uses: state, product, status, page size.
fn filtered_list_path(rng: &mut StdRng) -> String {
    const STATES: [&str; 7] = ["CA", "TX", "NY", "FL", "PA", "IL", "MI"];
    const TYPES: [&str; 3] = ["auto", "home", "renters"];
    const STATUSES: [&str; 3] = ["active", "cancelled", "expired"];
    const LIMITS: [u32; 3] = [10, 20, 50];
    let mut query = vec![format!(
        "limit={}",
        LIMITS[rng.random_range(0..LIMITS.len())]
    )];
    if rng.random_bool(0.7) {
        query.push(format!(
            "state={}",
            STATES[rng.random_range(0..STATES.len())]
        ));
    }
    if rng.random_bool(0.5) {
        query.push(format!(
            "policy_type={}",
            TYPES[rng.random_range(0..TYPES.len())]
        ));
    }
    if rng.random_bool(0.3) {
        query.push(format!(
            "status={}",
            STATUSES[rng.random_range(0..STATUSES.len())]
        ));
    }
    format!("/api/v1/policies?{}", query.join("&"))
}

/// Sends one request and records it; the status and JSON body when there was an answer.
async fn send(
    shared: &Shared,
    step: Step,
    method: Method,
    path: String,
    body: Option<String>,
) -> Option<(StatusCode, Value)> {
    let started = Instant::now();
    let answer = match &shared.transport {
        Transport::Http(client) => {
            let mut builder = Request::builder()
                .method(method)
                .uri(format!("{}{path}", shared.plan.base_url));
            if body.is_some() {
                builder = builder.header("content-type", "application/json");
            }
            let request = builder
                .body(Full::new(Bytes::from(body.unwrap_or_default())))
                .ok()?;
            tokio::time::timeout(REQUEST_TIMEOUT, async {
                let response = client.request(request).await.map_err(|e| {
                    if e.is_connect() {
                        "connect".to_owned()
                    } else {
                        "transport".to_owned()
                    }
                })?;
                let status = response.status();
                let bytes = response
                    .into_body()
                    .collect()
                    .await
                    .map_err(|_| "body".to_owned())?
                    .to_bytes();
                Ok::<_, String>((status, bytes))
            })
            .await
        }
        Transport::InProcess(functions) => {
            tokio::time::timeout(REQUEST_TIMEOUT, functions.answer(method, &path, body)).await
        }
    };
    let finished = Instant::now();
    let (outcome, result) = match answer {
        Ok(Ok((status, bytes))) => (
            Outcome::Status(status.as_u16()),
            Some((
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )),
        ),
        Ok(Err(kind)) => (Outcome::Transport(kind), None),
        Err(_) => (Outcome::Transport("timeout".to_owned()), None),
    };
    shared.recorder.borrow_mut().record(
        step.route(),
        &outcome,
        finished - started,
        finished - shared.start,
    );
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filtered_list_paths_always_bound_the_page_and_use_known_filters() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let path = filtered_list_path(&mut rng);
            let query = path.strip_prefix("/api/v1/policies?").unwrap();
            assert!(query.starts_with("limit="), "{path}");
            for pair in query.split('&') {
                let (name, _) = pair.split_once('=').unwrap();
                assert!(
                    ["limit", "state", "policy_type", "status"].contains(&name),
                    "{path}"
                );
            }
        }
    }
}
