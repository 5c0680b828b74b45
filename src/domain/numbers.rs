//! The readers of numbers, one per notation: German forms (`german`), German-Excel files (`parse`
//! with a detected style) and the API's plain decimals (`plain`). None rounds; the newtypes refuse
//! more places than they hold afterwards.

use rust_decimal::Decimal;

/// Why a text is not a number in the notation it was read in; each message completes a sentence
/// that names the field ("Menge: „1,2,3“ ist keine Zahl …").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("ist leer")]
    Empty,
    #[error("„{0}“ ist keine Zahl (mehrere Dezimaltrennzeichen)")]
    SeveralDecimalSeparators(String),
    #[error("„{0}“ ist keine Zahl (Tausendertrennzeichen an falscher Stelle)")]
    MisplacedGrouping(String),
    #[error("„{0}“ ist keine Zahl")]
    NotANumber(String),
    #[error("„{0}“ ist zu groß")]
    TooLarge(String),
    #[error(
        "„{0}“ ist keine Zahl in der Schreibweise der API (Ziffern, höchstens ein Dezimalpunkt, ohne Tausendertrennzeichen, z. B. \"1234.56\")"
    )]
    NotPlain(String),
}

/// Which character separates the decimals in a file or form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalStyle {
    /// `1.234,5` (German): comma decimals, point thousands.
    Comma,
    /// `1,234.5`: point decimals, comma thousands.
    Point,
}

/// Whether `digits` (between separators) form valid thousands groups: first group 1–3 digits,
/// every further group exactly 3.
fn valid_grouping(int_part: &str, sep: char) -> bool {
    let groups: Vec<&str> = int_part.split(sep).collect();
    !groups.is_empty()
        && (1..=3).contains(&groups[0].len())
        && groups[1..].iter().all(|g| g.len() == 3)
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()))
}

/// Guesses the style from one value: `Some(Point)` when a point can only be a decimal point
/// (e.g. `12.5`, `1,234.5`), `Some(Comma)` when a comma can only be a decimal comma.
pub fn evidence(text: &str) -> Option<DecimalStyle> {
    let t = text.trim().trim_start_matches(['-', '+']);
    let last_dot = t.rfind('.');
    let last_comma = t.rfind(',');
    match (last_dot, last_comma) {
        (Some(d), Some(c)) => Some(if d > c {
            DecimalStyle::Point
        } else {
            DecimalStyle::Comma
        }),
        (Some(_), None) => {
            if t.matches('.').count() == 1 && !valid_grouping(t, '.') {
                Some(DecimalStyle::Point)
            } else {
                None
            }
        }
        (None, Some(_)) => {
            if t.matches(',').count() == 1 && !valid_grouping(t, ',') {
                Some(DecimalStyle::Comma)
            } else {
                None
            }
        }
        (None, None) => None,
    }
}

/// The common case without allocation: optional sign, digits, thousands separators in valid
/// groups, one decimal separator. Anything else goes the careful way in `parse`.
fn parse_fast(text: &str, decimal: u8, thousands: u8) -> Option<Decimal> {
    let bytes = text.as_bytes();
    let (negative, digits) = match bytes.first()? {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    let mut mantissa: i128 = 0;
    let mut scale: u32 = 0;
    let mut in_fraction = false;
    let mut group_len: usize = 0;
    let mut seen_thousands = false;
    let mut any_digit = false;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
                any_digit = true;
                if in_fraction {
                    scale += 1;
                } else {
                    group_len += 1;
                }
            }
            _ if b == thousands && !in_fraction => {
                // First group 1–3 digits, every later one exactly 3.
                if group_len == 0 || group_len > 3 || (seen_thousands && group_len != 3) {
                    return None;
                }
                seen_thousands = true;
                group_len = 0;
            }
            _ if b == decimal && !in_fraction => {
                if seen_thousands && group_len != 3 {
                    return None;
                }
                in_fraction = true;
            }
            _ => return None,
        }
    }
    if !any_digit || (in_fraction && scale == 0) || (seen_thousands && !in_fraction && group_len != 3) || scale > 28 {
        return None;
    }
    let value = Decimal::try_from_i128_with_scale(if negative { -mantissa } else { mantissa }, scale).ok()?;
    Some(value)
}

/// Parses a number in the given style. Spaces (also narrow no-break) inside are thousands
/// separators too.
pub fn parse(text: &str, style: DecimalStyle) -> Result<Decimal, ReadError> {
    let (d, t) = match style {
        DecimalStyle::Comma => (b',', b'.'),
        DecimalStyle::Point => (b'.', b','),
    };
    if let Some(value) = parse_fast(text.trim(), d, t) {
        return Ok(value);
    }
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        .collect();
    if cleaned.is_empty() {
        return Err(ReadError::Empty);
    }
    let (decimal, thousands) = match style {
        DecimalStyle::Comma => (',', '.'),
        DecimalStyle::Point => ('.', ','),
    };
    let (sign, body) = match cleaned.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", cleaned.strip_prefix('+').unwrap_or(&cleaned)),
    };
    if body.matches(decimal).count() > 1 {
        return Err(ReadError::SeveralDecimalSeparators(text.trim().into()));
    }
    let (int_part, frac_part) = match body.split_once(decimal) {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    if int_part.contains(thousands) && !valid_grouping(int_part, thousands) {
        return Err(ReadError::MisplacedGrouping(text.trim().into()));
    }
    let int_digits: String = int_part.chars().filter(|c| *c != thousands).collect();
    let ok_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int_digits.is_empty() && frac_part.is_none_or(str::is_empty))
        || !ok_digits(&int_digits)
        || !frac_part.is_none_or(|f| ok_digits(f) && !f.is_empty())
    {
        return Err(ReadError::NotANumber(text.trim().into()));
    }
    let normal = match frac_part {
        Some(f) => format!("{sign}{}.{f}", if int_digits.is_empty() { "0" } else { &int_digits }),
        None => format!("{sign}{int_digits}"),
    };
    Decimal::from_str_exact(&normal).map_err(|_| ReadError::TooLarge(text.trim().into()))
}

