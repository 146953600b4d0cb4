//! `devtool smoke` passes against the local stack and fails clearly when a function is broken.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;

fn smoke(base: &str) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_devtool"))
        .args(["smoke", "--base-url", base])
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

#[test]
fn smoke_passes_against_the_local_stack() {
    let base =
        std::env::var("API_URL").expect("run with `make test`, which starts the local stack");
    let (passed, out) = smoke(&base);
    assert!(passed, "{out}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("ok ")).count(),
        8,
        "{out}"
    );
}

#[test]
fn smoke_fails_line_by_line_when_every_function_is_broken() {
    // Given a gateway whose functions all fail (502, as API Gateway answers for a crashed function)
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            let _ = stream.write_all(
                b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });

    // When smoke runs against it
    let (passed, out) = smoke(&base);

    // Then it exits non-zero and says which checks failed and why
    assert!(!passed, "{out}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("FAIL ")).count(),
        8,
        "{out}"
    );
    assert!(out.contains("expected 200, got 502"), "{out}");
    assert!(out.contains("8 of 8 checks FAILED"), "{out}");
}
