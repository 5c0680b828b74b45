//! Savings and the board's figures (lifecycle step 9): the reference price each call-off line is
//! stored with, contracted and realised savings, volume and utilisation by member, contract, lot,
//! CPV division and year, for the cooperative or one member; as data for pages, CSV and API.

pub mod api;
pub mod cache;
pub mod chart;
pub mod cube;
pub mod dashboard;
pub mod export;
pub mod references;
pub mod routes;
pub mod scope;
pub mod view;

pub use cache::DashboardCache;
pub use cube::{cube, cube_sql, CubeRow};
pub use dashboard::{berlin_year, dashboard, Dashboard, Figure, Totals, Utilisation};
pub use export::{view_csv, VIEWS};
pub use references::{candidates, line_references, LineReference};
pub use scope::{parse_member, parse_year, scope_for, scope_for_vendor, Scope};
pub use view::{warning, year_choices};
