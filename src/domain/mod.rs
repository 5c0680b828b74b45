//! Pure rules of buendel, free of I/O: exact numbers, roles and permissions, identifiers.
//! Routes and services call into these; everything here is tested with many small cases.

pub mod bid;
pub mod calloff;
pub mod codes;
pub mod cpv;
pub mod demand;
pub mod evaluation;
pub mod identifiers;
pub mod ids;
pub mod money;
pub mod numbers;
pub mod ocds;
pub mod period;
pub mod policy;
pub mod review;
pub mod roles;
pub mod rules;
pub mod savings;
pub mod scoring;
pub mod standstill;
pub mod tender;
