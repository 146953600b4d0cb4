//! The cache's control plane: warm-cache reads the serverless cache's state from ElastiCache's API
//! before it warms. `moto_server` does not answer `DescribeServerlessCaches`, so a small server
//! here answers as the API does (the query protocol: a form-encoded POST, an XML answer), with
//! documents shaped as the API reference's examples.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use e2e::Redis;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use policy_core::api::policies::Policies;
use policy_core::api::warm::{self, WarmReport};
use policy_core::cache::{Cache, CacheConfig};
use policy_core::control::{CacheControl, ControlError};

use crate::support::{policies_over, quoting_at, table_names};

const CACHE: &str = "policy-decision-dev-cache";

/// `DescribeServerlessCaches`' answer for one cache in `status`.
fn described(status: &str) -> String {
    format!(
        r#"<DescribeServerlessCachesResponse xmlns="http://elasticache.amazonaws.com/doc/2015-02-02/">
  <DescribeServerlessCachesResult>
    <ServerlessCaches>
      <member>
        <ServerlessCacheName>{CACHE}</ServerlessCacheName>
        <Description>policy-decision read cache</Description>
        <CreateTime>2026-11-02T09:14:31.127Z</CreateTime>
        <Status>{status}</Status>
        <Engine>valkey</Engine>
        <MajorEngineVersion>8</MajorEngineVersion>
        <FullEngineVersion>8.0</FullEngineVersion>
        <CacheUsageLimits>
          <DataStorage>
            <Maximum>1</Maximum>
            <Unit>GB</Unit>
          </DataStorage>
          <ECPUPerSecond>
            <Maximum>5000</Maximum>
          </ECPUPerSecond>
        </CacheUsageLimits>
        <SecurityGroupIds>
          <SecurityGroupId>sg-0a1b2c3d4e5f67890</SecurityGroupId>
        </SecurityGroupIds>
        <Endpoint>
          <Address>{CACHE}-abc123.serverless.use1.cache.amazonaws.com</Address>
          <Port>6379</Port>
        </Endpoint>
        <ARN>arn:aws:elasticache:us-east-1:123456789012:serverlesscache:{CACHE}</ARN>
        <SubnetIds>
          <member>subnet-0a1b2c3d</member>
          <member>subnet-4e5f6a7b</member>
        </SubnetIds>
      </member>
    </ServerlessCaches>
  </DescribeServerlessCachesResult>
  <ResponseMetadata>
    <RequestId>5b8a4f0e-7c2d-4a8b-9e1f-2d3c4b5a6f70</RequestId>
  </ResponseMetadata>
</DescribeServerlessCachesResponse>"#
    )
}

/// The API's error for a name it does not know.
const NOT_FOUND: &str = r#"<ErrorResponse xmlns="http://elasticache.amazonaws.com/doc/2015-02-02/">
  <Error>
    <Type>Sender</Type>
    <Code>ServerlessCacheNotFoundFault</Code>
    <Message>Serverless cache policy-decision-dev-cache not found.</Message>
  </Error>
  <RequestId>0f4e6a2b-1c3d-4e5f-8a9b-7c6d5e4f3a21</RequestId>
</ErrorResponse>"#;

/// A stand-in for ElastiCache's API that answers every call with one status and document, and
/// keeps the form of each request it was sent.
struct ControlPlane {
    address: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

impl ControlPlane {
    async fn answering(status: StatusCode, body: String) -> ControlPlane {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (seen, body) = (Arc::clone(&seen), body.clone());
                let service = service_fn(move |request: Request<Incoming>| {
                    let (seen, body) = (Arc::clone(&seen), body.clone());
                    async move {
                        let form = request.into_body().collect().await.unwrap().to_bytes();
                        seen.lock()
                            .unwrap()
                            .push(String::from_utf8_lossy(&form).into_owned());
                        let mut response = Response::new(Full::new(Bytes::from(body)));
                        *response.status_mut() = status;
                        response
                            .headers_mut()
                            .insert("content-type", "text/xml".parse().unwrap());
                        Ok::<_, Infallible>(response)
                    }
                });
                tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
            }
        });
        ControlPlane { address, requests }
    }

    async fn control(&self) -> CacheControl {
        CacheControl::new(CACHE.to_owned(), Some(&format!("http://{}", self.address))).await
    }
}

