//! Who the `aws-ec2` backend signs as, found fresh for every fence (a rotated key or a renewed
//! role is picked up without a restart): the profile of a shared-credentials file (read by the
//! one secret loader, so it is checked like every other secret file), else the daemon's
//! environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), else the
//! instance role through IMDSv2 (a session token PUT first, then the role's credentials).
//! Every secret value is a [`Secret`], handed to the scrubber with every message.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use super::error::Ec2Error;
use crate::backend::support::secret::{read_secret_text, Secret};

/// Longest answer read from the metadata service.
const MAX_IMDS_ANSWER: usize = 64 * 1024;

/// Keys that sign requests.
#[derive(Debug, Clone)]
pub struct Keys {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
    /// Where they came from, for messages: `credentials_file /x profile p`, `environment`, ...
    pub source: String,
}

impl Keys {
    /// What no message may show.
    pub fn secrets(&self) -> Vec<Secret> {
        let mut out = vec![self.secret_access_key.clone()];
        out.extend(self.session_token.clone());
        out
    }
}

/// Where to look, in order.
pub struct Sources<'a> {
    pub file: Option<(&'a Path, &'a str)>,
    /// Reads an environment variable (the daemon's environment; a table in tests).
    pub env: &'a (dyn Fn(&str) -> Option<String> + Sync),
    pub imds: &'a reqwest::Url,
}

/// The keys of the first source that has them.
pub async fn find(
    sources: &Sources<'_>,
    http: &reqwest::Client,
    deadline: Instant,
) -> Result<Keys, Ec2Error> {
    if let Some((path, profile)) = sources.file {
        return from_file(path, profile);
    }
    if let Some(keys) = from_env(sources.env)? {
        return Ok(keys);
    }
    from_imds(http, sources.imds, deadline).await
}

fn creds(reason: String) -> Ec2Error {
    Ec2Error::Credentials(reason)
}

/// The profile `profile` of a shared-credentials file (`[name]` or `[profile name]`).
pub fn from_file(path: &Path, profile: &str) -> Result<Keys, Ec2Error> {
    let text = read_secret_text("credentials_file", path).map_err(|e| creds(e.to_string()))?;
    let mut section: Option<String> = None;
    let (mut id, mut secret, mut token) = (None, None, None);
    for line in text.expose().lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.trim();
            section = Some(
                name.strip_prefix("profile ")
                    .unwrap_or(name)
                    .trim()
                    .to_owned(),
            );
            continue;
        }
        if section.as_deref() != Some(profile) {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().to_owned();
        match k.trim().to_ascii_lowercase().as_str() {
            "aws_access_key_id" => id = Some(v),
            "aws_secret_access_key" => secret = Some(Secret::new(v)),
            "aws_session_token" => token = Some(Secret::new(v)),
            _ => {}
        }
    }
    let source = format!("credentials_file {} profile {profile}", path.display());
    match (id, secret) {
        (Some(id), Some(secret)) if !id.is_empty() && !secret.expose().is_empty() => Ok(Keys {
            access_key_id: id,
            secret_access_key: secret,
            session_token: token.filter(|t| !t.expose().is_empty()),
            source,
        }),
        _ => Err(creds(format!(
            "{source}: no aws_access_key_id and aws_secret_access_key there"
        ))),
    }
}

