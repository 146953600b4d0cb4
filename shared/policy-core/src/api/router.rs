//! One way in: each function's routes as a static table, and one router that matches, authorizes
//! and dispatches every request in the same order (route, then method, then token and scope, then
//! the handler, which reads the body).
//!
//! The tables are data: the consistency tests read them to check the `OpenAPI` document, the SAM
//! template's scopes and the local router against them, so no route is listed by hand twice.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use lambda_http::http::Method;
use lambda_http::tower::{Layer, Service};
use lambda_http::{Body, Request, RequestExt, Response};

use super::ApiError;
use super::auth::{AuthMode, authorize};
use crate::caller::{Caller, Scope};
use crate::telemetry::layer::{BoxFuture, Invocation, RouteLabel, Telemetry, request_id};

/// What a handler returns.
pub type Answer = Result<Response<Body>, ApiError>;

/// A route's handler: the function's shared state and the call the router established.
pub type Handler<S> = fn(Arc<S>, Call) -> BoxFuture<Answer>;

/// One route of a function.
#[derive(Debug)]
pub struct Route<S: 'static> {
    /// The method it answers.
    pub method: Method,
    /// Its path, with `{name}` for a path parameter, as in the `OpenAPI` document.
    pub pattern: &'static str,
    /// The scope a caller needs; `None` for a public route.
    pub scope: Option<Scope>,
    /// `METHOD pattern`: the route's name in logs and metrics.
    pub label: &'static str,
    /// What answers it.
    pub handler: Handler<S>,
}

/// A route, with its label made from its method and pattern:
/// `route!(POST "/api/v1/quotes", Some(Scope::QuotesWrite), quotes::create)`, where the handler is
/// an `async fn(Arc<S>, Call) -> Answer`.
#[macro_export]
macro_rules! route {
    ($method:ident $pattern:literal, $scope:expr, $handler:path) => {
        $crate::api::router::Route {
            method: $crate::api::router::Method::$method,
            pattern: $pattern,
            scope: $scope,
            label: concat!(stringify!($method), " ", $pattern),
            handler: |state, call| Box::pin($handler(state, call)),
        }
    };
}

/// A function's routes.
#[derive(Debug)]
pub struct Table<S: 'static> {
    /// The function's name: its folder, crate, binary and template resource.
    pub function: &'static str,
    /// Its routes.
    pub routes: &'static [Route<S>],
}

/// The path parameters of a matched route, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(&'static str, String)>);

impl Params {
    /// The value of `{name}`; empty if the route's pattern has no such parameter.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, value)| value.as_str())
    }
}

/// Everything a handler is given: the request, who is calling, the path parameters, the request id
/// and when the request arrived.
#[derive(Debug)]
pub struct Call {
    /// The request as received.
    pub request: Request,
    /// The authorized caller ([`Caller::public`] on a public route).
    pub caller: Caller,
    /// The path parameters.
    pub params: Params,
    /// The request id, as in `x-request-id` and the logs.
    pub request_id: String,
    /// When the request arrived.
    pub started: Instant,
    /// Whether this is the execution environment's first request.
    pub cold_start: bool,
    /// When the answer must be ready: the invocation's deadline less a margin.
    pub deadline: Instant,
}

/// How long before the invocation's deadline the answer is given, so it always goes out as a
/// problem document rather than Lambda ending the invocation without one.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(1);
/// The budget of a request that carries no Lambda deadline (a direct call, a test): the template's
/// 10 s function timeout less the margin.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(9);

/// When the answer to `request`, which arrived at `started`, must be ready: the Lambda context's
/// deadline less [`DEADLINE_MARGIN`], or [`DEFAULT_BUDGET`] after arrival without one.
fn deadline_of(request: &Request, started: Instant) -> Instant {
    let remaining = request.lambda_context_ref().and_then(|context| {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()?
            .as_millis();
        let left_ms = u128::from(context.deadline).checked_sub(now_ms)?;
        Some(Duration::from_millis(u64::try_from(left_ms).ok()?))
    });
    match remaining {
        // Lambda never gives more than 15 minutes; a deadline past that means the context is off.
        Some(left) if left < Duration::from_secs(15 * 60) => {
            Instant::now() + left.saturating_sub(DEADLINE_MARGIN)
        }
        Some(_) | None => started + DEFAULT_BUDGET,
    }
}

