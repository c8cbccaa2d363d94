//! The two backends every store test runs on.

use store::{OpenMode, Store};

const PG_ADMIN_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub(crate) struct TestDb {
    pub(crate) store: Store,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>, // (admin url, database name)
}

impl TestDb {
    pub(crate) async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = store::sqlite_url(&dir.path().join("catalog.db"));
        let store = Store::open(&url, OpenMode::Create)
            .await
            .expect("open sqlite");
        TestDb {
            store,
            _dir: Some(dir),
            pg: None,
        }
    }

    #[allow(dead_code)]
    pub(crate) async fn postgres() -> Option<TestDb> {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let admin = std::env::var("LINER_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| PG_ADMIN_DEFAULT.to_owned());
        let mut conn = match sqlx::AnyConnection::connect(&admin).await {
            Ok(c) => c,
            Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("CI=true and PostgreSQL at {admin} is unreachable: {e}")
            }
            Err(e) => {
                eprintln!("skipping the PostgreSQL half of this test: {admin} unreachable ({e})");
                return None;
            }
        };
        let name = format!("liner_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create database");
        conn.close().await.ok();
        let base = admin
            .rsplit_once('/')
            .map_or(admin.as_str(), |(b, _)| b)
            .to_owned();
        let store = Store::open(&format!("{base}/{name}"), OpenMode::Existing)
            .await
            .expect("open postgres");
        Some(TestDb {
            store,
            _dir: None,
            pg: Some((admin, name)),
        })
    }

    pub(crate) async fn finish(self) {
        self.store.close().await;
        if let Some((admin, name)) = self.pg {
            use sqlx::Connection;
            if let Ok(mut conn) = sqlx::AnyConnection::connect(&admin).await {
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok();
            }
        }
    }
}

#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test]
            async fn sqlite() {
                let db = super::TestDb::sqlite().await;
                super::$case(&db.store).await;
                db.finish().await;
            }
            #[tokio::test]
            async fn postgres() {
                let Some(db) = super::TestDb::postgres().await else { return };
                super::$case(&db.store).await;
                db.finish().await;
            }
        }
    )*};
}
