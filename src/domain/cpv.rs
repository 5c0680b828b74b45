//! CPV codes (Common Procurement Vocabulary, Regulation (EC) 213/2008): `NNNNNNNN-N`, the ninth
//! digit a check digit. The official list has some codes whose digit breaks the rule; they are valid.

use std::collections::HashSet;
use std::sync::OnceLock;

const WEIGHTS: [u32; 8] = [3, 7, 1, 3, 7, 1, 3, 7];

/// The check digit of the first eight digits: Σ digit × weight (3,7,1,…) mod 10.
pub fn check_digit(first8: &[u8; 8]) -> u8 {
    let sum: u32 = first8.iter().zip(WEIGHTS).map(|(d, w)| u32::from(*d) * w).sum();
    (sum % 10) as u8
}

fn official_exceptions() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        include_str!("cpv_exceptions.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// Why a text is not a CPV code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpvError {
    #[error("muss die Form 12345678-9 haben")]
    Shape,
    #[error("hat eine falsche Prüfziffer (erwartet {stem}-{expected})")]
    CheckDigit { stem: String, expected: u8 },
}

/// Checks a CPV code; returns it trimmed.
pub fn validate(input: &str) -> Result<String, CpvError> {
    let code = input.trim();
    let b = code.as_bytes();
    if b.len() != 10 || b[8] != b'-' || !b[..8].iter().chain(&b[9..]).all(u8::is_ascii_digit) {
        return Err(CpvError::Shape);
    }
    let mut digits = [0u8; 8];
    for (d, c) in digits.iter_mut().zip(&b[..8]) {
        *d = c - b'0';
    }
    let expected = check_digit(&digits);
    if b[9] - b'0' != expected && !official_exceptions().contains(code) {
        return Err(CpvError::CheckDigit {
            stem: code[..8].to_string(),
            expected,
        });
    }
    Ok(code.to_string())
}

/// The division (first two digits), e.g. 30 for office and computing machinery.
pub fn division(code: &str) -> &str {
    code.get(..2).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_codes_pass() {
        for code in [
            "03000000-1",
            "30213100-6",
            "30213300-8",
            "48000000-8",
            "72000000-5",
            "98910000-5",
            "45000000-7",
        ] {
            assert!(validate(code).is_ok(), "{code}");
        }
    }

    #[test]
    fn wrong_check_digit_names_the_right_one() {
        let e = validate("30213100-5").unwrap_err();
        assert_eq!(
            e,
            CpvError::CheckDigit {
                stem: "30213100".into(),
                expected: 6
            }
        );
        assert_eq!(e.to_string(), "hat eine falsche Prüfziffer (erwartet 30213100-6)");
        assert!(validate("72000000-4").is_err());
    }

    #[test]
    fn official_irregular_codes_are_accepted() {
        // 09100000-0 (Brennstoffe) is published with a digit the rule would compute as 4.
        assert!(validate("09100000-0").is_ok());
        assert!(validate("09100000-5").is_err());
        assert!(validate("72212100-0").is_ok());
    }

    #[test]
    fn malformed_codes_are_refused() {
        for code in ["30213100", "3021310-06", "30213100-66", "3021310a-6", "30213100_6", ""] {
            assert_eq!(validate(code).unwrap_err(), CpvError::Shape, "{code}");
        }
    }

    #[test]
    fn division_is_the_first_two_digits() {
        assert_eq!(division("30213100-6"), "30");
    }
}
