//! The test services' environment, as `scripts/test-services.sh` prints it (`DATABASE_URL` of
//! the shared PostgreSQL server, `ORCH_TEST_S3_ENDPOINT`, `AWS_*`): reading it with a message
//! that says how to get it, a fresh database per test on the shared server ([`TestDb`]) for
//! suites whose processes cannot use `#[sqlx::test]`'s pool, and the process's one rustls
//! crypto provider. A test that restarts or cuts PostgreSQL uses `pg_cluster` instead.

use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// The value of `name`, or a failed test saying how to start the services.
pub fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run `eval \"$(scripts/test-services.sh)\"` before the tests")
    })
}

/// Installs ring as the process's rustls crypto provider, as `orch` does at start-up (a second
/// call is a no-op).
pub fn init_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A fresh database on the server of `DATABASE_URL`, for one test.
#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    name: String,
    admin_url: String,
}

impl TestDb {
    pub async fn create() -> Self {
        let admin_url = required_env("DATABASE_URL");
        let name = format!("orch_e2e_{}", uuid::Uuid::now_v7().simple());
        let mut conn = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("connect to DATABASE_URL: {e}"));
        sqlx::query(AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let _ = conn.close().await;
        let mut url = url::Url::parse(&admin_url)
            .unwrap_or_else(|e| panic!("DATABASE_URL is not a URL: {e}"));
        url.set_path(&name);
        Self {
            url: url.to_string(),
            name,
            admin_url,
        }
    }

    pub async fn connect(&self) -> PgConnection {
        PgConnection::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.name))
    }

    /// Drops the database; called at the end of a passing test (a failing one keeps it).
    pub async fn drop_database(self) {
        let mut conn = PgConnection::connect(&self.admin_url)
            .await
            .unwrap_or_else(|e| panic!("connect to DATABASE_URL: {e}"));
        sqlx::query(AssertSqlSafe(format!(
            r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#,
            self.name
        )))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("DROP DATABASE {}: {e}", self.name));
    }
}

/// For each `name`, generates `name::postgres` (a fresh database from `#[sqlx::test]`, handed to
/// `$postgres(pool, super::name)`) and `name::sqlite` (`$sqlite(super::name)`): the one macro
/// that runs a test body on both backends (the storage, daemon and web suites pass their own
/// runners, which open the stores their tests take). The calling crate needs `sqlx` and `tokio`.
#[macro_export]
macro_rules! on_both_backends {
    ($postgres:path, $sqlite:path; $($name:ident),+ $(,)?) => {$(
        mod $name {
            #[sqlx::test(migrations = false)]
            async fn postgres(pool: sqlx::PgPool) {
                $postgres(pool, super::$name).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $sqlite(super::$name).await;
            }
        }
    )+};
}
