//! Where a watch's alerts are POSTed.

/// A webhook's address: `http://host[:port][/path]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    /// `host:port`, to connect to.
    pub authority: String,
    /// The host, for the `Host` header.
    pub host: String,
    /// The path and query (`/` at least).
    pub path: String,
}

impl WebhookUrl {
    /// Parses `url`.
    ///
    /// # Errors
    /// A message for anything but `http://host[:port][/path]`.
    pub fn parse(url: &str) -> Result<WebhookUrl, String> {
        let shown = sleuth_chain::shown(url);
        let Some(rest) = url.strip_prefix("http://") else {
            return Err(if url.starts_with("https://") {
                format!(
                    "{shown}: webhooks are sent over plain http; for https, relay through an http endpoint on this machine"
                )
            } else {
                format!("{shown} is not a webhook URL; write http://host:port/path")
            });
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') || authority.chars().any(char::is_whitespace) {
            return Err(format!("{shown}: no host, or a host with credentials or spaces"));
        }
        let host = authority.to_owned();
        let authority = if authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        Ok(WebhookUrl { authority, host, path: path.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls() {
        let u = WebhookUrl::parse("http://127.0.0.1:9000/hook?x=1").unwrap();
        assert_eq!((u.authority.as_str(), u.path.as_str()), ("127.0.0.1:9000", "/hook?x=1"));
        assert_eq!(WebhookUrl::parse("http://relay").unwrap().authority, "relay:80");
        assert!(WebhookUrl::parse("https://x").unwrap_err().contains("relay through an http endpoint"));
        assert!(WebhookUrl::parse("ftp://x").is_err());
        assert!(WebhookUrl::parse("http://user:pw@x/").is_err());
    }
}
