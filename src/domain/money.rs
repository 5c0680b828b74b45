//! Exact money and quantity newtypes: unit prices (4 places), quantities (3 places), amounts (cents).
//! Each holds an integer count of its minor unit, so storage is exact and summable on every backend.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Why a number cannot be held by one of the newtypes; the text is shown to users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// Only the API's plain notation reaches `FromStr`; forms and files have their own readers.
    #[error("ist keine Zahl in der Schreibweise der API (Ziffern, höchstens ein Dezimalpunkt, z. B. \"1234.56\")")]
    NotANumber,
    #[error("hat mehr als {0} Nachkommastellen")]
    TooManyPlaces(u32),
    #[error("darf nicht negativ sein")]
    Negative,
    #[error("muss größer als 0 sein")]
    NotPositive,
    #[error("ist zu groß (höchstens {0})")]
    TooLarge(&'static str),
}

/// Commercial rounding (kaufmännisch): half away from zero, to `places` decimals.
pub fn round_commercial(value: Decimal, places: u32) -> Decimal {
    value.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero)
}

macro_rules! fixed_point {
    ($(#[$doc:meta])* $name:ident, places = $places:expr, scale = $scale:expr, max = $max:expr, max_text = $max_text:expr, signed = $signed:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        #[derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        pub struct $name(i64);

        impl $name {
            /// Decimal places this type holds exactly.
            pub const PLACES: u32 = $places;
            const SCALE: i64 = $scale;
            const MAX_MINOR: i64 = $max;

            pub const ZERO: Self = Self(0);

            /// Accepts a value only if it can be held exactly; never rounds.
            pub fn from_decimal(value: Decimal) -> Result<Self, NumberError> {
                let normalized = value.normalize();
                if normalized.scale() > Self::PLACES {
                    return Err(NumberError::TooManyPlaces(Self::PLACES));
                }
                if !$signed && normalized.is_sign_negative() && !normalized.is_zero() {
                    return Err(NumberError::Negative);
                }
                let minor = normalized
                    .checked_mul(Decimal::from(Self::SCALE))
                    .ok_or(NumberError::TooLarge($max_text))?;
                let minor = i64::try_from(minor).map_err(|_| NumberError::TooLarge($max_text))?;
                Self::from_minor(minor)
            }

            /// Builds from the stored minor-unit count, refusing what is out of range.
            pub fn from_minor(minor: i64) -> Result<Self, NumberError> {
                if !$signed && minor < 0 {
                    return Err(NumberError::Negative);
                }
                if !(-Self::MAX_MINOR..=Self::MAX_MINOR).contains(&minor) {
                    return Err(NumberError::TooLarge($max_text));
                }
                Ok(Self(minor))
            }

            pub fn minor(self) -> i64 {
                self.0
            }

            /// Borrowed minor units, for writing the column without a copy.
            pub(crate) fn minor_ref(&self) -> &i64 {
                &self.0
            }

            pub fn to_decimal(self) -> Decimal {
                Decimal::new(self.0, Self::PLACES)
            }

            pub fn is_zero(self) -> bool {
                self.0 == 0
            }
        }

        impl FromStr for $name {
            type Err = NumberError;
            /// The API's plain notation only (`crate::domain::numbers::plain`); German input is
            /// read by the form and CSV readers.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let d = crate::domain::numbers::plain(s).map_err(|_| NumberError::NotANumber)?;
                Self::from_decimal(d)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.to_decimal())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_decimal().to_string())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(|e: NumberError| serde::de::Error::custom(format!("„{s}“ {e}")))
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                decimal_schema(&format!(
                    "Dezimalzahl als Zeichenkette mit Dezimalpunkt, höchstens {} Nachkommastellen{}",
                    Self::PLACES,
                    if $signed { "" } else { ", nicht negativ" }
                ))
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

/// What the API reads and writes as a decimal (`domain::numbers::plain`): digits, at most one
/// decimal point, an optional minus; no thousands separators, exponents or JSON numbers.
pub const PLAIN_DECIMAL_PATTERN: &str = r"^-?\d+(\.\d+)?$";

/// A bare `Decimal` as the API writes it, for `#[schema(value_type = DecimalText)]`: computed
/// figures (scores, percentages, aggregates) that no newtype holds.
pub struct DecimalText;

impl utoipa::PartialSchema for DecimalText {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        decimal_schema("Dezimalzahl als Zeichenkette mit Dezimalpunkt")
    }
}

impl utoipa::ToSchema for DecimalText {}

/// The OpenAPI schema of a plain decimal string.
pub fn decimal_schema(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(PLAIN_DECIMAL_PATTERN))
        .description(Some(description))
        .examples(["1234.56"])
        .into()
}

