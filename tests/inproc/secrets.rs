//! The cursor secret from Secrets Manager (`moto_server` standing in for it): read at cold start,
//! current and previous versions, so a rotation keeps open cursors working; a plain secret is a
//! local stack's only.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;
use e2e::free_port;
use policy_core::api::cursor::cursor_key;
use policy_core::settings::Settings;

/// A `moto_server` of a test's own, stopped when dropped.
struct Moto(Child, String);

impl Moto {
    fn start() -> Moto {
        let port = free_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server is installed (make tools)");
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto_server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto(child, url)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn client(endpoint: &str) -> Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    Client::new(&config)
}

fn settings_for(secret: &str, endpoint: &str) -> Settings {
    let vars = HashMap::from([
        ("CURSOR_SECRET_ID", secret.to_owned()),
        ("SECRETS_MANAGER_ENDPOINT", endpoint.to_owned()),
    ]);
    Settings::from_lookup(|name| vars.get(name).cloned()).unwrap()
}

fn resume() -> HashMap<String, String> {
    HashMap::from([("policy_number".to_owned(), "POL-2026-000001".to_owned())])
}

#[tokio::test]
async fn a_rotation_of_the_managed_secret_keeps_open_cursors_working() {
    // Given a cursor secret in Secrets Manager, and a function started with it
    let moto = Moto::start();
    let secrets = client(&moto.1).await;
    let (first, second) = ("a".repeat(64), "b".repeat(64));
    secrets
        .create_secret()
        .name("pd-test-cursor-secret")
        .secret_string(&first)
        .send()
        .await
        .unwrap();
    let settings = settings_for("pd-test-cursor-secret", &moto.1);
    let before = cursor_key(&settings).await.unwrap();
    let old_cursor = before.seal("q", resume());

    // When the secret is rotated, and a function starts after it
    secrets
        .put_secret_value()
        .secret_id("pd-test-cursor-secret")
        .secret_string(&second)
        .send()
        .await
        .unwrap();
    let after = cursor_key(&settings).await.unwrap();

    // Then the new function opens the cursor signed before the rotation (AWSPREVIOUS), and signs
    // with the new secret, which the old secret does not open
    assert_eq!(after.open("q", &old_cursor).unwrap(), resume());
    let new_cursor = after.seal("q", resume());
    assert!(after.open("q", &new_cursor).is_ok());
    assert!(
        !before.signed(&new_cursor),
        "signed with the rotated secret"
    );
    let only_first = policy_core::api::cursor::CursorKey::new(first.as_bytes()).unwrap();
    assert!(only_first.open("q", &new_cursor).is_err());
}

#[tokio::test]
async fn a_missing_or_short_managed_secret_stops_the_start() {
    let moto = Moto::start();
    let secrets = client(&moto.1).await;
    let missing = cursor_key(&settings_for("pd-test-nothing-here", &moto.1)).await;
    assert!(
        missing
            .unwrap_err()
            .to_string()
            .contains("pd-test-nothing-here")
    );
    secrets
        .create_secret()
        .name("pd-test-short")
        .secret_string("short")
        .send()
        .await
        .unwrap();
    let short = cursor_key(&settings_for("pd-test-short", &moto.1)).await;
    assert!(short.unwrap_err().to_string().contains("at least 32 bytes"));
}
