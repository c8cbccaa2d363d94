//! Text helpers the metadata rules share: scripts, title casing, word matching, emoji, and
//! splitting a title into its base and bracketed qualifiers.

/// Writing systems QC distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Script {
    Latin,
    Cyrillic,
    Greek,
    Hebrew,
    Arabic,
    Han,
    Kana,
    Hangul,
    Thai,
    Devanagari,
}

pub(crate) fn script_of(c: char) -> Option<Script> {
    let u = c as u32;
    Some(match u {
        0x41..=0x5A | 0x61..=0x7A | 0xC0..=0x24F | 0x1E00..=0x1EFF => {
            if c == '×' || c == '÷' {
                return None;
            }
            Script::Latin
        }
        0x370..=0x3FF | 0x1F00..=0x1FFF => Script::Greek,
        0x400..=0x52F => Script::Cyrillic,
        0x590..=0x5FF => Script::Hebrew,
        0x600..=0x6FF | 0x750..=0x77F => Script::Arabic,
        0x900..=0x97F => Script::Devanagari,
        0xE00..=0xE7F => Script::Thai,
        0x3040..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F => Script::Kana,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF => Script::Han,
        0xAC00..=0xD7AF | 0x1100..=0x11FF | 0x3130..=0x318F => Script::Hangul,
        _ => return None,
    })
}

/// The scripts a language's titles are written in (`None`: no expectation).
pub(crate) fn native_scripts(language: &str) -> Option<&'static [Script]> {
    let primary = language
        .split('-')
        .next()
        .unwrap_or(language)
        .to_ascii_lowercase();
    Some(match primary.as_str() {
        "ru" | "uk" | "bg" | "be" | "mk" | "kk" | "ky" | "mn" | "tg" => &[Script::Cyrillic],
        "el" => &[Script::Greek],
        "he" | "yi" => &[Script::Hebrew],
        "ar" | "fa" | "ur" | "ps" => &[Script::Arabic],
        "ja" => &[Script::Han, Script::Kana, Script::Latin],
        "zh" => &[Script::Han, Script::Latin],
        "ko" => &[Script::Hangul, Script::Han, Script::Latin],
        "th" => &[Script::Thai],
        "hi" | "mr" | "ne" => &[Script::Devanagari],
        "en" | "fr" | "de" | "es" | "pt" | "it" | "nl" | "sv" | "da" | "no" | "nb" | "fi"
        | "pl" | "cs" | "sk" | "hu" | "ro" | "hr" | "sl" | "tr" | "id" | "ms" | "vi" | "sw"
        | "ga" | "cy" | "is" | "et" | "lv" | "lt" | "ca" | "eu" | "gl" | "af" | "tl" => {
            &[Script::Latin]
        }
        _ => return None,
    })
}

pub(crate) fn scripts_in(s: &str) -> Vec<Script> {
    let mut v: Vec<Script> = s.chars().filter_map(script_of).collect();
    v.sort();
    v.dedup();
    v
}

/// Extended_Pictographic, as the ranges that matter in titles (emoji blocks, dingbats and
/// symbols that render as emoji).
pub(crate) fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x1F900..=0x1F9FF | 0x3030 | 0x303D
        | 0x3297 | 0x3299 | 0x2190..=0x21FF if c != '→' && c != '←'
    ) || matches!(c as u32, 0x1F300..=0x1F64F | 0x1F680..=0x1F6FF | 0xFE0F)
}

/// Words of `s`: runs of letters, digits and apostrophes.
pub(crate) fn words(s: &str) -> Vec<&str> {
    s.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Whether `phrase` (lowercase, words separated by single spaces) occurs in `s` on word
/// boundaries, case-insensitively.
pub(crate) fn has_phrase(s: &str, phrase: &str) -> bool {
    let ws: Vec<String> = words(s).iter().map(|w| w.to_lowercase()).collect();
    let p: Vec<&str> = phrase.split(' ').collect();
    ws.windows(p.len())
        .any(|win| win.iter().zip(&p).all(|(a, b)| a == b))
}

/// The first phrase of `list` found in `s`.
pub(crate) fn find_phrase<'a>(s: &str, list: &[&'a str]) -> Option<&'a str> {
    list.iter().copied().find(|p| has_phrase(s, p))
}

