//! The credentials an approval issues: virtual test cards and shared payment tokens.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::ids::{random_digits, random_id};
use crate::model::accounts::Address;

/// A virtual card issued for an approved card spend request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardCredential {
    pub id: String,
    pub brand: String,
    pub number: String,
    pub cvc: String,
    pub exp_month: u32,
    pub exp_year: u32,
    pub billing_address: BillingAddress,
    pub valid_until: i64,
}

/// The card's billing address, in the card credential's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BillingAddress {
    pub name: String,
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub country: String,
}

impl From<Address> for BillingAddress {
    fn from(address: Address) -> Self {
        Self {
            name: address.name,
            line1: address.line_1,
            line2: address.line_2,
            city: address.locality,
            state: address.administrative_area,
            postal_code: address.postal_code,
            country: address.country_code,
        }
    }
}

/// The Luhn check digit that completes `partial` (a string of digits).
pub fn luhn_check_digit(partial: &str) -> char {
    let sum: u32 = partial
        .bytes()
        .rev()
        .enumerate()
        .map(|(position, byte)| {
            let digit = u32::from(byte - b'0');
            if position % 2 == 0 {
                let doubled = digit * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                digit
            }
        })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// Whether `number` passes the Luhn check.
pub fn passes_luhn(number: &str) -> bool {
    if number.len() < 2 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let (partial, check) = number.split_at(number.len() - 1);
    check.starts_with(luhn_check_digit(partial))
}

/// Test-range prefix, total length and cvc length for a brand.
fn brand_layout(brand: &str) -> (&'static str, usize, usize) {
    match brand {
        "mastercard" => ("520082", 16, 3),
        "amex" | "american_express" => ("378282", 15, 4),
        "discover" => ("601100", 16, 3),
        _ => ("400000", 16, 3),
    }
}

/// A random Luhn-valid test card number for `brand`.
pub fn test_card_number(brand: &str) -> String {
    let (prefix, length, _) = brand_layout(brand);
    let mut partial = prefix.to_owned();
    partial.push_str(&random_digits(length - prefix.len() - 1));
    let check = luhn_check_digit(&partial);
    partial.push(check);
    partial
}

/// Issues a card for `brand`, expiring three years after `now`, usable until `valid_until`.
pub fn issue_card(
    brand: &str,
    billing_address: Address,
    now: SystemTime,
    valid_until: i64,
) -> CardCredential {
    let (_, _, cvc_length) = brand_layout(brand);
    let years_since_epoch = now
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() / 31_556_952)
        .unwrap_or(0) as u32;
    CardCredential {
        id: random_id("card_"),
        brand: brand.to_owned(),
        number: test_card_number(brand),
        cvc: random_digits(cvc_length),
        exp_month: 12,
        exp_year: 1970 + years_since_epoch + 3,
        billing_address: billing_address.into(),
        valid_until,
    }
}

/// A shared payment token issued for an approved SPT spend request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SharedPaymentToken {
    pub id: String,
    pub spend_request_id: String,
    pub network_id: String,
    pub amount: i64,
    pub currency: String,
    pub valid_until: SystemTime,
    /// The PaymentIntent that redeemed it, once redeemed.
    pub redeemed_by: Option<String>,
    /// Redemptions declined so far (magic payment methods).
    pub declined_attempts: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_test_numbers_pass_luhn_and_neighbours_fail() {
        assert!(passes_luhn("4242424242424242"));
        assert!(passes_luhn("378282246310005"));
        assert!(!passes_luhn("4242424242424241"));
        assert!(!passes_luhn("42a2"));
    }

    #[test]
    fn issued_numbers_have_the_brand_prefix_length_and_pass_luhn() {
        for (brand, prefix, length) in [
            ("visa", "4", 16),
            ("mastercard", "5", 16),
            ("amex", "37", 15),
            ("discover", "6011", 16),
        ] {
            for _ in 0..50 {
                let number = test_card_number(brand);
                assert!(number.starts_with(prefix), "{brand}: {number}");
                assert_eq!(number.len(), length, "{brand}: {number}");
                assert!(passes_luhn(&number), "{brand}: {number}");
            }
        }
    }

    #[test]
    fn amex_gets_a_four_digit_cvc() {
        let card = issue_card("amex", Address::default(), SystemTime::now(), 0);
        assert_eq!(card.cvc.len(), 4);
        let card = issue_card("visa", Address::default(), SystemTime::now(), 0);
        assert_eq!(card.cvc.len(), 3);
        assert!(card.exp_year >= 2027);
    }
}
