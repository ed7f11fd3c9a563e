//! A real Dovecot POP3 server (Debian's `dovecot-pop3d`) for tests, run from a config written
//! into a fresh temp folder: nothing of the system's own Dovecot setup is used or touched.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::certificate::SelfSignedCertificate;

/// The Dovecot master binary; `POSTINO_DOVECOT` overrides it.
const DOVECOT_BIN: &str = "/usr/sbin/dovecot";
/// How long Dovecot may take until both ports accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long Dovecot may take to stop after SIGTERM before it is killed. It usually takes some
/// 20 ms, but a master still starting up sometimes waits seconds for its children: then SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the listening sockets may take to close once every Dovecot process is gone.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// What to start Dovecot with.
#[derive(Clone, Debug, Default)]
pub struct DovecotOptions {
    /// The one mail user. Must not contain ':', whitespace or control characters.
    pub user: String,
    /// That user's password. Must not contain ':' or line breaks.
    pub password: String,
    /// Raw messages (`.eml` bytes), seeded into the user's Maildir in this order: message 1 in
    /// POP3 is the first one.
    pub fixtures: Vec<Vec<u8>>,
}

/// Settings beyond [`DovecotOptions`], for tests that need them.
///
/// Every instance offers SASL PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1 and SCRAM-SHA-256 (after TLS;
/// the password is stored `{PLAIN}`, from which Dovecot derives what each mechanism needs).
#[derive(Clone, Debug, Default)]
pub struct DovecotExtras {
    /// `pop3_lock_session = yes`: a POP3 session holds the mailbox lock until it ends, so a
    /// second session is refused with `-ERR [IN-USE]` (RFC 3206). Off by default, as in
    /// Dovecot, so that a session dropped by a test does not lock out the next one.
    pub pop3_lock_session: bool,
    /// Log in with OAuth 2.0 access tokens too (SASL XOAUTH2 and OAUTHBEARER), validated by
    /// Dovecot itself.
    pub oauth2: Option<DovecotOAuth2>,
}

/// Dovecot validates access tokens itself: `passdb { driver = oauth2 }` with
/// `introspection_mode = local`, a JWT signed by `issuer`'s RS256 key `kid` (its public key
/// written as Dovecot's local key dict: `keys/default/RS256/<kid>`), whose `sub` must be the
/// user logging in and whose `exp` must not have passed. Passwords keep working beside it.
#[derive(Clone, Debug)]
pub struct DovecotOAuth2 {
    /// The `iss` the tokens must carry, e.g. `http://localhost:PORT`.
    pub issuer: String,
    pub kid: String,
    /// SubjectPublicKeyInfo PEM.
    pub public_key_pem: String,
}

/// A running Dovecot, listening on 127.0.0.1 only. Dropping it stops Dovecot and removes its
/// temp folder.
pub struct Dovecot {
    child: Child,
    dir: PathBuf,
    pop3_port: u16,
    pop3s_port: u16,
    certificate: SelfSignedCertificate,
    user: String,
    password: String,
}

impl Dovecot {
    /// Writes the config, certificate, users and Maildir into a new temp folder, starts
    /// `dovecot -F -c CONF` and waits (bounded) until both ports accept connections.
    pub fn start(options: &DovecotOptions) -> io::Result<Dovecot> {
        Self::start_with(options, &DovecotExtras::default())
    }

