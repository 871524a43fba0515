//! A full disk: the agent's data folder on a tmpfs too small for the new
//! build. The update waits, with its reason reported, nothing is written
//! and the agent goes on measuring into the same disk; once the disk has
//! room, the agent installs the update on its own. Mounting needs root,
//! as the namespace stories do.

use std::path::Path;

use super::*;

/// A tmpfs mounted on a folder, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: u64) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        mount(
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ],
            dir,
        );
        Tmpfs {
            dir: dir.to_owned(),
        }
    }

    fn resize(&self, size: u64) {
        mount(&["-o", &format!("remount,size={size}")], &self.dir);
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

fn mount(args: &[&str], dir: &Path) {
    let out = Command::new("mount").args(args).arg(dir).output().unwrap();
    assert!(
        out.status.success(),
        "mount {args:?} {} (the story needs root): {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The rollout's view once its agent reported the update deferred.
async fn deferred(admin: &Client, id: &str) -> Value {
    let path = format!("/api/v1/rollouts/{id}");
    let start = Instant::now();
    loop {
        let view = admin.get(&path).await.expect(200).json();
        if view["agents"][0]["step"] == "deferred" {
            return view;
        }
        assert!(
            start.elapsed() < LIMIT,
            "no deferral within {LIMIT:?}: {view}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_room_for_the_new_build_the_update_waits_and_no_result_is_lost() {
    let server = start(Backend::Sqlite).await.expect("sqlite always works");
    let admin = &server.admin;
    let url = format!("http://{}", server.addr);
    let packages = Packages::new();
    let home = AgentHome::new();
    let data = home.dir.path().join("data");
    // Room for the agent's own files, not for the new build.
    let build = std::fs::metadata(update_bin()).unwrap().len();
    let disk = Tmpfs::mount(&data, build / 2);
    let mut fleet = Fleet::start_in(admin, &url, &packages, vec![home], "").await;
    let agent_id = fleet.agents[0].3.clone();
    let key = release_key(admin, &packages).await;
    publish_release(admin, &key, NEW, 1, &archive(None)).await;

    let id = start_rollout(admin, NEW, &["100%"]).await;
    let waiting = deferred(admin, &id).await;
    assert!(
        first_reason(&waiting).contains("not enough free space"),
        "{waiting}"
    );
    assert_eq!(
        waiting["state"], "running",
        "a full disk does not halt: {waiting}"
    );
    // Nothing of the new build was written, and the agent measures on.
    let versions = data.join("agent/versions");
    let left: Vec<_> = std::fs::read_dir(&versions)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    let before = fleet.agent(0).printed().len();
    fleet.agent(0).wait_printed(before + 2, LIMIT);
    assert_ne!(running(admin, &agent_id).await, NEW);

    // Room made: the agent takes the update on its own, and every result
    // of either version is stored.
    disk.resize(build * 2 + (256 << 20));
    rollout_in(admin, &id, "done", LIMIT).await;
    wait_until("the agent runs the new version", LIMIT, || async {
        running(admin, &agent_id).await == NEW
    })
    .await;
    fleet.all_stored(&server.url).await;
    fleet.agents[0].2.take().unwrap().kill9();
    drop(disk);
}
