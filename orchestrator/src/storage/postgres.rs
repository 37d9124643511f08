//! The PostgreSQL backend (production). Migrations: `migrations/postgres`.

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use super::sql::shared_storage;
use super::{StorageError, StoreOptions};

/// Run storage on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StorageError> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect(url)
            .await?;
        Ok(Self { pool })
    }

    /// Wraps an existing pool (tests get one per database from `#[sqlx::test]`).
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn run_migrations(&self) -> Result<(), StorageError> {
        // sqlx takes an advisory lock, so concurrent starts migrate once.
        sqlx::migrate!("../migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }
}

shared_storage!(PgStore, sqlx::Postgres);
