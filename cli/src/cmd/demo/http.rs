//! Just enough HTTP/1.1 for the demo's loopback hops: one request per connection
//! (`Connection: close`), a `Content-Length` body, every read and write under a timeout.
//! The parties are the demo's own, so this is strict rather than general: anything else is
//! refused with a 400, never a panic.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Largest body either side accepts (API Gateway's payload limit is 10 MB; forms are small).
const MAX_BODY: usize = 1 << 20;
/// Largest head (request line and headers).
const MAX_HEAD: usize = 32 << 10;
/// No hop waits on a silent peer for longer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A request or a response: the first line, the headers (names lower-cased, in order), the body.
#[derive(Debug, Clone, Default)]
pub struct Message {
    pub first_line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Message {
    pub fn request(method: &str, target: &str) -> Self {
        Self {
            first_line: format!("{method} {target} HTTP/1.1"),
            ..Self::default()
        }
    }

    pub fn response(status: u16, reason: &str) -> Self {
        Self {
            first_line: format!("HTTP/1.1 {status} {reason}"),
            ..Self::default()
        }
    }

    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    pub fn with_body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    /// `(method, target)` of a request line.
    pub fn method_target(&self) -> Option<(&str, &str)> {
        let mut parts = self.first_line.split(' ');
        Some((parts.next()?, parts.next()?))
    }

    /// The status of a response line (0 when unreadable).
    pub fn status(&self) -> u16 {
        self.first_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        let mut head = format!("{}\r\n", self.first_line);
        for (n, v) in &self.headers {
            if n != "content-length" && n != "connection" {
                head.push_str(&format!("{n}: {v}\r\n"));
            }
        }
        head.push_str(&format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            self.body.len()
        ));
        w.write_all(head.as_bytes())?;
        w.write_all(&self.body)?;
        w.flush()
    }

    fn read_from(r: &mut impl BufRead) -> std::io::Result<Self> {
        let bad =
            |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
        let mut head_len = 0usize;
        let mut line = String::new();
        let mut next_line = |line: &mut String| -> std::io::Result<()> {
            line.clear();
            let n = r
                .by_ref()
                .take(u64::try_from(MAX_HEAD).unwrap_or(u64::MAX))
                .read_line(line)?;
            head_len = head_len.saturating_add(n);
            if n == 0 || head_len > MAX_HEAD || !line.ends_with('\n') {
                return Err(bad("truncated or oversized HTTP head"));
            }
            let trimmed = line.trim_end_matches(['\r', '\n']).len();
            line.truncate(trimmed);
            Ok(())
        };
        next_line(&mut line)?;
        let mut msg = Message {
            first_line: line.clone(),
            ..Message::default()
        };
        loop {
            next_line(&mut line)?;
            if line.is_empty() {
                break;
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| bad("header without a colon"))?;
            msg.headers
                .push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        if msg.header("transfer-encoding").is_some() {
            return Err(bad("chunked bodies are not spoken here"));
        }
        let len: usize = match msg.header("content-length") {
            Some(v) => v.parse().map_err(|_| bad("bad content-length"))?,
            None => 0,
        };
        if len > MAX_BODY {
            return Err(bad("body too large"));
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body)?;
        msg.body = body;
        Ok(msg)
    }
}

/// Sends `request` to `addr` and reads the answer.
pub fn send(addr: SocketAddr, request: &Message) -> std::io::Result<Message> {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut w = &stream;
    request.write_to(&mut w)?;
    Message::read_from(&mut BufReader::new(&stream))
}

/// A loopback server: one thread per connection, `handle` answers each request. Stops
/// accepting when dropped.
#[derive(Debug)]
pub struct Server {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Server {
    pub fn start<H>(name: &str, handle: H) -> std::io::Result<Self>
    where
        H: Fn(Message) -> Message + Send + Sync + 'static,
    {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let handle = Arc::new(handle);
        let stopping = Arc::clone(&stop);
        std::thread::Builder::new()
            .name(format!("demo-{name}"))
            .spawn(move || {
                for conn in listener.incoming() {
                    if stopping.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let handle = Arc::clone(&handle);
                    let _ = std::thread::Builder::new().spawn(move || serve(&conn, &*handle));
                }
            })?;
        Ok(Self { addr, stop })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

/// `METHOD /target HTTP/1.x`.
fn is_request_line(line: &str) -> bool {
    let parts: Vec<&str> = line.split(' ').collect();
    matches!(parts.as_slice(), [method, target, version]
        if !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase())
            && target.starts_with('/') && version.starts_with("HTTP/1."))
}

fn serve(conn: &TcpStream, handle: &dyn Fn(Message) -> Message) {
    let _ = conn.set_read_timeout(Some(IO_TIMEOUT));
    let _ = conn.set_write_timeout(Some(IO_TIMEOUT));
    let answer = match Message::read_from(&mut BufReader::new(conn)) {
        Ok(request) if is_request_line(&request.first_line) => handle(request),
        Ok(_) => Message::response(400, "Bad Request").with_body(b"bad request line\n".to_vec()),
        Err(e) => Message::response(400, "Bad Request").with_body(format!("{e}\n").into_bytes()),
    };
    let mut w = conn;
    let _ = answer.write_to(&mut w);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn a_request_goes_there_and_back() {
        let server = Server::start("echo", |req: Message| {
            Message::response(200, "OK")
                .with_header("x-target", req.method_target().map_or("", |(_, t)| t))
                .with_body(req.body)
        })
        .unwrap();
        let answer = send(
            server.addr,
            &Message::request("POST", "/a?b=c")
                .with_header("Host", "example.com")
                .with_body(b"x=1&y=2".to_vec()),
        )
        .unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.header("x-target"), Some("/a?b=c"));
        assert_eq!(answer.body, b"x=1&y=2");
    }

    #[test]
    fn garbage_gets_a_400_not_a_panic() {
        let server = Server::start("strict", |_| Message::response(200, "OK")).unwrap();
        for junk in [
            &b"\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nno-colon\r\n\r\n",
            b"POST / HTTP/1.1\r\ncontent-length: 99999999\r\n\r\n",
        ] {
            let mut s = TcpStream::connect(server.addr).unwrap();
            s.write_all(junk).unwrap();
            let _ = s.shutdown(std::net::Shutdown::Write);
            let answer = Message::read_from(&mut BufReader::new(&s)).unwrap();
            assert_eq!(answer.status(), 400, "{junk:?}");
        }
    }
}
