//! Legal documents rendered from `contract-templates/` (tera): the opening record now, contracts
//! and orders later. Rendered text is stored unchanged with its SHA-256 by the caller.

use crate::error::{AppError, AppResult};
use std::path::Path;
use tera::Tera;

pub struct DocumentTemplates {
    tera: Tera,
}

impl DocumentTemplates {
    pub fn load(dir: &Path) -> Result<DocumentTemplates, String> {
        let glob = dir.join("*.tera");
        let mut tera = Tera::new(&glob.to_string_lossy()).map_err(|e| format!("{e:?}"))?;
        tera.autoescape_on(vec![".html.tera"]);
        crate::german::register_filters(&mut tera);
        Ok(DocumentTemplates { tera })
    }

    /// Renders `name` (without `.html.tera`).
    pub fn render(&self, name: &str, ctx: &serde_json::Value) -> AppResult<String> {
        let context = tera::Context::from_value(ctx.clone())
            .map_err(|e| AppError::Internal(format!("document context {name}: {e}")))?;
        self.tera
            .render(&format!("{name}.html.tera"), &context)
            .map_err(|e| AppError::Internal(format!("document template {name}: {e:?}")))
    }
}
