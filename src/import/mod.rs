//! CSV the way German offices write it: `;` or `,` separated, decimal comma or point, thousands
//! separators, UTF-8 with or without BOM or Windows-1252, blank lines. Reading never stores
//! anything: callers validate every row, collect every error, and write all or nothing.

use crate::domain::numbers::{self, DecimalStyle};
use rust_decimal::Decimal;
use serde::Serialize;

/// One problem in an uploaded file, as shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// Line in the file (1-based, counting the header).
    pub line: usize,
    pub column: String,
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.column.is_empty() {
            write!(f, "Zeile {}: {}", self.line, self.reason)
        } else {
            write!(f, "Zeile {}, Spalte „{}“: {}", self.line, self.column, self.reason)
        }
    }
}

/// Text from bytes: BOM stripped; UTF-8 if valid, else Windows-1252 (what Excel writes as "CSV").
pub fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

/// The separator of the header line: `;` if it has one outside quotes, else `,`, else tab.
pub fn sniff_delimiter(text: &str) -> u8 {
    let header = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut in_quotes = false;
    let (mut semicolons, mut commas, mut tabs) = (0, 0, 0);
    for c in header.chars() {
        match c {
            '"' => in_quotes = !in_quotes,
            ';' if !in_quotes => semicolons += 1,
            ',' if !in_quotes => commas += 1,
            '\t' if !in_quotes => tabs += 1,
            _ => {}
        }
    }
    if semicolons > 0 {
        b';'
    } else if commas > 0 {
        b','
    } else if tabs > 0 {
        b'\t'
    } else {
        b';'
    }
}

/// A parsed file: header names and the data rows with their line numbers (blank lines skipped).
#[derive(Debug, Clone)]
pub struct Table {
    pub headers: Vec<String>,
    /// One allocation per row, not one per cell, and UTF-8 checked only for the cells read:
    /// files run to 100,000 lines.
    pub rows: Vec<(usize, csv::ByteRecord)>,
}

/// A cell of a row, trimmed; the file was decoded to UTF-8 before splitting on ASCII separators,
/// so every cell is valid UTF-8.
pub fn cell(row: &csv::ByteRecord, column: usize) -> Option<&str> {
    row.get(column).and_then(|b| std::str::from_utf8(b).ok()).map(str::trim)
}

fn normalise_header(h: &str) -> String {
    h.trim().trim_matches('"').trim().to_lowercase()
}

impl Table {
    pub fn parse(bytes: &[u8]) -> Result<Table, RowError> {
        let text = decode(bytes);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(sniff_delimiter(&text))
            .flexible(true)
            .has_headers(false)
            .from_reader(text.as_bytes());
        // The csv reader does not count skipped blank lines; line numbers come from byte offsets.
        let newlines: Vec<usize> = text
            .bytes()
            .enumerate()
            .filter(|(_, b)| *b == b'\n')
            .map(|(i, _)| i)
            .collect();
        let bytes = text.as_bytes();
        let line_of = |byte: u64| {
            // A record's position may point at the blank lines before it.
            let mut start = byte as usize;
            while start < bytes.len() && matches!(bytes[start], b'\n' | b'\r') {
                start += 1;
            }
            newlines.partition_point(|&nl| nl < start) + 1
        };
        let mut headers: Option<Vec<String>> = None;
        let mut rows = Vec::new();
        for record in reader.byte_records() {
            let record = record.map_err(|e| RowError {
                line: e.position().map(|p| line_of(p.byte())).unwrap_or(0),
                column: String::new(),
                reason: format!("Die Zeile ist kein gültiges CSV ({e})."),
            })?;
            let line = record.position().map(|p| line_of(p.byte())).unwrap_or(0);
            if record.iter().all(|c| c.trim_ascii().is_empty()) {
                continue;
            }
            match headers {
                None => {
                    headers = Some(
                        (0..record.len())
                            .map(|i| normalise_header(cell(&record, i).unwrap_or("")))
                            .collect(),
                    )
                }
                Some(_) => rows.push((line, record)),
            }
        }
        let headers = headers.ok_or_else(|| RowError {
            line: 1,
            column: String::new(),
            reason: "Die Datei ist leer.".into(),
        })?;
        Ok(Table { headers, rows })
    }