/// The environment's keys, `None` when `AWS_ACCESS_KEY_ID` is unset or empty.
pub fn from_env(env: &(dyn Fn(&str) -> Option<String> + Sync)) -> Result<Option<Keys>, Ec2Error> {
    let Some(id) = env("AWS_ACCESS_KEY_ID").filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let secret = env("AWS_SECRET_ACCESS_KEY")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| creds("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".into()))?;
    Ok(Some(Keys {
        access_key_id: id,
        secret_access_key: Secret::new(secret),
        session_token: env("AWS_SESSION_TOKEN")
            .filter(|v| !v.is_empty())
            .map(Secret::new),
        source: "environment".to_owned(),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleKeys {
    access_key_id: String,
    secret_access_key: String,
    token: Option<String>,
}

/// The instance role's keys through IMDSv2.
async fn from_imds(
    http: &reqwest::Client,
    imds: &reqwest::Url,
    deadline: Instant,
) -> Result<Keys, Ec2Error> {
    let base = imds.as_str().trim_end_matches('/');
    let fail = |what: &str, e: String| {
        creds(format!(
            "no credentials_file, no AWS_ACCESS_KEY_ID, and the instance metadata service at \
             {base} gave no role ({what}: {e})"
        ))
    };
    let token = imds_call(
        http.put(format!("{base}/latest/api/token"))
            .header("X-aws-ec2-metadata-token-ttl-seconds", "300"),
        deadline,
    )
    .await
    .map_err(|e| fail("token", e))?;
    let token = Secret::new(token.trim().to_owned());
    let get = |path: String| {
        http.get(format!(
            "{base}/latest/meta-data/iam/security-credentials/{path}"
        ))
        .header("X-aws-ec2-metadata-token", token.expose())
    };
    let roles = imds_call(get(String::new()), deadline)
        .await
        .map_err(|e| fail("role", e))?;
    let role = roles.lines().next().unwrap_or("").trim().to_owned();
    let role_ok = !role.is_empty() && role.chars().all(|c| c.is_ascii_graphic() && c != '/');
    if !role_ok {
        return Err(fail("role", "no role attached to the instance".into()));
    }
    let body = imds_call(get(role.clone()), deadline)
        .await
        .map_err(|e| fail("keys", e))?;
    let keys: RoleKeys = serde_json::from_str(&body).map_err(|e| fail("keys", e.to_string()))?;
    Ok(Keys {
        access_key_id: keys.access_key_id,
        secret_access_key: Secret::new(keys.secret_access_key),
        session_token: keys.token.map(Secret::new),
        source: format!("instance role {role}"),
    })
}

async fn imds_call(request: reqwest::RequestBuilder, deadline: Instant) -> Result<String, String> {
    // The metadata service answers in milliseconds; never more than 2 s of the budget each.
    let limit = deadline.min(Instant::now() + Duration::from_secs(2));
    let response = tokio::time::timeout_at(limit, request.send())
        .await
        .map_err(|_| "no answer within 2 s".to_owned())?
        .map_err(|e| super::api::chain_text(&e))?;
    let status = response.status();
    let body = tokio::time::timeout_at(limit, response.bytes())
        .await
        .map_err(|_| "no answer within 2 s".to_owned())?
        .map_err(|e| super::api::chain_text(&e))?;
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    if body.len() > MAX_IMDS_ANSWER {
        return Err("answer too large".to_owned());
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn write(dir: &Path, body: &str, mode: u32) -> std::path::PathBuf {
        let p = dir.join("credentials");
        std::fs::write(&p, body).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        p
    }

    const FILE: &str = "# keys\n[default]\naws_access_key_id = AKIDEFAULT\n\
        aws_secret_access_key = s3cr3t-default\n\n[profile fence]\naws_access_key_id=AKIDFENCE\n\
        aws_secret_access_key=s3cr3t/fence+key\naws_session_token = tok3n\n";

    #[test]
    fn profiles_of_a_credentials_file() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = write(d.path(), FILE, 0o600);
        let k = from_file(&p, "default").expect("default");
        assert_eq!(k.access_key_id, "AKIDEFAULT");
        assert_eq!(k.secret_access_key.expose(), "s3cr3t-default");
        assert!(k.session_token.is_none());
        let k = from_file(&p, "fence").expect("fence");
        assert_eq!(k.access_key_id, "AKIDFENCE");
        assert_eq!(k.secrets().len(), 2);
        let e = from_file(&p, "other")
            .expect_err("no such profile")
            .to_string();
        assert!(e.contains("profile other") && !e.contains("s3cr3t"), "{e}");
    }

    #[test]
    fn a_readable_credentials_file_is_refused_without_its_keys_in_the_message() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = write(d.path(), FILE, 0o644);
        let e = from_file(&p, "default")
            .expect_err("world-readable")
            .to_string();
        assert!(e.contains("world-readable") && !e.contains("s3cr3t"), "{e}");
    }

    #[test]
    fn environment_keys() {
        let env = |k: &str| match k {
            "AWS_ACCESS_KEY_ID" => Some("AKIDENV".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("envsecret".to_owned()),
            _ => None,
        };
        let k = from_env(&env).expect("ok").expect("some");
        assert_eq!(
            (k.access_key_id.as_str(), k.source.as_str()),
            ("AKIDENV", "environment")
        );
        assert!(from_env(&|_| None).expect("ok").is_none());
        let half = |k: &str| (k == "AWS_ACCESS_KEY_ID").then(|| "AKID".to_owned());
        assert!(from_env(&half).is_err());
    }
}
