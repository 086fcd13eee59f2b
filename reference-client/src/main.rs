//! `link-ref`: see `link_ref::cli`.

use std::process::ExitCode;

use clap::Parser;
use link_ref::cli::{Cli, Command};
use link_ref::output::{Format, Printer};
use link_ref::{ClientError, Config};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // Bad flags are errors like any other: JSON on stdout, exit 1.
            let message = e.render().to_string();
            let first = message
                .lines()
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            let error = ClientError::invalid_input(first.to_owned())
                .with("usage", message.trim().to_owned());
            println!("{}", error.to_json());
            return ExitCode::FAILURE;
        }
    };
    // A command is one request at a time: one thread starts fastest. The
    // servers (MCP over stdio or HTTP) take calls concurrently.
    let serving = cli.mcp || matches!(cli.command, Some(Command::Serve(_)));
    let mut builder = if serving {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            println!(
                "{}",
                ClientError::new("UNKNOWN", format!("cannot start: {e}")).to_json()
            );
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> ExitCode {
    let config = Config::from_env();
    if cli.mcp {
        return match link_ref::mcp::serve_stdio(config).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("{message}");
                ExitCode::FAILURE
            }
        };
    }
    let Some(command) = cli.command else {
        println!(
            "{}",
            ClientError::invalid_input("no command given; see `link-ref --help`").to_json()
        );
        return ExitCode::FAILURE;
    };
    if let Command::Serve(args) = &command {
        let listener = match tokio::net::TcpListener::bind((args.bind, args.port)).await {
            Ok(l) => l,
            Err(e) => {
                println!(
                    "{}",
                    ClientError::new(
                        "UNKNOWN",
                        format!("cannot listen on {}:{}: {e}", args.bind, args.port)
                    )
                    .to_json()
                );
                return ExitCode::FAILURE;
            }
        };
        let url = listener
            .local_addr()
            .map(|a| format!("http://{a}/mcp"))
            .unwrap_or_default();
        println!("{}", serde_json::json!({"mcp_url": url}));
        return match link_ref::mcp::serve_http(config, listener).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("MCP server stopped: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let Some(operation) = command.into_operation() else {
        return ExitCode::FAILURE;
    };
    let mut printer = Printer::new(
        cli.format.unwrap_or(Format::Human),
        operation.command_name(),
    );
    match operation.run(config, &mut printer).await {
        Ok(()) => {
            printer.finish();
            ExitCode::SUCCESS
        }
        Err(error) => {
            printer.error(&error);
            ExitCode::FAILURE
        }
    }
}
