//! `vantage:plugin/state`: bytes a check keeps from one run to the next, so
//! a plugin can report rates between runs (a scraped counter's change per
//! second). One slot per plugin, check and target, held in memory and, with
//! a folder ([`StateSlots::persisted`]), in one file each there, so that a
//! restarted agent's first runs still have their previous values. The
//! scheduler drops the slots of removed checks ([`StateSlots::retain`]).

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sha2::Digest as _;

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
    /// Where each slot is also a file; none keeps them in memory only.
    dir: Option<PathBuf>,
}

/// The first bytes of a slot's file, then the key's length (u32, little
/// endian), the key as JSON `[plugin, check, target]` and the value.
const MAGIC: &[u8; 4] = b"VSS1";

impl StateSlots {
    /// Slots kept in `dir` too (created 0700 on the first save).
    pub(crate) fn persisted(dir: PathBuf) -> Self {
        StateSlots {
            slots: Mutex::default(),
            dir: Some(dir),
        }
    }

    pub(crate) fn load(&self, key: &SlotKey) -> Option<Arc<[u8]>> {
        if let Some(value) = self.lock().get(key) {
            return Some(value.clone());
        }
        let value: Arc<[u8]> = read_slot(&self.dir.as_ref()?.join(file_name(key)), key)?.into();
        self.lock().insert(key.clone(), value.clone());
        Some(value)
    }

    pub(crate) fn save(&self, key: &SlotKey, value: Vec<u8>) {
        if let Some(dir) = &self.dir {
            let mut bytes = header(key);
            bytes.extend_from_slice(&value);
            // A slot that is not written costs the next restart one rate.
            if let Err(e) = crate::files::write_private(&dir.join(file_name(key)), &bytes) {
                tracing::warn!(check = %key.check, target = key.target, error = %format!("{e:#}"), "A check's state was not written.");
            }
        }
        self.lock().insert(key.clone(), value.into());
    }

    /// Keeps only the slots `keep` says yes to (the scheduler's current
    /// jobs), in memory and in the folder.
    pub(crate) fn retain(&self, mut keep: impl FnMut(&SlotKey) -> bool) {
        self.lock().retain(|key, _| keep(key));
        let Some(entries) = self.dir.as_ref().and_then(|d| std::fs::read_dir(d).ok()) else {
            return;
        };
        for path in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
            let kept = path.extension().is_some_and(|x| x == "slot")
                && read_key(&path).is_some_and(|key| keep(&key));
            if !kept {
                let _ = std::fs::remove_file(&path);
            }
        }
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

/// A slot's file name: a digest of its key, which the file holds too.
fn file_name(key: &SlotKey) -> String {
    let digest = sha2::Sha256::digest(key_json(key));
    format!("{}.slot", hex::encode(&digest[..16]))
}

fn key_json(key: &SlotKey) -> Vec<u8> {
    serde_json::to_vec(&(&key.plugin, &*key.check, &key.target)).expect("strings serialise")
}

fn header(key: &SlotKey) -> Vec<u8> {
    let json = key_json(key);
    let mut out = Vec::with_capacity(8 + json.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out
}

/// The key a slot's file names, read from its header.
fn read_key(path: &Path) -> Option<SlotKey> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut head = [0u8; 8];
    file.read_exact(&mut head).ok()?;
    if &head[..4] != MAGIC {
        return None;
    }
    let len = u32::from_le_bytes(head[4..].try_into().ok()?) as usize;
    if len > 4096 {
        return None;
    }
    let mut json = vec![0; len];
    file.read_exact(&mut json).ok()?;
    let (plugin, check, target): (String, String, String) = serde_json::from_slice(&json).ok()?;
    Some(SlotKey {
        plugin,
        check: check.into(),
        target,
    })
}

/// The value of `key` from its file, if the file is whole and is `key`'s.
fn read_slot(path: &Path, key: &SlotKey) -> Option<Vec<u8>> {
    let bytes = std::fs::read(path).ok()?;
    let value = bytes.strip_prefix(header(key).as_slice())?;
    (value.len() <= MAX_STATE_BYTES).then(|| value.to_vec())
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
    fn persisted_slots_survive_a_restart_and_leave_with_their_check() {
        let dir = tempfile::tempdir().unwrap();
        let slots = StateSlots::persisted(dir.path().join("state"));
        slots.save(&key("kept", "t"), b"counters".to_vec());
        slots.save(&key("gone", "t"), b"old".to_vec());

        // Another agent process on the same folder.
        let restarted = StateSlots::persisted(dir.path().join("state"));
        assert_eq!(
            restarted.load(&key("kept", "t")).as_deref(),
            Some(&b"counters"[..])
        );
        assert_eq!(restarted.load(&key("kept", "other")), None);
        restarted.retain(|k| &*k.check == "kept");
        let files = std::fs::read_dir(dir.path().join("state")).unwrap().count();
        assert_eq!(files, 1);
        let again = StateSlots::persisted(dir.path().join("state"));
        assert_eq!(again.load(&key("gone", "t")), None);
        assert!(again.load(&key("kept", "t")).is_some());
    }

    #[test]
    fn a_damaged_or_foreign_slot_file_is_no_state() {
        let dir = tempfile::tempdir().unwrap();
        let slots = StateSlots::persisted(dir.path().to_owned());
        slots.save(&key("c", "t"), b"value".to_vec());
        let path = dir.path().join(file_name(&key("c", "t")));
        // Another key's file under this name (a digest collision), then junk.
        let mut foreign = header(&key("c", "u"));
        foreign.extend_from_slice(b"value");
        std::fs::write(&path, foreign).unwrap();
        assert_eq!(
            StateSlots::persisted(dir.path().to_owned()).load(&key("c", "t")),
            None
        );
        std::fs::write(&path, b"junk").unwrap();
        assert_eq!(
            StateSlots::persisted(dir.path().to_owned()).load(&key("c", "t")),
            None
        );
        // retain removes what it cannot read.
        StateSlots::persisted(dir.path().to_owned()).retain(|_| true);
        assert!(!path.exists());
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
