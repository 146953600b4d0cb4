//! One configuration, read once at cold start from the environment, with one rule: a variable that
//! is present but invalid stops the start with a message naming it, and one that is absent takes
//! its documented default (or, where a function needs it and there is none, stops the start too).
//! Nothing else in the crate reads the environment.

use std::time::Duration;

use crate::caller::AuthMode;

/// A variable the functions read: its name, whether it has a default, and what it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable {
    /// The environment variable.
    pub name: &'static str,
    /// Whether leaving it unset is fine everywhere (it has a default, or only a local stack sets it).
    pub optional: bool,
    /// What it sets.
    pub about: &'static str,
}

/// Every variable [`Settings`] reads. The template test checks `template.yaml` against this list.
pub const VARIABLES: &[Variable] = &[
    Variable {
        name: "AUTH_MODE",
        optional: false,
        about: "jwt (check the authorizer's claims) or off (local stacks only)",
    },
    Variable {
        name: "POLICIES_TABLE",
        optional: false,
        about: "the policies table",
    },
    Variable {
        name: "QUOTES_TABLE",
        optional: false,
        about: "the quotes table",
    },
    Variable {
        name: "IDEMPOTENCY_TABLE",
        optional: false,
        about: "the idempotency-key table",
    },
    Variable {
        name: "TRANSACTIONS_TABLE",
        optional: false,
        about: "the policy transactions table (each policy's ledger)",
    },
    Variable {
        name: "QUOTE_VALIDITY_DAYS",
        optional: false,
        about: "days a quote can be bound, 1 to 365 (default 30)",
    },
    Variable {
        name: "CURSOR_SECRET_ID",
        optional: false,
        about: "the Secrets Manager secret (ARN or name) list cursors are signed with",
    },
    Variable {
        name: "CURSOR_SECRET",
        optional: true,
        about: "local stacks only: the cursor secret itself, at least 32 bytes",
    },
    Variable {
        name: "SECRETS_MANAGER_ENDPOINT",
        optional: true,
        about: "a Secrets Manager endpoint other than the region's (a local stand-in)",
    },
    Variable {
        name: "SERVERLESS_CACHE_NAME",
        optional: true,
        about: "the ElastiCache Serverless cache whose status warm-cache reads before warming (unset: a plain Redis, no status check)",
    },
    Variable {
        name: "ELASTICACHE_ENDPOINT",
        optional: true,
        about: "an ElastiCache API endpoint other than the region's (a local stand-in)",
    },
    Variable {
        name: "REDIS_URL",
        optional: false,
        about: "the cache (rediss:// for TLS); empty or unset: in-process cache only",
    },
    Variable {
        name: "DYNAMODB_ENDPOINT",
        optional: true,
        about: "a DynamoDB endpoint other than the region's (DynamoDB Local)",
    },
    Variable {
        name: "CACHE_L1_MAX_BYTES",
        optional: true,
        about: "in-process cache size in bytes (default 32 MiB)",
    },
    Variable {
        name: "CACHE_L1_TTL_SECS",
        optional: true,
        about: "in-process cache time to live (default 5 s)",
    },
    Variable {
        name: "CACHE_TIMEOUT_MS",
        optional: true,
        about: "Redis connect and command timeout (default 25 ms)",
    },
    Variable {
        name: "CACHE_BREAKER_SECS",
        optional: true,
        about: "how long Redis is skipped after a failure (default 5 s)",
    },
    Variable {
        name: "CACHE_CONNECT_TIMEOUT_MS",
        optional: true,
        about: "the first Redis connection's timeout, TLS handshake included (default 250 ms)",
    },
    Variable {
        name: "REDIS_CA_FILE",
        optional: true,
        about: "a PEM file of the only CAs the cache's TLS trusts (default: the system's)",
    },
];

/// A variable that is invalid, or missing where a function needs it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {problem}")]
pub struct SettingsError {
    /// The variable.
    pub name: &'static str,
    /// What is wrong.
    pub problem: String,
}

impl SettingsError {
    fn new(name: &'static str, problem: impl Into<String>) -> SettingsError {
        SettingsError {
            name,
            problem: problem.into(),
        }
    }
}

/// The names of the DynamoDB tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    /// Policies.
    pub policies: String,
    /// Quotes.
    pub quotes: String,
    /// Idempotency records.
    pub idempotency: String,
    /// Each policy's ledger.
    pub transactions: String,
}

