//! Writes Basic Audio Profile 1.2 reports (MRBV): HEAD, SY02.02 per sales context, one block
//! per track (RE01 + AS01.01 + SU02 per context it was streamed in), FOOT with true counts.
//! Multi-file reports repeat HEAD and the SY set in every file and split at block boundaries.
//!
//! The sales are asked for twice (once to total them for the summaries, once to write), so a
//! report of any size is written in constant memory from a deterministic source.

use std::io::{self, Write};

use model::Fine;

use crate::name::FileName;

#[derive(Debug, Clone)]
pub struct Head {
    pub message_id: String,
    /// `2026-11-03T10:00:00Z`
    pub created: String,
    pub usage_start: String,
    pub usage_end: String,
    pub sender_dpid: String,
    pub sender_name: String,
    pub recipient_dpid: String,
    pub recipient_name: String,
    pub service: String,
    /// The file name's period element (`2026-10`) and territory element (`WW` or a code).
    pub period: String,
    pub territory: String,
    /// The file name's creation time, `yyyymmddThhmmss`.
    pub created_compact: String,
    /// Whether the names end in `.tsv.gz` (the caller compresses).
    pub gzip: bool,
}

/// A sales context: one SY02.02 row.
#[derive(Debug, Clone)]
pub struct Context {
    pub commercial_model: String,
    pub use_type: String,
    pub territory: String,
    pub currency: String,
    /// What the DSP pays the recipient for all usage in this context.
    pub amount: Fine,
}

#[derive(Debug, Clone)]
pub struct Track {
    pub isrc: String,
    pub icpn: String,
    pub title: String,
    pub artist: String,
    pub dsp_resource_id: String,
    pub dsp_release_id: String,
}

/// Streams of one track in one context. Sales of a track must come together (one block).
#[derive(Debug, Clone, Copy)]
pub struct Sale {
    pub track: usize,
    pub context: usize,
    pub streams: i64,
}

