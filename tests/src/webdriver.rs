//! A real browser for the web pages' tests: Debian's headless Chromium driven by its
//! ChromeDriver over the W3C WebDriver protocol (JSON over HTTP/1.1 on 127.0.0.1).
//!
//! Only what the tests use: sessions, navigation, finding elements, clicks, typing, running a
//! script, window size and screenshots. The HTTP client is a plain blocking one: ChromeDriver
//! answers each request with a `content-length` and the tests are sequential.
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The key W3C WebDriver names an element reference with.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where the distribution puts them (`apt-get install chromium chromium-driver`).
pub fn chromium() -> PathBuf {
    std::env::var_os("JJJ_CHROMIUM").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}
pub fn chromedriver() -> PathBuf {
    std::env::var_os("JJJ_CHROMEDRIVER").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"))
}

/// A running ChromeDriver; killed on drop.
pub struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    pub fn start(port: u16) -> Result<Driver, String> {
        let child = Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e} (scripts/test-web.sh installs it)", chromedriver().display()))?;
        let d = Driver { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(v) = d.http("GET", "/status", None) {
                if v["value"]["ready"] == json!(true) {
                    return Ok(d);
                }
            }
            if Instant::now() > deadline {
                return Err("ChromeDriver did not become ready within 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// One request; the answer's JSON, or the WebDriver error it carries.
    fn http(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let mut sock = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| format!("chromedriver: {e}"))?;
        sock.set_read_timeout(Some(Duration::from_secs(60))).map_err(|e| e.to_string())?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        sock.write_all(req.as_bytes()).map_err(|e| format!("chromedriver: {e}"))?;
        // Read the head, then exactly its content-length: the driver may keep the connection.
        let mut raw = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        let body_at = loop {
            if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = sock.read(&mut buf).map_err(|e| format!("chromedriver: {e}"))?;
            if n == 0 {
                return Err("chromedriver closed the connection before answering".into());
            }
            raw.extend_from_slice(&buf[..n]);
        };
        let head = String::from_utf8_lossy(&raw[..body_at]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .ok_or("chromedriver: an answer without content-length")?;
        while raw.len() < body_at + len {
            let n = sock.read(&mut buf).map_err(|e| format!("chromedriver: {e}"))?;
            if n == 0 {
                return Err("chromedriver: the answer was cut short".into());
            }
            raw.extend_from_slice(&buf[..n]);
        }
        let payload = String::from_utf8_lossy(&raw[body_at..body_at + len]);
        let v: Value =
            serde_json::from_str(&payload).map_err(|e| format!("chromedriver answered {payload:.200}: {e}"))?;
        if let Some(err) = v["value"]["error"].as_str() {
            return Err(format!("{err}: {}", v["value"]["message"].as_str().unwrap_or("")));
        }
        Ok(v)
    }

    /// A new headless browser window of `width`×`height`, saving downloads to `downloads`.
    pub fn session(&self, width: u32, height: u32, downloads: &Path) -> Result<Session<'_>, String> {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium().display().to_string(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--lang=zh-CN", format!("--window-size={width},{height}")],
                "prefs": {
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false,
                },
            },
        }}});
        let v = self.http("POST", "/session", Some(&caps))?;
        let id = v["value"]["sessionId"].as_str().ok_or("no session id")?.to_string();
        Ok(Session { driver: self, id })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser window; closed on drop.
pub struct Session<'a> {
    driver: &'a Driver,
    id: String,
}

impl Session<'_> {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        Ok(self.driver.http(method, &format!("/session/{}{path}", self.id), body.as_ref())?["value"].take())
    }

    pub fn goto(&self, url: &str) -> Result<(), String> {
        self.call("POST", "/url", Some(json!({ "url": url }))).map(drop)
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its value.
    pub fn run(&self, script: &str, args: Value) -> Result<Value, String> {
        self.call("POST", "/execute/sync", Some(json!({ "script": script, "args": args })))
    }

    /// Runs an async script: its last argument is the callback to call with the result.
    pub fn run_async(&self, script: &str, args: Value) -> Result<Value, String> {
        self.call("POST", "/execute/async", Some(json!({ "script": script, "args": args })))
    }

    fn find(&self, css: &str) -> Result<String, String> {
        let v = self.call("POST", "/element", Some(json!({"using": "css selector", "value": css})))?;
        v[ELEMENT].as_str().map(str::to_string).ok_or_else(|| format!("no element {css}: {v}"))
    }

    pub fn click(&self, css: &str) -> Result<(), String> {
        let e = self.find(css)?;
        self.call("POST", &format!("/element/{e}/click"), Some(json!({}))).map(drop)
    }

    pub fn type_into(&self, css: &str, text: &str) -> Result<(), String> {
        let e = self.find(css)?;
        self.call("POST", &format!("/element/{e}/clear"), Some(json!({})))?;
        self.call("POST", &format!("/element/{e}/value"), Some(json!({ "text": text }))).map(drop)
    }

    pub fn text(&self, css: &str) -> Result<String, String> {
        let e = self.find(css)?;
        Ok(self.call("GET", &format!("/element/{e}/text"), None)?.as_str().unwrap_or_default().to_string())
    }

    pub fn count(&self, css: &str) -> Result<u64, String> {
        Ok(self.run("return document.querySelectorAll(arguments[0]).length", json!([css]))?.as_u64().unwrap_or(0))
    }

    /// Waits until `css` matches an element, or fails naming what the page shows instead.
    pub fn wait_for(&self, css: &str, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            if self.count(css)? > 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                let shown = self.run("return document.getElementById('main').innerText", json!([]))?;
                return Err(format!("{css} did not appear within {within:?}; the page shows: {:.600}", shown));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn resize(&self, width: u32, height: u32) -> Result<(), String> {
        self.call("POST", "/window/rect", Some(json!({"width": width, "height": height}))).map(drop)
    }

    /// A PNG of the window, written to `dir/name.png` when `dir` is given.
    pub fn screenshot(&self, dir: Option<&Path>, name: &str) -> Result<(), String> {
        let Some(dir) = dir else { return Ok(()) };
        let b64 = self.call("GET", "/screenshot", None)?;
        let png = base64_decode(b64.as_str().ok_or("no screenshot")?)?;
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        std::fs::write(dir.join(format!("{name}.png")), png).map_err(|e| format!("{name}.png: {e}"))
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = self.driver.http("DELETE", &format!("/session/{}", self.id), None);
    }
}

/// Standard base64 (what WebDriver sends screenshots in).
fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        acc = (acc << 6) | u32::from(val(c).ok_or("not base64")?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_decodes() {
        assert_eq!(super::base64_decode("aGVsbG8=").as_deref(), Ok(&b"hello"[..]));
        assert_eq!(super::base64_decode("iVBORw0KGgo=").as_deref(), Ok(&[0x89, b'P', b'N', b'G', 13, 10, 26, 10][..]));
        assert!(super::base64_decode("a$b").is_err());
    }
}
