//! One module per noun.
pub mod decrypt;
pub mod encrypt;
