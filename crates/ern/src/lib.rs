//! DDEX ERN for Liner: compose a message from the release model, write it as ERN 4.3, 4.3.2
//! or 3.8.2, read ERN 3.8.2 / 4.1.1 / 4.2 / 4.3 / 4.3.2 back, check the Release Profile
//! rules XSDs cannot express, and decide which message a release's change needs.
//!
//! Pure: bytes and values in, bytes and values out. No clock, no file system; XSD validation
//! (libxml2) lives in the `xsd` crate and the history of sent messages in `store`.

pub mod checks;
pub mod compose;
pub mod import;
pub mod lifecycle;
mod msg;
pub mod read;
pub mod tree;
pub mod write;
pub mod xmlout;

pub use compose::{BuildInput, BuildWarning, FileFacts, Intent, compose};
pub use import::{Finding, ImportDefaults, ImportError, Imported, to_release};
pub use msg::*;
pub use read::{ReadError, ReadWarning, read};
pub use write::{WriteError, write};
