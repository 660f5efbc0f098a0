use server::{
    config::Config,
    startup::{Application, StartupError},
};
use std::collections::HashMap;
use tempfile::TempDir;

pub struct TestApp {
    pub address: String,
    pub setup_link: Option<String>,
    /// Keeps cookies, never follows redirects: tests look at each hop.
    pub client: reqwest::Client,
    pub data_dir: TempDir,
    pub state: server::state::AppState,
    /// The PostgreSQL database the app runs on, when not SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// The server and its background workers (abort to stop them).
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
}

pub fn config_with(data_dir: &TempDir, extra: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("ROSTER_LISTEN".into(), "127.0.0.1:0".into()),
        ("ROSTER_DATA_DIR".into(), data_dir.path().display().to_string()),
        ("ROSTER_LOG".into(), "warn".into()),
    ]);
    for (k, v) in extra {
        vars.insert((*k).into(), (*v).into());
    }
    Config::load(&vars).expect("test configuration is valid")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// The database tests run on: SQLite in the data directory, or, with
/// `ROSTER_TEST_BACKEND=postgres`, a fresh database in the throwaway cluster
/// (`make test` runs a subset of this suite that way).
pub fn on_postgres() -> bool {
    std::env::var("ROSTER_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let database_url = if on_postgres() {
        Some(crate::pg::fresh_database().await)
    } else {
        None
    };
    let mut extra = extra.to_vec();
    if let Some(url) = &database_url {
        extra.push(("ROSTER_DATABASE_URL", url.as_str()));
    }
    let app = Application::build(config_with(&data_dir, &extra))
        .await
        .expect("app starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let setup_link = app.setup_link().map(str::to_owned);
    let state = app.state().clone();
    let server = tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        setup_link,
        client: client(),
        data_dir,
        state,
        database_url,
        server,
    }
}

/// A server on an existing data directory and PostgreSQL database.
pub async fn spawn_on(data_dir: TempDir, database_url: &str, extra: &[(&str, &str)]) -> TestApp {
    let mut extra = extra.to_vec();
    extra.push(("ROSTER_DATABASE_URL", database_url));
    let app = Application::build(config_with(&data_dir, &extra))
        .await
        .expect("app starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let setup_link = app.setup_link().map(str::to_owned);
    let state = app.state().clone();
    let server = tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        setup_link,
        client: client(),
        data_dir,
        state,
        database_url: Some(database_url.to_owned()),
        server,
    }
}

impl TestApp {
    /// Stops this server and its workers and starts another on the same
    /// data directory and database (what survives is what is stored).
    pub async fn restart(&mut self, extra: &[(&str, &str)]) {
        self.server.abort();
        let mut extra = extra.to_vec();
        if let Some(url) = &self.database_url {
            extra.push(("ROSTER_DATABASE_URL", url.as_str()));
        }
        let app = Application::build(config_with(&self.data_dir, &extra))
            .await
            .expect("app starts again");
        self.address = format!("http://127.0.0.1:{}", app.port());
        self.state = app.state().clone();
        self.client = client();
        self.setup_link = None;
        self.server = tokio::spawn(app.run_until_stopped());
    }
}

pub async fn try_build(data_dir: &TempDir, extra: &[(&str, &str)]) -> Result<Application, StartupError> {
    Application::build(config_with(data_dir, extra)).await
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        // A request that hangs fails its test instead of stalling the suite.
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("http client")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A browser-like page request (HTML accepted).
    pub async fn get_page(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("accept", "text/html")
            .send()
            .await
            .expect("request")
    }

    /// Opens the printed setup link and confirms it; afterwards `client`
    /// holds an admin session.
    pub async fn sign_in_with_setup_link(&self) -> reqwest::Response {
        let link = self
            .setup_link
            .as_deref()
            .expect("a fresh instance prints a setup link");
        self.redeem_link(link).await
    }

    /// Confirms a setup or recovery link the way its confirm page does.
    pub async fn redeem_link(&self, link: &str) -> reqwest::Response {
        let token = link
            .split_once("token=")
            .map(|(_, token)| token.to_owned())
            .expect("link has a token");
        self.post_form("/setup", &[("token", &token)]).await
    }

    /// The origin a browser on Roster's public URL sends.
    pub fn origin(&self) -> String {
        self.state.public_url.as_str().to_owned()
    }

    /// Posts a form the way a browser without wasm does, with a same-origin `Origin`.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("origin", self.origin())
            .header("accept", "text/html")
            .form(form)
            .send()
            .await
            .expect("request")
    }
}

/// The `action` of the first `<form>` whose action starts with `prefix`.
pub fn form_action(html: &str, prefix: &str) -> Option<String> {
    html.match_indices("action=\"")
        .map(|(i, m)| &html[i + m.len()..])
        .filter_map(|rest| rest.split('"').next())
        .find(|action| action.starts_with(prefix))
        .map(str::to_owned)
}

/// A count by a query both databases understand, on the store's own pool
/// (invariant checks that look beneath the store's interface).
pub async fn count(store: &server::store::Store, sql: &str, binds: &[&str]) -> i64 {
    if let Some(pool) = store.postgres_pool() {
        let mut q = sqlx::query_scalar::<_, i64>(sql);
        for b in binds {
            q = q.bind(*b);
        }
        return q.fetch_one(pool).await.expect("count query");
    }
    let pool = store.sqlite_pool().expect("a SQLite or PostgreSQL store");
    let mut q = sqlx::query_scalar::<_, i64>(sql);
    for b in binds {
        q = q.bind(*b);
    }
    q.fetch_one(pool).await.expect("count query")
}

/// The types of the events about `entity`, oldest first, read through the
/// whole log.
pub async fn event_types_of(store: &server::store::Store, entity: &str) -> Vec<String> {
    let mut types = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .events_page(&server::store::EventFilter {
                after,
                limit: 1000,
                ..server::store::EventFilter::default()
            })
            .await
            .expect("an events page");
        let Some(last) = page.last() else { return types };
        after = last.position;
        types.extend(
            page.into_iter()
                .filter(|e| e.entity_id == entity)
                .map(|e| e.event_type),
        );
    }
}
