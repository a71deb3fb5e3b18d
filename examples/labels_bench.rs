//! Region-label bench: c-TF-IDF terms of synthetic regions, seconds and peak memory.
//!
//! `cargo run --release --example labels_bench -- [N_TEXTS] [N_TOPICS]` (defaults 1,000,000
//! and 400; set RAYON_NUM_THREADS to pin the threads).
//!
//! Each text (~45 words, ~300 bytes) mixes English stop words, numbers, words shared by all
//! topics and words of its own topic's vocabulary (Zipf-like). Fine regions = topics, coarse
//! regions = 20 groups of topics, and 5% of the rows form the unclustered group. Generating the
//! texts is outside the timing; the check is that every fine region's terms come from its own
//! topic's vocabulary.

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use sample_atlas::analysis::labels::region_terms;
use sample_atlas::progress::CancelToken;

const STOP: &[&str] = &[
    "the", "and", "of", "to", "a", "in", "is", "that", "for", "it", "with", "as", "was", "on",
    "be", "this", "are", "by", "at", "from",
];
const SHARED: &[&str] = &[
    "answer", "question", "result", "example", "response", "model",
];

/// A pseudo-word of letters only (numbers are not terms): `i` in base 26, at least 4 letters.
fn pseudo_word(mut i: usize) -> String {
    let mut s = String::new();
    for _ in 0..5 {
        s.push((b'a' + (i % 26) as u8) as char);
        i /= 26;
    }
    s
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// User + system CPU seconds of this process so far (from /proc/self/stat, 100 ticks/s): on a
/// shared machine, CPU seconds / threads is what the wall time would be without the neighbours.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let after = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = after.split_whitespace().collect();
            // Fields 14 and 15 of the file; 12 and 13 after the command name and state.
            Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(f64::NAN)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args
        .first()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let n_topics: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(400);
    let words_per_topic = 30;
    let vocab: Vec<Vec<String>> = (0..n_topics)
        .map(|t| {
            (0..words_per_topic)
                .map(|w| pseudo_word(7919 * (t * words_per_topic + w) + 11))
                .collect()
        })
        .collect();
    let mut rng = Pcg64Mcg::seed_from_u64(7);
    let t0 = Instant::now();
    let mut topic_of = Vec::with_capacity(n);
    let texts: Vec<String> = (0..n)
        .map(|_| {
            let t = rng.random_range(0..n_topics);
            topic_of.push(t);
            let mut s = String::with_capacity(320);
            for k in 0..45 {
                let w: &str = match k % 9 {
                    0 | 3 | 6 => STOP[rng.random_range(0..STOP.len())],
                    1 => SHARED[rng.random_range(0..SHARED.len())],
                    8 if rng.random_bool(0.5) => {
                        s.push_str(&rng.random_range(0..10_000u32).to_string());
                        s.push(' ');
                        continue;
                    }
                    _ => {
                        // Zipf-like: low word indices are much more frequent.
                        let u: f64 = rng.random();
                        &vocab[t][((u * u * u) * words_per_topic as f64) as usize]
                    }
                };
                s.push_str(w);
                s.push(if k % 11 == 10 { '.' } else { ' ' });
            }
            s
        })
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    eprintln!(
        "generated {n} texts ({:.0} MB) in {:.1} s",
        bytes as f64 / 1e6,
        t0.elapsed().as_secs_f64()
    );

    // Fine regions = topics, coarse = 20 groups of topics; 5% of rows unclustered at each level.
    let mut fine: Vec<Vec<u32>> = vec![Vec::new(); n_topics + 1];
    let mut coarse: Vec<Vec<u32>> = vec![Vec::new(); 21];
    for (r, &t) in topic_of.iter().enumerate() {
        if r % 20 == 0 {
            fine[n_topics].push(r as u32);
            coarse[20].push(r as u32);
        } else {
            fine[t].push(r as u32);
            coarse[t * 20 / n_topics].push(r as u32);
        }
    }
    let cancel = CancelToken::new();
    let threads = rayon::current_num_threads();
    let mut seconds = Vec::new();
    let mut all_terms = Vec::new();
    for (level, regions) in [("fine", &fine), ("coarse", &coarse)] {
        let refs: Vec<&[u32]> = regions.iter().map(Vec::as_slice).collect();
        let unclustered = [regions.len() - 1];
        let (t, cpu) = (Instant::now(), cpu_seconds());
        let terms = region_terms(&texts, &refs, &unclustered, 4, &cancel).expect("not cancelled");
        let s = t.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu;
        println!(
            "labels {level:6}: {n} texts, {} regions, {threads} threads: {s:.2} s wall, {cpu:.2} s CPU",
            regions.len()
        );
        seconds.push(s);
        all_terms.push(terms);
    }
    let fine_terms = &all_terms[0];
    let mut own = 0;
    let mut total = 0;
    for (t, terms) in fine_terms.iter().take(n_topics).enumerate() {
        for term in terms {
            total += 1;
            own += term.split(' ').all(|w| vocab[t].iter().any(|v| v == w)) as usize;
        }
    }
    println!(
        "fine terms from the region's own vocabulary: {own} / {total}; e.g. topic 0: {:?}",
        fine_terms[0]
    );
    println!("coarse group 0: {:?}", all_terms[1][0]);
    println!(
        "total {:.2} s; peak memory {:.0} MiB (texts included)",
        seconds.iter().sum::<f64>(),
        peak_rss_mib()
    );
    assert!(
        own == total && total > 0,
        "a fine region has a term not of its topic"
    );
}
