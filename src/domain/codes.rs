//! Enums stored and published as short text codes (`draft`, `eu_open`, …): one macro gives each
//! its code, German label, parsing, serde as the code, and its Diesel `Text` column mapping.

/// A stored or sent code that names no variant of the enum it should name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("„{0}“ ist kein gültiger Wert")]
pub struct UnknownCode(pub String);

/// Defines an enum whose variants have a stored code and a German label. The code is what the
/// database holds (today's text values, no migration), what JSON shows and what templates compare.
#[macro_export]
macro_rules! coded_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $code:literal, $label:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and published code.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// German label for pages and mails.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// The variant with this code, if any.
            pub fn from_code(code: &str) -> Option<$name> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::codes::UnknownCode;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::from_code(s).ok_or_else(|| $crate::domain::codes::UnknownCode(s.to_string()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::from_code(&s).ok_or_else(|| {
                    let allowed: Vec<&str> = $name::ALL.iter().map(|v| v.code()).collect();
                    serde::de::Error::custom(format!("„{s}“ ist nicht erlaubt; erlaubt: {}", allowed.join(", ")))
                })
            }
        }

        /// A string enum of the codes; the description pairs each code with its German label.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($code),+]))
                    .description(Some([$(concat!("`", $code, "`: ", $label)),+].join(", ")))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, DB>) -> diesel::serialize::Result {
                self.code().to_sql(out)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let code = String::from_sql(bytes)?;
                $name::from_code(&code)
                    .ok_or_else(|| format!("{}: unknown code {code:?}", stringify!($name)).into())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::coded_enum!(
        /// A sample.
        Sample {
            One => "one", "eins",
            TwoWords => "two_words", "zwei Wörter",
        }
    );

    #[test]
    fn codes_labels_and_serde_agree() {
        for s in Sample::ALL {
            assert_eq!(Sample::from_code(s.code()), Some(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.code());
            assert_eq!(serde_json::from_value::<Sample>(s.code().into()).unwrap(), *s);
        }
        assert_eq!(Sample::TwoWords.label(), "zwei Wörter");
        let e = serde_json::from_value::<Sample>("three".into())
            .unwrap_err()
            .to_string();
        assert!(e.contains("erlaubt: one, two_words"), "{e}");
    }
}
