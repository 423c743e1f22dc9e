//! Pieces shared by the pages.

pub mod budget;
pub mod call;
pub mod chart;
pub mod chat;
pub mod failures;
pub mod form;
pub mod nav;
