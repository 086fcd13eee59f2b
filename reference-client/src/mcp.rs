//! The operations as MCP tools (`auth_login`, `spend-request_create`, ...),
//! over stdio (`link-ref --mcp`) or streamable HTTP (`link-ref serve`), built
//! on the official Rust MCP SDK. Tool arguments are the CLI flags in
//! camelCase; results are the JSON the CLI prints, as text content.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use schemars::JsonSchema;
use serde_json::{Map, Value};

use crate::args::*;
use crate::config::Config;
use crate::operation::{NAMES, Operation};
use crate::output::Collect;

/// The MCP server: every operation, one tool each.
#[derive(Debug, Clone)]
pub struct LinkTools {
    config: Config,
}

impl LinkTools {
    /// Tools acting with `config`.
    pub fn new(config: Config) -> Self {
        Self { config }
    }
}

fn schema<T: JsonSchema>() -> Arc<Map<String, Value>> {
    let mut value = serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.remove("$schema");
        object
            .entry("type")
            .or_insert_with(|| Value::String("object".into()));
        object
            .entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
    }
    Arc::new(value.as_object().cloned().unwrap_or_default())
}

/// Every tool with its input schema.
pub fn tools() -> Vec<Tool> {
    let schemas: [(&str, Arc<Map<String, Value>>); 17] = [
        (
            "Start a device login: returns a verification URL and phrase; `auth_status` finishes it.",
            schema::<LoginArgs>(),
        ),
        (
            "Whether a Link session exists; finishes a pending login.",
            schema::<StatusArgs>(),
        ),
        (
            "Revoke the session at Link and forget it.",
            schema::<NoArgs>(),
        ),
        ("List the wallet's payment methods.", schema::<NoArgs>()),
        ("Where the user adds a payment method.", schema::<NoArgs>()),
        (
            "Create a spend request (card or shared_payment_token).",
            schema::<CreateArgs>(),
        ),
        (
            "Change a spend request before approval.",
            schema::<UpdateArgs>(),
        ),
        (
            "Fetch or poll a spend request; include its card or shared payment token once approved.",
            schema::<RetrieveArgs>(),
        ),
        (
            "Ask the user to approve a spend request.",
            schema::<IdArgs>(),
        ),
        ("Cancel a spend request.", schema::<IdArgs>()),
        ("List spend requests.", schema::<ListArgs>()),
        (
            "Decode the stripe challenge of a WWW-Authenticate value.",
            schema::<DecodeArgs>(),
        ),
        (
            "Pay an HTTP 402 merchant with a shared payment token.",
            schema::<PayArgs>(),
        ),
        (
            "The account holder's name, email and phone.",
            schema::<NoArgs>(),
        ),
        ("List saved shipping addresses.", schema::<NoArgs>()),
        ("One payment method.", schema::<PaymentMethodArgs>()),
        (
            "Set a payment method's nickname (an empty string clears it).",
            schema::<PaymentMethodUpdateArgs>(),
        ),
    ];
    NAMES
        .iter()
        .zip(schemas)
        .map(|((group, command), (description, input))| {
            let name = format!("{group}_{command}");
            let read_only = READ_ONLY.contains(&name.as_str());
            Tool::new(name, description, input)
                .annotate(ToolAnnotations::new().read_only(read_only))
        })
        .collect()
}

/// Tools that change nothing, at Link or on this machine (`spend-request_retrieve`
/// may write `--output-file`, `auth_status` may finish a login): a host can run
/// them without asking, and a discovery gateway calls them as reads.
const READ_ONLY: &[&str] = &[
    "payment-methods_list",
    "payment-methods_add",
    "payment-methods_retrieve",
    "spend-request_list",
    "mpp_decode",
    "user-info_retrieve",
    "shipping-address_list",
];

impl ServerHandler for LinkTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("link-cli", env!("CARGO_PKG_VERSION")).with_title("link-ref"))
            .with_instructions(
                "Link wallet tools: log in with auth_login, create a spend request, wait for the user's approval with spend-request_retrieve, then pay.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = request.arguments.map(Value::Object).unwrap_or(Value::Null);
        let mut operation = Operation::from_tool(&request.name, arguments);
        // A tool call cannot stream: a login returns its first object at once
        // and `auth_status` finishes it.
        if let Ok(Operation::AuthLogin(args)) = &mut operation
            && args.interval.is_none()
        {
            args.interval = Some(0.0);
        }
        let mut out = Collect::default();
        let result = match operation {
            Ok(op) => op.run(self.config.clone(), &mut out).await,
            Err(e) => Err(e),
        };
        Ok(match result {
            Ok(()) => {
                CallToolResult::success(vec![ContentBlock::text(out.into_value().to_string())])
            }
            Err(e) => CallToolResult::error(vec![ContentBlock::text(e.to_json().to_string())]),
        }
        .into())
    }
}

/// Serves the tools over stdio until the client closes it.
pub async fn serve_stdio(config: Config) -> Result<(), String> {
    let service = LinkTools::new(config)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| format!("MCP over stdio failed to start: {e}"))?;
    service
        .waiting()
        .await
        .map_err(|e| format!("MCP over stdio stopped: {e}"))?;
    Ok(())
}

/// Serves the tools over streamable HTTP at `/mcp` on `listener`.
pub async fn serve_http(config: Config, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    use rmcp::transport::streamable_http_server::{
        StreamableHttpService, session::local::LocalSessionManager,
    };
    let service = StreamableHttpService::new(
        move || Ok(LinkTools::new(config.clone())),
        LocalSessionManager::default().into(),
        Default::default(),
    );
    let router = axum::Router::new().nest_service("/mcp", service);
    axum::serve(listener, router).await
}