    /// The index of the first header among `names` (lower case), or an error that names the
    /// column as the template writes it (`display`).
    pub fn column(&self, names: &[&str], display: &str) -> Result<usize, RowError> {
        self.headers
            .iter()
            .position(|h| names.contains(&h.as_str()))
            .ok_or_else(|| RowError {
                line: 1,
                column: display.to_string(),
                reason: format!("Die Spalte „{display}“ fehlt in der Kopfzeile."),
            })
    }

    pub fn optional_column(&self, names: &[&str]) -> Option<usize> {
        self.headers.iter().position(|h| names.contains(&h.as_str()))
    }

    /// Decides the decimal separator of the file from the values of the number columns: a
    /// value that can only be read one way decides; without any, German decimal comma.
    pub fn decimal_style(&self, columns: &[usize]) -> DecimalStyle {
        let mut votes = (0usize, 0usize);
        for (_, cells) in &self.rows {
            for &c in columns {
                match cell(cells, c).and_then(numbers::evidence) {
                    Some(DecimalStyle::Comma) => votes.0 += 1,
                    Some(DecimalStyle::Point) => votes.1 += 1,
                    None => {}
                }
            }
        }
        if votes.1 > votes.0 {
            DecimalStyle::Point
        } else {
            DecimalStyle::Comma
        }
    }
}

/// Reads an optional number cell; empty means none.
pub fn number_cell(
    cells: &csv::ByteRecord,
    column: Option<usize>,
    style: DecimalStyle,
) -> Result<Option<Decimal>, String> {
    match column.and_then(|c| cell(cells, c)) {
        None | Some("") => Ok(None),
        Some(text) => numbers::parse(text, style).map(Some).map_err(|e| e.to_string()),
    }
}

/// A CSV file as a download with a file name.
#[derive(rocket::Responder)]
pub struct CsvDownload {
    body: Vec<u8>,
    content_type: rocket::http::ContentType,
    disposition: rocket::http::Header<'static>,
}

impl CsvDownload {
    pub fn new(body: Vec<u8>, file_name: &str) -> CsvDownload {
        CsvDownload {
            body,
            content_type: rocket::http::ContentType::new("text", "csv").with_params(("charset", "utf-8")),
            disposition: rocket::http::Header::new(
                "Content-Disposition",
                format!("attachment; filename=\"{file_name}\""),
            ),
        }
    }
}

/// Reads an uploaded file into memory (the upload limit caps its size).
pub async fn read_upload(file: &rocket::fs::TempFile<'_>) -> crate::error::AppResult<Vec<u8>> {
    use rocket::tokio::io::AsyncReadExt;
    let unreadable =
        |e: std::io::Error| crate::error::AppError::BadRequest(format!("Die Datei konnte nicht gelesen werden: {e}"));
    let mut bytes = Vec::new();
    file.open()
        .await
        .map_err(unreadable)?
        .read_to_end(&mut bytes)
        .await
        .map_err(unreadable)?;
    Ok(bytes)
}

