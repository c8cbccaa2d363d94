//! Contracts in TOML: the distributor's fee per label or release, advances, reserves and
//! withholding tax per payee.
//!
//! ```toml
//! default_fee_bp = 1500                     # 15% when no rule below matches
//! [[fee]]
//! label = "Nightjar Records"                # or: release = "196543210010"
//! fee_bp = 1200
//! [[advance]]
//! id = "nova-2026"                          # posted once, keyed by id
//! payee = "nova-lune"
//! amount = "40.00"                          # in the payee's currency
//! date = "2026-09-01"
//! [[reserve]]
//! payee = "kai-sato"
//! bp = 2000                                 # 20% of positive income held back…
//! periods = 2                               # …and released in equal parts over 2 periods
//! [[withholding]]
//! payee = "dex-marlow"
//! bp = 3000                                 # 30% withholding tax, kept in its own account
//! ```

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Contracts {
    #[serde(default = "default_fee")]
    pub default_fee_bp: u32,
    #[serde(default)]
    pub fee: Vec<FeeRule>,
    #[serde(default)]
    pub advance: Vec<Advance>,
    #[serde(default)]
    pub reserve: Vec<Reserve>,
    #[serde(default)]
    pub withholding: Vec<Withholding>,
}

fn default_fee() -> u32 {
    1500
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FeeRule {
    pub label: Option<String>,
    pub release: Option<String>,
    pub fee_bp: u32,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Advance {
    pub id: String,
    pub payee: String,
    pub amount: String,
    pub date: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Reserve {
    pub payee: String,
    pub bp: u32,
    pub periods: u32,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Withholding {
    pub payee: String,
    pub bp: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ContractError {
    pub file: String,
    pub message: String,
}

impl Contracts {
    pub fn parse(text: &str, file: &str) -> Result<Contracts, ContractError> {
        let c: Contracts = toml::from_str(text).map_err(|e| ContractError {
            file: file.to_owned(),
            message: e.to_string(),
        })?;
        let bad = |message: String| ContractError {
            file: file.to_owned(),
            message,
        };
        if c.default_fee_bp > 10_000 {
            return Err(bad(format!(
                "default_fee_bp = {} is above 10000 (100%)",
                c.default_fee_bp
            )));
        }
        for (i, f) in c.fee.iter().enumerate() {
            if f.fee_bp > 10_000 {
                return Err(bad(format!(
                    "fee[{i}].fee_bp = {} is above 10000 (100%)",
                    f.fee_bp
                )));
            }
            if f.label.is_some() == f.release.is_some() {
                return Err(bad(format!(
                    "fee[{i}] names exactly one of label or release"
                )));
            }
        }
        for (i, r) in c.reserve.iter().enumerate() {
            if r.bp > 10_000 || r.periods == 0 {
                return Err(bad(format!(
                    "reserve[{i}]: bp must be 0..=10000 and periods at least 1"
                )));
            }
        }
        for (i, w) in c.withholding.iter().enumerate() {
            if w.bp > 10_000 {
                return Err(bad(format!(
                    "withholding[{i}].bp = {} is above 10000",
                    w.bp
                )));
            }
        }
        let mut ids = std::collections::BTreeSet::new();
        for a in &c.advance {
            if !ids.insert(&a.id) {
                return Err(bad(format!("advance id {:?} appears twice", a.id)));
            }
            if model::Fine::parse(&a.amount).is_err() {
                return Err(bad(format!(
                    "advance {:?}: amount {:?} is not a decimal amount",
                    a.id, a.amount
                )));
            }
        }
        Ok(c)
    }

    /// The fee in basis points for a release: a release rule wins over a label rule, which
    /// wins over the default (the most specific scope applies).
    pub fn fee_bp(&self, label: &str, upc: &str) -> u32 {
        self.fee
            .iter()
            .find(|f| f.release.as_deref() == Some(upc))
            .or_else(|| self.fee.iter().find(|f| f.label.as_deref() == Some(label)))
            .map_or(self.default_fee_bp, |f| f.fee_bp)
    }

    pub fn reserve_for(&self, payee: &str) -> Option<&Reserve> {
        self.reserve.iter().find(|r| r.payee == payee)
    }

    pub fn withholding_bp(&self, payee: &str) -> u32 {
        self.withholding
            .iter()
            .find(|w| w.payee == payee)
            .map_or(0, |w| w.bp)
    }
}
