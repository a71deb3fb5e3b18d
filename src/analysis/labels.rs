//! Region labels: each region's most distinctive words and word pairs by class-based TF-IDF
//! (c-TF-IDF, as BERTopic). All texts of a region form one document; a term's weight in region
//! c is `tf(t, c) / words(c) × ln(1 + A / f(t))`, where `tf` is its count in the region, `A`
//! the average number of terms per region and `f(t)` its count over all given regions.
//!
//! Terms: the lexical embedder's words (lower-cased runs of letters and digits, from the first
//! [`MAX_TEXT_BYTES`] of a text), without English stop words, without anything holding a digit,
//! and without words shorter than [`MIN_TOKEN_CHARS`] characters; and pairs of such words that
//! are adjacent in the text (a dropped word breaks the pair). A pair and its words are never both
//! shown: a pair that makes the shortlist replaces its words.
//!
//! Terms are counted by 64-bit hashes, in parallel over chunks of each region's rows; the strings
//! are recovered only for each region's shortlist, by rescanning its texts until all are found.

use std::hash::Hasher;

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet, FxHasher};

use crate::embedding::{lowercase_prefix, words};
use crate::progress::CancelToken;

/// The label of the explicit group of rows that belong to no region.
pub const UNCLUSTERED: &str = "unclustered";
/// Words with fewer characters are not terms.
pub const MIN_TOKEN_CHARS: usize = 3;
/// Only the start of a long text is read (bytes, cut at a character boundary).
pub const MAX_TEXT_BYTES: usize = 10_000;
/// Rows per chunk of counting work (and between cancellation checks).
const ROWS_PER_CHUNK: usize = 4096;
/// Candidates scored per wanted term before pairs replace their words.
const SHORTLIST_PER_TERM: usize = 6;
/// A pair found after the terms are chosen replaces its chosen words when it scores at least this
/// share of the lowest of them.
const PAIR_REPLACES: f64 = 0.75;
/// The global term counts are merged in this many hash shards, in parallel.
const SHARDS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("region {region} holds row {row}, but there are only {n_texts} texts")]
    RowOutOfRange {
        region: usize,
        row: u32,
        n_texts: usize,
    },
    #[error("labelling was cancelled")]
    Cancelled,
}

