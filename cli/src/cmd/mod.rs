//! One module per noun.
pub mod decrypt;
pub mod encrypt;
pub mod configs;
pub mod edge;
pub mod keys;
pub mod profiles;
