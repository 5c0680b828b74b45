//! Typed ids, one per table: a `ContractId` cannot be passed where a `PositionId` is meant.
//! Stored as BIGINT, written in JSON, URLs and templates as the plain number.
//!
//! The API document writes them as what they are on the wire, `integer` (int64). `utoipa` writes
//! every field of a type it does not know as a `$ref` and drops a path argument of such a type,
//! so the ids have no schema of their own: a field says `#[schema(value_type = i64)]` (or
//! `Option<i64>`, `Vec<i64>`), an operation names its id path parameters,
//! `params(("id" = i64, Path))`.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::BigInt;

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        #[derive(serde::Serialize, serde::Deserialize)]
        #[derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
        #[diesel(sql_type = BigInt)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The number as stored.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                $name(id)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }

        /// A path segment that is not a number forwards, like an `i64` parameter.
        impl<'a> rocket::request::FromParam<'a> for $name {
            type Error = <i64 as rocket::request::FromParam<'a>>::Error;
            fn from_param(param: &'a str) -> Result<Self, Self::Error> {
                <i64 as rocket::request::FromParam<'a>>::from_param(param).map($name)
            }
        }

        impl<DB> FromSql<BigInt, DB> for $name
        where
            DB: Backend,
            i64: FromSql<BigInt, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                i64::from_sql(bytes).map($name)
            }
        }

        impl<DB> ToSql<BigInt, DB> for $name
        where
            DB: Backend,
            i64: ToSql<BigInt, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                self.0.to_sql(out)
            }
        }
    )+};
}

ids!(
    /// A row of `organisations` (the cooperative, a member or a vendor).
    OrgId,
    /// A row of `users`.
    UserId,
    /// A row of `sessions`.
    SessionId,
    /// A row of `api_tokens`.
    TokenId,
    /// A row of `login_failures` (one counted login or registration attempt).
    LoginFailureId,
    /// A row of `audit_events`.
    AuditEventId,
    /// A row of `outbox` (one mail).
    OutboxId,
    /// A row of `catalogue_items`.
    CatalogueItemId,
    /// A row of `demand_calls`.
    DemandCallId,
    /// A row of `demand_positions`.
    DemandPositionId,
    /// A row of `tenders`.
    TenderId,
    /// A row of `tender_lots`.
    LotId,
    /// A row of `bids`.
    BidId,
    /// A row of `awards`.
    AwardId,
    /// A row of `tender_positions`.
    TenderPositionId,
    /// A row of `tender_documents`.
    DocumentId,
    /// A row of `tender_questions`.
    QuestionId,
    /// A row of `contracts` (a framework agreement).
    ContractId,
    /// A row of `calloffs`.
    CalloffId,
    /// A row of `complaints` (a Rüge).
    ComplaintId,
    /// A row of `review_applications` (a Nachprüfungsantrag).
    ReviewId,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_reads_and_writes_as_its_number() {
        assert_eq!("42".parse::<TenderId>().unwrap(), TenderId(42));
        assert!("4x".parse::<TenderId>().is_err());
        assert_eq!(TenderId(7).to_string(), "7");
        assert_eq!(serde_json::to_string(&ContractId(9)).unwrap(), "9");
        assert_eq!(serde_json::from_str::<BidId>("12").unwrap(), BidId(12));
    }
}
