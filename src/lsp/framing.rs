//! A guard in front of the protocol library: tower-lsp-server ends its input
//! stream at the first message it cannot decode (invalid JSON, or JSON that
//! is no JSON-RPC message), which would end the server. This copies frames
//! from stdin to the server, replacing each such body with a request for
//! `$/deploy/malformedMessage`, which answers with a parse error (id null).

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tower_lsp_server::jsonrpc::{Request, Response};

pub const MALFORMED_METHOD: &str = "$/deploy/malformedMessage";

/// Bodies larger than this are dropped unread rather than buffered.
const MAX_BODY: usize = 512 * 1024 * 1024;

pub async fn forward_frames(input: impl AsyncRead + Unpin, mut output: impl AsyncWrite + Unpin) {
    let mut input = BufReader::new(input);
    loop {
        let mut length: Option<usize> = None;
        let mut header_lines = 0;
        loop {
            let mut line = Vec::new();
            match input.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = String::from_utf8_lossy(&line);
            let line = line.trim();
            if line.is_empty() {
                if header_lines > 0 {
                    break;
                }
                continue;
            }
            header_lines += 1;
            if let Some((name, value)) = line.split_once(':') {
                if name.trim().eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().ok();
                }
            }
        }
        // Without a length the frame cannot be delimited; its headers are skipped.
        let Some(length) = length else { continue };
        if length > MAX_BODY {
            let mut rest = (&mut input).take(length as u64);
            if tokio::io::copy(&mut rest, &mut tokio::io::sink()).await.is_err() {
                return;
            }
            continue;
        }
        let mut body = vec![0; length];
        if input.read_exact(&mut body).await.is_err() {
            return;
        }
        let valid =
            serde_json::from_slice::<Request>(&body).is_ok() || serde_json::from_slice::<Response>(&body).is_ok();
        if !valid {
            body = serde_json::json!({ "jsonrpc": "2.0", "id": null, "method": MALFORMED_METHOD })
                .to_string()
                .into_bytes();
        }
        let header = format!("Content-Length: {}\r\n\r\n", body.len());
        if output.write_all(header.as_bytes()).await.is_err() || output.write_all(&body).await.is_err() {
            return;
        }
        if output.flush().await.is_err() {
            return;
        }
    }
}
