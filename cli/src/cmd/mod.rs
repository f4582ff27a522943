//! One module per noun.
pub mod api_keys;
pub mod decrypt;
pub mod demo;
pub mod encrypt;
pub mod configs;
pub mod edge;
pub mod keys;
pub mod profiles;
pub mod store;
