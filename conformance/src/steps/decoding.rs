//! Property-based decoding: the client's `mpp decode` against the oracle on
//! seeded samples from mpp-testkit.

use cucumber::{then, when};
use mpp_testkit::Expectation;
use mpp_testkit::generate::{Sample, samples};

use crate::op::Op;
use crate::step_error::{StepResult, bail};
use crate::world::{Decoding, LinkWorld};

/// Linux limits one argument to 128 KiB; larger samples cannot go on a command line.
const MAX_ARGUMENT: usize = 100_000;

#[when(expr = "the agent decodes {int} generated headers from seed {int}")]
async fn decodes_generated(w: &mut LinkWorld, count: usize, seed: u64) -> StepResult {
    let all = samples(count, seed);
    let usable: Vec<&Sample> = all
        .iter()
        .filter(|s| {
            s.values.iter().map(String::len).sum::<usize>() < MAX_ARGUMENT
                && !s.values.iter().any(|v| v.contains('\0'))
        })
        .collect();
    let ops: Vec<Op> = usable
        .iter()
        .map(|s| Op::decode_challenge(&s.values))
        .collect();
    let outcomes = w.run_many(&ops, 4).await?;
    let mut report = Decoding {
        seed,
        checked: usable.len(),
        skipped: all.len() - usable.len(),
        mismatches: Vec::new(),
    };
    for (sample, out) in usable.iter().zip(outcomes) {
        let problem = match &sample.oracle {
            Expectation::Accept { id, network_id, .. } => {
                let v = out.last();
                if out.exit != 0 {
                    Some(format!("refused, the oracle accepts ({})", out.describe()))
                } else if v.and_then(|v| v.get("network_id")).and_then(|n| n.as_str())
                    != Some(network_id.as_str())
                {
                    Some(format!(
                        "network_id differs: expected {network_id}, got {:?}",
                        v.and_then(|v| v.get("network_id"))
                    ))
                } else if v.and_then(|v| v.get("id")).and_then(|n| n.as_str()) != Some(id.as_str())
                {
                    Some(format!("id differs: expected {id}"))
                } else {
                    None
                }
            }
            Expectation::Reject { code, field } => {
                let is_error = out.exit == 1
                    && out
                        .last()
                        .is_some_and(|v| v.get("code").is_some() && v.get("message").is_some());
                (!is_error).then(|| {
                    format!(
                        "accepted or not a JSON error; the oracle rejects ({code}, {field:?}): {}",
                        out.describe()
                    )
                })
            }
        };
        if let Some(problem) = problem {
            report
                .mismatches
                .push(format!("{}: {problem}", sample.name));
        }
    }
    w.decoding = Some(report);
    Ok(())
}

#[then("every answer agrees with the oracle")]
async fn agrees(w: &mut LinkWorld) -> StepResult {
    let report = w.decoding.as_ref().ok_or("nothing decoded")?;
    if report.checked < 100 {
        bail!(
            "only {} samples could be checked (seed {})",
            report.checked,
            report.seed
        );
    }
    if report.mismatches.is_empty() {
        return Ok(());
    }
    Err(format!(
        "seed {}: {} of {} samples disagree with the oracle; first: {}",
        report.seed,
        report.mismatches.len(),
        report.checked,
        report
            .mismatches
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join(" | ")
    )
    .into())
}
