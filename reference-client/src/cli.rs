//! The command line: the link-cli surface (`link-ref <group> <command>`).

use clap::{Parser, Subcommand};

use crate::args::*;
use crate::operation::Operation;
use crate::output::Format;

/// link-ref: a Link client (the link-cli command surface) for the live service or the mocks.
#[derive(Debug, Parser)]
#[command(name = "link-ref", version, about, propagate_version = true)]
pub struct Cli {
    /// Output format (default: readable text, card numbers masked).
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,
    /// Serve the operations as MCP tools over stdio.
    #[arg(long)]
    pub mcp: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in, check the session, log out.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// The wallet's payment methods.
    #[command(subcommand, name = "payment-methods")]
    PaymentMethods(PaymentMethodsCommand),
    /// Ask the user to approve a spend, and get its credential.
    #[command(subcommand, name = "spend-request")]
    SpendRequest(SpendRequestCommand),
    /// Machine Payments Protocol: decode a 402 challenge, pay a 402 merchant.
    #[command(subcommand)]
    Mpp(MppCommand),
    /// The account holder.
    #[command(subcommand, name = "user-info")]
    UserInfo(UserInfoCommand),
    /// Saved shipping addresses.
    #[command(subcommand, name = "shipping-address")]
    ShippingAddress(ShippingAddressCommand),
    /// Serve the operations as MCP tools over streamable HTTP at /mcp.
    Serve(ServeArgs),
}

/// `auth ...`
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Device login: prints a URL and a phrase, waits for approval.
    Login(LoginArgs),
    /// Whether a session exists (finishes a pending login).
    Status(StatusArgs),
    /// Revoke the session at Link and forget it here.
    Logout(NoArgs),
}

/// `payment-methods ...`
#[derive(Debug, Subcommand)]
pub enum PaymentMethodsCommand {
    /// List payment methods.
    List(NoArgs),
    /// Where to add one.
    Add(NoArgs),
    /// One payment method.
    Retrieve(PaymentMethodArgs),
    /// Set or clear a payment method's nickname.
    Update(PaymentMethodUpdateArgs),
}

/// `spend-request ...`
// Built once per process: the size of a variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum SpendRequestCommand {
    /// Create a spend request.
    Create(CreateArgs),
    /// Change a spend request before approval.
    Update(UpdateArgs),
    /// Fetch (or poll) a spend request.
    Retrieve(RetrieveArgs),
    /// Ask the user to approve.
    #[command(name = "request-approval")]
    RequestApproval(IdArgs),
    /// Cancel a spend request.
    Cancel(IdArgs),
    /// List spend requests.
    List(ListArgs),
}

/// `mpp ...`
// Built once per process: the size of a variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum MppCommand {
    /// Decode the stripe challenge of a `WWW-Authenticate` value.
    Decode(DecodeArgs),
    /// Pay a 402 merchant with a shared payment token.
    Pay(PayArgs),
}

/// `user-info ...`
#[derive(Debug, Subcommand)]
pub enum UserInfoCommand {
    /// The account holder's name, email and phone.
    Retrieve(NoArgs),
}

/// `shipping-address ...`
#[derive(Debug, Subcommand)]
pub enum ShippingAddressCommand {
    /// List saved addresses.
    List(NoArgs),
}

/// `serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Port to listen on (0 picks one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Address to bind (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
}

impl Command {
    /// The operation this command runs, or `None` for `serve`.
    pub fn into_operation(self) -> Option<Operation> {
        Some(match self {
            Self::Auth(AuthCommand::Login(a)) => Operation::AuthLogin(a),
            Self::Auth(AuthCommand::Status(a)) => Operation::AuthStatus(a),
            Self::Auth(AuthCommand::Logout(a)) => Operation::AuthLogout(a),
            Self::PaymentMethods(PaymentMethodsCommand::List(a)) => {
                Operation::PaymentMethodsList(a)
            }
            Self::PaymentMethods(PaymentMethodsCommand::Add(a)) => Operation::PaymentMethodsAdd(a),
            Self::PaymentMethods(PaymentMethodsCommand::Retrieve(a)) => {
                Operation::PaymentMethodsRetrieve(a)
            }
            Self::PaymentMethods(PaymentMethodsCommand::Update(a)) => {
                Operation::PaymentMethodsUpdate(a)
            }
            Self::SpendRequest(SpendRequestCommand::Create(a)) => Operation::SpendRequestCreate(a),
            Self::SpendRequest(SpendRequestCommand::Update(a)) => Operation::SpendRequestUpdate(a),
            Self::SpendRequest(SpendRequestCommand::Retrieve(a)) => {
                Operation::SpendRequestRetrieve(a)
            }
            Self::SpendRequest(SpendRequestCommand::RequestApproval(a)) => {
                Operation::SpendRequestRequestApproval(a)
            }
            Self::SpendRequest(SpendRequestCommand::Cancel(a)) => Operation::SpendRequestCancel(a),
            Self::SpendRequest(SpendRequestCommand::List(a)) => Operation::SpendRequestList(a),
            Self::Mpp(MppCommand::Decode(a)) => Operation::MppDecode(a),
            Self::Mpp(MppCommand::Pay(a)) => Operation::MppPay(a),
            Self::UserInfo(UserInfoCommand::Retrieve(a)) => Operation::UserInfoRetrieve(a),
            Self::ShippingAddress(ShippingAddressCommand::List(a)) => {
                Operation::ShippingAddressList(a)
            }
            Self::Serve(_) => return None,
        })
    }
}
