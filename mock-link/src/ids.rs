//! Random identifiers and secrets with Link's and Stripe's prefixes.

/// `prefix` followed by 24 random lowercase hex characters, e.g. `lsrq_3f9c...`.
///
/// Never with 13 decimal digits in a row: the request log hides such runs as card
/// numbers, and an id must stay readable there (about 1 id in 40 would have one).
pub fn random_id(prefix: &str) -> String {
    loop {
        let hex = uuid::Uuid::new_v4().simple().to_string();
        let hex = &hex[..24];
        if longest_digit_run(hex) < 13 {
            return format!("{prefix}{hex}");
        }
    }
}

fn longest_digit_run(text: &str) -> usize {
    text.split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

/// A longer random secret (64 hex characters) for tokens.
pub fn random_secret(prefix: &str) -> String {
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}{a}{b}")
}

/// `count` random decimal digits.
pub fn random_digits(count: usize) -> String {
    let mut digits = String::with_capacity(count);
    while digits.len() < count {
        for byte in uuid::Uuid::new_v4().as_bytes() {
            // 250 is the largest multiple of 10 below 256: reject above it to stay uniform.
            if *byte < 250 && digits.len() < count {
                digits.push(char::from(b'0' + byte % 10));
            }
        }
    }
    digits
}

/// A random index below `bound` (bound > 0).
pub fn random_index(bound: usize) -> usize {
    let bytes = uuid::Uuid::new_v4().as_u128();
    (bytes % bound as u128) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_differ() {
        let a = random_id("lsrq_");
        let b = random_id("lsrq_");
        assert!(a.starts_with("lsrq_"));
        assert_eq!(a.len(), 5 + 24);
        assert_ne!(a, b);
    }

    #[test]
    fn ids_never_look_like_card_numbers_in_the_request_log() {
        assert_eq!(longest_digit_run("ab1234567890123cd"), 13);
        for _ in 0..2000 {
            assert!(longest_digit_run(&random_id("lsrq_")) < 13);
        }
    }

    #[test]
    fn random_digits_are_digits_of_the_asked_length() {
        let digits = random_digits(40);
        assert_eq!(digits.len(), 40);
        assert!(digits.chars().all(|c| c.is_ascii_digit()));
    }
}
