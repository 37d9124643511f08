//! `GET /instance`: the daemon replicas — host, pid, start, heartbeat age, alive or dead (lease
//! expired: their claims are taken over), and what each last did.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use chrono::Utc;

use crate::daemon_json::DaemonJson;
use crate::state::AppState;
use crate::ui::format;
use crate::ui::guard::Viewer;
use crate::ui::page::PageError;

#[derive(Debug, Template, WebTemplate)]
#[template(path = "instance.html")]
pub struct InstancePage {
    viewer: Viewer,
    daemons: Vec<DaemonView>,
}

#[derive(Debug)]
pub struct DaemonView {
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub started: String,
    pub heartbeat_age: String,
    pub state: &'static str,
    pub last_action: String,
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<InstancePage, PageError> {
    let now = Utc::now();
    let daemons = state
        .store
        .list_daemons()
        .await?
        .iter()
        .map(|d| {
            let json = DaemonJson::new(d, now);
            DaemonView {
                id: json.id,
                host: json.host,
                pid: json.pid,
                started: format::instant(d.started_at),
                heartbeat_age: format!("{} ago", format::duration_ms(json.heartbeat_age_ms)),
                state: json.state,
                last_action: match (&d.last_action, d.last_action_at) {
                    (Some(action), Some(at)) => format!("{action} ({})", format::instant(at)),
                    _ => "—".to_owned(),
                },
            }
        })
        .collect();
    Ok(InstancePage { viewer, daemons })
}
