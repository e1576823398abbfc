//! Extended grapheme cluster boundaries (Unicode UAX #29), so that a cut
//! text keeps only whole user-perceived characters: a family emoji is not
//! cut to `👨‍👩‍`, nor `e` + U+0301 to `e`, nor a flag to one regional
//! indicator.
//!
//! [`Boundaries`] walks a text forwards one char at a time and says where
//! clusters start; it needs no look-ahead and no storage beyond three small
//! fields, so the cut in [`crate::write`] runs it across a text's segments
//! as it counts. Rules covered (UAX #29 §3.1.1, Unicode 17.0 properties):
//!
//! - GB1–GB5: CR LF stays together; controls, CR and LF stand alone;
//! - GB6–GB8: Hangul syllable sequences (L, V, T jamo, LV and LVT syllables);
//! - GB9: combining marks and every other `Extend` char (variation
//!   selectors, emoji modifiers U+1F3FB–U+1F3FF, tag characters, ZWNJ) and
//!   ZWJ attach to what precedes them;
//! - GB9a, GB9b: spacing marks attach backwards, prepended concatenation
//!   marks forwards;
//! - GB11: emoji ZWJ sequences (`\p{ExtPict} Extend* ZWJ × \p{ExtPict}`);
//! - GB12, GB13: regional indicators pair up into flags, left to right;
//! - GB999: a boundary everywhere else.
//!
//! Not covered: GB9c (Unicode 15.1's Indic conjunct rule). A cut may fall
//! between a virama and the consonant after it, which UAX #29 now keeps in
//! one cluster; each side is still a whole cluster by the pre-15.1 rules.
//!
//! The property table ([`category`]) is 3 KiB of packed ranges; it is
//! checked against the `unicode-segmentation` crate for every code point by
//! `tests/tests/grapheme.rs`, which also rewrites it (`TIDINGS_BLESS=1`)
//! when the Unicode version moves.

mod table;

/// A char's `Grapheme_Cluster_Break` property, plus `Extended_Pictographic`
/// (which GB11 reads) folded in as its own value: the two never overlap on
/// chars with another break property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cat {
    Any,
    Cr,
    Lf,
    Control,
    Extend,
    Zwj,
    RegionalIndicator,
    Prepend,
    SpacingMark,
    L,
    V,
    T,
    Lv,
    Lvt,
    ExtPict,
}

/// Hangul syllables: `LV` every 28th from U+AC00, `LVT` the rest (Unicode
/// §3.12), computed rather than tabled.
const HANGUL_FIRST: u32 = 0xac00;
const HANGUL_LAST: u32 = 0xd7a3;
const HANGUL_T_COUNT: u32 = 28;

/// The packed table's categories, in the order of its 3-bit codes.
const TABLE_CATS: [Cat; 8] = [
    Cat::Control,
    Cat::Extend,
    Cat::SpacingMark,
    Cat::Prepend,
    Cat::ExtPict,
    Cat::L,
    Cat::V,
    Cat::T,
];

/// The break property of `c`.
pub fn category(c: char) -> Cat {
    let cp = u32::from(c);
    match cp {
        0x0d => Cat::Cr,
        0x0a => Cat::Lf,
        // Printable ASCII is the common case and never special.
        0x20..=0x7e => Cat::Any,
        0x200d => Cat::Zwj,
        0x1f1e6..=0x1f1ff => Cat::RegionalIndicator,
        HANGUL_FIRST..=HANGUL_LAST => {
            if (cp - HANGUL_FIRST).is_multiple_of(HANGUL_T_COUNT) {
                Cat::Lv
            } else {
                Cat::Lvt
            }
        }
        _ => {
            // Entries are `start << 11 | (len - 1) << 3 | code`, sorted.
            let after = table::RANGES.partition_point(|&e| e >> 11 <= cp);
            let entry = after.checked_sub(1).and_then(|i| table::RANGES.get(i));
            match entry {
                Some(&e) if cp - (e >> 11) <= (e >> 3) & 0xff => TABLE_CATS
                    .get((e & 7) as usize)
                    .copied()
                    .unwrap_or(Cat::Any),
                _ => Cat::Any,
            }
        }
    }
}

/// Where GB11 stands: inside `\p{ExtPict} Extend*`, or right after its ZWJ.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Pict {
    #[default]
    No,
    Seq,
    SeqZwj,
}

