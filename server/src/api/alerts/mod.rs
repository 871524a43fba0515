//! Alerting's API (docs/alerting.md): rules, and the alerts they raise.

mod active;
mod channels;
mod rules;
mod silences;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    rules::router()
        .merge(active::router())
        .merge(channels::router())
        .merge(silences::router())
}
