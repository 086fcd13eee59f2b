//! A compatibility matrix: client x flow family, from the suite's summaries.

use std::collections::BTreeMap;

use serde_json::Value;

/// One cell: how a client did on one feature (flow family).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Cell {
    pub passed: usize,
    pub failed: usize,
    pub expected_failures: usize,
    pub not_applicable: usize,
}

impl Cell {
    fn text(&self) -> String {
        let ran = self.passed + self.failed + self.expected_failures;
        if ran == 0 && self.not_applicable > 0 {
            return "n/a".into();
        }
        let mark = if self.failed == 0 { "✅" } else { "❌" };
        let mut text = format!("{mark} {}/{ran}", self.passed);
        if self.not_applicable > 0 {
            text.push_str(&format!(" ({} n/a)", self.not_applicable));
        }
        text
    }
}

/// Rows are flow families (features), columns are clients.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Matrix {
    pub clients: Vec<String>,
    pub families: BTreeMap<String, Vec<Cell>>,
}

impl Matrix {
    /// From `(client label, summary JSON of link-conformance --summary)` pairs.
    pub fn from_reports(reports: &[(String, Value)]) -> Self {
        let mut matrix = Matrix {
            clients: reports.iter().map(|(l, _)| l.clone()).collect(),
            families: BTreeMap::new(),
        };
        let n = reports.len();
        for (i, (_, report)) in reports.iter().enumerate() {
            for result in report["results"].as_array().into_iter().flatten() {
                let family = result["feature"].as_str().unwrap_or("?").to_owned();
                let cell = &mut matrix
                    .families
                    .entry(family)
                    .or_insert_with(|| vec![Cell::default(); n])[i];
                match result["verdict"].as_str() {
                    Some("passed") => cell.passed += 1,
                    Some("expected_failure") => cell.expected_failures += 1,
                    _ => cell.failed += 1,
                }
            }
            for skipped in report["not_applicable"].as_array().into_iter().flatten() {
                let family = skipped["feature"].as_str().unwrap_or("?").to_owned();
                matrix
                    .families
                    .entry(family)
                    .or_insert_with(|| vec![Cell::default(); n])[i]
                    .not_applicable += 1;
            }
        }
        matrix
    }

    /// A Markdown table.
    pub fn markdown(&self) -> String {
        let mut out = format!("| flow family | {} |\n", self.clients.join(" | "));
        out.push_str(&format!("|---|{}\n", "---|".repeat(self.clients.len())));
        for (family, cells) in &self.families {
            let cells: Vec<String> = cells.iter().map(Cell::text).collect();
            out.push_str(&format!("| {family} | {} |\n", cells.join(" | ")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_count_verdicts_per_feature() {
        let a = json!({"results": [
            {"feature": "Authentication", "verdict": "passed"},
            {"feature": "Authentication", "verdict": "failed"},
        ], "not_applicable": [{"feature": "MCP"}]});
        let b = json!({"results": [{"feature": "Authentication", "verdict": "passed"}], "not_applicable": []});
        let m = Matrix::from_reports(&[("a".into(), a), ("b".into(), b)]);
        let md = m.markdown();
        assert!(md.contains("| Authentication | ❌ 1/2 | ✅ 1/1 |"), "{md}");
        assert!(md.contains("| MCP | n/a |"), "{md}");
    }
}
