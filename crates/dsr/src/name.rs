//! The standard DSR file name (Part 1 §8.1):
//! `DSR_{Recipient}_{Sender}_{Service}_{Period}_{Territory}_{x}of{y}_{yyyymmddThhmmss}.tsv[.gz]`.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileName {
    pub recipient: String,
    pub sender: String,
    pub service: String,
    pub period: String,
    pub territory: String,
    pub number: u32,
    pub of: u32,
    pub created: String,
    pub gzip: bool,
}

impl FileName {
    pub fn parse(name: &str) -> Result<FileName, String> {
        let (stem, gzip) = if let Some(s) = name.strip_suffix(".tsv.gz") {
            (s, true)
        } else if let Some(s) = name.strip_suffix(".tsv") {
            (s, false)
        } else {
            return Err(format!("{name}: a DSR file name ends in .tsv or .tsv.gz"));
        };
        let parts: Vec<&str> = stem.split('_').collect();
        if parts.len() != 8 || parts[0] != "DSR" {
            return Err(format!(
                "{name}: expected DSR_Recipient_Sender_Service_Period_Territory_XofY_yyyymmddThhmmss \
                 (8 parts separated by _), found {} parts",
                parts.len()
            ));
        }
        let (x, y) = parts[6]
            .split_once("of")
            .and_then(|(x, y)| Some((x.parse::<u32>().ok()?, y.parse::<u32>().ok()?)))
            .filter(|(x, y)| *x >= 1 && x <= y)
            .ok_or_else(|| {
                format!(
                    "{name}: file part {:?} is not XofY with 1 ≤ X ≤ Y",
                    parts[6]
                )
            })?;
        let ts = parts[7];
        let ts_ok = ts.len() == 15
            && ts.as_bytes()[8] == b'T'
            && ts
                .bytes()
                .enumerate()
                .all(|(i, c)| i == 8 || c.is_ascii_digit());
        if !ts_ok {
            return Err(format!(
                "{name}: creation time {ts:?} is not yyyymmddThhmmss"
            ));
        }
        Ok(FileName {
            recipient: parts[1].to_owned(),
            sender: parts[2].to_owned(),
            service: parts[3].to_owned(),
            period: parts[4].to_owned(),
            territory: parts[5].to_owned(),
            number: x,
            of: y,
            created: ts.to_owned(),
            gzip,
        })
    }

    /// The name without its x-of-y part: what the `.ctrl` semaphore and the report identity use.
    pub fn report_stem(&self) -> String {
        format!(
            "DSR_{}_{}_{}_{}_{}_{}",
            self.recipient, self.sender, self.service, self.period, self.territory, self.created
        )
    }

    pub fn render(&self) -> String {
        format!(
            "DSR_{}_{}_{}_{}_{}_{}of{}_{}.tsv{}",
            self.recipient,
            self.sender,
            self.service,
            self.period,
            self.territory,
            self.number,
            self.of,
            self.created,
            if self.gzip { ".gz" } else { "" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_names_parse_and_render() {
        let n = "DSR_PADPIDA2014999999Z_PADPIDA2014111801Y_AdSupport_2015-02_AU_1of2_20150723T092522.tsv";
        let f = FileName::parse(n).expect("standard name");
        assert_eq!((f.number, f.of), (1, 2));
        assert_eq!(f.recipient, "PADPIDA2014999999Z");
        assert_eq!(f.render(), n);
        assert!(FileName::parse("DSR_a_b_c_2015_AU_3of2_20150723T092522.tsv").is_err());
        assert!(FileName::parse("report.csv").is_err());
        let e = FileName::parse("DSR_a_b_2015_AU_1of1_20150723T092522.tsv").expect_err("7 parts");
        assert!(e.contains("8 parts"), "{e}");
    }
}
