//! A real S3-compatible server for the object store tests: moto's server
//! mode (PyPI's `moto[server]`), started on a free port and stopped when the
//! test ends; and another S3 client (boto3, which moto brings) to change
//! the bucket behind replicate's back.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{Replicate, free_port};

/// The secret key the tests give replicate: it must never be seen.
pub const SECRET_KEY: &str = "s3cr3t-Key-never-shown-0001";

pub struct S3 {
    child: Child,
    pub port: u16,
}

impl S3 {
    /// Starts moto's server and creates `bucket`.
    pub fn start(bucket: &str) -> Self {
        let port = free_port();
        let spawn = |program: &str, args: &[&str]| {
            Command::new(program)
                .args(args)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
        };
        let child = spawn("moto_server", &[])
            .or_else(|_| spawn("python3", &["-m", "moto.server"]))
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start an S3-compatible server (moto): {e}.\n\
                     These tests use a real one: `pip install 'moto[server]'` (.ci/run does)."
                )
            });
        let s3 = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto's server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let status = s3.put(bucket, "", b"");
        assert!(status < 300, "creating the bucket answered {status}");
        s3
    }

    /// A signed request to the server through boto3 (which comes with
    /// moto), as another S3 client would send it; returns the HTTP status.
    /// `method` is PUT (an object or, with a bare bucket, the bucket),
    /// DELETE or LIST; for LIST the answer is the keys, a line each.
    fn boto(&self, method: &str, bucket: &str, key: &str, body: &[u8]) -> (u16, String) {
        const SCRIPT: &str = r#"
import sys, boto3, botocore
method, endpoint, bucket, key = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="tests", aws_secret_access_key="tests")
try:
    if method == "PUT" and key == "":
        s3.create_bucket(Bucket=bucket)
    elif method == "PUT":
        s3.put_object(Bucket=bucket, Key=key, Body=sys.stdin.buffer.read())
    elif method == "DELETE":
        s3.delete_object(Bucket=bucket, Key=key)
    elif method == "LIST":
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
            for item in page.get("Contents", []):
                print(item["Key"])
    print("status 200")
except botocore.exceptions.ClientError as e:
    print("status", e.response["ResponseMetadata"]["HTTPStatusCode"])
"#;
        let output = duct::cmd!(
            "python3",
            "-c",
            SCRIPT,
            method,
            format!("http://127.0.0.1:{}", self.port),
            bucket,
            key
        )
        .stdin_bytes(body.to_vec())
        .stdout_capture()
        .unchecked()
        .run()
        .expect("python3 runs");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let status = text
            .lines()
            .last()
            .and_then(|l| l.strip_prefix("status "))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("boto3 {method} {bucket}/{key} failed: {text}"));
        (status, text)
    }

    /// Writes an object behind replicate's back; returns the status.
    pub fn put(&self, bucket: &str, key: &str, body: &[u8]) -> u16 {
        self.boto("PUT", bucket, key, body).0
    }

    /// Deletes an object behind replicate's back; returns the status.
    pub fn delete(&self, bucket: &str, key: &str) -> u16 {
        self.boto("DELETE", bucket, key, b"").0
    }

    /// The object keys below `prefix` in `bucket`.
    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let (_, text) = self.boto("LIST", bucket, prefix, b"");
        text.lines()
            .filter(|l| !l.starts_with("status "))
            .map(str::to_owned)
            .collect()
    }

    /// `replicate` with the store's settings in its environment.
    pub fn replicate(&self, dir: &std::path::Path) -> Replicate {
        self.replicate_through(dir, self.port)
    }

    /// `replicate` talking to the server through `port` (a [`Stall`]).
    pub fn replicate_through(&self, dir: &std::path::Path, port: u16) -> Replicate {
        Replicate::new()
            .current_dir(dir)
            .env("AWS_ACCESS_KEY_ID", "replicate-tests")
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
    }

    /// A proxy in front of the server that passes everything until a
    /// request carries `marker`, then holds that request forever: the
    /// client is caught in the middle of it.
    pub fn stall_at(&self, marker: &'static str) -> Stall {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().unwrap().port();
        let upstream = self.port;
        let seen = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&seen);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let flag = Arc::clone(&flag);
                std::thread::spawn(move || relay(client, upstream, marker, &flag));
            }
        });
        Stall { port, seen }
    }
}

/// See [`S3::stall_at`].
pub struct Stall {
    pub port: u16,
    seen: Arc<AtomicBool>,
}

impl Stall {
    /// Waits until a request carrying the marker is held.
    pub fn wait(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.seen.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "no request reached the stall");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn relay(mut client: TcpStream, upstream: u16, marker: &str, seen: &AtomicBool) {
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return;
    };
    let (Ok(mut client_back), Ok(mut server_back)) = (client.try_clone(), server.try_clone())
    else {
        return;
    };
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut server_back, &mut client_back);
    });
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let Ok(n) = client.read(&mut buffer) else {
            return;
        };
        if n == 0 {
            return;
        }
        let chunk = &buffer[..n];
        if seen.load(Ordering::SeqCst)
            || chunk.windows(marker.len()).any(|w| w == marker.as_bytes())
        {
            seen.store(true, Ordering::SeqCst);
            // Hold the request: neither forward nor close.
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        if server.write_all(chunk).is_err() {
            return;
        }
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
