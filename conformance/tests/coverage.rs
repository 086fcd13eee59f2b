//! Every flows.md id has a scenario, and every id-like tag names a real id.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use conformance::flows::{CAPABILITY_TAGS, FLOW_IDS, ids_in, is_flow_id};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `.feature` files of `features/`.
fn feature_files() -> Vec<PathBuf> {
    std::fs::read_dir(repo().join("features"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "feature"))
        .collect()
}

/// Every tag in the features, with the scenario (or feature) line it is on.
fn tags() -> Vec<(String, String)> {
    let mut found = Vec::new();
    for path in feature_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.starts_with('@') {
                for tag in line.split_whitespace() {
                    found.push((
                        tag.trim_start_matches('@').to_owned(),
                        format!("{}:{}", path.display(), n + 1),
                    ));
                }
            }
        }
    }
    found
}

#[test]
fn the_id_copy_matches_shared_flows_md_when_it_is_there() {
    let shared = repo().join("../shared/docs/flows.md");
    let Ok(text) = std::fs::read_to_string(&shared) else {
        eprintln!(
            "{} not found; checking against the copy only",
            shared.display()
        );
        return;
    };
    let ids = ids_in(&text);
    assert!(ids.len() > 40, "{ids:?}");
    assert_eq!(
        ids,
        FLOW_IDS.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        "update conformance/src/flows.rs from {}",
        shared.display()
    );
}

/// Ids listed in `features/PENDING` (one a line, then what is missing):
/// built across sessions, accepted meanwhile, and printed on every run.
fn pending() -> BTreeSet<String> {
    let Ok(text) = std::fs::read_to_string(repo().join("features/PENDING")) else {
        return BTreeSet::new();
    };
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_flow_id_has_a_scenario() {
    let tagged: BTreeSet<String> = tags().into_iter().map(|(t, _)| t).collect();
    let pending = pending();
    let missing: Vec<&&str> = FLOW_IDS
        .iter()
        .filter(|id| !tagged.contains(**id) && !pending.contains(**id))
        .collect();
    assert!(missing.is_empty(), "flows without a scenario: {missing:?}");
    if !pending.is_empty() {
        eprintln!(
            "\n!!! {} flow ids have NO scenario yet (features/PENDING): {}\n",
            pending.len(),
            pending.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    for id in &pending {
        assert!(
            FLOW_IDS.contains(&id.as_str()),
            "PENDING names @{id}, not in flows.md"
        );
        assert!(
            !tagged.contains(id),
            "@{id} has a scenario now: remove it from features/PENDING"
        );
    }
}

#[test]
fn every_id_tag_names_a_flow_and_every_scenario_has_a_capability_tag() {
    for (tag, at) in tags() {
        if is_flow_id(&tag) {
            assert!(
                FLOW_IDS.contains(&tag.as_str()),
                "{at}: @{tag} is not in flows.md"
            );
        }
    }
    // Each feature file carries a capability tag on the feature or on every scenario.
    for path in feature_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        let feature_at = lines
            .iter()
            .position(|l| l.starts_with("Feature:"))
            .unwrap();
        let feature_tags: Vec<&str> = lines[..feature_at]
            .iter()
            .filter(|l| l.starts_with('@'))
            .flat_map(|l| l.split_whitespace())
            .collect();
        let has_cap = |tags: &[&str]| {
            tags.iter()
                .any(|t| CAPABILITY_TAGS.contains(&t.trim_start_matches('@')))
        };
        for (n, line) in lines.iter().enumerate() {
            if line.starts_with("Scenario") {
                let tags: Vec<&str> = lines[..n]
                    .iter()
                    .rev()
                    .take_while(|l| l.starts_with('@'))
                    .flat_map(|l| l.split_whitespace())
                    .collect();
                assert!(
                    tags.iter().any(|t| is_flow_id(t.trim_start_matches('@'))),
                    "{}:{}: a scenario without a flow id",
                    path.display(),
                    n + 1
                );
                assert!(
                    has_cap(&tags) || has_cap(&feature_tags),
                    "{}:{}: no capability tag",
                    path.display(),
                    n + 1
                );
            }
        }
    }
}

#[test]
fn scenario_names_are_unique() {
    // Expected-failure files list scenarios by name.
    let mut seen = BTreeSet::new();
    for path in feature_files() {
        let text = std::fs::read_to_string(path).unwrap();
        for line in text.lines().map(str::trim) {
            if let Some(name) = line
                .strip_prefix("Scenario Outline:")
                .or_else(|| line.strip_prefix("Scenario:"))
            {
                assert!(
                    seen.insert(name.trim().to_owned()),
                    "duplicate scenario {name:?}"
                );
            }
        }
    }
}
