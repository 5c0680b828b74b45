//! Tender documents: type-checked by content, stored with SHA-256, removable until publication.

use super::{find_locked, DocumentMeta};
use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::tender_documents;
use crate::db::{write_tx, DbConn};
use crate::domain::ids::{DocumentId, TenderId, UserId};
use crate::domain::roles::Role;
use crate::domain::tender::TenderStatus;
use crate::error::{AppError, AppResult};
use crate::AppState;
use diesel::prelude::*;
use serde_json::json;
use sha2::{Digest, Sha256};

/// Largest document accepted.
pub const MAX_DOCUMENT_BYTES: usize = 20 * 1024 * 1024;

/// The types tender documents may have, decided from the content, not the name.
fn document_type(file_name: &str, bytes: &[u8]) -> Option<&'static str> {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match infer::get(bytes).map(|k| k.mime_type()) {
        Some("application/pdf") if ext == "pdf" => Some("application/pdf"),
        Some("application/zip") | Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
            if ext == "docx" =>
        {
            Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        }
        Some("application/zip") | Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            if ext == "xlsx" =>
        {
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        }
        Some("application/zip") if ext == "zip" => Some("application/zip"),
        Some("application/vnd.oasis.opendocument.text") if ext == "odt" => {
            Some("application/vnd.oasis.opendocument.text")
        }
        Some("application/vnd.oasis.opendocument.spreadsheet") if ext == "ods" => {
            Some("application/vnd.oasis.opendocument.spreadsheet")
        }
        None if (ext == "txt" || ext == "csv") && std::str::from_utf8(bytes).is_ok() => Some(if ext == "csv" {
            "text/csv; charset=utf-8"
        } else {
            "text/plain; charset=utf-8"
        }),
        _ => None,
    }
}

fn clean_file_name(name: &str) -> String {
    // Only the last path part, without control characters: it ends up in a download header.
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    base.chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(120)
        .collect::<String>()
        .trim()
        .to_string()
}

#[derive(Insertable)]
#[diesel(table_name = tender_documents)]
struct NewDocument<'a> {
    tender_id: TenderId,
    file_name: &'a str,
    content_type: &'a str,
    size_bytes: i64,
    sha256: &'a str,
    content: &'a [u8],
    uploaded_by: UserId,
    uploaded_at: chrono::NaiveDateTime,
}

/// Attaches a document to a draft (officer): type from the content, size limit, SHA-256 stored.
pub fn add_document(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    id: TenderId,
    file_name: &str,
    bytes: &[u8],
) -> AppResult<DocumentId> {
    user.require(&[Role::Officer])?;
    let name = clean_file_name(file_name);
    if name.is_empty() {
        return Err(AppError::field("file", "Bitte wählen Sie eine Datei aus."));
    }
    if bytes.is_empty() {
        return Err(AppError::field("file", "Die Datei ist leer."));
    }
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(AppError::field(
            "file",
            format!("Die Datei ist größer als {} MB.", MAX_DOCUMENT_BYTES / 1024 / 1024),
        ));
    }
    let content_type = document_type(&name, bytes).ok_or_else(|| {
        AppError::field(
            "file",
            "Erlaubt sind PDF, DOCX, XLSX, ODT, ODS, ZIP sowie Text und CSV in UTF-8; Dateiendung und Inhalt müssen zusammenpassen.",
        )
    })?;
    let sha256 = hex::encode(Sha256::digest(bytes));
    write_tx(conn, |c| {
        let t = find_locked(c, id)?;
        if t.status != TenderStatus::Draft {
            return Err(AppError::Conflict(
                "Unterlagen lassen sich nur vor der Veröffentlichung ändern.".into(),
            ));
        }
        let doc_id: DocumentId = diesel::insert_into(tender_documents::table)
            .values(NewDocument {
                tender_id: id,
                file_name: &name,
                content_type,
                size_bytes: bytes.len() as i64,
                sha256: &sha256,
                content: bytes,
                uploaded_by: user.id,
                uploaded_at: state.clock.now_naive(),
            })
            .returning(tender_documents::id)
            .get_result(c)?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "tender.document_added",
                "tender",
                id,
                json!({ "document_id": doc_id, "file_name": name, "size_bytes": bytes.len(), "sha256": sha256 }),
            ),
        )?;
        Ok(doc_id)
    })
}

pub fn remove_document(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    id: TenderId,
    doc_id: DocumentId,
) -> AppResult<()> {
    user.require(&[Role::Officer])?;
    write_tx(conn, |c| {
        let t = find_locked(c, id)?;
        if t.status != TenderStatus::Draft {
            return Err(AppError::Conflict(
                "Unterlagen lassen sich nur vor der Veröffentlichung ändern.".into(),
            ));
        }
        let (name, sha): (String, String) = tender_documents::table
            .find(doc_id)
            .filter(tender_documents::tender_id.eq(id))
            .select((tender_documents::file_name, tender_documents::sha256))
            .first(c)?;
        diesel::delete(tender_documents::table.find(doc_id)).execute(c)?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "tender.document_removed",
                "tender",
                id,
                json!({ "document_id": doc_id, "file_name": name, "sha256": sha }),
            ),
        )?;
        Ok(())
    })
}

pub fn documents(conn: &mut DbConn, tender_id: TenderId) -> AppResult<Vec<DocumentMeta>> {
    Ok(tender_documents::table
        .filter(tender_documents::tender_id.eq(tender_id))
        .order(tender_documents::id.asc())
        .select(DocumentMeta::as_select())
        .load(conn)?)
}

/// A document's name, type and content, for a download of a tender the caller may read.
pub fn document(conn: &mut DbConn, tender_id: TenderId, doc_id: DocumentId) -> AppResult<(String, String, Vec<u8>)> {
    Ok(tender_documents::table
        .find(doc_id)
        .filter(tender_documents::tender_id.eq(tender_id))
        .select((
            tender_documents::file_name,
            tender_documents::content_type,
            tender_documents::content,
        ))
        .first(conn)?)
}
