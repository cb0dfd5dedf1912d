//! `tunnel`: databases only a bastion reaches (`support::bastion`: servers
//! in a network namespace of the test's own, its SSH server the one way
//! in) dumped and restored through SSH tunnels (the directory and stream
//! formats), with TLS checked end to end; no password or key in output,
//! plans, files or command lines; no `ssh` left running after a run, a
//! stop or a kill; and a bastion that cannot be reached or refuses the
//! key, named by `plan`.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::bastion::{BehindBastion, DB_HOST, SOURCE_PORT, TARGET_PORT};
use crate::support::pg::PASSWORD_ROLE;
use crate::support::scenario::{
    TableLock, assert_marker, assert_replica_matches, place_marker, wait_for_blocked_dump,
};
use crate::support::ssh::SshHost;
use crate::support::{
    Replicate, Run, Running, assert_holds, assert_no_cmdline_contains, free_port, manifest_folder,
    root, wait_until,
};

/// Tables whose rows the manifests leave out.
const EXCLUDED: [&str; 1] = ["extras_objectchange"];

/// A test's world: the bastion's servers seeded, in a temporary folder a
/// folder for the manifest and, beside it, a password file; and the
/// roles' passwords, this test's own (another test's may be on a command
/// line while this one searches them all).
struct World {
    b: BehindBastion,
    _work: tempfile::TempDir,
    /// The manifest's folder, where replicate runs.
    dir: PathBuf,
    source_password: String,
    target_password: String,
}

impl World {
    /// The world, its manifest written with tunnels or without.
    fn new(tunnels: bool) -> Self {
        let b = BehindBastion::start();
        let work = tempfile::tempdir().unwrap();
        let dir = work.path().join("run");
        std::fs::create_dir(&dir).unwrap();
        let world = Self {
            source_password: format!("Src-s3cret-{}", b.namespace.name),
            target_password: format!("Tgt-s3cret-{}", b.namespace.name),
            b,
            _work: work,
            dir,
        };
        world.seed();
        world.write_manifest(tunnels);
        let file = world.password_file();
        let line = format!(
            "{DB_HOST}:{SOURCE_PORT}:*:{PASSWORD_ROLE}:{}\n\
             {DB_HOST}:{TARGET_PORT}:*:{PASSWORD_ROLE}:{}\n",
            world.source_password, world.target_password
        );
        std::fs::write(&file, line).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        world
    }

    /// The NetBox-shaped database on the source, read by a superuser role
    /// with a password; on the target a database of the password role
    /// (which may create databases) holding a marker row.
    fn seed(&self) {
        let b = &self.b;
        b.source.sql(
            "postgres",
            &format!(
                "CREATE ROLE {PASSWORD_ROLE} LOGIN SUPERUSER PASSWORD '{}'",
                self.source_password
            ),
        );
        b.source.create_database("netbox");
        b.source
            .sql_file("netbox", &root().join("tests/fixtures/netbox-shaped.sql"));
        b.target.add_password_role(&self.target_password);
        b.target.sql(
            "postgres",
            &format!("CREATE DATABASE netbox OWNER {PASSWORD_ROLE}"),
        );
        place_marker(&b.target, "netbox");
    }

    /// The manifest: both databases as the bastion names them, through
    /// tunnels when `tunnels`; the source's password from the environment,
    /// the target's from the password file (its line names the server's
    /// host and port as written).
    fn write_manifest(&self, tunnels: bool) {
        let b = &self.b;
        let tunnel = if tunnels {
            format!("tunnel = \"{}\"\n", b.sshd.login())
        } else {
            String::new()
        };
        let text = format!(
            "version = 1\n\
             [source]\ndatabase = \"{}\"\n{tunnel}\
             [target]\ndatabase = \"{}\"\n{tunnel}\
             [include]\nexclude_table_data = [\"{}\"]\n\
             [tools]\nssh_config = \"{}\"\n",
            b.url(SOURCE_PORT, Some("${SOURCE_PASSWORD}")),
            b.url(TARGET_PORT, None),
            EXCLUDED[0],
            b.sshd.config().display(),
        );
        std::fs::write(self.dir.join("replicate.toml"), text).unwrap();
    }

    /// The password file beside the manifest's folder (outside it: the
    /// test searches the files below that folder for the passwords).
    fn password_file(&self) -> PathBuf {
        self.dir.with_file_name("pgpass")
    }

    /// `replicate ARGS` in the manifest's folder, the source's password in
    /// its environment, the target's in the password file.
    fn replicate(&self, args: &[&str]) -> Replicate {
        Replicate::new()
            .current_dir(&self.dir)
            .env("SOURCE_PASSWORD", &self.source_password)
            .env("PGPASSFILE", self.password_file())
            .args(args)
    }

