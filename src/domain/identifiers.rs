//! Checks for identifiers public bodies and vendors give us: Leitweg-ID (XRechnung routing, ISO 7064
//! MOD 97-10 check digits), German VAT ID (ISO 7064 MOD 11,10), e-mail addresses.

/// Why a text is not the identifier it should be; each message completes "<Feld> …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("hat nicht die Form Grobadressierung-Feinadressierung-Prüfziffer, z. B. 06411000-12345-67")]
    LeitwegShape,
    #[error("Grobadressierung muss aus 2 bis 12 Ziffern bestehen")]
    LeitwegCoarse,
    #[error("Feinadressierung muss aus 1 bis 30 Buchstaben oder Ziffern bestehen")]
    LeitwegFine,
    #[error("Prüfziffer muss aus zwei Ziffern bestehen")]
    LeitwegCheckShape,
    #[error("Prüfziffer stimmt nicht (erwartet {0:02})")]
    LeitwegCheck(u32),
    #[error("muss mit dem Ländercode beginnen, z. B. DE123456789")]
    VatCountry,
    #[error("deutsche USt-IdNr. besteht aus DE und 9 Ziffern")]
    VatGerman,
    #[error("Prüfziffer der USt-IdNr. stimmt nicht")]
    VatCheck,
    #[error("hat kein gültiges Format")]
    VatShape,
    #[error("ist keine gültige E-Mail-Adresse")]
    Email,
}

/// Validates a Leitweg-ID `Grob[-Fein]-Prüfziffer`; returns the normalised (upper case) form.
pub fn leitweg_id(input: &str) -> Result<String, IdentifierError> {
    let id = input.trim().to_ascii_uppercase();
    let parts: Vec<&str> = id.split('-').collect();
    let (coarse, fine, check) = match parts.as_slice() {
        [coarse, check] => (*coarse, "", *check),
        [coarse, fine, check] => (*coarse, *fine, *check),
        _ => return Err(IdentifierError::LeitwegShape),
    };
    if !(2..=12).contains(&coarse.len()) || !coarse.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IdentifierError::LeitwegCoarse);
    }
    if parts.len() == 3 && (fine.is_empty() || fine.len() > 30 || !fine.bytes().all(|b| b.is_ascii_alphanumeric())) {
        return Err(IdentifierError::LeitwegFine);
    }
    if check.len() != 2 || !check.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IdentifierError::LeitwegCheckShape);
    }
    let expected = leitweg_check_digits(&format!("{coarse}{fine}"));
    if check != format!("{expected:02}") {
        return Err(IdentifierError::LeitwegCheck(expected));
    }
    Ok(id)
}

/// ISO 7064 MOD 97-10 over digits and letters (A = 10 … Z = 35).
fn leitweg_check_digits(body: &str) -> u32 {
    let mut rem: u32 = 0;
    for c in body.chars() {
        let value = c.to_digit(36).unwrap_or(0);
        let digits = if value >= 10 { 100 } else { 10 };
        rem = (rem * digits + value) % 97;
    }
    98 - (rem * 100) % 97
}

/// Validates a VAT ID: German `DE` + 9 digits with check digit; other EU prefixes by format only.
pub fn vat_id(input: &str) -> Result<String, IdentifierError> {
    let id: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if id.len() < 4 || !id.is_ascii() || !id[..2].bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(IdentifierError::VatCountry);
    }
    if let Some(digits) = id.strip_prefix("DE") {
        if digits.len() != 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdentifierError::VatGerman);
        }
        let d: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
        let mut product = 10;
        for digit in &d[..8] {
            let mut sum = (digit + product) % 10;
            if sum == 0 {
                sum = 10;
            }
            product = (2 * sum) % 11;
        }
        let check = (11 - product) % 10;
        if check != d[8] {
            return Err(IdentifierError::VatCheck);
        }
    } else if id.len() > 14 || !id[2..].bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(IdentifierError::VatShape);
    }
    Ok(id)
}

/// Normalises and checks an e-mail address (lower case, validator's rules).
pub fn email(input: &str) -> Result<String, IdentifierError> {
    use validator::ValidateEmail;
    let email = input.trim().to_lowercase();
    if email.validate_email() {
        Ok(email)
    } else {
        Err(IdentifierError::Email)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leitweg_xrechnung_test_id_is_valid() {
        assert_eq!(leitweg_id("991-33333TEST-33").unwrap(), "991-33333TEST-33");
    }

    #[test]
    fn leitweg_lower_case_is_normalised() {
        assert_eq!(leitweg_id("991-33333test-33").unwrap(), "991-33333TEST-33");
    }

    #[test]
    fn leitweg_with_leading_zero_check() {
        assert!(leitweg_id("04011000-1234512345-06").is_ok());
    }

    #[test]
    fn leitweg_wrong_check_digit_names_expected() {
        let err = leitweg_id("991-33333TEST-34").unwrap_err();
        assert_eq!(err, IdentifierError::LeitwegCheck(33));
        assert!(err.to_string().contains("erwartet 33"), "{err}");
    }

    #[test]
    fn leitweg_malformed_is_refused() {
        assert!(leitweg_id("abc").is_err());
        assert!(leitweg_id("1-2-3-4").is_err());
        assert!(leitweg_id("9-ABC-33").is_err());
        assert!(leitweg_id("991-333-TEST-3").is_err());
    }

    #[test]
    fn german_vat_id_check_digit() {
        // DE136695976 is a published example with a valid check digit.
        assert!(vat_id("DE136695976").is_ok());
        assert!(vat_id("DE 136 695 976").is_ok());
        assert!(vat_id("DE136695975").is_err());
        assert!(vat_id("DE13669597").is_err());
    }

    #[test]
    fn non_ascii_vat_id_is_refused_not_a_panic() {
        assert!(vat_id("€123456789").is_err());
        assert!(vat_id("ÄÖ12345").is_err());
    }

    #[test]
    fn foreign_vat_id_by_format() {
        assert!(vat_id("ATU12345678").is_ok());
        assert!(vat_id("12345").is_err());
    }

    #[test]
    fn email_is_lowercased() {
        assert_eq!(
            email(" Einkauf@Darmstadt.Example ").unwrap(),
            "einkauf@darmstadt.example"
        );
        assert!(email("kein-at-zeichen").is_err());
    }
}
