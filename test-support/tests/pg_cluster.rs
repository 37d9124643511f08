//! The test's own PostgreSQL cluster, really started, restarted and removed; and the fault proxy
//! in front of it, cutting a real client's connection.

#![allow(clippy::unwrap_used)]

use orch_test_support::fault_proxy::FaultProxy;
use orch_test_support::pg_cluster::{PgCluster, StopMode};
use sqlx::{Connection, PgConnection};

async fn one(url: &str) -> Result<i32, sqlx::Error> {
    let mut conn = PgConnection::connect(url).await?;
    sqlx::query_scalar("SELECT 1").fetch_one(&mut conn).await
}

#[tokio::test]
async fn a_cluster_serves_restarts_fast_and_immediate_and_is_removed_when_dropped() {
    let mut cluster = PgCluster::start().await.unwrap();
    assert_ne!(cluster.port(), 5432);
    cluster.create_database("orch").await.unwrap();
    let url = cluster.url("orch");
    assert_eq!(one(&url).await.unwrap(), 1);
    let mut held = PgConnection::connect(&url).await.unwrap();
    cluster.restart(StopMode::Fast).await.unwrap();
    assert!(
        sqlx::query("SELECT 1").execute(&mut held).await.is_err(),
        "a connection survived a restart"
    );
    assert_eq!(one(&url).await.unwrap(), 1);
    cluster.stop(StopMode::Immediate).await.unwrap();
    assert!(one(&url).await.is_err(), "a stopped server answered");
    cluster.start_server().await.unwrap();
    assert_eq!(one(&url).await.unwrap(), 1);
    drop(cluster);
    assert!(one(&url).await.is_err(), "a dropped cluster still serves");
}

#[tokio::test]
async fn a_cut_proxy_fails_postgres_clients_until_healed() {
    let cluster = PgCluster::start().await.unwrap();
    let proxy = FaultProxy::start(cluster.addr().parse().unwrap())
        .await
        .unwrap();
    let url = proxy.url_through(&cluster.url("postgres"));
    let mut conn = PgConnection::connect(&url).await.unwrap();
    sqlx::query("SELECT 1").execute(&mut conn).await.unwrap();
    proxy.cut();
    assert!(sqlx::query("SELECT 1").execute(&mut conn).await.is_err());
    assert!(one(&url).await.is_err(), "connected through a cut");
    proxy.heal();
    assert_eq!(one(&url).await.unwrap(), 1);
}
