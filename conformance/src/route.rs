//! A route of mock-merchant as the features name it: `api/report` is the
//! merchant `api` and its path `/report` (`{merchant:api/report}` in a command
//! line). Read once, from a step's argument or a placeholder.

use std::convert::Infallible;
use std::str::FromStr;

use mock_merchant::MockMerchant;

use crate::step_error::StepResult;

/// A merchant of mock-merchant and a path (with its query) below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantRoute {
    pub merchant: String,
    /// `/report`, or `/` for the merchant's root.
    pub path: String,
}

impl MerchantRoute {
    /// Where the route is served in this scenario's mock-merchant.
    pub fn url(&self, shop: &MockMerchant) -> String {
        shop.url(&self.merchant, &self.path)
    }

    /// Probes the route unpaid and decodes its stripe challenge with the oracle.
    pub async fn probe(&self, shop: &MockMerchant) -> StepResult<mpp_wire::StripeChallenge> {
        let url = self.url(shop);
        let response = mock_link::loopback_http_client().get(&url).send().await?;
        let values: Vec<Vec<u8>> = response
            .headers()
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.as_bytes().to_vec())
            .collect();
        Ok(mpp_wire::select_stripe_challenge(values).map_err(|e| format!("{url}: {e}"))?)
    }
}

impl FromStr for MerchantRoute {
    type Err = Infallible;

    /// `<merchant>/<path>`, or a bare `<merchant>`.
    fn from_str(text: &str) -> Result<Self, Infallible> {
        let (merchant, path) = text.split_once('/').unwrap_or((text, ""));
        Ok(Self {
            merchant: merchant.to_owned(),
            path: format!("/{path}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_is_a_merchant_and_a_path() {
        let route: MerchantRoute = "changing-terms/report?change=amount".parse().unwrap();
        assert_eq!(route.merchant, "changing-terms");
        assert_eq!(route.path, "/report?change=amount");
        let bare: MerchantRoute = "api".parse().unwrap();
        assert_eq!((bare.merchant.as_str(), bare.path.as_str()), ("api", "/"));
    }
}