/// A cell as the spec escapes it: `\` → `\\\`, `|` → `\\|`, TAB → `\<TAB>`; line breaks,
/// which no cell may hold, become spaces.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\\\"),
            '|' => out.push_str("\\\\|"),
            '\t' => out.push_str("\\\t"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

const CAPTIONS: &[&str] = &[
    "#HEAD\tMessageVersion\tProfile\tProfileVersion\tMessageId\tMessageCreatedDateTime\tFileNumber\tNumberOfFiles\tUsageStartDate\tUsageEndDate\tSenderPartyId\tSenderName\tServiceDescription\tRecipientPartyId\tRecipientName\tRepresentedRepertoire",
    "#SY02.02\tSummaryRecordId\tDistributionChannel\tDistributionChannelDPID\tCommercialModel\tUseType\tTerritory\tServiceDescription\tUsages\tUsers\tCurrencyOfReporting\tNetRevenue\tRightsController\tRightsControllerPartyId\tAllocatedUsages\tAllocatedRevenue\tAllocatedNetRevenue\tRightsType\tContentCategory\tCurrencyOfTransaction\tExchangeRate\tRightsTypePercentage",
    "#RE01\tBlockId\tReleaseReference\tDspReleaseId\tProprietaryReleaseId\tCatalogNumber\tICPN\tDisplayArtistName\tDisplayArtistPartyId\tTitle\tSubTitle\tReleaseType\tLabel\tPLine\tDataProvider",
    "#AS01.01\tBlockId\tResourceReference\tDspResourceId\tISRC\tTitle\tSubTitle\tDisplayArtistName\tDisplayArtistPartyId\tDuration\tResourceType\tIsMasterRecording",
    "#SU02\tBlockId\tSummaryRecordId\tSalesTransactionId\tTransactedRelease\tTransactedResource\tIsRoyaltyBearing\tNumberOfStreams\tPriceConsumerPaidExcSalesTax\tPromotionalActivity",
    "#FOOT\tNumberOfLinesInFile\tNumberOfLinesInReport\tNumberOfSummaryRecords\tNumberOfBlocksInFile\tNumberOfBlocksInReport",
];

/// Writes the report as `files` files, opening each through `open` with its standard name.
/// Returns the names written.
pub fn write_basic_audio<'s, W: Write>(
    head: &Head,
    contexts: &[Context],
    tracks: &[Track],
    sales: &dyn Fn() -> Box<dyn Iterator<Item = Sale> + 's>,
    files: u32,
    open: &mut dyn FnMut(&FileName) -> io::Result<W>,
) -> io::Result<Vec<FileName>> {
    // Pass 1: usages per context and the block count.
    let mut usages = vec![0i64; contexts.len()];
    let mut blocks: u64 = 0;
    let mut last: Option<usize> = None;
    for s in sales() {
        usages[s.context] += s.streams;
        if last != Some(s.track) {
            blocks += 1;
            last = Some(s.track);
        }
    }
    let files = files.max(1);
    let per_file = blocks.div_ceil(u64::from(files)).max(1);
    let mut names = Vec::new();
    let mut total_lines: u64 = 0;
    let mut it = sales().peekable();
    let mut block_id: u64 = 0;
    let mut tx: u64 = 0;
    for f in 1..=files {
        let name = FileName {
            recipient: head.recipient_dpid.clone(),
            sender: head.sender_dpid.clone(),
            service: head.service.clone(),
            period: head.period.clone(),
            territory: head.territory.clone(),
            number: f,
            of: files,
            created: head.created_compact.clone(),
            gzip: head.gzip,
        };
        let mut w = io::BufWriter::with_capacity(1 << 16, open(&name)?);
        let mut lines: u64 = 0;
        for c in CAPTIONS {
            writeln!(w, "{c}")?;
            lines += 1;
        }
        writeln!(
            w,
            "HEAD\tdsrf/30\tBasicAudioProfile\t1.2\t{}\t{}\t{f}\t{files}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t",
            escape(&head.message_id),
            head.created,
            head.usage_start,
            head.usage_end,
            head.sender_dpid,
            escape(&head.sender_name),
            escape(&head.service),
            head.recipient_dpid,
            escape(&head.recipient_name),
        )?;
        lines += 1;
        for (i, c) in contexts.iter().enumerate() {
            writeln!(
                w,
                "SY02.02\tS{}\t\t\t{}\t{}\t{}\t{}\t{}\t\t{}\t{}\t{}\t{}\t{}\t\t{}\tMakeAvailableRight\tMusic\t\t\t",
                i + 1,
                c.commercial_model,
                c.use_type,
                c.territory,
                escape(&head.service),
                usages[i],
                c.currency,
                c.amount,
                escape(&head.recipient_name),
                head.recipient_dpid,
                usages[i],
                c.amount,
            )?;
            lines += 1;
        }
        let mut in_file: u64 = 0;
        let mut itoa_buf = itoa_lite::Buffer::default();
        while in_file < per_file || f == files {
            let Some(first) = it.peek().copied() else {
                break;
            };
            block_id += 1;
            in_file += 1;
            let t = &tracks[first.track];
            writeln!(
                w,
                "RE01\t{block_id}\tR1\t{}\t\t\t{}\t{}\t\t{}\t\tSingle\t\t\t",
                t.dsp_release_id,
                t.icpn,
                escape(&t.artist),
                escape(&t.title)
            )?;
            writeln!(
                w,
                "AS01.01\t{block_id}\tA1\t{}\t{}\t{}\t\t{}\t\t\tSoundRecording\ttrue",
                t.dsp_resource_id,
                t.isrc,
                escape(&t.title),
                escape(&t.artist)
            )?;
            lines += 2;
            while let Some(s) = it.peek().copied() {
                if s.track != first.track {
                    break;
                }
                it.next();
                tx += 1;
                // The hot loop of a 10-million-line report: no formatting machinery.
                w.write_all(b"SU02\t")?;
                w.write_all(itoa_buf.format(block_id))?;
                w.write_all(b"\tS")?;
                w.write_all(itoa_buf.format(s.context as u64 + 1))?;
                w.write_all(b"\tT")?;
                w.write_all(itoa_buf.format(tx))?;
                w.write_all(b"\t\tA1\ttrue\t")?;
                w.write_all(itoa_buf.format_i(s.streams))?;
                w.write_all(b"\t\t\n")?;
                lines += 1;
            }
        }
        lines += 1;
        total_lines += lines;
        let in_report = if f == files {
            total_lines.to_string()
        } else {
            String::new()
        };
        let blocks_report = if f == files {
            blocks.to_string()
        } else {
            String::new()
        };
        writeln!(
            w,
            "FOOT\t{lines}\t{in_report}\t{}\t{in_file}\t{blocks_report}",
            contexts.len()
        )?;
        w.flush()?;
        names.push(name);
    }
    Ok(names)
}

/// A tiny integer formatter: the report writer's hot loop runs it tens of millions of times.
mod itoa_lite {
    #[derive(Debug, Default)]
    pub(crate) struct Buffer {
        buf: [u8; 24],
    }

    impl Buffer {
        pub(crate) fn format(&mut self, mut v: u64) -> &[u8] {
            let mut i = self.buf.len();
            loop {
                i -= 1;
                self.buf[i] = b'0' + (v % 10) as u8;
                v /= 10;
                if v == 0 {
                    break;
                }
            }
            &self.buf[i..]
        }

        pub(crate) fn format_i(&mut self, v: i64) -> &[u8] {
            if v >= 0 {
                return self.format(v as u64);
            }
            let len = self.format(v.unsigned_abs()).len();
            let start = self.buf.len() - len - 1;
            self.buf[start] = b'-';
            &self.buf[start..]
        }
    }
}
