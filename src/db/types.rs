//! Diesel column mappings for the exact newtypes: each is a BIGINT of minor units on both backends.
//! Reading a value the type cannot hold is an error, never a silent clamp.

use crate::domain::money::{Amount, Price, Quantity};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::BigInt;

macro_rules! bigint_column {
    ($name:ident) => {
        impl<DB> FromSql<BigInt, DB> for $name
        where
            DB: Backend,
            i64: FromSql<BigInt, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let minor = i64::from_sql(bytes)?;
                Ok($name::from_minor(minor).map_err(|e| format!("{}: {minor} {e}", stringify!($name)))?)
            }
        }

        impl<DB> ToSql<BigInt, DB> for $name
        where
            DB: Backend,
            i64: ToSql<BigInt, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                self.minor_ref().to_sql(out)
            }
        }
    };
}

bigint_column!(Price);
bigint_column!(Quantity);
bigint_column!(Amount);
