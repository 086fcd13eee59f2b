//! The JUnit XML report, written from the suite's own verdicts so that it says
//! what the exit code says: an expected failure is not a `<failure>`, an
//! unexpected pass is, and scenarios that did not apply are `<skipped>`.
//!
//! The shape is the one Jenkins' `junit-10.xsd` describes, which GitLab,
//! GitHub reporters, Azure DevOps and most CI dashboards read: one
//! `<testsuite>` per feature, one `<testcase>` per scenario with the feature as
//! `classname`, times in seconds with at most three decimals, and only the
//! attributes that schema allows. CI validates the file against it.

use std::collections::BTreeMap;
use std::io;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use crate::report::{Report, ScenarioResult, Verdict};
use crate::step_log::StepOutcome;

/// The report as JUnit XML.
pub fn to_junit(report: &Report) -> io::Result<Vec<u8>> {
    let mut suites: BTreeMap<&str, Vec<Case<'_>>> = BTreeMap::new();
    for result in &report.results {
        suites
            .entry(result.feature.as_str())
            .or_default()
            .push(Case::Ran(result));
    }
    for not_run in &report.not_applicable {
        suites
            .entry(not_run.feature.as_str())
            .or_default()
            .push(Case::NotRun {
                scenario: &not_run.scenario,
                reason: &not_run.reason,
            });
    }
    let all: Vec<&Case<'_>> = suites.values().flatten().collect();

    let mut xml = Writer::new_with_indent(Vec::new(), b' ', 2);
    xml.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    xml.create_element("testsuites")
        .with_attributes([
            ("name", "link-conformance"),
            ("tests", all.len().to_string().as_str()),
            (
                "failures",
                all.iter()
                    .filter(|c| c.failed())
                    .count()
                    .to_string()
                    .as_str(),
            ),
            ("errors", "0"),
            ("time", seconds(report.seconds).as_str()),
        ])
        .write_inner_content(|xml| {
            for (feature, cases) in &suites {
                let time: f64 = cases.iter().map(Case::seconds).sum();
                xml.create_element("testsuite")
                    .with_attributes([
                        ("name", clean(feature).as_str()),
                        ("tests", cases.len().to_string().as_str()),
                        (
                            "failures",
                            cases
                                .iter()
                                .filter(|c| c.failed())
                                .count()
                                .to_string()
                                .as_str(),
                        ),
                        ("errors", "0"),
                        (
                            "skipped",
                            cases
                                .iter()
                                .filter(|c| c.skipped())
                                .count()
                                .to_string()
                                .as_str(),
                        ),
                        ("time", seconds(time).as_str()),
                    ])
                    .write_inner_content(|xml| {
                        xml.create_element("properties")
                            .write_inner_content(|xml| {
                                xml.create_element("property")
                                    .with_attributes([
                                        ("name", "client"),
                                        ("value", clean(&report.client).as_str()),
                                    ])
                                    .write_empty()?;
                                Ok(())
                            })?;
                        for case in cases {
                            write_case(xml, feature, case)?;
                        }
                        Ok(())
                    })?;
            }
            Ok(())
        })?;
    let mut bytes = xml.into_inner();
    bytes.push(b'\n');
    Ok(bytes)
}

enum Case<'a> {
    Ran(&'a ScenarioResult),
    NotRun { scenario: &'a str, reason: &'a str },
}

impl Case<'_> {
    fn failed(&self) -> bool {
        matches!(self, Case::Ran(r) if matches!(r.verdict, Verdict::Failed | Verdict::UnexpectedPass))
    }

    fn skipped(&self) -> bool {
        matches!(self, Case::NotRun { .. })
            || matches!(self, Case::Ran(r) if r.verdict == Verdict::ExpectedFailure)
    }

    fn seconds(&self) -> f64 {
        match self {
            Case::Ran(r) => r.seconds,
            Case::NotRun { .. } => 0.0,
        }
    }
}

fn write_case(xml: &mut Writer<Vec<u8>>, feature: &str, case: &Case<'_>) -> io::Result<()> {
    let (name, time) = match case {
        Case::Ran(r) => (r.scenario.as_str(), r.seconds),
        Case::NotRun { scenario, .. } => (*scenario, 0.0),
    };
    xml.create_element("testcase")
        .with_attributes([
            ("classname", clean(feature).as_str()),
            ("name", clean(name).as_str()),
            ("time", seconds(time).as_str()),
        ])
        .write_inner_content(|xml| {
            let result = match case {
                Case::NotRun { reason, .. } => {
                    return element(xml, "skipped", &[("message", reason)], None);
                }
                Case::Ran(result) => result,
            };
            let error = result.error.as_deref().unwrap_or("failed");
            match result.verdict {
                Verdict::Passed => {}
                Verdict::Failed => element(
                    xml,
                    "failure",
                    &[("type", "scenario failed"), ("message", error)],
                    Some(&steps_text(result)),
                )?,
                Verdict::UnexpectedPass => element(
                    xml,
                    "failure",
                    &[
                        ("type", "unexpected pass"),
                        (
                            "message",
                            "passed but is listed in --expected-failures: take it off the list",
                        ),
                    ],
                    None,
                )?,
                Verdict::ExpectedFailure => element(
                    xml,
                    "skipped",
                    &[("message", &format!("expected failure: {error}"))],
                    None,
                )?,
            }
            // A failure carries the steps already; elsewhere they go with the tags.
            let mut out = format!("tags: {}\n", result.tags.join(" "));
            if result.verdict != Verdict::Failed {
                out.push_str(&steps_text(result));
            }
            element(xml, "system-out", &[], Some(&out))
        })?;
    Ok(())
}

