//! `app::Error`: what a use case can fail with. The typed variants are the ones a front end
//! acts on (the CLI picks an exit code, the web an HTTP status); everything else is `Failed`
//! with its causes in words. `{e}` is the outermost message, `e.chain()` the whole chain, as
//! people read it.

use std::fmt;

/// A release that QC has not cleared for a DSP.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{upc} is not cleared for {dsp}: {gate}")]
pub struct NotCleared {
    pub upc: String,
    pub dsp: String,
    pub gate: store::Gate,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// What was asked for is not there: a release, a delivery, a DSP profile, a period.
    #[error("{0}")]
    NotFound(String),
    /// QC has not cleared the release for the DSP.
    #[error(transparent)]
    NotCleared(#[from] NotCleared),
    /// Another run holds the work (a delivery lock, a running job).
    #[error("{0}")]
    Locked(String),
    /// The request cannot be done as asked (a lead time, a flag's value, a missing setting).
    #[error("{0}")]
    Refused(String),
    /// What was being done when `inner` went wrong.
    #[error("{what}")]
    Context {
        what: String,
        #[source]
        inner: Box<Error>,
    },
    /// A failure of a part below (store, file store, transport, a format).
    #[error(transparent)]
    Part(Box<dyn std::error::Error + Send + Sync>),
    /// A failure described in words.
    #[error("{0}")]
    Failed(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A failure in words.
    pub fn msg(text: impl fmt::Display) -> Error {
        Error::Failed(text.to_string())
    }

    /// The whole chain as one sentence: each cause once (a context that already quotes its
    /// cause is not followed by it again), without Rust's "(os error N)" suffixes.
    pub fn chain(&self) -> String {
        chain_text(self)
    }

    /// The innermost typed error, looking through contexts.
    pub fn root(&self) -> &Error {
        match self {
            Error::Context { inner, .. } => inner.root(),
            e => e,
        }
    }
}

/// An error chain as one sentence for people (see [`Error::chain`]).
pub fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        let mut t = c.to_string();
        while let Some(i) = t.find(" (os error ") {
            let end = t[i..].find(')').map_or(t.len(), |j| i + j + 1);
            t.replace_range(i..end, "");
        }
        if !parts.iter().any(|p| p.contains(t.as_str())) {
            parts.push(t);
        }
        cause = c.source();
    }
    parts.join(": ")
}

/// Errors of the parts below become `Error::Part`, their own causes kept.
macro_rules! parts {
    ($($t:ty),* $(,)?) => {
        $(impl From<$t> for Error {
            fn from(e: $t) -> Error {
                Error::Part(Box::new(e))
            }
        })*
    };
}

parts!(
    std::io::Error,
    std::string::FromUtf8Error,
    store::StoreError,
    filestore::FileStoreError,
    serde_json::Error,
    tokio::task::JoinError,
    transport_sftp::SftpError,
    transport_http::HttpError,
    notify::MailError,
    qc::FixError,
    xsd::SchemaError,
    ern::WriteError,
    ern::ReadError,
    choreography::ChoreographyError,
    choreography::PackageError,
    transcode::ConvertError,
    mock_dsp::DspError,
    royalties::posting::PostingError,
    model::FineError,
    model::IdError,
    royalties::contract::ContractError,
    report_csv::LayoutError,
    csv::Error,
);

/// `.context(…)` and `.with_context(|| …)` on results and options, as people read them:
/// "what was being done: what went wrong".
pub trait Context<T> {
    fn context<C: fmt::Display>(self, what: C) -> Result<T>;
    fn with_context<C: fmt::Display, F: FnOnce() -> C>(self, what: F) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context<C: fmt::Display>(self, what: C) -> Result<T> {
        self.map_err(|e| Error::Context {
            what: what.to_string(),
            inner: Box::new(e.into()),
        })
    }

    fn with_context<C: fmt::Display, F: FnOnce() -> C>(self, what: F) -> Result<T> {
        self.map_err(|e| Error::Context {
            what: what().to_string(),
            inner: Box::new(e.into()),
        })
    }
}

impl<T> Context<T> for Option<T> {
    fn context<C: fmt::Display>(self, what: C) -> Result<T> {
        self.ok_or_else(|| Error::Failed(what.to_string()))
    }

    fn with_context<C: fmt::Display, F: FnOnce() -> C>(self, what: F) -> Result<T> {
        self.ok_or_else(|| Error::Failed(what().to_string()))
    }
}

/// `Error::Failed` from a format string.
#[macro_export]
macro_rules! err {
    ($($t:tt)*) => {
        $crate::Error::Failed(format!($($t)*))
    };
}

/// Returns `Error::Failed` from a format string.
#[macro_export]
macro_rules! bail {
    ($($t:tt)*) => {
        return Err($crate::err!($($t)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_reads_as_one_sentence_each_cause_once() {
        let io = std::io::Error::from_raw_os_error(2);
        let e: Result<()> = Err(io).context("reading /x/release.toml");
        let e = e.context("importing /x").expect_err("an error");
        assert_eq!(
            e.chain(),
            "importing /x: reading /x/release.toml: No such file or directory"
        );
        assert_eq!(e.to_string(), "importing /x");
        let quoted = Error::Context {
            what: "stored message: bad XML".into(),
            inner: Box::new(Error::msg("bad XML")),
        };
        assert_eq!(quoted.chain(), "stored message: bad XML");
    }

    #[test]
    fn the_typed_error_is_found_under_contexts() {
        let e: Result<()> = Err(Error::Locked("held".into()));
        let e = e.context("delivering").expect_err("an error");
        assert!(matches!(e.root(), Error::Locked(_)));
    }
}
