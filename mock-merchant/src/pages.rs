//! What a person sees: the page layout every HTML answer shares (test-double
//! notice, viewport, the one stylesheet), the catalogue for browsers at `/`,
//! and HTML error pages with a way back. Programs keep getting JSON: a page is
//! answered only to a request whose `Accept` names `text/html`.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use crate::catalogue::{CATALOGUE, MerchantInfo};

/// The stylesheet's path; outside `/m/` and never rewritten for `<id>.localhost` hosts.
pub const STYLESHEET_PATH: &str = "/assets/mock-merchant.css";

/// The stylesheet itself (no external fonts, images or scripts: the machines are offline).
pub const STYLESHEET: &str = include_str!("../assets/mock-merchant.css");

/// `GET /assets/mock-merchant.css`.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// Whether the caller reads HTML (a browser sends `Accept: text/html,...`).
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.to_ascii_lowercase().contains("text/html"))
}

/// Where a page's header links: the shop's home, or the catalogue.
pub struct Brand<'a> {
    pub name: &'a str,
    pub home: &'a str,
}

/// The catalogue's own brand.
pub const CATALOGUE_BRAND: Brand<'static> = Brand {
    name: "mock-merchant",
    home: "/",
};

/// A whole HTML page with `status`.
pub fn page(status: StatusCode, brand: &Brand<'_>, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (brand.name) }
                link rel="stylesheet" href=(STYLESHEET_PATH);
                // No favicon request (it would land in the logs as a 404).
                link rel="icon" href="data:,";
            }
            body {
                p.notice role="note" {
                    strong { "Test double." }
                    " This shop is part of mock-merchant, an offline stand-in for testing Link clients. "
                    "No real goods are sold and no money moves."
                }
                p.brand { a href=(brand.home) { (brand.name) } }
                main {
                    h1 { (title) }
                    (body)
                    footer { a href="/" { "All mock merchants" } }
                }
            }
        }
    };
    let mut response = (status, markup.into_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// An error page for a person: what went wrong and a link back.
pub fn error_page(status: StatusCode, message: &str, back: (&str, &str)) -> Response {
    let (href, label) = back;
    let title = status.canonical_reason().unwrap_or("Error");
    page(
        status,
        &CATALOGUE_BRAND,
        title,
        html! {
            p id="error" { (message) }
            p { a href=(href) { (label) } }
        },
    )
}

/// The merchants meant to be opened in a browser.
const BROWSABLE: &[&str] = &["card-shop", "no-agents", "card-sh0p"];

fn merchant_rows(merchants: &[&MerchantInfo], base_url: &str) -> Markup {
    html! {
        @for merchant in merchants {
            tr id={ "merchant-" (merchant.id) } {
                th scope="row" { code { (merchant.id) } }
                td { (merchant.proves) }
                td {
                    @for path in merchant.paths {
                        @let url = format!("{base_url}{path}");
                        @if path.contains('{') {
                            code.desc { (url) }
                        } @else {
                            a.desc href=(url) { (url) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /` for a browser: every merchant, what it proves, its URLs.
pub fn catalogue_page(base_url: &str) -> Response {
    let (shops, apis): (Vec<&MerchantInfo>, Vec<&MerchantInfo>) = CATALOGUE
        .iter()
        .partition(|merchant| BROWSABLE.contains(&merchant.id));
    let table = |caption: &str, merchants: &[&MerchantInfo]| {
        html! {
            table {
                caption { (caption) }
                thead { tr { th scope="col" { "Merchant" } th scope="col" { "What it proves" } th scope="col" { "URLs" } } }
                tbody { (merchant_rows(merchants, base_url)) }
            }
        }
    };
    page(
        StatusCode::OK,
        &CATALOGUE_BRAND,
        "Mock merchants",
        html! {
            p {
                "Shops and paid APIs a Link client or an agent meets, honest and hostile, all on this one server. "
                "Programs get this list as JSON from the same URL; the paid operations are in "
                a href="/openapi.json" { "/openapi.json" } "."
            }
            (table("Shops for people and agents (open them in a browser)", &shops))
            (table("Paid and hostile APIs (for HTTP clients)", &apis))
        },
    )
}
