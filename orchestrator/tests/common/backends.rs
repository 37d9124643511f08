//! The one macro that runs a test body on both backends, shared by the storage, daemon and web
//! test suites (included with `#[path]`; each suite passes its own runners, which open the
//! stores its tests take).

/// For each `name`, generates `name::postgres` (a fresh database from `#[sqlx::test]`, handed to
/// `$postgres(pool, super::name)`) and `name::sqlite` (`$sqlite(super::name)`).
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
pub(crate) use on_both_backends;
