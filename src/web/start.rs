//! Start page.
use rocket::get;

#[get("/")]
pub fn index() -> &'static str {
    "ok"
}