    /// As [`Dovecot::start`], with [`DovecotExtras`].
    pub fn start_with(options: &DovecotOptions, extras: &DovecotExtras) -> io::Result<Dovecot> {
        check_credentials(&options.user, &options.password)?;
        let dir = make_temp_dir()?;
        match Self::start_in(dir.clone(), options, extras) {
            Ok(dovecot) => Ok(dovecot),
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    fn start_in(
        dir: PathBuf,
        options: &DovecotOptions,
        extras: &DovecotExtras,
    ) -> io::Result<Dovecot> {
        let identity = Identity::for_this_process()?;
        let certificate = SelfSignedCertificate::generate()?;
        let pop3_port = free_port()?;
        let pop3s_port = loop {
            let port = free_port()?;
            if port != pop3_port {
                break port;
            }
        };

        write_private(&dir.join("cert.pem"), certificate.cert_pem.as_bytes())?;
        write_private(&dir.join("key.pem"), certificate.key_pem.as_bytes())?;

        let home = dir.join("home").join(&options.user);
        seed_maildir(&home.join("Maildir"), &options.fixtures)?;
        if identity.drop_privileges {
            chown_recursive(&dir.join("home"), identity.mail_uid, identity.mail_gid)?;
        }

        // passwd-file: user:password:uid:gid:(gecos):home:(shell)
        let passwd = format!(
            "{}:{{PLAIN}}{}:{}:{}::{}::\n",
            options.user,
            options.password,
            identity.mail_uid,
            identity.mail_gid,
            home.display()
        );
        // The auth process reads it as the internal user; the password is a test password.
        fs::write(dir.join("passwd"), passwd)?;
        fs::set_permissions(dir.join("passwd"), fs::Permissions::from_mode(0o644))?;

        if let Some(oauth2) = &extras.oauth2 {
            write_oauth2(&dir, oauth2)?;
        }
        let config = config(&dir, &identity, extras, pop3_port, pop3s_port);
        let config_path = dir.join("dovecot.conf");
        fs::write(&config_path, config)?;

        let stderr = fs::File::create(dir.join("dovecot.stderr"))?;
        let program = std::env::var_os("POSTINO_DOVECOT").unwrap_or_else(|| DOVECOT_BIN.into());
        let child = Command::new(&program)
            // Its own process group, so that Drop can stop the master and all its children.
            .process_group(0)
            .arg("-F")
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(stderr.try_clone()?)
            .stderr(stderr)
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot run {} (is dovecot-pop3d installed?): {e}",
                        Path::new(&program).display()
                    ),
                )
            })?;

        let mut dovecot = Dovecot {
            child,
            dir,
            pop3_port,
            pop3s_port,
            certificate,
            user: options.user.clone(),
            password: options.password.clone(),
        };
        dovecot.wait_until_listening()?;
        Ok(dovecot)
    }

    fn wait_until_listening(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let ports = [self.pop3_port, self.pop3s_port];
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "dovecot exited during startup ({status}); its log ends with:\n{}",
                    self.log_tail(30)
                )));
            }
            let listening = ports.iter().all(|&port| {
                let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
                TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
            });
            if listening {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "dovecot did not listen on 127.0.0.1 ports {} and {} within {:?}; \
                         its log ends with:\n{}",
                        self.pop3_port,
                        self.pop3s_port,
                        START_TIMEOUT,
                        self.log_tail(30)
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The POP3-over-TLS port (RFC 8314: TLS from the first byte) on 127.0.0.1.
    pub fn pop3s_port(&self) -> u16 {
        self.pop3s_port
    }

    /// The plain POP3 port on 127.0.0.1; it offers STLS, and refuses USER/PASS before TLS.
    pub fn pop3_port(&self) -> u16 {
        self.pop3_port
    }

    /// SHA-256 of the server certificate's DER, uppercase hex bytes joined with ':'.
    pub fn fingerprint(&self) -> String {
        self.certificate.fingerprint()
    }

    /// The server certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.certificate.der
    }

    /// The server certificate and its key (for a front that serves the same certificate).
    pub fn certificate(&self) -> &SelfSignedCertificate {
        &self.certificate
    }

    /// The mail user.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The mail user's password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The temp folder holding config, certificate, Maildir and `dovecot.log`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The last `lines` lines of Dovecot's log (and of anything it wrote to stderr).
    pub fn log_tail(&self, lines: usize) -> String {
        let mut text = String::new();
        for name in ["dovecot.stderr", "dovecot.log"] {
            if let Ok(content) = fs::read_to_string(self.dir.join(name)) {
                text.push_str(&content);
            }
        }
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // Dovecot runs in its own process group (see `start_in`): SIGTERM to the group stops
        // the master and its children (login, auth, pop3) together; whatever is left after
        // STOP_TIMEOUT gets SIGKILL.
        let group = format!("-{}", self.child.id());
        let signal_group = |signal: &str| {
            Command::new("kill")
                .args([signal, "--", &group])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        };
        let terminated = signal_group("-TERM");
        let deadline = Instant::now() + STOP_TIMEOUT;
        while terminated && Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        signal_group("-KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The listening sockets close when the last process holding them is gone.
        let deadline = Instant::now() + CLOSE_TIMEOUT;
        while Instant::now() < deadline
            && [self.pop3_port, self.pop3s_port]
                .iter()
                .any(|&port| TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok())
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Who Dovecot's processes run as.
struct Identity {
    /// Running as root: mail is owned by an unprivileged user, never root.
    drop_privileges: bool,
    mail_uid: u32,
    mail_gid: u32,
    /// `default_internal_user`: auth, anvil, stats.
    internal_user: String,
    /// `default_login_user`: pop3-login.
    login_user: String,
    /// `default_internal_group`, the group of Dovecot's internal sockets; `None` keeps
    /// Dovecot's default ("dovecot").
    internal_group: Option<String>,
}

impl Identity {
    fn for_this_process() -> io::Result<Identity> {
        // The owner of /proc/self is this process's effective uid.
        let me = fs::metadata("/proc/self")?;
        let users = fs::read_to_string("/etc/passwd").unwrap_or_default();
        let find = |name: &str| {
            users.lines().find_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                (fields.len() >= 4 && fields[0] == name)
                    .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
                    .flatten()
            })
        };
        if me.uid() == 0 {
            let (mail_uid, mail_gid) = find("nobody").unwrap_or((65534, 65534));
            let internal_user = if find("dovecot").is_some() {
                "dovecot"
            } else {
                "nobody"
            };
            let login_user = if find("dovenull").is_some() {
                "dovenull"
            } else {
                internal_user
            };
            Ok(Identity {
                drop_privileges: true,
                mail_uid,
                mail_gid,
                internal_user: internal_user.to_owned(),
                login_user: login_user.to_owned(),
                internal_group: None,
            })
        } else {
            // Unprivileged: Dovecot cannot switch users, so every process runs as us.
            let name = users
                .lines()
                .find_map(|line| {
                    let fields: Vec<&str> = line.split(':').collect();
                    (fields.len() >= 3 && fields[2] == me.uid().to_string())
                        .then(|| fields[0].to_owned())
                })
                .ok_or_else(|| {
                    io::Error::other(format!(
                        "uid {} has no /etc/passwd entry; Dovecot needs a user name",
                        me.uid()
                    ))
                })?;
            // Internal sockets are chowned to this group, which must be ours.
            let groups = fs::read_to_string("/etc/group").unwrap_or_default();
            let group = groups
                .lines()
                .find_map(|line| {
                    let fields: Vec<&str> = line.split(':').collect();
                    (fields.len() >= 3 && fields[2] == me.gid().to_string())
                        .then(|| fields[0].to_owned())
                })
                .ok_or_else(|| {
                    io::Error::other(format!(
                        "gid {} has no /etc/group entry; Dovecot needs a group name",
                        me.gid()
                    ))
                })?;
            Ok(Identity {
                drop_privileges: false,
                mail_uid: me.uid(),
                mail_gid: me.gid(),
                internal_user: name.clone(),
                login_user: name,
                internal_group: Some(group),
            })
        }
    }
}