/// The in-process and Redis cache's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSettings {
    /// L1 size bound in bytes.
    pub l1_max_bytes: u64,
    /// L1 time to live: bounds staleness within one environment.
    pub l1_ttl: Duration,
    /// Redis URL (`rediss://` for TLS, `redis://:password@host` for AUTH); none: L1 only.
    pub redis_url: Option<String>,
    /// Connect and command timeout.
    pub timeout: Duration,
    /// How long Redis is skipped after a failure.
    pub breaker: Duration,
    /// How long the first connection may take, TLS handshake included: it is made once, at cold
    /// start, so it gets more than a command's budget.
    pub connect_timeout: Duration,
    /// The CAs (PEM) the cache's TLS trusts instead of the system's, if any.
    pub redis_ca: Option<Vec<u8>>,
}

impl Default for CacheSettings {
    fn default() -> CacheSettings {
        CacheSettings {
            l1_max_bytes: 32 << 20,
            l1_ttl: Duration::from_secs(5),
            redis_url: None,
            timeout: Duration::from_millis(25),
            breaker: Duration::from_secs(5),
            connect_timeout: Duration::from_millis(250),
            redis_ca: None,
        }
    }
}

/// Everything the functions are configured with.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    /// Whether callers are checked.
    pub auth: AuthMode,
    /// A DynamoDB endpoint other than the region's.
    pub dynamodb_endpoint: Option<String>,
    /// How long a quote can be bound.
    pub quote_validity: time::Duration,
    /// The cache.
    pub cache: CacheSettings,
    policies_table: Option<String>,
    quotes_table: Option<String>,
    idempotency_table: Option<String>,
    transactions_table: Option<String>,
    cursor_secret: Option<Vec<u8>>,
    cursor_secret_id: Option<String>,
    /// A Secrets Manager endpoint other than the region's.
    pub secrets_endpoint: Option<String>,
    /// The ElastiCache Serverless cache whose status warm-cache reads (`SERVERLESS_CACHE_NAME`);
    /// none for a plain Redis (the local stack), which has no control plane to ask.
    pub serverless_cache: Option<String>,
    /// An ElastiCache API endpoint other than the region's (`ELASTICACHE_ENDPOINT`).
    pub elasticache_endpoint: Option<String>,
}

/// Where the cursor secret comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorSecret<'a> {
    /// The secret itself (`CURSOR_SECRET`): a local stack's, never rotated.
    Local(&'a [u8]),
    /// A Secrets Manager secret by ARN or name (`CURSOR_SECRET_ID`).
    Managed(&'a str),
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("auth", &self.auth)
            .field("dynamodb_endpoint", &self.dynamodb_endpoint)
            .field("quote_validity", &self.quote_validity)
            .field("cache", &self.cache)
            .field("policies_table", &self.policies_table)
            .field("quotes_table", &self.quotes_table)
            .field("idempotency_table", &self.idempotency_table)
            .field("transactions_table", &self.transactions_table)
            .field("cursor_secret", &self.cursor_secret.as_ref().map(|_| ".."))
            .field("cursor_secret_id", &self.cursor_secret_id)
            .field("secrets_endpoint", &self.secrets_endpoint)
            .field("serverless_cache", &self.serverless_cache)
            .field("elasticache_endpoint", &self.elasticache_endpoint)
            .finish()
    }
}

/// The default number of days a quote can be bound.
pub const DEFAULT_QUOTE_VALIDITY_DAYS: i64 = 30;

