//! JSON-RPC 1.0 over HTTP/1.1 on a plain `TcpStream`: just enough to drive a local
//! litecoind without pulling an HTTP client into every test build.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{json, Value};

/// An error that the node answered to an RPC call, e.g. code -5 for an invalid address or
/// -8 for an invalid parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rpc error {code}: {message}")]
pub struct RpcError {
    /// The JSON-RPC error code (`RPC_*` in Litecoin Core's `src/rpc/protocol.h`).
    pub code: i64,
    /// The node's message.
    pub message: String,
}

/// Why a call got no JSON-RPC answer at all.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TransportError {
    #[error("connecting to {addr}: {source}")]
    Connect { addr: SocketAddr, source: io::Error },
    #[error("talking to {addr}: {source}")]
    Io { addr: SocketAddr, source: io::Error },
    #[error("http status {status} from {addr}: {body:?}")]
    Status { addr: SocketAddr, status: u16, body: String },
    #[error("malformed http response from {addr}: {reason}")]
    Malformed { addr: SocketAddr, reason: String },
}

/// How long one call may take; generous because `generatetoaddress` of thousands of blocks
/// is slow, but bounded so that a wedged node fails the test instead of hanging it.
const CALL_TIMEOUT: Duration = Duration::from_secs(300);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Calls `method` on the node at `127.0.0.1:port`, at URL path `path` (`/` or
/// `/wallet/<name>`), authenticating with the cookie's contents `user:password`.
pub(crate) fn call(
    port: u16,
    cookie: &str,
    path: &str,
    method: &str,
    params: &Value,
) -> Result<Result<Value, RpcError>, TransportError> {
    call_version("1.0", port, cookie, path, method, params)
}

/// As [`call`], speaking JSON-RPC `version` ("2.0" for Ethereum clients, which refuse 1.0).
pub(crate) fn call_version(
    version: &str,
    port: u16,
    cookie: &str,
    path: &str,
    method: &str,
    params: &Value,
) -> Result<Result<Value, RpcError>, TransportError> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let body = json!({"jsonrpc": version, "id": id, "method": method, "params": params}).to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\n\
         Host: {addr}\r\n\
         Authorization: Basic {auth}\r\n\
         Content-Type: application/json\r\n\
         Content-Length: {len}\r\n\
         Connection: close\r\n\
         \r\n\
         {body}",
        auth = base64(cookie.as_bytes()),
        len = body.len(),
    );

    let mut stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
        .map_err(|source| TransportError::Connect { addr, source })?;
    let io = |source| TransportError::Io { addr, source };
    stream.set_read_timeout(Some(CALL_TIMEOUT)).map_err(io)?;
    stream.set_write_timeout(Some(CALL_TIMEOUT)).map_err(io)?;
    stream.write_all(request.as_bytes()).map_err(io)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).map_err(io)?;

    let (status, body) = parse_response(&response).map_err(|reason| TransportError::Malformed { addr, reason })?;
    // RPC errors come with status 404 or 500 but still carry a JSON-RPC body; auth failures
    // and warm-up oddities come without one.
    let Ok(reply) = serde_json::from_slice::<Value>(&body) else {
        return Err(TransportError::Status { addr, status, body: String::from_utf8_lossy(&body).into_owned() });
    };
    match reply.get("error") {
        Some(error) if !error.is_null() => Ok(Err(RpcError {
            code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: error.get("message").and_then(Value::as_str).map_or_else(|| error.to_string(), str::to_owned),
        })),
        _ if status != 200 => {
            Err(TransportError::Status { addr, status, body: String::from_utf8_lossy(&body).into_owned() })
        }
        _ => Ok(Ok(reply.get("result").cloned().unwrap_or(Value::Null))),
    }
}

/// Splits an HTTP/1.1 response into its status code and body, undoing chunked encoding.
fn parse_response(response: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let split = find(response, b"\r\n\r\n").ok_or("no end of headers")?;
    let head = std::str::from_utf8(&response[..split]).map_err(|_| "headers are not utf-8")?;
    let rest = &response[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;

    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().map_err(|_| format!("bad content-length {value:?}"))?);
        }
    }

    let body = if chunked {
        dechunk(rest)?
    } else if let Some(length) = length {
        rest.get(..length).ok_or_else(|| format!("body has {} bytes, expected {length}", rest.len()))?.to_vec()
    } else {
        rest.to_vec()
    };
    Ok((status, body))
}

/// Decodes a `Transfer-Encoding: chunked` body.
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let end = find(rest, b"\r\n").ok_or("chunk size line has no end")?;
        let size_line = std::str::from_utf8(&rest[..end]).map_err(|_| "chunk size not utf-8")?;
        let size_hex = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16).map_err(|_| format!("bad chunk size {size_line:?}"))?;
        rest = &rest[end + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = rest.get(..size).ok_or("chunk cut short")?;
        body.extend_from_slice(chunk);
        rest = rest.get(size + 2..).ok_or("chunk has no trailing CRLF")?;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// Standard base64 with padding, for the `Authorization: Basic` header.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let bytes = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = u32::from(bytes[0]) << 16 | u32::from(bytes[1]) << 8 | u32::from(bytes[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The URL path for calls to wallet `name`, percent-encoding all but unreserved characters.
pub(crate) fn wallet_path(name: &str) -> String {
    let mut path = String::from("/wallet/");
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            path.push(char::from(byte));
        } else {
            path.push_str(&format!("%{byte:02X}"));
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
        assert_eq!(base64(&[0xfb, 0xff, 0xbf]), "+/+/");
    }

    #[test]
    fn wallet_names_are_percent_encoded() {
        assert_eq!(wallet_path("alice"), "/wallet/alice");
        assert_eq!(wallet_path("a b/c"), "/wallet/a%20b%2Fc");
        assert_eq!(wallet_path(""), "/wallet/");
    }

    #[test]
    fn parses_content_length_body() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                    Content-Length: 5\r\n\r\n{\"a\"}trailing";
        assert_eq!(parse_response(raw).unwrap(), (200, b"{\"a\"}".to_vec()));
    }

    #[test]
    fn parses_chunked_body() {
        let raw = b"HTTP/1.1 500 Internal Server Error\r\ntransfer-encoding: chunked\r\n\r\n\
                    4\r\nWiki\r\n6;ext=1\r\npedia \r\n0\r\n\r\n";
        assert_eq!(parse_response(raw).unwrap(), (500, b"Wikipedia ".to_vec()));
    }

    #[test]
    fn parses_body_to_end_without_length() {
        let raw = b"HTTP/1.1 401 Unauthorized\r\n\r\n";
        assert_eq!(parse_response(raw).unwrap(), (401, Vec::new()));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_response(b"not http").is_err());
        assert!(parse_response(b"HTTP/1.1 abc\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort").is_err());
    }
}
