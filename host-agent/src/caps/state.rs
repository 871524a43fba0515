//! `vantage:plugin/state`: bytes a check keeps from one run to the next, so
//! a plugin can report rates between runs (a scraped counter's change per
//! second). One slot per plugin, check and target, in the agent's memory:
//! empty on a check's first run and after a restart; the scheduler drops the
//! slots of removed checks ([`StateSlots::retain`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wasmtime::component::{HasSelf, Linker};

use super::Bounds;
use crate::bindings::vantage::plugin::state;

/// The most bytes one slot holds.
pub(crate) const MAX_STATE_BYTES: usize = 1 << 20;

/// Whose slot: the plugin's name (not its version: the slot survives an
/// upgrade), the check and the target.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SlotKey {
    pub(crate) plugin: String,
    pub(crate) check: Arc<str>,
    pub(crate) target: String,
}

/// Every check's slot, agent-wide.
#[derive(Debug, Default)]
pub(crate) struct StateSlots {
    slots: Mutex<HashMap<SlotKey, Arc<[u8]>>>,
}

impl StateSlots {
    fn load(&self, key: &SlotKey) -> Option<Arc<[u8]>> {
        self.lock().get(key).cloned()
    }

    fn save(&self, key: &SlotKey, value: Vec<u8>) {
        self.lock().insert(key.clone(), value.into());
    }

    /// Keeps only the slots `keep` says yes to (the scheduler's current jobs).
    pub(crate) fn retain(&self, mut keep: impl FnMut(&SlotKey) -> bool) {
        self.lock().retain(|key, _| keep(key));
    }

    /// Slots held and their bytes together.
    #[cfg(test)]
    fn usage(&self) -> (usize, usize) {
        let slots = self.lock();
        (slots.len(), slots.values().map(|v| v.len()).sum())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SlotKey, Arc<[u8]>>> {
        // A panic while holding the lock leaves a map that is still whole.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The slot of one run.
pub(crate) struct StateCap {
    slots: Arc<StateSlots>,
    key: SlotKey,
    bounds: Bounds,
}

impl StateCap {
    pub(crate) fn new(slots: Arc<StateSlots>, key: SlotKey, bounds: &Bounds) -> Self {
        StateCap {
            slots,
            key,
            bounds: bounds.clone(),
        }
    }
}

impl state::Host for StateCap {
    async fn load(&mut self) -> wasmtime::Result<Option<Vec<u8>>> {
        self.bounds.budget.charge(1)?;
        Ok(self.slots.load(&self.key).map(|v| v.to_vec()))
    }

    async fn save(&mut self, value: Vec<u8>) -> wasmtime::Result<Result<(), String>> {
        self.bounds.budget.charge(1)?;
        if value.len() > MAX_STATE_BYTES {
            return Ok(Err(format!(
                "{} bytes of state exceed the limit of {MAX_STATE_BYTES} bytes",
                value.len()
            )));
        }
        self.slots.save(&self.key, value);
        Ok(Ok(()))
    }
}

/// Adds `vantage:plugin/state` to `linker`, served by the [`StateCap`] that
/// `get` finds in the store's data.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut StateCap,
) -> wasmtime::Result<()> {
    state::add_to_linker::<T, HasSelf<StateCap>>(linker, get)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::access::tests::bounds;

    fn key(check: &str, target: &str) -> SlotKey {
        SlotKey {
            plugin: "p".into(),
            check: check.into(),
            target: target.into(),
        }
    }

    #[tokio::test]
    async fn a_run_loads_what_the_previous_run_of_its_check_and_target_saved() {
        let slots = Arc::new(StateSlots::default());
        let mut first = StateCap::new(slots.clone(), key("c", "t"), &bounds(10, "t"));
        assert_eq!(state::Host::load(&mut first).await.unwrap(), None);
        state::Host::save(&mut first, b"v1".to_vec())
            .await
            .unwrap()
            .unwrap();

        let mut next = StateCap::new(slots.clone(), key("c", "t"), &bounds(10, "t"));
        assert_eq!(
            state::Host::load(&mut next).await.unwrap().as_deref(),
            Some(&b"v1"[..])
        );
        let mut other_target = StateCap::new(slots.clone(), key("c", "u"), &bounds(10, "u"));
        assert_eq!(state::Host::load(&mut other_target).await.unwrap(), None);
        assert_eq!(slots.usage(), (1, 2));
    }

    #[tokio::test]
    async fn an_oversized_save_is_refused_and_keeps_the_previous_bytes() {
        let slots = Arc::new(StateSlots::default());
        let mut cap = StateCap::new(slots.clone(), key("c", "t"), &bounds(10, "t"));
        state::Host::save(&mut cap, b"old".to_vec())
            .await
            .unwrap()
            .unwrap();
        let refused = state::Host::save(&mut cap, vec![0; MAX_STATE_BYTES + 1])
            .await
            .unwrap()
            .unwrap_err();
        assert!(refused.contains("exceed the limit"), "{refused}");
        assert_eq!(
            state::Host::load(&mut cap).await.unwrap().as_deref(),
            Some(&b"old"[..])
        );
    }

    #[tokio::test]
    async fn calls_are_charged_to_the_run() {
        let slots = Arc::new(StateSlots::default());
        let mut cap = StateCap::new(slots, key("c", "t"), &bounds(1, "t"));
        state::Host::load(&mut cap).await.unwrap();
        assert!(state::Host::load(&mut cap).await.is_err());
    }

    #[test]
    fn retain_drops_the_slots_of_checks_that_are_gone() {
        let slots = StateSlots::default();
        slots.save(&key("kept", "t"), vec![1]);
        slots.save(&key("gone", "t"), vec![1, 2]);
        slots.retain(|k| &*k.check == "kept");
        assert_eq!(slots.usage(), (1, 1));
        assert!(slots.load(&key("kept", "t")).is_some());
    }
}