/// What the path segments of `path` give for `pattern`, if they match. One leading segment more
/// than the pattern has is a stage name (`/dev/api/v1/...`) and is skipped. Empty segments (a
/// trailing or doubled slash) do not count.
pub fn match_path(pattern: &'static str, path: &str) -> Option<Params> {
    let wanted: Vec<&'static str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let given: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let given = match given.len().checked_sub(wanted.len())? {
        0 => &given[..],
        1 => &given[1..],
        _ => return None,
    };
    let mut params = Vec::new();
    for (want, got) in wanted.iter().zip(given) {
        match want.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
            Some(name) => params.push((name, (*got).to_owned())),
            None if want == got => {}
            None => return None,
        }
    }
    Some(Params(params))
}

/// What the table says about a request's method and path.
#[derive(Debug)]
pub enum Matched<'t, S: 'static> {
    /// A route answers it.
    Route(&'t Route<S>, Params),
    /// The path is known, the method is not: these methods are.
    MethodNotAllowed(Vec<&'t Method>),
    /// No route has that path.
    NotFound,
}

impl<S> Table<S> {
    /// Finds the route for `method` and `path`.
    pub fn find(&self, method: &Method, path: &str) -> Matched<'_, S> {
        let mut allowed = Vec::new();
        for route in self.routes {
            let Some(params) = match_path(route.pattern, path) else {
                continue;
            };
            if route.method == method {
                return Matched::Route(route, params);
            }
            allowed.push(&route.method);
        }
        if allowed.is_empty() {
            Matched::NotFound
        } else {
            Matched::MethodNotAllowed(allowed)
        }
    }
}

/// The labels of requests no route answers.
const NOT_FOUND_LABEL: &str = "unknown route";
const NOT_ALLOWED_LABEL: &str = "method not allowed";

/// The service that answers one function's requests from its table and its shared state.
#[derive(Debug)]
pub struct Router<S: 'static> {
    state: Arc<S>,
    table: &'static Table<S>,
    auth: AuthMode,
}

impl<S> Clone for Router<S> {
    fn clone(&self) -> Self {
        Router {
            state: Arc::clone(&self.state),
            table: self.table,
            auth: self.auth,
        }
    }
}

impl<S: Send + Sync + 'static> Router<S> {
    /// A router over `table`, lending `state` to every handler, checking callers as `auth` says.
    pub fn new(table: &'static Table<S>, state: Arc<S>, auth: AuthMode) -> Router<S> {
        Router { state, table, auth }
    }

    /// The router with the telemetry layer around it: what the runtime is given.
    pub fn service(self) -> <Telemetry as Layer<Router<S>>>::Service {
        Telemetry::new(self.table.function).layer(self)
    }

    /// Answers one request.
    pub async fn answer(self, request: Request) -> Response<Body> {
        let invocation = request
            .extensions()
            .get::<Invocation>()
            .cloned()
            .unwrap_or_else(|| Invocation {
                request_id: request_id(&request),
                started: Instant::now(),
                cold_start: false,
            });
        let path = request.uri().path().to_owned();
        let (label, answer) = self.dispatch(request, &invocation).await;
        let mut response = answer.unwrap_or_else(|err| {
            if err.is_operator_error() {
                crate::telemetry::record_operator_error();
            }
            err.into_response(&invocation.request_id, Some(&path))
        });
        response.extensions_mut().insert(RouteLabel(label));
        response
    }

    async fn dispatch(&self, request: Request, invocation: &Invocation) -> (&'static str, Answer) {
        let (route, params) = match self.table.find(request.method(), request.uri().path()) {
            Matched::Route(route, params) => (route, params),
            Matched::NotFound => {
                let err = ApiError::NotFound {
                    detail: format!("no route {}", request.uri().path()),
                };
                return (NOT_FOUND_LABEL, Err(err));
            }
            Matched::MethodNotAllowed(allowed) => {
                let err = ApiError::MethodNotAllowed {
                    method: request.method().to_string(),
                    allow: allowed
                        .iter()
                        .map(|m| m.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                return (NOT_ALLOWED_LABEL, Err(err));
            }
        };
        let caller = match route.scope {
            None => Caller::public(),
            Some(scope) => match authorize(self.auth, &request, scope) {
                Ok(caller) => caller,
                Err(err) => return (route.label, Err(err.into())),
            },
        };
        let deadline = deadline_of(&request, invocation.started);
        let call = Call {
            request,
            caller,
            params,
            request_id: invocation.request_id.clone(),
            started: invocation.started,
            cold_start: invocation.cold_start,
            deadline,
        };
        let handled = (route.handler)(Arc::clone(&self.state), call);
        // Past the deadline the handler is dropped, and with it any call still waiting on
        // DynamoDB; what it wrote may still land, as after any lost answer, and a retry with the
        // same Idempotency-Key finds it.
        let answer = match tokio::time::timeout_at(deadline.into(), handled).await {
            Ok(answer) => answer,
            Err(_) => Err(ApiError::Unavailable {
                retry_after_secs: 1,
                source: "the request's deadline passed".into(),
            }),
        };
        (route.label, answer)
    }
}

impl<S: Send + Sync + 'static> Service<Request> for Router<S> {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let router = self.clone();
        Box::pin(async move { Ok(router.answer(request).await) })
    }
}

