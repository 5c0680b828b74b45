//! One page of a long list as the queries take it (which page, how many rows); the web edge
//! reads it from `?seite=N` and renders the controls (`web::paging`).

/// Rows per page of a long list. Twenty rows fit a screen and keep a page of the scale data
/// (500 contracts, 700,000 audit events) as quick as the same page with the demo's few rows.
pub const PAGE_SIZE: i64 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub number: i64,
    pub size: i64,
}

impl Page {
    pub fn first() -> Page {
        Page {
            number: 1,
            size: PAGE_SIZE,
        }
    }

    /// Rows before this page.
    pub fn offset(self) -> i64 {
        (self.number - 1) * self.size
    }
}