impl Settings {
    /// Reads the process environment. Call once per cold start.
    pub fn from_env() -> Result<Settings, SettingsError> {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (the environment, or a test's map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let read = Reader(&lookup);
        let defaults = CacheSettings::default();
        let settings = Settings {
            auth: match read.text("AUTH_MODE") {
                None => AuthMode::Jwt,
                Some(mode) if mode.eq_ignore_ascii_case("jwt") => AuthMode::Jwt,
                Some(mode) if mode.eq_ignore_ascii_case("off") => AuthMode::Off,
                Some(_) => return Err(SettingsError::new("AUTH_MODE", "must be jwt or off")),
            },
            dynamodb_endpoint: read.text("DYNAMODB_ENDPOINT"),
            quote_validity: time::Duration::days(
                read.number("QUOTE_VALIDITY_DAYS", 1..=365)?
                    .map_or(DEFAULT_QUOTE_VALIDITY_DAYS, |days| {
                        i64::try_from(days).unwrap_or(DEFAULT_QUOTE_VALIDITY_DAYS)
                    }),
            ),
            cache: CacheSettings {
                l1_max_bytes: read
                    .number("CACHE_L1_MAX_BYTES", 0..=(1 << 40))?
                    .unwrap_or(defaults.l1_max_bytes),
                l1_ttl: read
                    .number("CACHE_L1_TTL_SECS", 1..=3600)?
                    .map_or(defaults.l1_ttl, Duration::from_secs),
                redis_url: read.text("REDIS_URL"),
                timeout: read
                    .number("CACHE_TIMEOUT_MS", 1..=60_000)?
                    .map_or(defaults.timeout, Duration::from_millis),
                breaker: read
                    .number("CACHE_BREAKER_SECS", 0..=3600)?
                    .map_or(defaults.breaker, Duration::from_secs),
                connect_timeout: read
                    .number("CACHE_CONNECT_TIMEOUT_MS", 1..=60_000)?
                    .map_or(defaults.connect_timeout, Duration::from_millis),
                redis_ca: read
                    .text("REDIS_CA_FILE")
                    .map(|path| {
                        std::fs::read(&path).map_err(|err| {
                            SettingsError::new(
                                "REDIS_CA_FILE",
                                format!("cannot read {path}: {err}"),
                            )
                        })
                    })
                    .transpose()?,
            },
            policies_table: read.text("POLICIES_TABLE"),
            quotes_table: read.text("QUOTES_TABLE"),
            idempotency_table: read.text("IDEMPOTENCY_TABLE"),
            transactions_table: read.text("TRANSACTIONS_TABLE"),
            cursor_secret: match read.text("CURSOR_SECRET") {
                Some(secret) if secret.len() < MIN_CURSOR_SECRET_LEN => {
                    return Err(SettingsError::new(
                        "CURSOR_SECRET",
                        format!("must be at least {MIN_CURSOR_SECRET_LEN} bytes"),
                    ));
                }
                secret => secret.map(String::into_bytes),
            },
            cursor_secret_id: read.text("CURSOR_SECRET_ID"),
            secrets_endpoint: read.text("SECRETS_MANAGER_ENDPOINT"),
            serverless_cache: read.text("SERVERLESS_CACHE_NAME"),
            elasticache_endpoint: read.text("ELASTICACHE_ENDPOINT"),
        };
        settings.check_auth_off_is_local()?;
        settings.check_cursor_secret_is_local()?;
        Ok(settings)
    }

    /// A cursor secret in the environment is a local stack's: refused unless the function talks only
    /// to services on this machine, and with a secret from Secrets Manager as well.
    fn check_cursor_secret_is_local(&self) -> Result<(), SettingsError> {
        if self.cursor_secret.is_none() {
            return Ok(());
        }
        if self.cursor_secret_id.is_some() {
            return Err(SettingsError::new(
                "CURSOR_SECRET",
                "set CURSOR_SECRET_ID or CURSOR_SECRET, not both",
            ));
        }
        if !self
            .dynamodb_endpoint
            .as_deref()
            .is_some_and(is_loopback_url)
        {
            return Err(SettingsError::new(
                "CURSOR_SECRET",
                "is for local stacks only (DYNAMODB_ENDPOINT on this machine); \
                 in AWS set CURSOR_SECRET_ID to a Secrets Manager secret",
            ));
        }
        Ok(())
    }

    /// `AUTH_MODE=off` makes every caller an administrator: it is refused unless the function
    /// talks only to services on this machine (a DynamoDB endpoint, and any Redis, on loopback), as
    /// on a local stack and never in AWS.
    fn check_auth_off_is_local(&self) -> Result<(), SettingsError> {
        if self.auth != AuthMode::Off {
            return Ok(());
        }
        let refuse = |why: String| {
            Err(SettingsError::new(
                "AUTH_MODE",
                format!("off is for local stacks only: {why}"),
            ))
        };
        match self.dynamodb_endpoint.as_deref() {
            None => return refuse("DYNAMODB_ENDPOINT is not set, so DynamoDB is AWS's".into()),
            Some(url) if !is_loopback_url(url) => {
                return refuse(format!("DYNAMODB_ENDPOINT {url} is not on this machine"));
            }
            Some(_) => {}
        }
        if let Some(url) = self.cache.redis_url.as_deref()
            && !is_loopback_url(url)
        {
            return refuse("REDIS_URL is not on this machine".into());
        }
        Ok(())
    }

    /// The policies table, for a function that reads only policies.
    pub fn policies_table(&self) -> Result<&str, SettingsError> {
        required("POLICIES_TABLE", self.policies_table.as_deref())
    }

    /// All four tables, for a function that quotes, binds or lists.
    pub fn tables(&self) -> Result<TableNames, SettingsError> {
        Ok(TableNames {
            policies: self.policies_table()?.to_owned(),
            quotes: required("QUOTES_TABLE", self.quotes_table.as_deref())?.to_owned(),
            idempotency: required("IDEMPOTENCY_TABLE", self.idempotency_table.as_deref())?
                .to_owned(),
            transactions: required("TRANSACTIONS_TABLE", self.transactions_table.as_deref())?
                .to_owned(),
        })
    }

    /// Where the secret list cursors are signed with comes from, for a function that pages.
    pub fn cursor_secret(&self) -> Result<CursorSecret<'_>, SettingsError> {
        match (&self.cursor_secret, &self.cursor_secret_id) {
            (Some(secret), _) => Ok(CursorSecret::Local(secret)),
            (None, Some(id)) => Ok(CursorSecret::Managed(id)),
            (None, None) => Err(SettingsError::new("CURSOR_SECRET_ID", "is not set")),
        }
    }
}