fn config(
    dir: &Path,
    identity: &Identity,
    extras: &DovecotExtras,
    pop3_port: u16,
    pop3s_port: u16,
) -> String {
    let dir = dir.display();
    let mut conf = String::new();
    let _ = write!(
        conf,
        r#"# Written by postino-testkit for one test run.
protocols = pop3
listen = 127.0.0.1
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
info_log_path = {dir}/dovecot.log
auth_verbose = yes
# Tests check wrong passwords on purpose: no 2 s penalty each time.
auth_failure_delay = 0

default_internal_user = {internal}
default_login_user = {login}
{internal_group}first_valid_uid = {uid}
last_valid_uid = 0
first_valid_gid = 0

ssl = yes
ssl_cert = <{dir}/cert.pem
ssl_key = <{dir}/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256{oauth_mechanisms}

mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xu%08Xv
pop3_lock_session = {lock_session}

{oauth_passdb}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {dir}/passwd
}}

# No chroot: it needs root, and this server only ever listens on 127.0.0.1.
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {pop3s_port}
    ssl = yes
  }}
}}
service imap-login {{
  chroot =
}}
service anvil {{
  chroot =
{anvil_penalty}}}
"#,
        internal = identity.internal_user,
        login = identity.login_user,
        internal_group = identity
            .internal_group
            .as_ref()
            .map(|group| format!("default_internal_group = {group}\n"))
            .unwrap_or_default(),
        uid = identity.mail_uid,
        oauth_mechanisms = if extras.oauth2.is_some() {
            " xoauth2 oauthbearer"
        } else {
            ""
        },
        // Tests refuse tokens on purpose, many times over from 127.0.0.1: no growing penalty
        // (2, 4, 8, then 15 s each) for that address.
        anvil_penalty = if extras.oauth2.is_some() {
            "  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n"
        } else {
            ""
        },
        oauth_passdb = if extras.oauth2.is_some() {
            format!(
                "# Tokens only: password mechanisms go to the passwd-file below.\n\
                 passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  \
                 args = {dir}/dovecot-oauth2.conf.ext\n}}\n"
            )
        } else {
            String::new()
        },
        lock_session = if extras.pop3_lock_session {
            "yes"
        } else {
            "no"
        },
    );
    conf
}

