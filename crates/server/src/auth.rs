//! Bearer tokens and their rate limits. Tokens come from a file (one per line, `#` comments);
//! a request names one in `Authorization: Bearer <token>`. Tokens are never logged: a token is
//! known inside the server only by its position in the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use axum::http::StatusCode;

use crate::ApiError;

/// The tokens a server accepts.
#[derive(Clone)]
pub struct Tokens {
    tokens: Vec<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} tokens)", self.tokens.len())
    }
}

/// A token file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokensError {
    /// It cannot be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// It holds no token, or one too short to be a secret.
    #[error("{}: {what}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

/// Tokens shorter than this are refused: a token is a secret, not a name.
const MIN_TOKEN_LEN: usize = 16;

impl Tokens {
    /// Reads a token file: one token per line; blank lines and `#` comments are skipped.
    ///
    /// # Errors
    /// [`TokensError`] if the file cannot be read, holds no token, or a token is shorter than
    /// 16 characters or holds spaces (line number given, never the token).
    pub fn load(path: &Path) -> Result<Tokens, TokensError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokensError::Io { path: path.to_owned(), source })?;
        let mut tokens = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            if t.len() < MIN_TOKEN_LEN || t.chars().any(char::is_whitespace) {
                return Err(TokensError::Invalid {
                    path: path.to_owned(),
                    what: format!("line {}: a token is at least {MIN_TOKEN_LEN} characters without spaces", n + 1),
                });
            }
            tokens.push(t.to_owned());
        }
        if tokens.is_empty() {
            return Err(TokensError::Invalid { path: path.to_owned(), what: "no token in the file".into() });
        }
        Ok(Tokens { tokens })
    }

    /// The position of `presented` among the tokens, compared in constant time per token.
    pub fn find(&self, presented: &str) -> Option<usize> {
        let mut found = None;
        for (i, t) in self.tokens.iter().enumerate() {
            let (a, b) = (t.as_bytes(), presented.as_bytes());
            let mut diff = (a.len() ^ b.len()) as u8;
            for (k, &x) in a.iter().enumerate() {
                diff |= x ^ b.get(k).copied().unwrap_or(0);
            }
            if diff == 0 {
                found = Some(i);
            }
        }
        found
    }
}

/// Per-token token buckets.
pub struct RateLimits {
    per_second: f64,
    buckets: Mutex<HashMap<usize, (f64, Instant)>>,
}

impl RateLimits {
    /// `per_second` requests a second per token, in bursts of twice that.
    pub fn new(per_second: u32) -> RateLimits {
        RateLimits { per_second: per_second.max(1) as f64, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one request from token `i`'s bucket.
    pub fn take(&self, i: usize) -> Result<(), ApiError> {
        let burst = 2.0 * self.per_second;
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let (level, at) = b.entry(i).or_insert((burst, now));
        *level = (*level + now.duration_since(*at).as_secs_f64() * self.per_second).min(burst);
        *at = now;
        if *level < 1.0 {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("this token may make {} requests a second", self.per_second),
            ));
        }
        *level -= 1.0;
        Ok(())
    }
}

/// Checks the `Authorization` header against `tokens`; returns the token's position.
pub fn check(tokens: &Tokens, header: Option<&str>) -> Result<usize, ApiError> {
    let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", m);
    let h = header.ok_or_else(|| unauthorized("this server needs `Authorization: Bearer <token>`"))?;
    let t =
        h.strip_prefix("Bearer ").ok_or_else(|| unauthorized("the Authorization header is not `Bearer <token>`"))?;
    tokens.find(t.trim()).ok_or_else(|| unauthorized("unknown token"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_read_checked_and_limited() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("tokens.txt");
        std::fs::write(&f, "# ops\n0123456789abcdef0123\n\nfedcba9876543210fedc\n").unwrap();
        let t = Tokens::load(&f).unwrap();
        assert_eq!(check(&t, Some("Bearer fedcba9876543210fedc")).unwrap(), 1);
        assert_eq!(check(&t, Some("Bearer fedcba9876543210fed")).unwrap_err().code, "unauthorized");
        assert_eq!(check(&t, Some("Basic abc")).unwrap_err().code, "unauthorized");
        assert_eq!(check(&t, None).unwrap_err().code, "unauthorized");
        std::fs::write(&f, "short\n").unwrap();
        let e = Tokens::load(&f).unwrap_err().to_string();
        assert!(e.contains("line 1") && !e.contains("short"), "{e}");
        let limits = RateLimits::new(5);
        let ok = (0..20).filter(|_| limits.take(0).is_ok()).count();
        assert_eq!(ok, 10, "a burst of twice the rate, then refused");
        assert!(limits.take(1).is_ok(), "each token has its own bucket");
    }
}