    /// Runs `run` to its end, reading every command line meanwhile for the
    /// passwords; returns the run and the most tunnels seen at once.
    fn watched(&self, run: Running) -> (Run, usize) {
        let (mut read, mut tunnels) = (0, 0);
        while run.is_running() {
            read += assert_no_cmdline_contains(&self.source_password);
            read += assert_no_cmdline_contains(&self.target_password);
            tunnels = tunnels.max(self.b.tunnels_running().len());
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(read > 0, "no command line was read");
        (run.finish(), tunnels)
    }

    /// Fails when any of `texts` holds a password or the bastion's key.
    #[track_caller]
    fn assert_no_secret(&self, texts: &[String]) {
        let config = self.b.sshd.config();
        let key = std::fs::read_to_string(config.with_file_name("client_key")).unwrap();
        // A line of the key's body: long enough never to appear by chance.
        let key_line = key.lines().nth(1).expect("the key's body");
        let secrets = [&self.source_password, &self.target_password, key_line];
        for text in texts {
            for secret in secrets {
                assert!(!text.contains(secret), "a secret leaked into:\n{text}");
            }
        }
    }
}

/// Every file below `dir`, as text.
fn files_below(dir: &Path) -> Vec<String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned())
        .collect()
}

#[test]
fn a_database_behind_a_bastion_is_dumped_and_restored_through_tunnels_and_no_secret_leaks() {
    // Without tunnels the servers cannot be reached: their name means
    // nothing here, and they do not listen on the namespace's address,
    // where the bastion does.
    let w = World::new(false);
    let (b, dir) = (&w.b, w.dir.as_path());
    w.replicate(&["plan"])
        .run()
        .code(1)
        .stderr_has("cannot connect to the source database");
    let inside = |port| SocketAddr::from((b.namespace.inside, port));
    let timeout = Duration::from_secs(2);
    for port in [SOURCE_PORT, TARGET_PORT] {
        assert!(
            TcpStream::connect_timeout(&inside(port), timeout).is_err(),
            "port {port} of the namespace is reachable from here"
        );
    }
    assert!(TcpStream::connect_timeout(&inside(b.sshd.port), timeout).is_ok());

    // Through the tunnels: a plan saved, then applied, every command line
    // read while it runs.
    w.write_manifest(true);
    let plan = w
        .replicate(&["plan", "--verbose", "--out", "plan.json"])
        .spawn();
    let plan = w.watched(plan).0.success();
    let through = format!("through {}", b.sshd.login());
    assert_holds(
        &plan.stdout_flat(),
        &[
            &format!("{PASSWORD_ROLE}:***@db.internal:{SOURCE_PORT}/netbox"),
            &through,
            "Plan: ",
        ],
    );
    assert!(b.tunnels_running().is_empty(), "plan left a tunnel open");
    let saved = std::fs::read_to_string(dir.join("plan.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(json["source"]["tunnel"], b.sshd.login());
    assert_eq!(json["target"]["tunnel"], b.sshd.login());
    // The tunnel's end changes with every run: the plan never names it.
    assert!(
        !saved.contains("hostaddr") && !saved.contains("127.0.0.1"),
        "the saved plan names the tunnel's end:\n{saved}"
    );

    let (apply, tunnels) = w.watched(w.replicate(&["apply", "plan.json"]).spawn());
    let apply = apply.success().stdout_has("Apply complete");
    assert_eq!(tunnels, 2, "a tunnel for each side was not seen running");
    wait_until(10, 20, "a tunnel outlived the run", || {
        b.tunnels_running().is_empty()
    });
    assert_replica_matches(&b.source, &b.target, "netbox", &EXCLUDED);

    // verify --target and rollback reach the target through its tunnel.
    let verify = w
        .replicate(&["verify", "--target"])
        .run()
        .success()
        .stdout_has("equals the dump");
    let rollback = w.replicate(&["rollback", "--auto-approve"]).run().success();
    assert_marker(&b.target, "netbox");
    assert!(b.tunnels_running().is_empty(), "a tunnel outlived rollback");

    // The stream format: replicate's own connections carry the rows.
    let text = std::fs::read_to_string(dir.join("replicate.toml")).unwrap();
    let stream = text + "[artifacts]\nformat = \"stream\"\n";
    std::fs::write(dir.join("replicate.toml"), stream).unwrap();
    let (streamed, _) = w.watched(w.replicate(&["apply", "--auto-approve"]).spawn());
    let streamed = streamed.success().stdout_has("Apply complete");
    assert_replica_matches(&b.source, &b.target, "netbox", &EXCLUDED);

    // init reads both databases through tunnels, and its manifest names
    // them.
    let login = b.sshd.login();
    let config = b.sshd.config().display().to_string();
    let (source, target) = (b.url(SOURCE_PORT, None), b.url(TARGET_PORT, None));
    let init = w
        .replicate(&[
            "init",
            "-m",
            "init.toml",
            "--source",
            &source,
            "--source-tunnel",
            &login,
            "--target",
            &target,
            "--target-tunnel",
            &login,
            "--ssh-config",
            &config,
        ])
        .run()
        .success()
        .stdout_has("wrote init.toml");
    let written = std::fs::read_to_string(dir.join("init.toml")).unwrap();
    assert_eq!(written.matches(&format!("tunnel = \"{login}\"")).count(), 2);
    assert!(written.contains(&format!("ssh_config = \"{config}\"")));
    w.replicate(&["validate", "-m", "init.toml"])
        .run()
        .success();
    assert!(b.tunnels_running().is_empty(), "a tunnel outlived init");

    let mut texts = vec![saved];
    for run in [&plan, &apply, &verify, &rollback, &streamed, &init] {
        texts.extend([run.stdout(), run.stderr()]);
    }
    texts.extend(files_below(dir));
    w.assert_no_secret(&texts);
}

#[test]
fn a_run_stopped_killed_or_losing_its_tunnel_leaves_no_tunnel_running() {
    let w = World::new(true);
    let b = &w.b;
    for stop in ["SIGINT", "SIGKILL", "the source tunnel's ssh killed"] {
        // The dump waits on a table the test holds: the tunnels are in use.
        let lock = TableLock::hold(&b.source, "dcim_device");
        let run = w.replicate(&["apply", "--auto-approve"]).spawn();
        wait_for_blocked_dump(&b.source);
        let tunnels = b.tunnels_running();
        assert_eq!(tunnels.len(), 2, "{stop}: the tunnels are not open");
        let run = match stop {
            "SIGINT" => {
                run.signal(libc::SIGINT);
                run.finish()
                    .code(1)
                    .stderr_has("apply stopped by SIGINT during dump")
            }
            "SIGKILL" => {
                run.signal(libc::SIGKILL);
                run.finish()
            }
            _ => {
                // The bastion goes away: the dump's connection closes, and
                // the error says why.
                let source = b.tunnels_to(SOURCE_PORT);
                assert_eq!(source.len(), 1, "the source's tunnel: {source:?}");
                // SAFETY: kill has no memory-safety preconditions.
                unsafe { libc::kill(source[0] as i32, libc::SIGKILL) };
                run.finish().code(1).stderr_has("dump").stderr_has(&format!(
                    "the source tunnel through {} ended",
                    b.sshd.login()
                ))
            }
        };
        wait_until(
            10,
            20,
            &format!("{stop}: a tunnel outlived the run"),
            || b.tunnels_running().is_empty(),
        );
        drop((run, lock));
    }
    // What was left finishes through new tunnels.
    w.replicate(&["apply", "--auto-approve", "--resume"])
        .run()
        .success();
    assert_replica_matches(&b.source, &b.target, "netbox", &EXCLUDED);
}

#[test]
fn plan_names_a_bastion_it_cannot_reach_or_that_refuses_the_key() {
    let host = SshHost::start();
    // The database is never reached: planning stops at the tunnel.
    let manifest = |tunnel: &str, config: &Path| {
        manifest_folder(&format!(
            "version = 1\n\
             [source]\ndatabase = \"postgresql://netbox@db.internal/netbox\"\ntunnel = \"{tunnel}\"\n\
             [target]\ndatabase = \"postgresql://netbox@127.0.0.1:1/netbox\"\n\
             [tools]\nssh_config = \"{}\"\n",
            config.display()
        ))
    };
    let plan_fails = |dir: &tempfile::TempDir| {
        let started = std::time::Instant::now();
        let run = Replicate::new()
            .current_dir(dir.path())
            .args(["plan"])
            .run()
            .code(1);
        assert!(
            started.elapsed().as_secs() < 30,
            "plan waited for an answer"
        );
        run
    };

    // Nothing listens on this port.
    let closed = format!("ssh://root@127.0.0.1:{}", free_port());
    let dir = manifest(&closed, &host.config());
    plan_fails(&dir)
        .stderr_has("cannot open the tunnel to the source database: ssh: connect to host 127.0.0.1")
        .stderr_has(&format!("through {closed}"))
        .stderr_has("ssh -o BatchMode=yes")
        .stderr_has(":5432:db.internal:5432 -- root@127.0.0.1");

    // A key the bastion does not know.
    let changed = host.config_with_unknown_key(dir.path());
    plan_fails(&manifest(&host.login(), &changed))
        .stderr_has("cannot open the tunnel to the source database")
        .stderr_has("Permission denied")
        .stderr_has(&format!("through {}", host.login()));
    assert!(
        crate::support::processes_with(&["ExitOnForwardFailure=yes", &host.port.to_string()])
            .is_empty(),
        "a tunnel is left running"
    );
}
