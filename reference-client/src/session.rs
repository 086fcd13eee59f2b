//! The session file: tokens and a pending device login, written atomically
//! with owner-only permissions.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Result, codes};

/// What is stored between invocations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The access token, once logged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// The refresh token (rotates on each refresh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// `Bearer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Granted scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// A device login started with `--interval 0`, finished by `auth status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_login: Option<PendingLogin>,
}

/// A device code waiting for the user's approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingLogin {
    /// The secret device code.
    pub device_code: String,
    /// The phrase the user confirms.
    pub phrase: String,
    /// Where the user approves.
    pub verification_url: String,
    /// Seconds between polls, as the server asked.
    pub interval: f64,
}

impl Session {
    /// Whether there are tokens.
    pub fn is_logged_in(&self) -> bool {
        self.access_token.is_some()
    }
}

/// Reads the session file; a missing file is an empty session.
pub fn load(path: &Path) -> Result<Session> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            ClientError::new(
                codes::CORRUPT_CREDENTIALS,
                format!(
                    "the credentials file {} is not readable JSON ({e}); delete it or run `link-ref auth logout`, then `link-ref auth login`",
                    path.display()
                ),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Session::default()),
        Err(e) => Err(ClientError::new(
            codes::CORRUPT_CREDENTIALS,
            format!("cannot read the credentials file {}: {e}", path.display()),
        )),
    }
}

/// Writes the session: a temporary file beside it, mode 0600, then a rename,
/// so a crash never leaves half a file and no other user can read tokens.
pub fn save(path: &Path, session: &Session) -> Result<()> {
    let fail = |e: std::io::Error| {
        ClientError::new(
            codes::UNKNOWN,
            format!("cannot write the credentials file {}: {e}", path.display()),
        )
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_private_dir(dir).map_err(fail)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("session"),
        std::process::id()
    ));
    let bytes = serde_json::to_vec_pretty(session).unwrap_or_default();
    let write = || -> std::io::Result<()> {
        let mut file = private_file(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}

/// Removes the session file (no error if it is already gone).
pub fn remove(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ClientError::new(
            codes::UNKNOWN,
            format!("cannot remove the credentials file {}: {e}", path.display()),
        )),
    }
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::create(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_owner_only_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/session.json");
        let session = Session {
            access_token: Some("tok".into()),
            ..Session::default()
        };
        save(&path, &session).unwrap();
        assert_eq!(load(&path).unwrap(), session);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session.json");
        std::fs::write(&path, "{not json").unwrap();
        let err = load(&path).unwrap_err();
        assert_eq!(err.code, codes::CORRUPT_CREDENTIALS);
        assert!(err.message.contains("session.json"));
        assert_eq!(
            load(&dir.path().join("missing.json")).unwrap(),
            Session::default()
        );
    }
}
