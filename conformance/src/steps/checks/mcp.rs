//! The client's MCP server: its tools and their input schemas.

use cucumber::gherkin::Step;
use cucumber::then;

use crate::step_error::{StepResult, check};
use crate::world::LinkWorld;

#[then("the client's MCP server lists these tools with input schemas:")]
async fn lists_tools(w: &mut LinkWorld, step: &Step) -> StepResult {
    let session = w.mcp_session().await?;
    let tools = session.list_tools().await?;
    let table = step.table.as_ref().ok_or("a table of tool names")?;
    for row in &table.rows {
        let name = row.first().ok_or("an empty row")?;
        let tool = tools
            .iter()
            .find(|t| t["name"] == name.as_str())
            .ok_or_else(|| format!("no tool {name}"))?;
        check(tool["inputSchema"]["type"] == "object", || {
            format!("{name} has no object input schema")
        })?;
        for arg in row.iter().skip(1).flat_map(|a| a.split_whitespace()) {
            check(tool["inputSchema"]["properties"][arg].is_object(), || {
                format!("{name} lacks argument {arg}")
            })?;
        }
    }
    Ok(())
}