/// Serves `table` with `state` until the runtime stops: every function's `main` ends here. With
/// `AWS_LAMBDA_MAX_CONCURRENCY` above 1 the runtime hands over that many requests at once, each in
/// its own task: a request's figures (its record, its span) belong to its task, never shared.
pub async fn serve<S: Send + Sync + 'static>(
    table: &'static Table<S>,
    state: S,
    auth: AuthMode,
) -> Result<(), lambda_http::Error> {
    if auth == AuthMode::Off {
        tracing::warn!(
            function = table.function,
            "AUTH_MODE=off: authorization is OFF, every caller is an administrator; \
             never deploy with this setting"
        );
    }
    lambda_http::run_concurrent(Router::new(table, Arc::new(state), auth).service()).await
}

/// How many requests the environment hands over at once: `AWS_LAMBDA_MAX_CONCURRENCY` (set by
/// Lambda Managed Instances), else one.
pub fn max_concurrency() -> usize {
    std::env::var("AWS_LAMBDA_MAX_CONCURRENCY")
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .filter(|n: &usize| *n >= 1)
        .unwrap_or(1)
}

/// The async runtime a function runs on: one thread when requests come one at a time (classic
/// Lambda: nothing to share a core with), a thread per core when several come at once.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    if max_concurrency() > 1 {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `lambda_http::run_concurrent` asks of a service.
    fn can_serve_concurrently<T: Service<Request> + Clone + Send + 'static>()
    where
        T::Future: Send + 'static,
    {
    }

    #[test]
    fn every_functions_service_can_serve_requests_concurrently() {
        use crate::telemetry::layer::Timed;
        can_serve_concurrently::<Timed<Router<super::super::calculate_rate::Rates>>>();
        #[cfg(feature = "aws")]
        {
            can_serve_concurrently::<Timed<Router<crate::quoting::Quoting>>>();
            can_serve_concurrently::<Timed<Router<super::super::policies::Policies>>>();
            can_serve_concurrently::<Timed<Router<super::super::health::Health>>>();
        }
    }

    #[test]
    fn the_deadline_is_the_invocations_less_a_margin_or_the_default_budget() {
        let started = Instant::now();
        let plain = Request::new(Body::Empty);
        assert_eq!(deadline_of(&plain, started), started + DEFAULT_BUDGET);

        let now_ms = u64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap();
        let with_deadline = |deadline| {
            let mut context = lambda_http::Context::default();
            context.deadline = deadline;
            Request::new(Body::Empty).with_lambda_context(context)
        };
        let three_s = deadline_of(&with_deadline(now_ms + 3_000), started);
        let left = three_s.saturating_duration_since(Instant::now());
        assert!(
            left <= Duration::from_secs(2) && left > Duration::from_millis(1_500),
            "{left:?}"
        );
        // A deadline already within the margin leaves no time at all.
        let late = deadline_of(&with_deadline(now_ms + 500), started);
        assert!(late <= Instant::now());
    }

    #[test]
    fn patterns_match_whole_segments_and_name_their_parameters() {
        let bind = "/api/v1/quotes/{quote_id}/bind";
        let params = match_path(bind, "/api/v1/quotes/Q-2026-ABC/bind").unwrap();
        assert_eq!(params.get("quote_id"), "Q-2026-ABC");
        assert_eq!(params.get("other"), "");
        assert!(match_path(bind, "/api/v1/quotes/Q-2026-ABC").is_none());
        assert!(match_path(bind, "/api/v1/quotes/Q-2026-ABC/bind/x").is_none());
        assert!(match_path(bind, "/api/v1/quotes//bind").is_none());
        assert!(match_path("/api/v1/quotes", "/api/v1/quotes/").is_some());
        assert!(match_path("/api/v1/quotes", "/api/v1/quotesx").is_none());
    }

    #[test]
    fn a_stage_name_before_the_path_is_skipped_and_nothing_more() {
        let one = "/api/v1/policies/{policy_number}";
        let params = match_path(one, "/dev/api/v1/policies/POL-2026-000001").unwrap();
        assert_eq!(params.get("policy_number"), "POL-2026-000001");
        assert!(match_path(one, "/a/b/api/v1/policies/POL-2026-000001").is_none());
        assert!(match_path("/api/v1/health", "/dev/api/v2/health").is_none());
    }
}
