//! D4 and D7: slow or idle connections are closed, a connection cap queues
//! the excess, a slow body gets a 408, and shutdown drains in-flight
//! requests within a bound.

use std::time::Duration;

use mock_merchant::MockMerchant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A merchant with tiny timeouts (its Stripe API is never reached here).
async fn merchant(
    limits: impl FnOnce(mock_merchant::MockMerchantBuilder) -> mock_merchant::MockMerchantBuilder,
) -> MockMerchant {
    limits(MockMerchant::builder().link("http://127.0.0.1:9"))
        .start()
        .await
        .unwrap()
}

/// Reads until the server closes the connection; what it answered.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer));
    read.await.expect("the server closes the connection").ok();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_slowloris_does_not_starve_normal_requests() {
    let shop = merchant(|b| {
        b.header_read_timeout(Duration::from_millis(200))
            .max_connections(4)
    })
    .await;
    let mut slow = Vec::new();
    for _ in 0..16 {
        let mut stream = TcpStream::connect(shop.address()).await.unwrap();
        // Headers that never end.
        stream
            .write_all(b"GET /m/api/free HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1")
            .await
            .unwrap();
        slow.push(stream);
    }
    let normal = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .get(shop.url("api", "/free"))
        .send()
        .await
        .expect("served despite 16 slow connections");
    assert_eq!(normal.status(), 200);
    // The slow ones were closed, not kept.
    for stream in &mut slow {
        read_to_close(stream).await;
    }
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let shop = merchant(|b| b.header_read_timeout(Duration::from_millis(200))).await;
    let mut stream = TcpStream::connect(shop.address()).await.unwrap();
    stream
        .write_all(b"GET /m/api/free HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_gets_a_408_problem() {
    let shop = merchant(|b| b.body_timeout(Duration::from_millis(200))).await;
    let mut stream = TcpStream::connect(shop.address()).await.unwrap();
    stream
        .write_all(b"POST /m/api/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"rows\":")
        .await
        .unwrap();
    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
}

/// Waits (without sleeping) until `shop`'s port refuses new connections.
async fn until_refused(address: std::net::SocketAddr) {
    let refused = async {
        while TcpStream::connect(address).await.is_ok() {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), refused)
        .await
        .expect("the listener closes");
}

#[tokio::test]
async fn shutdown_drains_an_in_flight_request() {
    let shop = merchant(|b| b.body_timeout(Duration::from_secs(30))).await;
    let address = shop.address();
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"POST /m/api/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"rows\":")
        .await
        .unwrap();
    let stopping = tokio::spawn(shop.shutdown());
    until_refused(address).await;
    stream.write_all(b"100}").await.unwrap();
    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 402"), "{answer}");
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("shutdown ends once drained")
        .unwrap();
}

#[tokio::test]
async fn shutdown_gives_up_on_a_request_that_never_completes_after_its_bound() {
    let shop = merchant(|b| {
        b.body_timeout(Duration::from_secs(60))
            .drain_timeout(Duration::from_millis(200))
    })
    .await;
    let mut stream = TcpStream::connect(shop.address()).await.unwrap();
    stream
        .write_all(b"POST /m/api/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 12\r\n\r\n{")
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), shop.shutdown())
        .await
        .expect("shutdown is bounded");
}
