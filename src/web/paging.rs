//! Pagination of long lists: `?seite=N` read like every query parameter (a bad value is a 400
//! with a German message), and the context the `m::pagination` macro renders as plain links.

use crate::error::{AppError, AppResult};
use crate::web::read;
use serde_json::{json, Value};

pub use crate::db::page::{Page, PAGE_SIZE};

impl Page {
    /// Page `seite` (1 when absent); zero, negative or not a number is a 400.
    pub fn read(seite: Option<&str>) -> AppResult<Page> {
        let number = read::query::<u32>("seite", seite, "eine Seitenzahl ab 1")?.unwrap_or(1);
        if number == 0 {
            return Err(AppError::BadRequest(
                "Der Parameter „seite“ muss eine Seitenzahl ab 1 sein; „0“ ist das nicht.".into(),
            ));
        }
        Ok(Page {
            number: i64::from(number),
            size: PAGE_SIZE,
        })
    }

    /// What the page macro needs: the address without `seite`, the current page and the last
    /// one; `pages` > 1 shows the controls.
    pub fn view(self, path: &str, total: i64) -> Value {
        let pages = ((total + self.size - 1) / self.size).max(1);
        // Around the current page, plus first and last: never hundreds of links.
        let mut numbers: Vec<i64> = vec![1];
        numbers.extend((self.number - 2).max(2)..=(self.number + 2).min(pages - 1));
        if pages > 1 {
            numbers.push(pages);
        }
        let sep = if path.contains('?') { '&' } else { '?' };
        json!({
            "base": format!("{path}{sep}seite="),
            "current": self.number,
            "pages": pages,
            "numbers": numbers,
            "total": total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_a_whole_number_from_one() {
        assert_eq!(Page::read(None).unwrap(), Page::first());
        assert_eq!(Page::read(Some("3")).unwrap().offset(), 2 * PAGE_SIZE);
        for bad in ["0", "-1", "x", "1,5"] {
            let e = Page::read(Some(bad)).unwrap_err();
            assert!(e.user_detail().contains("seite"), "{bad}: {}", e.user_detail());
        }
    }

    #[test]
    fn the_controls_show_neighbours_and_both_ends() {
        let v = Page { number: 6, size: 50 }.view("/katalog", 1_000);
        assert_eq!(v["pages"], 20);
        assert_eq!(v["numbers"], json!([1, 4, 5, 6, 7, 8, 20]));
        assert_eq!(Page::first().view("/vertraege/3", 10)["numbers"], json!([1]));
    }
}
