//! Pages of evaluation and award.
use rocket::{Build, Rocket};
pub fn mount(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket
}