fn config(url: &str) -> CacheConfig {
    // Tests share two cores with the whole stack: allow Redis more than the production 25 ms.
    CacheConfig {
        redis_url: Some(url.to_owned()),
        timeout: std::time::Duration::from_millis(200),
        ..CacheConfig::default()
    }
}

async fn policies_with(cache: Cache) -> Policies {
    policies_over(quoting_at(None, table_names(), cache).await)
}

async fn warm_with(policies: &Policies, control: &CacheControl) -> WarmReport {
    let text =
        std::fs::read_to_string(e2e::events_dir().join("warm-cache/scheduled.json")).unwrap();
    let event = serde_json::from_str(&text).unwrap();
    let status = Some(control.describe().await);
    Box::pin(warm::handle(
        &policies.quoting,
        status,
        LambdaEvent::new(event, Context::default()),
    ))
    .await
    .unwrap()
}

#[tokio::test]
async fn an_available_cache_is_warmed_and_its_limits_are_reported() {
    let redis = Redis::start();
    let policies = policies_with(Cache::new(config(&redis.url())).unwrap()).await;
    let api = ControlPlane::answering(StatusCode::OK, described("available")).await;

    let report = warm_with(&policies, &api.control().await).await;

    // The cache was asked about by name, once
    let requests = api.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(
        requests[0].contains("Action=DescribeServerlessCaches"),
        "{requests:?}"
    );
    assert!(
        requests[0].contains(&format!("ServerlessCacheName={CACHE}")),
        "{requests:?}"
    );
    // What it said is in the report, and the run warmed
    let state = report.cache.as_ref().expect("the state read");
    assert_eq!(state.status, "available");
    assert_eq!(state.engine.as_deref(), Some("valkey 8.0"));
    assert_eq!(state.max_data_storage.as_deref(), Some("1 GB"));
    assert_eq!(state.max_ecpu_per_second, Some(5000));
    assert!(report.skipped.is_none(), "{report:?}");
    assert!(report.warmed > 0 && report.failed == 0, "{report:?}");
}

#[tokio::test]
async fn a_cache_that_is_not_available_is_not_warmed() {
    let redis = Redis::start();
    let policies = policies_with(Cache::new(config(&redis.url())).unwrap()).await;
    for status in ["creating", "modifying", "deleting", "create-failed"] {
        let api = ControlPlane::answering(StatusCode::OK, described(status)).await;

        let report = warm_with(&policies, &api.control().await).await;

        assert_eq!(report.warmed, 0, "{report:?}");
        let reason = report.skipped.as_deref().expect("a reason");
        assert!(
            reason.contains(status) && reason.contains(CACHE),
            "{reason}"
        );
        assert_eq!(report.cache.as_ref().unwrap().status, status);
    }
}

#[tokio::test]
async fn an_unknown_cache_is_not_warmed_and_a_failing_api_does_not_stop_the_warming() {
    let redis = Redis::start();
    let policies = policies_with(Cache::new(config(&redis.url())).unwrap()).await;

    // Given an API that knows no cache by that name
    let api = ControlPlane::answering(StatusCode::NOT_FOUND, NOT_FOUND.to_owned()).await;
    let control = api.control().await;
    assert_eq!(
        control.describe().await,
        Err(ControlError::NotFound(CACHE.to_owned()))
    );
    let report = warm_with(&policies, &control).await;
    assert_eq!(report.warmed, 0, "{report:?}");
    assert!(
        report
            .skipped
            .as_deref()
            .unwrap()
            .contains("no serverless cache named"),
        "{report:?}"
    );

    // Given an API that fails (its answer is no document at all)
    let api = ControlPlane::answering(StatusCode::INTERNAL_SERVER_ERROR, String::new()).await;
    let control = api.control().await;
    assert!(matches!(
        control.describe().await,
        Err(ControlError::Call(_))
    ));
    let report = warm_with(&policies, &control).await;
    // Then the data plane is warmed all the same, with nothing read to report
    assert!(report.warmed > 0 && report.skipped.is_none(), "{report:?}");
    assert!(report.cache.is_none());
}
