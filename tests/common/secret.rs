//! Values for assertions that something never shows: random per run, so that nothing else a
//! page, an API answer, a mail or a log holds (a port, a time, an id, a hash, a token) can
//! contain them by chance. "777" is no such value (a port 35777, a SHA-256 in hex: 1.5 % each);
//! nine random digits in a row or 24 random letters are.

use rand::distributions::{Alphanumeric, DistString};
use rand::Rng;

/// A number with a random nine-digit integer part (first digit not 0, so it groups as
/// "123.456.789") and `places` random decimal places, the last one not 0 (so that no notation
/// shortens it).
#[derive(Debug, Clone)]
pub struct SecretNumber {
    pub digits: String,
    pub fraction: String,
}

impl SecretNumber {
    pub fn new(places: usize) -> SecretNumber {
        let mut rng = rand::thread_rng();
        let digits = rng.gen_range(100_000_000_u32..1_000_000_000).to_string();
        let fraction = (0..places)
            .map(|i| {
                let lowest = u8::from(i + 1 == places);
                char::from(b'0' + rng.gen_range(lowest..10))
            })
            .collect();
        SecretNumber { digits, fraction }
    }

    /// Plain notation, as the API reads and writes it: "123456789.12".
    pub fn plain(&self) -> String {
        self.joined(&self.digits, '.')
    }

    /// German notation without grouping, as forms and price sheets take it: "123456789,12".
    pub fn german(&self) -> String {
        self.joined(&self.digits, ',')
    }

    /// German notation with grouping, as pages show amounts: "123.456.789,12".
    pub fn german_grouped(&self) -> String {
        self.joined(&self.grouped('.'), ',')
    }

    /// Every form in which the number could show, by its integer part (no product of it is
    /// checked): the digits in a row (plain and German notation), and grouped German and
    /// English style. None of them can come from anything but this number.
    pub fn traces(&self) -> Vec<String> {
        vec![self.digits.clone(), self.grouped('.'), self.grouped(',')]
    }

    /// The first trace of this number found in `text`.
    pub fn found_in(&self, text: &str) -> Option<String> {
        self.traces().into_iter().find(|t| text.contains(t.as_str()))
    }

    fn grouped(&self, separator: char) -> String {
        let d = &self.digits;
        format!("{}{separator}{}{separator}{}", &d[..3], &d[3..6], &d[6..])
    }

    fn joined(&self, integer: &str, point: char) -> String {
        if self.fraction.is_empty() {
            integer.to_string()
        } else {
            format!("{integer}{point}{}", self.fraction)
        }
    }
}

/// A text nobody else writes: `prefix` and 24 random letters and digits.
pub fn secret_text(prefix: &str) -> String {
    format!("{prefix}-{}", Alphanumeric.sample_string(&mut rand::thread_rng(), 24))
}