/// Common English function words (and the stems contractions split into: "don't" → "don").
const STOP_WORDS: &[&str] = &[
    "about",
    "above",
    "after",
    "again",
    "against",
    "ain",
    "all",
    "also",
    "although",
    "among",
    "and",
    "any",
    "are",
    "aren",
    "around",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "can",
    "could",
    "couldn",
    "did",
    "didn",
    "does",
    "doesn",
    "doing",
    "don",
    "down",
    "during",
    "each",
    "either",
    "else",
    "etc",
    "even",
    "ever",
    "every",
    "few",
    "for",
    "from",
    "further",
    "get",
    "gets",
    "got",
    "had",
    "hadn",
    "has",
    "hasn",
    "have",
    "haven",
    "having",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "however",
    "into",
    "isn",
    "its",
    "itself",
    "just",
    "let",
    "like",
    "may",
    "might",
    "mightn",
    "more",
    "most",
    "much",
    "must",
    "mustn",
    "myself",
    "neither",
    "never",
    "nor",
    "not",
    "now",
    "off",
    "once",
    "one",
    "only",
    "other",
    "others",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "per",
    "same",
    "shall",
    "shan",
    "she",
    "should",
    "shouldn",
    "since",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "therefore",
    "these",
    "they",
    "this",
    "those",
    "though",
    "through",
    "thus",
    "too",
    "under",
    "until",
    "upon",
    "very",
    "via",
    "was",
    "wasn",
    "way",
    "well",
    "were",
    "weren",
    "what",
    "whatever",
    "when",
    "where",
    "whereas",
    "whether",
    "which",
    "while",
    "who",
    "whom",
    "whose",
    "why",
    "will",
    "with",
    "within",
    "without",
    "won",
    "would",
    "wouldn",
    "yes",
    "yet",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// The 3–4 (`n_terms`) most distinctive terms of each region, best first.
///
/// `regions` are sets of row indices into `texts`; pass one level at a time (the regions of a
/// level are disjoint and, with the unclustered group, cover the rows: the background
/// frequencies are taken over the regions given). `unclustered` lists the indices (into
/// `regions`) of the explicit noise groups: their texts count in the background but they are
/// not described; their terms are `["unclustered"]`. A region without any term gets none.
/// Deterministic, whatever the number of threads.
pub fn region_terms(
    texts: &[String],
    regions: &[&[u32]],
    unclustered: &[usize],
    n_terms: usize,
    cancel: &CancelToken,
) -> Result<Vec<Vec<String>>, LabelError> {
    region_terms_without(texts, regions, unclustered, n_terms, &[], cancel)
}

/// The speaker names of flattened chat transcripts (`human: …`, `assistant: …`): in every
/// turn of every region, so never distinctive, but frequent enough to crowd labels.
pub const CHAT_ROLE_WORDS: &[&str] = &["human", "assistant", "user", "system", "tool", "gpt"];

/// [`region_terms`], also leaving out the words of `extra_stop` (lower case), e.g.
/// [`CHAT_ROLE_WORDS`] for chat transcripts.
pub fn region_terms_without(
    texts: &[String],
    regions: &[&[u32]],
    unclustered: &[usize],
    n_terms: usize,
    extra_stop: &[&str],
    cancel: &CancelToken,
) -> Result<Vec<Vec<String>>, LabelError> {
    for (region, rows) in regions.iter().enumerate() {
        if let Some(&row) = rows.iter().find(|&&r| r as usize >= texts.len()) {
            return Err(LabelError::RowOutOfRange {
                region,
                row,
                n_texts: texts.len(),
            });
        }
    }
    let stop: FxHashSet<u64> = STOP_WORDS
        .iter()
        .chain(extra_stop)
        .map(|w| word_id(w))
        .collect();

    // Pass 1: each region's term counts, sorted by term id.
    let counts: Vec<Vec<(u64, u32)>> = regions
        .par_iter()
        .map(|rows| {
            let merged = rows
                .par_chunks(ROWS_PER_CHUNK)
                .map(|chunk| {
                    let mut local: FxHashMap<u64, u32> = FxHashMap::default();
                    if !cancel.is_cancelled() {
                        for &r in chunk {
                            for_each_term(&texts[r as usize], &stop, |id, _| {
                                *local.entry(id).or_insert(0) += 1;
                            });
                        }
                    }
                    local
                })
                .reduce(FxHashMap::default, merge_counts);
            let mut v: Vec<(u64, u32)> = merged.into_iter().collect();
            v.sort_unstable_by_key(|&(id, _)| id);
            v
        })
        .collect();
    if cancel.is_cancelled() {
        return Err(LabelError::Cancelled);
    }

    // Background: each term's count over all regions, merged per shard of the id space.
    let shard_of = |id: u64| (id >> 58) as usize; // SHARDS = 64 = 2^6 top bits
    let background: Vec<FxHashMap<u64, u64>> = (0..SHARDS)
        .into_par_iter()
        .map(|s| {
            let mut m: FxHashMap<u64, u64> = FxHashMap::default();
            for c in &counts {
                let start = c.partition_point(|&(id, _)| shard_of(id) < s);
                let end = c.partition_point(|&(id, _)| shard_of(id) <= s);
                for &(id, k) in &c[start..end] {
                    *m.entry(id).or_insert(0) += k as u64;
                }
            }
            m
        })
        .collect();
    let region_totals: Vec<u64> = counts
        .iter()
        .map(|c| c.iter().map(|&(_, k)| k as u64).sum())
        .collect();
    let average = region_totals.iter().sum::<u64>() as f64 / regions.len().max(1) as f64;

    // Score each region's terms and keep a shortlist; then recover its strings and choose.
    let shortlist_len = n_terms * SHORTLIST_PER_TERM;
    let out: Vec<Vec<String>> = (0..regions.len())
        .into_par_iter()
        .map(|ri| {
            if unclustered.contains(&ri) {
                return vec![UNCLUSTERED.to_string()];
            }
            if n_terms == 0 || region_totals[ri] == 0 || cancel.is_cancelled() {
                return Vec::new();
            }
            let total = region_totals[ri] as f64;
            let mut scored: Vec<(f64, u64)> = counts[ri]
                .iter()
                .map(|&(id, k)| {
                    // Every id of a region is in its shard's background (counted above).
                    let f = background[shard_of(id)].get(&id).copied().unwrap_or(1) as f64;
                    (k as f64 / total * (1.0 + average / f).ln(), id)
                })
                .collect();
            // Best first; equal scores: pairs (odd ids) first, then by id.
            let order = |a: &(f64, u64), b: &(f64, u64)| {
                b.0.total_cmp(&a.0)
                    .then((b.1 & 1).cmp(&(a.1 & 1)))
                    .then(a.1.cmp(&b.1))
            };
            if scored.len() > shortlist_len {
                scored.select_nth_unstable_by(shortlist_len, order);
                scored.truncate(shortlist_len);
            }
            scored.sort_unstable_by(order);
            let ids: Vec<u64> = scored.iter().map(|&(_, id)| id).collect();
            let found = recover_terms(texts, regions[ri], &stop, &ids);
            choose(&scored, &found, n_terms)
        })
        .collect();
    if cancel.is_cancelled() {
        return Err(LabelError::Cancelled);
    }
    Ok(out)
}

/// A region's label text: its terms joined by ", ".
pub fn label_text(terms: &[String]) -> String {
    terms.join(", ")
}

fn merge_counts(a: FxHashMap<u64, u32>, b: FxHashMap<u64, u32>) -> FxHashMap<u64, u32> {
    let (mut big, small) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    for (k, v) in small {
        *big.entry(k).or_insert(0) += v;
    }
    big
}

fn mix(mut z: u64) -> u64 {
    // splitmix64's finaliser: spreads FxHash's output over all 64 bits.
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A word's id: even.
fn word_id(w: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(w.as_bytes());
    mix(h.finish()) & !1
}

/// A pair's id: odd.
fn pair_id(first: u64, second: u64) -> u64 {
    mix(first.rotate_left(17) ^ second.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1
}

/// What a term id stands for, once recovered.
#[derive(Clone, Debug)]
struct Term {
    text: String,
    /// For a pair: the ids of its two words.
    words: Option<(u64, u64)>,
}

/// Calls `f(id, parts)` for each term of `text` in order; `parts` are the term's word(s).
fn for_each_term(text: &str, stop: &FxHashSet<u64>, mut f: impl FnMut(u64, (&str, Option<&str>))) {
    let lower = lowercase_prefix(text, MAX_TEXT_BYTES);
    let mut previous: Option<(u64, &str)> = None;
    for w in words(&lower) {
        let kept = w.chars().nth(MIN_TOKEN_CHARS - 1).is_some() && !w.chars().any(char::is_numeric);
        let id = if kept { word_id(w) } else { 0 };
        if !kept || stop.contains(&id) {
            previous = None;
            continue;
        }
        f(id, (w, None));
        // A word repeated ("banana banana") is no phrase.
        if let Some((pid, pw)) = previous.filter(|&(pid, _)| pid != id) {
            f(pair_id(pid, id), (pw, Some(w)));
        }
        previous = Some((id, w));
    }
}

/// The strings of `ids`, found by reading the region's texts until all are seen.
fn recover_terms(
    texts: &[String],
    rows: &[u32],
    stop: &FxHashSet<u64>,
    ids: &[u64],
) -> FxHashMap<u64, Term> {
    let wanted: FxHashSet<u64> = ids.iter().copied().collect();
    let mut found: FxHashMap<u64, Term> = FxHashMap::default();
    let mut word_ids: FxHashMap<u64, (u64, u64)> = FxHashMap::default();
    for &r in rows {
        if found.len() == wanted.len() {
            break;
        }
        for_each_term(&texts[r as usize], stop, |id, (first, second)| {
            if wanted.contains(&id) && !found.contains_key(&id) {
                let (text, words) = match second {
                    None => (first.to_string(), None),
                    Some(s) => {
                        let ids = *word_ids
                            .entry(id)
                            .or_insert_with(|| (word_id(first), word_id(s)));
                        (format!("{first} {s}"), Some(ids))
                    }
                };
                found.insert(id, Term { text, words });
            }
        });
    }
    found
}

/// Up to `n_terms` terms from the shortlist (`(score, id)`, best first): a pair replaces its
/// words already chosen (taking the place of the first), a word covered by a chosen pair is
/// skipped, and so is a pair whose two words are both covered by chosen pairs. Once `n_terms`
/// are chosen, the shortlist is still read for pairs that would replace chosen words. A pair
/// replaces chosen words only when it scores at least [`PAIR_REPLACES`] of the lowest of them
/// ("prefer the pair when it scores"; a pair of words always seen together scores about as its
/// words), and is skipped otherwise.
fn choose(shortlist: &[(f64, u64)], found: &FxHashMap<u64, Term>, n_terms: usize) -> Vec<String> {
    let mut chosen: Vec<(f64, u64, &Term)> = Vec::new();
    let covered = |chosen: &[(f64, u64, &Term)], w: u64| {
        chosen
            .iter()
            .any(|(_, _, t)| t.words.is_some_and(|(a, b)| a == w || b == w))
    };
    for &(score, id) in shortlist {
        let Some(term) = found.get(&id) else { continue };
        // The lowest score of the chosen words this pair would replace (∞: none).
        let replaced = term.words.map_or(f64::INFINITY, |(a, b)| {
            chosen
                .iter()
                .filter(|&&(_, c, _)| c == a || c == b)
                .map(|c| c.0)
                .fold(f64::INFINITY, f64::min)
        });
        if chosen.len() >= n_terms {
            let weakest = chosen.iter().map(|c| c.0).fold(f64::INFINITY, f64::min);
            if score < PAIR_REPLACES * weakest {
                break;
            }
            if replaced.is_infinite() {
                continue;
            }
        }
        if replaced.is_finite() && score < PAIR_REPLACES * replaced {
            continue;
        }
        match term.words {
            None => {
                if !covered(&chosen, id) {
                    chosen.push((score, id, term));
                }
            }
            Some((a, b)) => {
                if covered(&chosen, a) && covered(&chosen, b) {
                    continue;
                }
                let first_word = chosen.iter().position(|&(_, c, _)| c == a || c == b);
                chosen.retain(|&(_, c, _)| c != a && c != b);
                let at = first_word.unwrap_or(chosen.len()).min(chosen.len());
                chosen.insert(at, (score, id, term));
            }
        }
    }
    chosen.into_iter().map(|(_, _, t)| t.text.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts_and_regions() -> (Vec<String>, Vec<Vec<u32>>) {
        let mut texts = Vec::new();
        let mut a = Vec::new();
        let mut b = Vec::new();
        let mut noise = Vec::new();
        for i in 0..60 {
            a.push(texts.len() as u32);
            texts.push(format!(
                "Our refund policy: the customer may ask for a refund within {i} days. \
                 The refund policy is clear and the customer gets the money back."
            ));
            b.push(texts.len() as u32);
            texts.push(format!(
                "Gradient descent updates the weights: with learning rate 0.{i}, gradient \
                 descent steps against the gradient of the loss."
            ));
            noise.push(texts.len() as u32);
            texts.push(format!(
                "Thanks, that is all for today {i}. The weather is nice."
            ));
        }
        (texts, vec![a, b, noise])
    }

    #[test]
    fn terms_name_regions_built_from_known_vocabularies() {
        let (texts, regions) = texts_and_regions();
        let refs: Vec<&[u32]> = regions.iter().map(Vec::as_slice).collect();
        let terms = region_terms(&texts, &refs, &[2], 4, &CancelToken::new()).unwrap();
        assert_eq!(terms.len(), 3);
        assert_eq!(terms[2], vec![UNCLUSTERED.to_string()]);
        assert!(
            terms[0].contains(&"refund policy".to_string()),
            "{:?}",
            terms[0]
        );
        assert!(
            terms[1].contains(&"gradient descent".to_string()),
            "{:?}",
            terms[1]
        );
        for t in terms[0].iter().chain(&terms[1]) {
            for w in t.split(' ') {
                assert!(!STOP_WORDS.contains(&w), "stop word {w} in {t}");
                assert!(!w.chars().any(|c| c.is_ascii_digit()), "number in {t}");
                assert!(w.chars().count() >= MIN_TOKEN_CHARS, "short token in {t}");
            }
        }
        // A chosen pair's words are not shown on their own.
        assert!(!terms[0].contains(&"refund".to_string()));
        assert!(!terms[0].contains(&"policy".to_string()));
        assert!(
            !terms[1].contains(&"gradient".to_string()),
            "{:?}",
            terms[1]
        );
        // Nothing from the other region.
        assert!(terms[0].iter().all(|t| !t.contains("gradient")));
        assert!(terms[1].iter().all(|t| !t.contains("refund")));
        assert!(terms[0].len() <= 4 && terms[0].len() >= 3, "{:?}", terms[0]);
    }

    #[test]
    fn same_terms_whatever_the_threads() {
        let (texts, regions) = texts_and_regions();
        let refs: Vec<&[u32]> = regions.iter().map(Vec::as_slice).collect();
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| region_terms(&texts, &refs, &[], 4, &CancelToken::new()).unwrap())
        };
        let one = run(1);
        assert_eq!(one, run(3));
        assert_eq!(one.len(), 3);
        assert!(!one[2].is_empty());
    }

    #[test]
    fn terms_are_weighed_against_the_other_regions() {
        // "model" is in every text of both regions: frequent but not distinctive.
        let mut texts = Vec::new();
        for _ in 0..20 {
            texts.push("model model model answer: banana banana".to_string());
            texts.push("model model model answer: tractor tractor".to_string());
        }
        let a: Vec<u32> = (0..40).step_by(2).collect();
        let b: Vec<u32> = (1..40).step_by(2).collect();
        let terms = region_terms(&texts, &[&a, &b], &[], 1, &CancelToken::new()).unwrap();
        assert_eq!(
            terms,
            vec![vec!["banana".to_string()], vec!["tractor".to_string()]]
        );
    }

    #[test]
    fn empty_regions_texts_and_errors() {
        let texts = vec![String::new(), "12 34 a an".to_string()];
        let terms = region_terms(&texts, &[&[0], &[1], &[]], &[], 3, &CancelToken::new());
        assert_eq!(terms.unwrap(), vec![Vec::<String>::new(); 3]);
        let bad = region_terms(&texts, &[&[0, 5]], &[], 3, &CancelToken::new());
        assert!(matches!(bad, Err(LabelError::RowOutOfRange { row: 5, .. })));
        let cancel = CancelToken::new();
        cancel.cancel();
        let r = region_terms(&texts, &[&[0, 1]], &[], 3, &cancel);
        assert!(matches!(r, Err(LabelError::Cancelled)));
    }

    #[test]
    fn a_pair_takes_the_place_of_its_words() {
        let t = |text: &str, words| Term {
            text: text.to_string(),
            words,
        };
        let mut found = FxHashMap::default();
        found.insert(2, t("refund", None));
        found.insert(4, t("customer", None));
        found.insert(6, t("policy", None));
        found.insert(8, t("money", None));
        found.insert(7, t("refund policy", Some((2, 6))));
        found.insert(9, t("refund customer", Some((2, 4))));
        let shortlist = [(1.0, 2), (0.9, 4), (0.8, 6), (0.7, 7), (0.6, 9), (0.5, 8)];
        let chosen = choose(&shortlist, &found, 3);
        // refund, customer, policy; then (full) "refund policy" scores 0.7 ≥ 0.75 × 0.8 (the
        // lower of refund and policy) and replaces both at refund's place; "refund customer"
        // scores 0.6 < 0.75 × 0.9 (customer) and does not; money fills the third place.
        assert_eq!(chosen, vec!["refund policy", "customer", "money"]);
        // A pair scoring well below the word it would replace does not replace it.
        let chosen = choose(&[(1.0, 2), (0.9, 4), (0.3, 7)], &found, 2);
        assert_eq!(chosen, vec!["refund", "customer"]);
        let chosen = choose(&[(1.0, 2), (0.9, 7), (0.8, 6), (0.7, 4)], &found, 2);
        assert_eq!(chosen, vec!["refund policy", "customer"]);
    }

    #[test]
    fn chat_role_words_can_be_left_out() {
        let texts: Vec<String> = (0..40)
            .map(|i| {
                if i < 20 {
                    format!("human: bake bread loaf {i}\nassistant: bread needs flour")
                } else {
                    format!("human: fix engine car {i}\nassistant: engine needs oil")
                }
            })
            .collect();
        let a: Vec<u32> = (0..20).collect();
        let b: Vec<u32> = (20..40).collect();
        let terms = region_terms_without(
            &texts,
            &[&a, &b],
            &[],
            4,
            CHAT_ROLE_WORDS,
            &CancelToken::new(),
        )
        .unwrap();
        for t in terms.iter().flatten() {
            assert!(!t.contains("human") && !t.contains("assistant"), "{t}");
        }
        assert!(
            terms[0].iter().any(|t| t.contains("bread")),
            "{:?}",
            terms[0]
        );
    }
}
