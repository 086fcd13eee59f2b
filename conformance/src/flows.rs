//! The flow ids of `shared/docs/flows.md` (a copy, checked against the file
//! by `tests/coverage.rs` whenever the file is there).

/// Every id of the catalogue, in its order.
pub const FLOW_IDS: &[&str] = &[
    "AUTH-01", "AUTH-02", "AUTH-03", "AUTH-04", "AUTH-05", "AUTH-06", "AUTH-07", "AUTH-08",
    "AUTH-09", "AUTH-10", "MER-01", "MER-02", "MER-03", "MER-04", "MER-05", "MER-06", "PM-01",
    "PM-02", "PM-03", "PM-04", "SR-01", "SR-02", "SR-03", "SR-04", "SR-05", "SR-06", "SR-07",
    "SR-08", "SR-09", "SR-10", "SR-11", "SR-12", "SR-13", "SR-14", "SR-15", "SR-16", "SR-17",
    "PAY-01", "PAY-02", "PAY-03", "PAY-04", "PAY-05", "PAY-06", "PAY-07", "PAY-08", "PAY-09",
    "PAY-10", "PAY-11", "SAFE-01", "SAFE-02", "SAFE-03", "SAFE-04", "SAFE-05", "ERR-01", "ERR-02",
    "ERR-03", "ERR-04", "MCP-01", "MCP-02",
];

/// Capability tags a scenario carries besides its ids.
pub const CAPABILITY_TAGS: &[&str] = &[
    "auth", "spend", "card", "spt", "mpp", "polling", "errors", "mcp", "merchant", "strict", "1x",
];

/// The ids listed in a flows.md text (`- AUTH-01 ...` lines).
pub fn ids_in(markdown: &str) -> Vec<String> {
    markdown
        .lines()
        .filter_map(|line| line.strip_prefix("- "))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter(|word| is_flow_id(word))
        .map(str::to_owned)
        .collect()
}

/// `AUTH-01`, `SR-14`: capitals, a dash, digits.
pub fn is_flow_id(word: &str) -> bool {
    let Some((family, number)) = word.split_once('-') else {
        return false;
    };
    !family.is_empty()
        && family.chars().all(|c| c.is_ascii_uppercase())
        && !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit())
}
