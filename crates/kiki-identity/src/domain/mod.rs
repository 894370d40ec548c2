//! The identity context's pure part: the permission model (roles,
//! permissions and the matrix, `model.rs`) and the types the edge and other
//! contexts see (`types.rs`: principals, callers, organisations, users,
//! members, tokens).

pub mod model;
pub mod types;
