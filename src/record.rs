pub mod recover;
pub mod repair;