/// A cell Excel would run as a formula (`=`, `+`, `-`, `@`, tab, CR at the start) gets a leading
/// apostrophe, so names typed by vendors cannot execute in an officer's spreadsheet. Negative
/// numbers stay numbers.
fn defuse(cell: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let risky = matches!(cell.first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'));
    let negative_number = cell.first() == Some(&b'-')
        && cell.len() > 1
        && cell[1..].iter().all(|b| b.is_ascii_digit() || *b == b',' || *b == b'.');
    if risky && !negative_number {
        let mut v = Vec::with_capacity(cell.len() + 1);
        v.push(b'\'');
        v.extend_from_slice(cell);
        std::borrow::Cow::Owned(v)
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// Writes German Excel CSV: `;`, decimal comma, UTF-8 with BOM (so Excel shows umlauts).
pub struct GermanCsv {
    writer: csv::Writer<Vec<u8>>,
}

impl Default for GermanCsv {
    fn default() -> Self {
        GermanCsv::new()
    }
}

impl GermanCsv {
    pub fn new() -> GermanCsv {
        let mut buffer = Vec::new();
        buffer.extend_from_slice(b"\xEF\xBB\xBF");
        GermanCsv {
            writer: csv::WriterBuilder::new().delimiter(b';').from_writer(buffer),
        }
    }

    pub fn row<I, S>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        // Writing into memory cannot fail.
        let cells: Vec<S> = cells.into_iter().collect();
        let _ = self.writer.write_record(cells.iter().map(|c| defuse(c.as_ref())));
        self
    }

    pub fn finish(self) -> Vec<u8> {
        self.writer.into_inner().unwrap_or_default()
    }
}

/// A decimal as German CSV cell: comma, no thousands separator, no trailing zeros beyond `min`.
pub fn decimal_cell(value: Decimal, min_places: u32) -> String {
    let normal = value.normalize();
    let text = if normal.scale() < min_places {
        format!("{:.*}", min_places as usize, normal)
    } else {
        normal.to_string()
    };
    text.replace('.', ",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn utf8_bom_is_stripped() {
        assert_eq!(decode(b"\xEF\xBB\xBFPos;Menge"), "Pos;Menge");
    }

    #[test]
    fn windows_1252_umlauts_survive() {
        // "Gerät" in Windows-1252: ä = 0xE4
        assert_eq!(decode(b"Ger\xE4t;St\xFCck"), "Gerät;Stück");
    }

    #[test]
    fn delimiter_is_sniffed_from_the_header() {
        assert_eq!(sniff_delimiter("Pos;Menge\n1;2,5"), b';');
        assert_eq!(sniff_delimiter("Pos,Menge\n1,\"2,5\""), b',');
        assert_eq!(sniff_delimiter("\"a;b\",c\n"), b',');
    }

    #[test]
    fn blank_lines_are_skipped_but_line_numbers_kept() {
        let t = Table::parse(b"Pos;Menge\n\n1;2\n;\n3;4\n").unwrap();
        assert_eq!(t.headers, vec!["pos", "menge"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].0, 3);
        assert_eq!(t.rows[1].0, 5);
    }

    #[test]
    fn decimal_style_is_decided_by_the_file() {
        let german = Table::parse("Pos;Menge\n1;1.234\n2;2,5\n".as_bytes()).unwrap();
        assert_eq!(german.decimal_style(&[1]), DecimalStyle::Comma);
        let english = Table::parse("Pos,Menge\n1,1234.5\n2,\"1,234\"\n".as_bytes()).unwrap();
        assert_eq!(english.decimal_style(&[1]), DecimalStyle::Point);
    }

    #[test]
    fn missing_column_is_named() {
        let t = Table::parse(b"Pos;Anzahl\n1;2\n").unwrap();
        assert!(t
            .column(&["menge"], "Menge")
            .unwrap_err()
            .reason
            .contains("„Menge“ fehlt"));
    }

    #[test]
    fn number_cells() {
        let cells = csv::ByteRecord::from(vec!["1.234,5", " "]);
        assert_eq!(
            number_cell(&cells, Some(0), DecimalStyle::Comma).unwrap(),
            Some(dec!(1234.5))
        );
        assert_eq!(number_cell(&cells, Some(1), DecimalStyle::Comma).unwrap(), None);
        assert_eq!(number_cell(&cells, None, DecimalStyle::Comma).unwrap(), None);
    }

    #[test]
    fn formulas_are_defused_but_negative_numbers_stay() {
        let mut out = GermanCsv::new();
        out.row(["=HYPERLINK(\"x\")", "-12,50", "@SUM(A1)", "+1", "Müller & Söhne", "-"]);
        let text = String::from_utf8(out.finish()).unwrap();
        assert!(text.contains("'=HYPERLINK"), "{text}");
        assert!(text.contains(";-12,50;"), "{text}");
        assert!(
            text.contains("'@SUM") && text.contains("'+1") && text.contains("Müller & Söhne;'-"),
            "{text}"
        );
    }

    #[test]
    fn german_csv_has_bom_semicolons_and_commas() {
        let mut out = GermanCsv::new();
        out.row(["Pos", "Menge"])
            .row(["1".to_string(), decimal_cell(dec!(2.50), 0)]);
        let bytes = out.finish();
        assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
        assert_eq!(std::str::from_utf8(&bytes[3..]).unwrap(), "Pos;Menge\n1;2,5\n");
        assert_eq!(decimal_cell(dec!(3), 2), "3,00");
    }
}
