//! Every operation of the client as one enum, so that the CLI and the MCP
//! server dispatch through the same code.

use serde_json::Value;

use crate::args::*;
use crate::config::Config;
use crate::error::{ClientError, Result};
use crate::link::Link;
use crate::ops;
use crate::output::Emit;

/// One invocation of an operation with its arguments.
#[derive(Debug, Clone)]
pub enum Operation {
    /// `auth login`
    AuthLogin(LoginArgs),
    /// `auth status`
    AuthStatus(StatusArgs),
    /// `auth logout`
    AuthLogout(NoArgs),
    /// `payment-methods list`
    PaymentMethodsList(NoArgs),
    /// `payment-methods add`
    PaymentMethodsAdd(NoArgs),
    /// `spend-request create`
    SpendRequestCreate(CreateArgs),
    /// `spend-request update`
    SpendRequestUpdate(UpdateArgs),
    /// `spend-request retrieve`
    SpendRequestRetrieve(RetrieveArgs),
    /// `spend-request request-approval`
    SpendRequestRequestApproval(IdArgs),
    /// `spend-request cancel`
    SpendRequestCancel(IdArgs),
    /// `spend-request list`
    SpendRequestList(ListArgs),
    /// `mpp decode`
    MppDecode(DecodeArgs),
    /// `mpp pay`
    MppPay(PayArgs),
    /// `user-info retrieve`
    UserInfoRetrieve(NoArgs),
    /// `shipping-address list`
    ShippingAddressList(NoArgs),
    /// `payment-methods retrieve`
    PaymentMethodsRetrieve(PaymentMethodArgs),
    /// `payment-methods update`
    PaymentMethodsUpdate(PaymentMethodUpdateArgs),
}

/// `(group, command)` of every operation, in the order tools are listed.
pub const NAMES: [(&str, &str); 17] = [
    ("auth", "login"),
    ("auth", "status"),
    ("auth", "logout"),
    ("payment-methods", "list"),
    ("payment-methods", "add"),
    ("spend-request", "create"),
    ("spend-request", "update"),
    ("spend-request", "retrieve"),
    ("spend-request", "request-approval"),
    ("spend-request", "cancel"),
    ("spend-request", "list"),
    ("mpp", "decode"),
    ("mpp", "pay"),
    ("user-info", "retrieve"),
    ("shipping-address", "list"),
    ("payment-methods", "retrieve"),
    ("payment-methods", "update"),
];

impl Operation {
    /// `group command`, as typed on the command line.
    pub fn command_name(&self) -> String {
        let (group, command) = NAMES[self.index()];
        format!("{group} {command}")
    }

    fn index(&self) -> usize {
        match self {
            Self::AuthLogin(_) => 0,
            Self::AuthStatus(_) => 1,
            Self::AuthLogout(_) => 2,
            Self::PaymentMethodsList(_) => 3,
            Self::PaymentMethodsAdd(_) => 4,
            Self::SpendRequestCreate(_) => 5,
            Self::SpendRequestUpdate(_) => 6,
            Self::SpendRequestRetrieve(_) => 7,
            Self::SpendRequestRequestApproval(_) => 8,
            Self::SpendRequestCancel(_) => 9,
            Self::SpendRequestList(_) => 10,
            Self::MppDecode(_) => 11,
            Self::MppPay(_) => 12,
            Self::UserInfoRetrieve(_) => 13,
            Self::ShippingAddressList(_) => 14,
            Self::PaymentMethodsRetrieve(_) => 15,
            Self::PaymentMethodsUpdate(_) => 16,
        }
    }

    /// Builds an operation from an MCP tool name (`spend-request_create`) and its arguments.
    pub fn from_tool(name: &str, arguments: Value) -> Result<Self> {
        fn parse<T: serde::de::DeserializeOwned>(arguments: Value) -> Result<T> {
            let arguments = if arguments.is_null() {
                Value::Object(Default::default())
            } else {
                arguments
            };
            serde_json::from_value(arguments)
                .map_err(|e| ClientError::invalid_input(format!("bad arguments: {e}")))
        }
        Ok(match name {
            "auth_login" => Self::AuthLogin(parse(arguments)?),
            "auth_status" => Self::AuthStatus(parse(arguments)?),
            "auth_logout" => Self::AuthLogout(parse(arguments)?),
            "payment-methods_list" => Self::PaymentMethodsList(parse(arguments)?),
            "payment-methods_add" => Self::PaymentMethodsAdd(parse(arguments)?),
            "spend-request_create" => Self::SpendRequestCreate(parse(arguments)?),
            "spend-request_update" => Self::SpendRequestUpdate(parse(arguments)?),
            "spend-request_retrieve" => Self::SpendRequestRetrieve(parse(arguments)?),
            "spend-request_request-approval" => {
                Self::SpendRequestRequestApproval(parse(arguments)?)
            }
            "spend-request_cancel" => Self::SpendRequestCancel(parse(arguments)?),
            "spend-request_list" => Self::SpendRequestList(parse(arguments)?),
            "mpp_decode" => Self::MppDecode(parse(arguments)?),
            "mpp_pay" => Self::MppPay(parse(arguments)?),
            "user-info_retrieve" => Self::UserInfoRetrieve(parse(arguments)?),
            "shipping-address_list" => Self::ShippingAddressList(parse(arguments)?),
            "payment-methods_retrieve" => Self::PaymentMethodsRetrieve(parse(arguments)?),
            "payment-methods_update" => Self::PaymentMethodsUpdate(parse(arguments)?),
            other => {
                return Err(ClientError::invalid_input(format!(
                    "no tool named {other:?}"
                )));
            }
        })
    }

    /// Runs the operation, emitting what it yields.
    pub async fn run(self, config: Config, out: &mut dyn Emit) -> Result<()> {
        // Decoding needs no session: it must work even with a broken one.
        if let Self::MppDecode(args) = self {
            return ops::mpp::decode(args, out).await;
        }
        let link = Link::new(config)?;
        match self {
            Self::AuthLogin(a) => ops::auth::login(&link, a, out).await,
            Self::AuthStatus(a) => ops::auth::status(&link, a, out).await,
            Self::AuthLogout(a) => ops::auth::logout(&link, a, out).await,
            Self::PaymentMethodsList(a) => ops::payment_methods::list(&link, a, out).await,
            Self::PaymentMethodsAdd(a) => ops::payment_methods::add(&link, a, out).await,
            Self::SpendRequestCreate(a) => ops::spend_requests::create(&link, a, out).await,
            Self::SpendRequestUpdate(a) => ops::spend_requests::update(&link, a, out).await,
            Self::SpendRequestRetrieve(a) => ops::spend_requests::retrieve(&link, a, out).await,
            Self::SpendRequestRequestApproval(a) => {
                ops::spend_requests::request_approval(&link, a, out).await
            }
            Self::SpendRequestCancel(a) => ops::spend_requests::cancel(&link, a, out).await,
            Self::SpendRequestList(a) => ops::spend_requests::list(&link, a, out).await,
            Self::MppDecode(a) => ops::mpp::decode(a, out).await,
            Self::MppPay(a) => ops::mpp::pay(&link, a, out).await,
            Self::UserInfoRetrieve(a) => ops::account::user_info(&link, a, out).await,
            Self::ShippingAddressList(a) => ops::account::shipping_addresses(&link, a, out).await,
            Self::PaymentMethodsRetrieve(a) => ops::payment_methods::retrieve(&link, a, out).await,
            Self::PaymentMethodsUpdate(a) => ops::payment_methods::update(&link, a, out).await,
        }
    }
}
