//! Alerting's API (docs/alerting.md): rules, the alerts they raise,
//! channels and routes, silences and maintenance windows.

mod active;
mod channels;
mod rules;
mod silences;
mod windows;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    rules::router()
        .merge(active::router())
        .merge(channels::router())
        .merge(silences::router())
        .merge(windows::router())
}
