//! One proof run's own world: a fresh database and message namespace on the
//! machine's services (so a run never touches a site's data), its staff, and
//! the cleanup afterwards.

use mediadist_platform::{amqp, db, Config};
use sqlx::PgPool;

pub struct RunEnv {
    pub config: Config,
    pub pool: PgPool,
    pub run_id: String,
    db_name: String,
    admin_url: String,
}

impl RunEnv {
    /// `kind` names the run in the namespace and the database (faults, bench).
    pub async fn create(kind: &str) -> anyhow::Result<RunEnv> {
        let mut config = Config::from_env()?;
        let run_id = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
        let db_name = format!("md_{kind}_{run_id}");
        let (base, _) = config
            .database_url
            .rsplit_once('/')
            .ok_or_else(|| anyhow::anyhow!("DATABASE_URL has no database name"))?;
        let admin_url = format!("{base}/postgres");
        config.database_url = format!("{base}/{db_name}");
        config.namespace = format!("{kind}{run_id}");
        let pool = db::connect_and_migrate(&config.database_url, 8).await?;
        for (username, role) in crate::model::STAFF {
            mediadist::staff::add(&pool, username, &format!("Synthetic {username}"), role).await?;
        }
        Ok(RunEnv {
            config,
            pool,
            run_id,
            db_name,
            admin_url,
        })
    }

    /// Removes the namespace's exchanges and queues and the database.
    pub async fn destroy(self, extra_queues: &[String]) {
        if let Ok(conn) = amqp::connect(&self.config.amqp_url, "proof-cleanup").await {
            if let Ok(ch) = conn.create_channel().await {
                for q in extra_queues {
                    crate::queues::delete(&ch, q).await;
                }
                let _ = amqp::delete_topology(&ch, &self.config).await;
            }
            let _ = conn.close(200, "bye").await;
        }
        self.pool.close().await;
        if let Ok(admin) = db::connect(&self.admin_url, 1).await {
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.db_name
            ))
            .execute(&admin)
            .await;
        }
    }

    pub fn db_name(&self) -> &str {
        &self.db_name
    }
}