/// Cluster boundaries of a text fed one char at a time, in order.
#[derive(Clone, Copy, Debug, Default)]
pub struct Boundaries {
    /// The category of the last char fed; `None` at the start of the text.
    prev: Option<Cat>,
    /// The last char closed an odd-length run of regional indicators.
    ri_odd: bool,
    pict: Pict,
}

impl Boundaries {
    /// Whether a cluster boundary lies right before `c` (after every char
    /// fed so far), then feeds `c`. The start of a text is a boundary (GB1).
    #[inline]
    pub fn before(&mut self, c: char) -> bool {
        // Printable ASCII (`Any`, and never ExtPict) ends every run and
        // sequence, and breaks from all but a Prepend (GB9b) and the start.
        if matches!(c, ' '..='~') {
            let boundary = self.prev != Some(Cat::Prepend);
            *self = Boundaries {
                prev: Some(Cat::Any),
                ri_odd: false,
                pict: Pict::No,
            };
            return boundary;
        }
        self.before_any(c)
    }

    fn before_any(&mut self, c: char) -> bool {
        let cat = category(c);
        let boundary = self.prev.is_none_or(|prev| self.breaks(prev, cat));
        let ri_run = self.prev == Some(Cat::RegionalIndicator);
        self.ri_odd = cat == Cat::RegionalIndicator && !(ri_run && self.ri_odd);
        self.pict = match (cat, self.pict) {
            (Cat::ExtPict, _) | (Cat::Extend, Pict::Seq) => Pict::Seq,
            (Cat::Zwj, Pict::Seq) => Pict::SeqZwj,
            _ => Pict::No,
        };
        self.prev = Some(cat);
        boundary
    }

    /// UAX #29's rules in their order: the first that matches decides.
    fn breaks(&self, prev: Cat, next: Cat) -> bool {
        use Cat::*;
        match (prev, next) {
            (Cr, Lf) => false,                                               // GB3
            (Cr | Lf | Control, _) | (_, Cr | Lf | Control) => true,         // GB4, GB5
            (L, L | V | Lv | Lvt) | (Lv | V, V | T) | (Lvt | T, T) => false, // GB6–GB8
            (_, Extend | Zwj | SpacingMark) | (Prepend, _) => false,         // GB9–GB9b
            (Zwj, ExtPict) => self.pict != Pict::SeqZwj,                     // GB11
            (RegionalIndicator, RegionalIndicator) => !self.ri_odd,          // GB12, GB13
            _ => true,                                                       // GB999
        }
    }
}

/// Whether `at` is a cluster boundary of `text` (0 and `text.len()` are;
/// a byte that does not start a char is not).
pub fn is_boundary(text: &str, at: usize) -> bool {
    if at == 0 || at == text.len() {
        return true;
    }
    let mut clusters = Boundaries::default();
    for (i, c) in text.char_indices() {
        let boundary = clusters.before(c);
        if i >= at {
            return i == at && boundary;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(text: &str) -> impl Iterator<Item = usize> + '_ {
        let mut clusters = Boundaries::default();
        text.char_indices()
            .filter_map(move |(i, c)| clusters.before(c).then_some(i))
    }

    fn count(text: &str) -> usize {
        starts(text).count()
    }

    #[test]
    fn the_issue_s_clusters_are_one_each() {
        for one in [
            "👨‍👩‍👧‍👦",
            "e\u{301}",
            "🇨🇳",
            "👍🏽",
            "❤\u{fe0f}",
            "\u{1100}\u{1161}\u{11a8}",
            "한\u{11a8}",
            "🏴\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}",
            "\r\n",
            "\u{600}1",
            "\u{915}\u{93f}",
        ] {
            assert_eq!(count(one), 1, "{one:?}");
        }
    }

    #[test]
    fn boundaries_where_uax29_puts_them() {
        // Three regional indicators: a flag, then a lone one.
        assert!(starts("🇨🇳🇯").eq([0, 8]));
        // A ZWJ after a non-pictographic char joins nothing after it.
        assert_eq!(count("a\u{200d}😀"), 2);
        // Controls stand alone, even before a combining mark.
        assert_eq!(count("\u{1}\u{301}"), 2);
        assert_eq!(count("\n\r"), 2);
        assert_eq!(count("ab"), 2);
        assert!(is_boundary("e\u{301}x", 3));
        assert!(!is_boundary("e\u{301}x", 1));
        assert!(!is_boundary("é", 1));
        assert!(is_boundary("", 0));
    }
}