fn element(
    xml: &mut Writer<Vec<u8>>,
    name: &str,
    attributes: &[(&str, &str)],
    text: Option<&str>,
) -> io::Result<()> {
    let cleaned: Vec<(&str, String)> = attributes.iter().map(|(k, v)| (*k, clean(v))).collect();
    let element = xml
        .create_element(name)
        .with_attributes(cleaned.iter().map(|(k, v)| (*k, v.as_str())));
    match text {
        Some(text) => element.write_text_content(BytesText::new(&clean(text)))?,
        None => element.write_empty()?,
    };
    Ok(())
}

/// The scenario's steps, one a line, marked as they ended.
fn steps_text(result: &ScenarioResult) -> String {
    let mut out = String::new();
    for step in &result.steps {
        let (mark, error) = match &step.outcome {
            StepOutcome::Passed => ("passed ", None),
            StepOutcome::Skipped => ("skipped", None),
            StepOutcome::Failed(error) => ("FAILED ", Some(error)),
        };
        out.push_str(&format!("{mark} {}\n", step.text));
        if let Some(error) = error {
            for line in error.lines() {
                out.push_str(&format!("        {line}\n"));
            }
        }
    }
    out
}

/// Seconds with at most three decimals (the schema's `SUREFIRE_TIME`).
fn seconds(value: f64) -> String {
    format!("{:.3}", value.max(0.0))
}

/// Drops what XML 1.0 cannot carry at all (control characters other than tab
/// and newlines, e.g. the escape sequences a hostile merchant sends), so the
/// report stays well-formed whatever a client printed.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if c < ' ' || c == '\u{fffe}' || c == '\u{ffff}' => '\u{fffd}',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::NotRun;
    use crate::step_log::StepRecord;

    fn result(scenario: &str, verdict: Verdict, error: Option<&str>) -> ScenarioResult {
        ScenarioResult {
            feature: "Authentication".into(),
            scenario: scenario.into(),
            line: 7,
            tags: vec!["@auth".into(), "@AUTH-01".into()],
            verdict,
            strict: false,
            seconds: 0.123_456_789,
            error: error.map(str::to_owned),
            steps: vec![
                StepRecord {
                    text: "Given a user".into(),
                    outcome: StepOutcome::Passed,
                },
                StepRecord {
                    text: "Then it succeeds".into(),
                    outcome: error
                        .map_or(StepOutcome::Passed, |e| StepOutcome::Failed(e.to_owned())),
                },
            ],
        }
    }

    #[test]
    fn verdicts_map_to_junit_elements_and_times_have_three_decimals() {
        let report = Report {
            client: "cli: link-ref".into(),
            results: vec![
                result("passes", Verdict::Passed, None),
                result("fails", Verdict::Failed, Some("exit 1 <&> \u{1b}[31m")),
                result("known", Verdict::ExpectedFailure, Some("known bug")),
                result("fixed", Verdict::UnexpectedPass, None),
            ],
            not_applicable: vec![NotRun {
                feature: "Payment methods".into(),
                scenario: "masked".into(),
                reason: "not applicable: the client lacks @masking".into(),
            }],
            seconds: 4.5,
        };
        let xml = String::from_utf8(to_junit(&report).unwrap()).unwrap();
        assert!(
            xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<testsuites name="link-conformance" tests="5" failures="2" errors="0" time="4.500">"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<testsuite name="Authentication" tests="4" failures="2" errors="0" skipped="1" time="0.494">"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<testcase classname="Authentication" name="passes" time="0.123">"#)
        );
        assert!(
            xml.contains(
                r#"<failure type="scenario failed" message="exit 1 &lt;&amp;&gt; �[31m">"#
            ),
            "{xml}"
        );
        assert!(xml.contains("FAILED  Then it succeeds"), "{xml}");
        assert!(
            xml.contains(r#"<skipped message="expected failure: known bug"/>"#),
            "{xml}"
        );
        assert!(xml.contains(r#"<failure type="unexpected pass""#), "{xml}");
        assert!(
            xml.contains(r#"<skipped message="not applicable: the client lacks @masking"/>"#),
            "{xml}"
        );
        assert!(!xml.contains('\u{1b}'));
        // Every time attribute has at most three decimals.
        let times = regex::Regex::new(r#"time="(\d+)\.(\d+)""#).unwrap();
        assert!(times.captures_iter(&xml).all(|c| c[2].len() == 3));
    }
}