fixed_point!(
    /// Net unit price in EUR with at most 4 decimal places, never negative.
    Price, places = 4, scale = 10_000, max = 9_999_999_999_999, max_text = "999.999.999,9999", signed = false
);
fixed_point!(
    /// Quantity with at most 3 decimal places, never negative (input rules may demand > 0).
    Quantity, places = 3, scale = 1_000, max = 999_999_999_999, max_text = "999.999.999,999", signed = false
);
fixed_point!(
    /// Amount in EUR cents; may be negative (e.g. negative savings).
    Amount, places = 2, scale = 100, max = 999_999_999_999_999, max_text = "9.999.999.999.999,99", signed = true
);

impl Quantity {
    /// Quantities a user orders or demands must be strictly positive.
    pub fn positive(self) -> Result<Self, NumberError> {
        if self.0 > 0 {
            Ok(self)
        } else {
            Err(NumberError::NotPositive)
        }
    }
}

impl Amount {
    /// Line total: quantity × unit price, rounded commercially to cents (DESIGN: exact arithmetic).
    pub fn line_total(quantity: Quantity, price: Price) -> Result<Self, NumberError> {
        let exact = quantity.to_decimal() * price.to_decimal();
        Self::from_decimal(round_commercial(exact, Self::PLACES))
    }

    pub fn checked_add(self, other: Self) -> Result<Self, NumberError> {
        let sum = self
            .0
            .checked_add(other.0)
            .ok_or(NumberError::TooLarge("9.999.999.999.999,99"))?;
        Self::from_minor(sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn price_accepts_zero_and_smallest_step() {
        assert_eq!(Price::from_decimal(dec!(0)).unwrap().minor(), 0);
        assert_eq!(Price::from_decimal(dec!(0.0001)).unwrap().minor(), 1);
    }

    #[test]
    fn price_accepts_largest_value() {
        let p = Price::from_decimal(dec!(999999999.9999)).unwrap();
        assert_eq!(p.to_decimal(), dec!(999999999.9999));
    }

    #[test]
    fn price_refuses_larger_value() {
        assert!(matches!(
            Price::from_decimal(dec!(1000000000)),
            Err(NumberError::TooLarge(_))
        ));
    }

    #[test]
    fn price_refuses_fifth_place_instead_of_rounding() {
        assert_eq!(Price::from_decimal(dec!(1.00001)), Err(NumberError::TooManyPlaces(4)));
    }

    #[test]
    fn trailing_zeros_do_not_count_as_places() {
        assert_eq!(Price::from_decimal(dec!(1.50000000)).unwrap().minor(), 15_000);
    }

    #[test]
    fn price_refuses_negative() {
        assert_eq!(Price::from_decimal(dec!(-0.01)), Err(NumberError::Negative));
    }

    #[test]
    fn quantity_refuses_fourth_place() {
        assert_eq!(Quantity::from_decimal(dec!(0.0001)), Err(NumberError::TooManyPlaces(3)));
        assert_eq!(Quantity::from_decimal(dec!(0.001)).unwrap().minor(), 1);
    }

    #[test]
    fn quantity_zero_is_not_positive() {
        assert_eq!(Quantity::ZERO.positive(), Err(NumberError::NotPositive));
    }

    #[test]
    fn amount_may_be_negative() {
        assert_eq!(Amount::from_decimal(dec!(-12.34)).unwrap().minor(), -1234);
    }

    #[test]
    fn line_total_rounds_half_away_from_zero() {
        // 5 × 0.005 = 0.025: half away from zero gives 0.03, banker's rounding would give 0.02.
        let q = Quantity::from_decimal(dec!(5)).unwrap();
        let p = Price::from_decimal(dec!(0.005)).unwrap();
        assert_eq!(Amount::line_total(q, p).unwrap().to_decimal(), dec!(0.03));
        let q = Quantity::from_decimal(dec!(1)).unwrap();
        let p = Price::from_decimal(dec!(0.025)).unwrap();
        assert_eq!(Amount::line_total(q, p).unwrap().to_decimal(), dec!(0.03));
    }

    #[test]
    fn parses_plain_strings_exactly() {
        assert_eq!("12.3456".parse::<Price>().unwrap().minor(), 123_456);
        assert_eq!("abc".parse::<Price>(), Err(NumberError::NotANumber));
        assert_eq!("1_000".parse::<Quantity>(), Err(NumberError::NotANumber));
        assert_eq!("1,5".parse::<Price>(), Err(NumberError::NotANumber));
        assert_eq!("1.250".parse::<Quantity>().unwrap().minor(), 1_250);
    }

    #[test]
    fn serializes_as_string() {
        let p = Price::from_decimal(dec!(1.5)).unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"1.5000\"");
    }
}