/// Reads a value typed into a German form: a comma is the decimal separator; a point is a
/// thousands separator where it groups by three (`1.234`), a decimal point otherwise (`1.5`).
pub fn german(text: &str) -> Result<Decimal, ReadError> {
    parse(text, evidence(text).unwrap_or(DecimalStyle::Comma))
}

/// Reads the API's notation and nothing else: an optional minus, digits, optionally a point and
/// more digits (`1234.56`, `-0.5`). No grouping, no comma, no exponent, no underscore, no plus:
/// `"1.250"` is one and a quarter, never 1250, and one string has one meaning.
pub fn plain(text: &str) -> Result<Decimal, ReadError> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || !frac.is_none_or(all_digits) {
        return Err(ReadError::NotPlain(text.into()));
    }
    Decimal::from_str_exact(text).map_err(|_| ReadError::TooLarge(text.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn german_thousands_and_decimal_comma() {
        assert_eq!(parse("1.234,5", DecimalStyle::Comma).unwrap(), dec!(1234.5));
        assert_eq!(parse("1.234.567,891", DecimalStyle::Comma).unwrap(), dec!(1234567.891));
        assert_eq!(parse("0,0001", DecimalStyle::Comma).unwrap(), dec!(0.0001));
    }

    #[test]
    fn point_style() {
        assert_eq!(parse("1,234.5", DecimalStyle::Point).unwrap(), dec!(1234.5));
        assert_eq!(parse("12.50", DecimalStyle::Point).unwrap(), dec!(12.50));
    }

    #[test]
    fn spaces_group_thousands() {
        assert_eq!(parse("1 234,5", DecimalStyle::Comma).unwrap(), dec!(1234.5));
    }

    #[test]
    fn negative_values_parse_for_the_caller_to_refuse() {
        assert_eq!(parse("-3", DecimalStyle::Comma).unwrap(), dec!(-3));
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert_eq!(
            parse("zwölf", DecimalStyle::Comma).unwrap_err(),
            ReadError::NotANumber("zwölf".into())
        );
        assert!(parse("1,2,3", DecimalStyle::Comma).is_err());
        assert_eq!(
            parse("12.34,5", DecimalStyle::Comma).unwrap_err(),
            ReadError::MisplacedGrouping("12.34,5".into())
        );
        assert!(parse("", DecimalStyle::Comma).is_err());
        assert!(parse(",", DecimalStyle::Comma).is_err());
        assert!(parse("1e5", DecimalStyle::Point).is_err());
    }

    #[test]
    fn fast_and_careful_paths_agree() {
        for (text, style) in [
            ("1.234,5", DecimalStyle::Comma),
            ("1.234.567,891", DecimalStyle::Comma),
            ("0,0001", DecimalStyle::Comma),
            ("-3", DecimalStyle::Comma),
            ("12.50", DecimalStyle::Point),
            ("1,234.5", DecimalStyle::Point),
            ("1234", DecimalStyle::Comma),
            (",5", DecimalStyle::Comma),
        ] {
            let fast = parse_fast(
                text,
                if style == DecimalStyle::Comma { b',' } else { b'.' },
                if style == DecimalStyle::Comma { b'.' } else { b',' },
            );
            assert_eq!(fast, Some(parse(text, style).unwrap()), "{text}");
        }
        for bad in ["12.34,5", "1,2,3", "", ",", "1.", "1.23", "--1", "1 234"] {
            assert_eq!(parse_fast(bad, b',', b'.'), None, "{bad}");
        }
    }

    #[test]
    fn evidence_from_single_values() {
        assert_eq!(evidence("12.5"), Some(DecimalStyle::Point));
        assert_eq!(evidence("12,5"), Some(DecimalStyle::Comma));
        assert_eq!(evidence("1.234,5"), Some(DecimalStyle::Comma));
        assert_eq!(evidence("1,234.5"), Some(DecimalStyle::Point));
        assert_eq!(evidence("1.234"), None);
        assert_eq!(evidence("1234"), None);
    }

    #[test]
    fn form_input_reads_german_first() {
        assert_eq!(german("1.234").unwrap(), dec!(1234));
        assert_eq!(german("1,5").unwrap(), dec!(1.5));
        assert_eq!(german("1.5").unwrap(), dec!(1.5));
        assert_eq!(german("1.234,56").unwrap(), dec!(1234.56));
    }

    #[test]
    fn plain_reads_a_point_as_the_decimal_point_always() {
        assert_eq!(plain("1.250").unwrap(), dec!(1.25));
        assert_eq!(plain("1234.56").unwrap(), dec!(1234.56));
        assert_eq!(plain("-0.5").unwrap(), dec!(-0.5));
        assert_eq!(plain("7").unwrap(), dec!(7));
    }

    #[test]
    fn plain_refuses_every_other_notation() {
        for bad in [
            "1_000", "9_9_9", "1e5", "1E5", "1,5", "1.234,5", "1,234.5", "+1", " 1", "1 ", "", ".5", "5.", "-",
            "1.2.3", "1 000", "0x10", "NaN", "١",
        ] {
            assert_eq!(plain(bad).unwrap_err(), ReadError::NotPlain(bad.into()), "{bad}");
        }
    }
}
