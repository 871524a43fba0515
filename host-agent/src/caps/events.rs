//! `vantage:plugin/events`: text a run reports beside its samples (a
//! matched log line), at most [`MAX_EVENTS`] per run, each cut to
//! [`MAX_EVENT_TEXT`] bytes. The normaliser checks their labels like
//! samples' and stamps them.

use vantage_protocol::rules::{MAX_EVENT_TEXT, MAX_EVENTS};
use vantage_protocol::text::clip;
use wasmtime::component::{HasSelf, Linker};

use super::Bounds;
use crate::bindings::vantage::plugin::events::{self, Event};

/// The events of one run.
pub(crate) struct EventsCap {
    bounds: Bounds,
    kept: Vec<Event>,
    dropped: u32,
}

impl EventsCap {
    pub(crate) fn new(bounds: &Bounds) -> Self {
        EventsCap {
            bounds: bounds.clone(),
            kept: Vec::new(),
            dropped: 0,
        }
    }

    /// The events kept, and how many were dropped past the limit.
    pub(crate) fn take(&mut self) -> (Vec<Event>, u32) {
        (std::mem::take(&mut self.kept), self.dropped)
    }
}

impl events::Host for EventsCap {
    async fn emit(&mut self, events: Vec<Event>) -> wasmtime::Result<u32> {
        self.bounds.budget.charge(1)?;
        let room = MAX_EVENTS - self.kept.len();
        let offered = events.len();
        self.kept.extend(events.into_iter().take(room).map(|mut e| {
            e.text = clip(e.text, MAX_EVENT_TEXT);
            e
        }));
        let kept = offered.min(room);
        self.dropped = self
            .dropped
            .saturating_add(u32::try_from(offered - kept).unwrap_or(u32::MAX));
        Ok(u32::try_from(kept).unwrap_or(u32::MAX))
    }
}

/// Adds `vantage:plugin/events` to `linker`, served by the [`EventsCap`]
/// that `get` finds in the store's data.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut EventsCap,
) -> wasmtime::Result<()> {
    events::add_to_linker::<T, HasSelf<EventsCap>>(linker, get)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::access::tests::bounds;

    fn event(text: String) -> Event {
        Event {
            at_ms: 0,
            text,
            labels: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_run_keeps_the_first_hundred_events_and_cuts_long_text() {
        let mut cap = EventsCap::new(&bounds(100, "t"));
        let first = vec![event("é".repeat(MAX_EVENT_TEXT)); 60];
        assert_eq!(events::Host::emit(&mut cap, first).await.unwrap(), 60);
        let second = vec![event("ERROR".into()); 60];
        assert_eq!(events::Host::emit(&mut cap, second).await.unwrap(), 40);
        let (kept, dropped) = cap.take();
        assert_eq!((kept.len(), dropped), (MAX_EVENTS, 20));
        assert!(kept[0].text.len() <= MAX_EVENT_TEXT);
        assert_eq!(kept[99].text, "ERROR");
    }

    #[tokio::test]
    async fn each_emit_is_charged_to_the_run() {
        let mut cap = EventsCap::new(&bounds(2, "t"));
        events::Host::emit(&mut cap, vec![]).await.unwrap();
        events::Host::emit(&mut cap, vec![]).await.unwrap();
        assert!(events::Host::emit(&mut cap, vec![]).await.is_err());
    }
}