/// The oauth2 passdb's settings and the local key dict holding the issuer's public key.
fn write_oauth2(dir: &Path, oauth2: &DovecotOAuth2) -> io::Result<()> {
    if oauth2.kid.is_empty()
        || !oauth2
            .kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("key id {:?} cannot be a file name", oauth2.kid),
        ));
    }
    let keys = dir.join("oauth2-keys");
    let key_dir = keys.join("default").join("RS256");
    fs::create_dir_all(&key_dir)?;
    fs::write(key_dir.join(&oauth2.kid), &oauth2.public_key_pem)?;
    for d in [&keys, &keys.join("default"), &key_dir] {
        fs::set_permissions(d, fs::Permissions::from_mode(0o755))?;
    }
    fs::set_permissions(key_dir.join(&oauth2.kid), fs::Permissions::from_mode(0o644))?;
    let settings = format!(
        "# Written by postino-testkit: JWT access tokens validated here, with the issuer's key.\n\
         introspection_mode = local\n\
         local_validation_key_dict = fs:posix:prefix={keys}/\n\
         issuers = {issuer}\n\
         username_attribute = sub\n",
        keys = keys.display(),
        issuer = oauth2.issuer,
    );
    fs::write(dir.join("dovecot-oauth2.conf.ext"), settings)?;
    fs::set_permissions(
        dir.join("dovecot-oauth2.conf.ext"),
        fs::Permissions::from_mode(0o644),
    )
}

fn check_credentials(user: &str, password: &str) -> io::Result<()> {
    if user.is_empty()
        || user
            .chars()
            .any(|c| c == ':' || c.is_whitespace() || c.is_control())
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("user {user:?} must be non-empty, without ':', spaces or control characters"),
        ));
    }
    if password.chars().any(|c| c == ':' || c == '\n' || c == '\r') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the password must not contain ':' or line breaks (passwd-file format)",
        ));
    }
    Ok(())
}

fn make_temp_dir() -> io::Result<PathBuf> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "postino-dovecot-{}-{}-{nanos:08x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir(&dir)?;
    // Dovecot's unprivileged processes must be able to reach the Maildir inside.
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))?;
    Ok(dir)
}

/// Binds 127.0.0.1:0 and returns the port the kernel chose (free at that moment).
fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

fn write_private(path: &Path, content: &[u8]) -> io::Result<()> {
    fs::write(path, content)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
}

/// One file per message in `new/`. Dovecot assigns UIDs in the order of the timestamps that
/// start the file names, so message N gets timestamp base+N.
fn seed_maildir(maildir: &Path, fixtures: &[Vec<u8>]) -> io::Result<()> {
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(maildir.join(sub))?;
    }
    for (index, raw) in fixtures.iter().enumerate() {
        let name = format!("{}.M{index:06}P1.postino-testkit", 1_600_000_000 + index);
        fs::write(maildir.join("new").join(name), raw)?;
    }
    Ok(())
}

fn chown_recursive(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
    if path.is_dir() {
        for entry in fs::read_dir(path)? {
            chown_recursive(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}