/// Whether `url`'s host is this machine: `localhost`, `127.0.0.0/8` or `[::1]`.
fn is_loopback_url(url: &str) -> bool {
    let authority = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = match host_port.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The smallest cursor secret accepted, in bytes.
pub const MIN_CURSOR_SECRET_LEN: usize = 32;

fn required<'a>(name: &'static str, value: Option<&'a str>) -> Result<&'a str, SettingsError> {
    value.ok_or_else(|| SettingsError::new(name, "is not set"))
}

struct Reader<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Reader<'_> {
    /// The variable's value; empty counts as unset.
    fn text(&self, name: &'static str) -> Option<String> {
        (self.0)(name).filter(|value| !value.is_empty())
    }

    /// A whole number in `range`; present but not one is an error naming the variable.
    fn number(
        &self,
        name: &'static str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Option<u64>, SettingsError> {
        let Some(text) = self.text(name) else {
            return Ok(None);
        };
        text.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| range.contains(n))
            .map(Some)
            .ok_or_else(|| {
                SettingsError::new(
                    name,
                    format!(
                        "\"{text}\" is not a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn absent_variables_take_their_defaults() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.auth, AuthMode::Jwt);
        assert_eq!(s.cache, CacheSettings::default());
        assert_eq!(s.quote_validity, time::Duration::days(30));
        assert_eq!(s.dynamodb_endpoint, None);
    }

    #[test]
    fn a_present_but_invalid_variable_stops_the_start_naming_it() {
        for (name, value) in [
            ("AUTH_MODE", "none"),
            ("QUOTE_VALIDITY_DAYS", "0"),
            ("QUOTE_VALIDITY_DAYS", "thirty"),
            ("CACHE_TIMEOUT_MS", "25ms"),
            ("CACHE_L1_TTL_SECS", "-1"),
            ("CACHE_BREAKER_SECS", "1e3"),
            ("CACHE_L1_MAX_BYTES", "lots"),
            ("CACHE_CONNECT_TIMEOUT_MS", "0"),
            ("REDIS_CA_FILE", "/nonexistent/ca.pem"),
            ("CURSOR_SECRET", "short"),
        ] {
            let err = settings(&[(name, value)]).unwrap_err();
            assert_eq!(err.name, name, "{value}");
            assert!(err.to_string().starts_with(name), "{err}");
        }
    }

    #[test]
    fn auth_off_is_refused_unless_every_endpoint_is_on_this_machine() {
        let local = [
            ("AUTH_MODE", "OFF"),
            ("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000"),
            ("REDIS_URL", "redis://localhost:6379"),
        ];
        assert_eq!(settings(&local).unwrap().auth, AuthMode::Off);
        let ipv6 = [
            ("AUTH_MODE", "off"),
            ("DYNAMODB_ENDPOINT", "http://[::1]:8000"),
        ];
        assert_eq!(settings(&ipv6).unwrap().auth, AuthMode::Off);
        for refused in [
            vec![("AUTH_MODE", "off")],
            vec![
                ("AUTH_MODE", "off"),
                (
                    "DYNAMODB_ENDPOINT",
                    "https://dynamodb.us-east-1.amazonaws.com",
                ),
            ],
            vec![
                ("AUTH_MODE", "off"),
                ("DYNAMODB_ENDPOINT", "http://127.0.0.1.example.com:8000"),
            ],
            vec![
                ("AUTH_MODE", "off"),
                ("DYNAMODB_ENDPOINT", "http://10.0.0.7:8000"),
            ],
            vec![
                ("AUTH_MODE", "off"),
                ("DYNAMODB_ENDPOINT", "http://localhost:8000"),
                ("REDIS_URL", "rediss://user:pw@cache.example.com:6379"),
            ],
        ] {
            let err = settings(&refused).unwrap_err();
            assert_eq!(err.name, "AUTH_MODE", "{refused:?}");
        }
        // With checks on, any endpoint is fine.
        let jwt = [
            ("AUTH_MODE", "jwt"),
            ("DYNAMODB_ENDPOINT", "http://10.0.0.7:8000"),
        ];
        assert_eq!(settings(&jwt).unwrap().auth, AuthMode::Jwt);
    }

    #[test]
    fn valid_values_are_read() {
        let s = settings(&[
            ("AUTH_MODE", "JWT"),
            ("DYNAMODB_ENDPOINT", "http://localhost:8000"),
            ("QUOTE_VALIDITY_DAYS", "7"),
            ("CACHE_TIMEOUT_MS", "250"),
            ("REDIS_URL", "rediss://cache:6379"),
            ("POLICIES_TABLE", "p"),
            ("QUOTES_TABLE", "q"),
            ("IDEMPOTENCY_TABLE", "i"),
            ("TRANSACTIONS_TABLE", "t"),
            ("CURSOR_SECRET", &"s".repeat(32)),
        ])
        .unwrap();
        assert_eq!(s.auth, AuthMode::Jwt);
        assert_eq!(s.quote_validity, time::Duration::days(7));
        assert_eq!(s.cache.timeout, Duration::from_millis(250));
        assert_eq!(s.cache.redis_url.as_deref(), Some("rediss://cache:6379"));
        assert_eq!(s.tables().unwrap().idempotency, "i");
        assert_eq!(s.cursor_secret(), Ok(CursorSecret::Local(&[b's'; 32])));
        assert!(
            !format!("{s:?}").contains("sssss"),
            "the secret is not printed"
        );
    }

    #[test]
    fn a_table_a_function_needs_but_nobody_set_is_named() {
        let s = settings(&[("POLICIES_TABLE", "p")]).unwrap();
        assert_eq!(s.policies_table(), Ok("p"));
        assert_eq!(s.tables().unwrap_err().name, "QUOTES_TABLE");
        assert_eq!(s.cursor_secret().unwrap_err().name, "CURSOR_SECRET_ID");
    }

    #[test]
    fn a_cursor_secret_in_the_environment_is_a_local_stacks_only() {
        let secret = "s".repeat(32);
        let managed = settings(&[(
            "CURSOR_SECRET_ID",
            "arn:aws:secretsmanager:eu-west-1:1:secret:c",
        )])
        .unwrap();
        assert_eq!(
            managed.cursor_secret(),
            Ok(CursorSecret::Managed(
                "arn:aws:secretsmanager:eu-west-1:1:secret:c"
            ))
        );
        for refused in [
            vec![("CURSOR_SECRET", secret.as_str())],
            vec![
                ("CURSOR_SECRET", secret.as_str()),
                (
                    "DYNAMODB_ENDPOINT",
                    "https://dynamodb.eu-west-1.amazonaws.com",
                ),
            ],
            vec![
                ("CURSOR_SECRET", secret.as_str()),
                ("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000"),
                ("CURSOR_SECRET_ID", "c"),
            ],
        ] {
            let err = settings(&refused).unwrap_err();
            assert_eq!(err.name, "CURSOR_SECRET", "{refused:?}");
        }
        let local = settings(&[
            ("CURSOR_SECRET", secret.as_str()),
            ("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000"),
        ])
        .unwrap();
        assert!(matches!(local.cursor_secret(), Ok(CursorSecret::Local(_))));
    }

    #[test]
    fn every_variable_read_is_listed() {
        let source = include_str!("settings.rs");
        let listed: Vec<&str> = VARIABLES.iter().map(|v| v.name).collect();
        for lead in ["text(\"", "number(\""] {
            for (at, _) in source.match_indices(lead) {
                let rest = &source[at + lead.len()..];
                let name = &rest[..rest.find('"').unwrap()];
                if name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                    assert!(
                        listed.contains(&name),
                        "{name} is read but not in VARIABLES"
                    );
                }
            }
        }
    }
}
