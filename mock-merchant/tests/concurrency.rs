//! Exactly-once through the merchant: 1,000 concurrent paid retries carrying one
//! credential give one receipt and one redemption at mock-link.

mod common;

use std::sync::Arc;

use common::{Answer, Env};
use reqwest::StatusCode;
use tokio::sync::Barrier;

const RETRIES: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_paid_retries_with_one_credential_give_exactly_one_receipt() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/report");
    let challenge = env.challenge(&url).await;
    let spt = env.spt().await;
    let credential = Env::credential(&challenge, &spt);

    // Every retry waits at the barrier so they really overlap. Like 1,000 separate
    // clients, each closes its connection after its answer: the server's connection
    // cap then frees a slot at once instead of when an idle connection times out.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let barrier = Arc::new(Barrier::new(RETRIES));
    let retries: Vec<_> = (0..RETRIES)
        .map(|_| {
            let barrier = barrier.clone();
            let retry = http.get(&url).header("authorization", &credential).send();
            tokio::spawn(async move {
                barrier.wait().await;
                Answer::read(retry.await.expect("send")).await
            })
        })
        .collect();
    let mut answers: Vec<Answer> = Vec::with_capacity(RETRIES);
    for retry in retries {
        answers.push(retry.await.expect("a retry panicked"));
    }

    let receipts = answers
        .iter()
        .filter(|a| a.header("payment-receipt").is_some())
        .count();
    let paid = answers
        .iter()
        .filter(|a| a.status == StatusCode::OK)
        .count();
    eprintln!("{RETRIES} concurrent paid retries with one credential: {receipts} receipt(s)");
    assert_eq!((receipts, paid), (1, 1));
    for loser in answers.iter().filter(|a| a.status != StatusCode::OK) {
        loser.assert_402("verification-failed");
    }
    assert_eq!(env.link_events(&spt).await, ["issued", "redeemed"]);
}
