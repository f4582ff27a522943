//! One module per noun.
pub mod api_keys;
pub mod audit;
pub mod configs;
#[cfg(debug_assertions)]
pub mod danger;
pub mod decrypt;
pub mod demo;
pub mod edge;
pub mod encrypt;
pub mod keys;
pub mod profiles;
pub mod status;
pub mod store;
