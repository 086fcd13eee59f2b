//! D4: slow or idle connections are closed by timeouts and capped, so they cannot starve the
//! requests of well-behaved clients.

mod common;

use std::time::{Duration, Instant};

use mock_link::MockLink;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn tight_link() -> MockLink {
    MockLink::builder()
        .header_read_timeout(Duration::from_millis(300))
        .body_read_timeout(Duration::from_millis(300))
        .max_connections(8)
        .start()
        .await
        .expect("mock-link starts")
}

/// Reads until the peer closes (or the connection errors); answers what was read.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buffer = [0u8; 1024];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => seen.extend_from_slice(&buffer[..read]),
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test]
async fn a_slowloris_is_cut_off_and_normal_requests_keep_being_answered() {
    let link = tight_link().await;
    let address = link.address();
    // Three times the connection cap, each sending its request line one byte at a time.
    let mut slow = Vec::new();
    for _ in 0..24 {
        slow.push(tokio::spawn(async move {
            let started = Instant::now();
            let Ok(mut stream) = TcpStream::connect(address).await else {
                return Duration::ZERO;
            };
            let mut drip = tokio::time::interval(Duration::from_millis(50));
            for byte in b"GET /userinfo HTTP/1.1\r\nHost: x\r\nX-Slow: "
                .iter()
                .cycle()
            {
                drip.tick().await;
                if stream.write_all(&[*byte]).await.is_err()
                    || started.elapsed() > Duration::from_secs(10)
                {
                    break;
                }
            }
            started.elapsed()
        }));
    }
    let http = reqwest::Client::new();
    let started = Instant::now();
    for _ in 0..10 {
        let asked = Instant::now();
        let status = http
            .get(format!("{}/userinfo", link.base_url()))
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .expect("a normal request is answered while slow connections are held")
            .status();
        assert_eq!(status, 401);
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "took {:?}",
            asked.elapsed()
        );
    }
    assert!(started.elapsed() < Duration::from_secs(6));
    for task in slow {
        let held = task.await.unwrap();
        assert!(
            held < Duration::from_secs(5),
            "a slow connection was held {held:?}"
        );
    }
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_is_answered_408_within_the_timeout() {
    let link = tight_link().await;
    let mut stream = TcpStream::connect(link.address()).await.unwrap();
    stream
        .write_all(
            b"POST /spend_requests HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"amount\":",
        )
        .await
        .unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), read_until_closed(&mut stream))
        .await
        .expect("the server answers or closes instead of hanging");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"request_timeout\""), "{answer}");
}

#[tokio::test]
async fn an_idle_connection_is_closed() {
    let link = tight_link().await;
    let mut stream = TcpStream::connect(link.address()).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), read_until_closed(&mut stream)).await;
    assert!(closed.is_ok(), "an idle connection stayed open");
}

/// Arms a latency fault on `POST /device/code`, sends that request, and answers once the
/// request is in flight (the fault is taken when it arrives).
async fn slow_request_in_flight(
    link: &MockLink,
    millis: u64,
) -> tokio::task::JoinHandle<reqwest::Result<reqwest::Response>> {
    use mock_link::{ArmedFault, Fault};
    link.control()
        .inject_fault(&ArmedFault {
            method: Some("POST".into()),
            path: "/device/code".into(),
            count: 1,
            fault: Fault::Latency { millis },
        })
        .await
        .unwrap();
    let request = reqwest::Client::new()
        .post(format!("{}/device/code", link.base_url()))
        .form(&[("client_id", "lwlpk_drain")])
        .send();
    let in_flight = tokio::spawn(request);
    let mut poll = tokio::time::interval(Duration::from_millis(10));
    loop {
        poll.tick().await;
        let faults = link.control().get("/faults").await.unwrap();
        if faults["data"].as_array().unwrap().is_empty() {
            return in_flight;
        }
    }
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish_with_200() {
    let link = common::start().await;
    let in_flight = slow_request_in_flight(&link, 400).await;
    link.shutdown().await;
    let answer = in_flight.await.unwrap().expect("answered");
    assert_eq!(answer.status(), 200);
}

#[tokio::test]
async fn shutdown_waits_no_longer_than_the_grace() {
    let link = MockLink::builder()
        .shutdown_grace(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let in_flight = slow_request_in_flight(&link, 30_000).await;
    let started = Instant::now();
    link.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        in_flight.await.unwrap().is_err(),
        "the connection was closed"
    );
}

/// Sends `raw` on a fresh connection and answers everything read until the server closes.
async fn raw_exchange(link: &MockLink, raw: &[u8]) -> String {
    let mut stream = TcpStream::connect(link.address()).await.unwrap();
    stream.write_all(raw).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), read_until_closed(&mut stream))
        .await
        .expect("answered")
}

#[tokio::test]
async fn requests_hyper_refuses_get_json_problem_bodies() {
    let link = common::start().await;
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    let many_headers = format!(
        "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
        (0..150)
            .map(|n| format!("x-h{n}: v\r\n"))
            .collect::<String>()
    );
    for (raw, status, code) in [
        (b"NOT HTTP AT ALL\r\n\r\n".to_vec(), "400", "bad_request"),
        (long_uri.into_bytes(), "414", "uri_too_long"),
        (
            many_headers.into_bytes(),
            "431",
            "request_header_fields_too_large",
        ),
    ] {
        let answer = raw_exchange(&link, &raw).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{answer}"
        );
        assert!(
            answer.contains("content-type: application/json"),
            "{answer}"
        );
        let body = answer.split("\r\n\r\n").nth(1).unwrap();
        let json: serde_json::Value = serde_json::from_str(body).expect(body);
        assert_eq!(json["error"]["code"], code);
    }
    // The server is still serving.
    let status = reqwest::get(format!("{}/userinfo", link.base_url()))
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
}