/// English words that stay lowercase in title case unless first or last.
const MINOR: &[&str] = &[
    "a",
    "an",
    "and",
    "as",
    "but",
    "for",
    "from",
    "nor",
    "of",
    "or",
    "so",
    "the",
    "to",
    "yet",
    "at",
    "by",
    "in",
    "into",
    "off",
    "on",
    "onto",
    "out",
    "over",
    "up",
    "with",
    "feat.",
    "vs.",
    "ft.",
    "ft",
    "feat",
    "featuring",
    "w/",
    "x",
    "vs",
];

fn is_latin_word(w: &str) -> bool {
    w.chars().any(char::is_alphabetic)
        && w.chars()
            .filter(|c| c.is_alphabetic())
            .all(|c| script_of(c) == Some(Script::Latin))
}

fn capitalise(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(f) => f
            .to_uppercase()
            .chain(c.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// Letters of a word, lowercase/uppercase counts.
fn case_counts(w: &str) -> (usize, usize) {
    let lower = w.chars().filter(|c| c.is_lowercase()).count();
    let upper = w.chars().filter(|c| c.is_uppercase()).count();
    (lower, upper)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CaseStyle {
    AllCaps,
    AllLower,
    Random,
    Fine,
}

/// How a Latin-script title is cased. Acronyms (short all-caps words) are fine in a mixed title.
pub(crate) fn case_style(s: &str, allow: &[String]) -> CaseStyle {
    let ws: Vec<&str> = s
        .split_whitespace()
        .filter(|w| is_latin_word(w) && !allow.iter().any(|a| a.eq_ignore_ascii_case(w)))
        .collect();
    let letters: usize = ws
        .iter()
        .map(|w| w.chars().filter(|c| c.is_alphabetic()).count())
        .sum();
    if ws.is_empty() || letters < 4 {
        return CaseStyle::Fine;
    }
    let (lower, upper) = ws
        .iter()
        .map(|w| case_counts(w))
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    if lower == 0 && ws.len() >= 2 {
        return CaseStyle::AllCaps;
    }
    if upper == 0 {
        return CaseStyle::AllLower;
    }
    // rAnDoM: a word whose case flips inside it more than a camel-case name would.
    let random = ws.iter().any(|w| {
        let cs: Vec<char> = w.chars().filter(|c| c.is_alphabetic()).collect();
        let flips = cs
            .windows(2)
            .filter(|p| p[0].is_uppercase() != p[1].is_uppercase())
            .count();
        cs.len() >= 4 && flips >= 3 && cs[0].is_lowercase()
    });
    if random {
        CaseStyle::Random
    } else {
        CaseStyle::Fine
    }
}

/// English title case (Ingrooves/CD Baby): minor words lowercase except first and last, the
/// first and last word inside brackets capitalised, each part of a hyphenated compound
/// capitalised. Non-Latin words and allow-listed stylings are left alone.
pub(crate) fn title_case(s: &str, allow: &[String]) -> String {
    // Tokens: words (with trailing punctuation kept) and separators.
    let tokens: Vec<&str> = s.split(' ').collect();
    let n = tokens.len();
    let mut out = Vec::with_capacity(n);
    for (i, tok) in tokens.iter().enumerate() {
        if tok.is_empty() {
            out.push(String::new());
            continue;
        }
        let opens = tok.starts_with(['(', '[']);
        let closes = tok.ends_with([')', ']']);
        let prev_sep = i > 0 && tokens[i - 1].ends_with([':', '-', '/', '(', '[']);
        let next_closes = closes || i + 1 == n || tokens[i + 1] == "/" || tokens[i + 1] == "-";
        let first = i == 0 || opens || prev_sep || tokens[i - 1] == "/" || tokens[i - 1] == "-";
        let last = i + 1 == n || next_closes;
        let core: String = tok
            .trim_matches(|c: char| !c.is_alphanumeric() && c != '.')
            .to_owned();
        if !is_latin_word(tok) || allow.iter().any(|a| a.eq_ignore_ascii_case(&core)) {
            out.push((*tok).to_owned());
            continue;
        }
        let lower = core.to_lowercase();
        // Keep intended stylings inside a word (McCartney, iPhone, DJ) when the title is not
        // shouting; only fix words that are wholly lower or wholly upper.
        let (l, u) = case_counts(&core);
        let keep_inner = l > 0 && u > 0 && !core.chars().next().is_some_and(char::is_lowercase);
        let cased = if lower == "feat." || (MINOR.contains(&lower.as_str()) && !first && !last) {
            lower
        } else if keep_inner
            || (u > 0 && l == 0 && core.chars().filter(|c| c.is_alphabetic()).count() <= 3 && i > 0)
        {
            core.clone()
        } else {
            core.split('-')
                .enumerate()
                .map(|(k, part)| {
                    let pl = part.to_lowercase();
                    if k > 0
                        && [
                            "a", "an", "and", "for", "from", "of", "or", "the", "to", "in",
                        ]
                        .contains(&pl.as_str())
                    {
                        pl
                    } else {
                        capitalise(part)
                    }
                })
                .collect::<Vec<_>>()
                .join("-")
        };
        out.push(tok.replacen(&core, &cased, 1));
    }
    out.join(" ")
}

/// `Title (A) [B]` → ("Title", ["A", "B"]) with the bracket kinds.
pub(crate) fn split_qualifiers(s: &str) -> (String, Vec<(char, String)>) {
    let mut base = String::new();
    let mut quals = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    let mut open = '(';
    for c in s.chars() {
        match c {
            '(' | '[' if depth == 0 => {
                depth = 1;
                open = c;
                current.clear();
            }
            '(' | '[' => {
                depth += 1;
                current.push(c);
            }
            ')' | ']' if depth == 1 => {
                depth = 0;
                quals.push((open, current.trim().to_owned()));
            }
            ')' | ']' if depth > 1 => {
                depth -= 1;
                current.push(c);
            }
            _ if depth > 0 => current.push(c),
            _ => base.push(c),
        }
    }
    (base.trim().to_owned(), quals)
}

/// Featured names from a credit text: `A`, `A & B`, `A, B & C`, `A and B`.
pub(crate) fn split_names(s: &str) -> Vec<String> {
    let mut names = Vec::new();
    for part in s.split(',') {
        for p in part.split(" & ") {
            for q in p.split(" and ") {
                let q = q.trim();
                if !q.is_empty() {
                    names.push(q.to_owned());
                }
            }
        }
    }
    names
}

/// Apple's form of a list of names: `A`, `A & B`, `A, B & C`.
pub(crate) fn join_names(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} & {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_case_follows_the_style_guides() {
        let none: Vec<String> = vec![];
        assert_eq!(title_case("love me tender", &none), "Love Me Tender");
        assert_eq!(title_case("Live at the BBC", &none), "Live at the BBC");
        assert_eq!(title_case("Song Of The Year", &none), "Song of the Year");
        assert_eq!(
            title_case("the end of the road", &none),
            "The End of the Road"
        );
        assert_eq!(
            title_case("Night Drive (a Tale of the city)", &none),
            "Night Drive (A Tale of the City)"
        );
        assert_eq!(title_case("up-to-date", &none), "Up-to-Date");
        assert_eq!(title_case("星空 of love", &none), "星空 of Love");
        assert_eq!(
            title_case("Summer (feat. Ana)", &none),
            "Summer (feat. Ana)"
        );
    }

    #[test]
    fn case_styles() {
        let none: Vec<String> = vec![];
        assert_eq!(case_style("LOVE ME TENDER", &none), CaseStyle::AllCaps);
        assert_eq!(case_style("love me tender", &none), CaseStyle::AllLower);
        assert_eq!(case_style("lOvE mE tEnDeR", &none), CaseStyle::Random);
        assert_eq!(
            case_style("Love Me Tender (DJ Mix)", &none),
            CaseStyle::Fine
        );
        assert_eq!(case_style("iPhone Song", &none), CaseStyle::Fine);
        assert_eq!(case_style("星空の下で", &none), CaseStyle::Fine);
    }

    #[test]
    fn qualifiers_and_names() {
        assert_eq!(
            split_qualifiers("Night Drive (Radio Edit) (Remastered 2020)"),
            (
                "Night Drive".into(),
                vec![('(', "Radio Edit".into()), ('(', "Remastered 2020".into())]
            )
        );
        assert_eq!(split_names("A, B and C"), vec!["A", "B", "C"]);
        assert_eq!(
            join_names(&["A".into(), "B".into(), "C".into()]),
            "A, B & C"
        );
        assert!(has_phrase(
            "Track 01 (Dolby Atmos Exclusive)",
            "dolby atmos"
        ));
        assert!(!has_phrase("Cdrom", "cd"));
        assert!(is_emoji('🔥') && !is_emoji('é'));
        assert_eq!(
            scripts_in("Привет world"),
            vec![Script::Latin, Script::Cyrillic]
        );
    }
}
