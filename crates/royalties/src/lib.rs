//! Royalty arithmetic, pure (no I/O, no clock): the money rules between a matched sales
//! report and a payee's statement.
//!
//! - [`alloc::allocate`]: largest-remainder allocation, parts always sum to the whole.
//! - [`contract::Contracts`]: fees per label or release, advances, reserves, withholding.
//! - [`posting`]: the entries of an import (fee, splits, FX legs, suspense), reversals; every
//!   list sums to zero per currency.
//! - [`close`]: closing a period: rounding once per payee, reserves, recoupment, tax.
//! - [`statement::Statement`]: opening + movements = closing, with CSV and HTML.

pub mod alloc;
pub mod check;
pub mod close;
pub mod contract;
pub mod period;
pub mod posting;
pub mod statement;

pub use alloc::allocate;
pub use contract::Contracts;
pub use period::Period;
pub use posting::{Dims, Entry, Income, Rate, Sale, SaleTrack, Share, book_sale};
