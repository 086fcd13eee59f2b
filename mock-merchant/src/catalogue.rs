//! The merchants this server hosts: stable ids, their paths and what each proves.
//! `docs/mock-merchant.md` describes the same list.

use serde::Serialize;

/// One merchant of the catalogue.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct MerchantInfo {
    /// Stable id; every path of the merchant starts with `/m/<id>/`.
    pub id: &'static str,
    /// Its paths (relative to the server's base URL).
    pub paths: &'static [&'static str],
    /// What a test of it proves.
    pub proves: &'static str,
}

/// Every merchant.
pub const CATALOGUE: &[MerchantInfo] = &[
    MerchantInfo {
        id: "api",
        paths: &[
            "/m/api/report",
            "/m/api/orders",
            "/m/api/free",
            "/m/api/openapi.json",
        ],
        proves: "paid API: 402 with stripe among tempo charge, tempo session and lightning in one WWW-Authenticate value; HMAC-bound, expiring, route-bound challenges, digest for POST bodies; paid retry settled at mock-link with a receipt; every verification outcome; a free endpoint; OpenAPI discovery",
    },
    MerchantInfo {
        id: "api-split",
        paths: &["/m/api-split/report", "/m/api-split/orders"],
        proves: "the same API with challenges over several WWW-Authenticate fields, Bearer and Basic challenges mixed in",
    },
    MerchantInfo {
        id: "api-session",
        paths: &["/m/api-session/stream"],
        proves: "a stripe session challenge (intent=\"session\"): the credential opens it with {action: open, grantedToken: spt_...}, settled like a charge",
    },
    MerchantInfo {
        id: "mcp",
        paths: &["/m/mcp"],
        proves: "MCP over HTTP (JSON-RPC): tools/call premium_report answers -32042 with the challenges (request as JSON); the credential in _meta[org.paymentauth/credential] is verified and settled like HTTP, the receipt in the result's _meta; refusals are -32043 (or -32602 when malformed)",
    },
    MerchantInfo {
        id: "no-stripe",
        paths: &["/m/no-stripe/report"],
        proves: "402 with only tempo and lightning challenges: Link cannot pay (not supported); a stripe credential gets method-unsupported",
    },
    MerchantInfo {
        id: "credential-header",
        paths: &["/m/credential-header/report"],
        proves: "a challenge with header=\"Payment-Authorization\" (draft -02): the credential is read from that field only, and the caller's Authorization stays free for the app",
    },
    MerchantInfo {
        id: "unsupported-header",
        paths: &["/m/unsupported-header/report"],
        proves: "a stripe challenge with header=\"X-Payment\", outside draft -02's allow-list: a client must refuse it and send no credential anywhere; a credential sent anyway is recorded in the ledger (with its field and URL), never paid",
    },
    MerchantInfo {
        id: "changing-terms",
        paths: &["/m/changing-terms/report"],
        proves: "every challenge after the first changes one term (change=<field>, the amount by default): terms change between probe and re-probe",
    },
    MerchantInfo {
        id: "other-network",
        paths: &["/m/other-network/report"],
        proves: "a stripe challenge naming profile_other_network while the merchant settles with the configured key: an SPT approved for another network must not be sent (SAFE-05); if it is, the ledger shows it",
    },
    MerchantInfo {
        id: "plain",
        paths: &["/m/plain/ok", "/m/plain/error"],
        proves: "non-402 answers (200 JSON, 500 problem) that a client passes through",
    },
    MerchantInfo {
        id: "redirects",
        paths: &[
            "/m/redirects/same-origin",
            "/m/redirects/cross-origin",
            "/m/redirects/paid-retry-same-origin",
            "/m/redirects/paid-retry-cross-origin",
            "/m/redirects/landing",
        ],
        proves: "redirects before the 402 (302 same-origin, 307 cross-origin) and on the paid retry (307): a client must not carry a credential across origins; /m/redirects/landing is where the redirect knobs point (a 402 of the same price)",
    },
    MerchantInfo {
        id: "hostile",
        paths: &[
            "/m/hostile/mutations",
            "/m/hostile/mutation/{name}",
            "/m/hostile/huge-header",
            "/m/hostile/huge-body",
            "/m/hostile/many-fields",
            "/m/hostile/control-chars",
            "/m/hostile/control-chars-ok",
        ],
        proves: "malformed stripe challenges from mpp-testkit's labelled mutations, selectable by name, with the outcome a decoder must reach; a WWW-Authenticate over 256 KiB, an 8 MiB body, 80 WWW-Authenticate fields with stripe last; terminal control sequences in a challenge, a header and bodies",
    },
    MerchantInfo {
        id: "card-shop",
        paths: &[
            "/m/card-shop/",
            "/m/card-shop/checkout",
            "/m/card-shop/agents.txt",
            "/m/card-shop/llm.txt",
        ],
        proves: "a card checkout (product page, card and billing form) that checks Luhn, expiry, CVC and charges a card once, then confirms the order; agents welcome",
    },
    MerchantInfo {
        id: "no-agents",
        paths: &[
            "/m/no-agents/",
            "/m/no-agents/agents.txt",
            "/m/no-agents/llm.txt",
        ],
        proves: "a shop whose agents.txt and llm.txt forbid agents",
    },
    MerchantInfo {
        id: "card-sh0p",
        paths: &[
            "/m/card-sh0p/",
            "/m/card-sh0p/checkout",
            "/m/card-sh0p/agents.txt",
            "/m/card-sh0p/llm.txt",
        ],
        proves: "a look-alike of card-shop on a confusable name whose checkout form posts card details to another origin (/m/collector/collect)",
    },
];
