//! Latin phonetic keys for names in either script, and string similarity.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::translit;

/// Spelling variants that rules alone do not join; the first of each group
/// is the canonical form. Matched on the phonetic form of a whole token.
const VARIANTS: &[&[&str]] = &[
    &[
        "mohammad", "mohd", "md", "mohammed", "muhammad", "muhammed", "mohamad", "mohamed", "mohmad", "mohammod",
        "mahomed", "muhamad", "mohmmad", "mohamd",
    ],
    &["lakshmi", "laxmi", "luxmi", "lakhsmi", "lachhmi", "lakshami"],
    &[
        "chaudhary",
        "choudhary",
        "chaudhari",
        "choudhari",
        "chowdhury",
        "chaudhry",
        "choudhury",
        "chaudhuri",
        "chowdhary",
        "choudhry",
        "chodhary",
        "chaudhri",
    ],
    &["kumar", "kr", "kumaar"],
    &["kumari", "kmr", "kumary"],
    &["devi", "debi", "devee"],
    &["singh", "sinh", "sing", "singha"],
    &["srivastava", "shrivastava", "srivastav", "shrivastav", "srivastwa"],
    &["chandra", "chander", "chandar"],
    &["narayan", "narain", "narayana", "naraian"],
    &["prasad", "prashad", "parshad", "prasaad"],
    &["ahmad", "ahmed", "ahemad", "ahamad"],
    &["rahman", "rehman", "rahaman", "rehmaan"],
    &["hussain", "husain", "hussein", "hosain", "husein", "hussan"],
    &["khatoon", "khatun", "khaatoon"],
    &["begum", "begam", "bagum", "baigum"],
    &["sheikh", "shaikh", "shekh", "sheik"],
    &["qureshi", "kureshi", "quraishi", "qureishi"],
    &["siddiqui", "siddiqi", "sidiqui", "siddiki", "sidiqi"],
    &["pandey", "pande", "panday", "pandy", "pandeya"],
    &["dubey", "dube", "dubay", "dubee"],
    &["tiwari", "tewari", "tiwary", "tivari"],
    &["upadhyay", "upadhyaya", "upadhaya", "upadhyai"],
    &["chauhan", "chouhan", "chohan"],
    &["kaur", "kour"],
    &["akhtar", "akhter"],
    &["usman", "osman"],
    &["yusuf", "yousuf", "yusuff", "yousaf"],
    &["ibrahim", "ebrahim"],
    &["ismail", "esmail", "ismile"],
    &["abdul", "abdool"],
    &["syed", "sayyed", "saiyed", "sayed", "saiyad"],
    &["agarwal", "agrawal", "aggarwal"],
    &["bajpai", "bajpayee", "vajpayee", "bajpeyi", "bajpayi"],
    &["krishna", "krishan", "krisna"],
    &["jyoti", "jyothi", "joti"],
    &["shoaib", "shoeb", "shuaib"],
];

/// Suffix spellings: -endra/-ender/-inder (Rajendra, Rajender, Rajinder).
const SUFFIXES: &[(&str, &str)] =
    &[("inder", "endr"), ("ender", "endr"), ("endar", "endr"), ("endra", "endr"), ("indar", "endr")];

fn variants() -> &'static HashMap<String, String> {
    static MAP: OnceLock<HashMap<String, String>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut m = HashMap::new();
        for group in VARIANTS {
            let canon = rules(group[0]);
            for v in group.iter() {
                m.insert(rules(v), canon.clone());
            }
        }
        m
    })
}

fn is_vowel(b: u8) -> bool {
    matches!(b, b'a' | b'e' | b'i' | b'o' | b'u')
}

/// The phonetic rules on one lowercase ASCII token.
fn rules(tok: &str) -> String {
    let mut t = tok.to_string();
    for (from, to) in SUFFIXES {
        if t.ends_with(from) && t.len() > from.len() + 1 {
            t.truncate(t.len() - from.len());
            t.push_str(to);
            break;
        }
    }
    let b = t.as_bytes();
    let n = b.len();
    let mut out: Vec<u8> = Vec::with_capacity(n + 2);
    let at = |k: usize| b.get(k).copied().unwrap_or(0);
    let mut i = 0;
    while i < n {
        let c = b[i];
        let next = at(i + 1);
        let mut emit: &[u8] = &[c];
        let mut skip = 1;
        match c {
            b'x' => emit = b"ks",
            b'q' => emit = b"k",
            b'z' => emit = b"j",
            b'w' => {
                // ow before a consonant or at the end is a vowel (Chowdhury)
                if out.last() == Some(&b'o') && !is_vowel(next) {
                    emit = b"";
                } else {
                    emit = b"v";
                }
            }
            b'c' => {
                if next == b'h' {
                    emit = b"c";
                    skip = 2;
                    while at(i + skip) == b'h' || (at(i + skip) == b'c' && at(i + skip + 1) == b'h') {
                        skip += if at(i + skip) == b'c' { 2 } else { 1 };
                    }
                } else if next == b'k' {
                    emit = b"k";
                    skip = 2;
                } else {
                    emit = b"k";
                }
            }
            b'p' if next == b'h' => {
                emit = b"f";
                skip = 2;
            }
            b'h' => {
                let prev = out.last().copied();
                match prev {
                    // aspiration after a consonant: dropped (kh, bh, sh, th...)
                    Some(p) if !is_vowel(p) && p != b'y' => emit = b"",
                    // final h after a vowel (Shah, Allah): dropped
                    Some(_) if i + 1 == n => emit = b"",
                    _ => {}
                }
            }
            b'a' if next == b'a' => skip = 2,
            b'a' if next == b'u' => {
                emit = b"o";
                skip = 2;
            }
            b'a' | b'e' if (next == b'i' || next == b'y') && !is_vowel(at(i + 2)) => {
                emit = b"e";
                skip = 2;
            }
            b'o' if next == b'u' => {
                emit = b"o";
                skip = 2;
            }
            b'o' if next == b'o' => {
                emit = b"u";
                skip = 2;
            }
            b'u' if next == b'u' => skip = 2,
            b'e' if next == b'e' => {
                emit = b"i";
                skip = 2;
            }
            b'i' if next == b'i' => skip = 2,
            b'y' => {
                let prev_cons = out.last().is_some_and(|&p| !is_vowel(p));
                if i + 1 == n || (prev_cons && !is_vowel(next)) {
                    emit = b"i";
                }
            }
            b'n' if next == b'g' && (i + 2 == n || (!is_vowel(at(i + 2)) && at(i + 2) != b'h')) => {
                emit = b"n";
                skip = 2;
            }
            b'n' if next == b'g' && at(i + 2) == b'h' && i + 3 == n => {
                emit = b"n";
                skip = 3;
            }
            b'n' if next == b'b' || next == b'p' => emit = b"m",
            _ => {}
        }
        for &e in emit {
            if out.last() != Some(&e) {
                out.push(e);
            }
        }
        i += skip;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Phonetic key of one token (already lowercase Latin letters): rules, then
/// the variant table.
pub fn token_key(tok: &str) -> String {
    let r = rules(tok);
    match variants().get(&r) {
        Some(c) => c.clone(),
        None => r,
    }
}

/// Tokens of a name in either script: transliterated, lowercased, split on
/// anything but letters, each turned into its phonetic key. Honorifics and
/// initials-only tokens are kept (they are rare in enrolment data).
pub fn name_tokens(name: &str) -> Vec<String> {
    let latin = if translit::has_devanagari(name) { translit::to_latin(name) } else { name.to_string() };
    let mut toks = Vec::new();
    let mut cur = String::new();
    for c in latin.chars() {
        if c.is_ascii_alphabetic() {
            cur.push(c.to_ascii_lowercase());
        } else if c == '.' && (cur == "md" || cur == "mohd" || cur == "kr") {
            // "Md." / "Kr." abbreviations end a token
            toks.push(token_key(&cur));
            cur.clear();
        } else if !cur.is_empty() && !c.is_alphabetic() {
            toks.push(token_key(&cur));
            cur.clear();
        }
    }
    if !cur.is_empty() {
        toks.push(token_key(&cur));
    }
    toks.retain(|t| !t.is_empty());
    toks
}

/// Consonant skeleton of a key: first letter, then consonants without
/// repeats (vowels, h and y dropped).
pub fn skeleton(key: &str) -> String {
    let mut out = String::new();
    for (i, b) in key.bytes().enumerate() {
        if i == 0 {
            out.push(b as char);
            continue;
        }
        if is_vowel(b) || b == b'h' || b == b'y' || b == b' ' {
            continue;
        }
        if !out.ends_with(b as char) {
            out.push(b as char);
        }
    }
    out
}

/// Jaro-Winkler similarity of two ASCII strings (first 64 bytes).
pub fn jaro_winkler(a: &str, b: &str) -> f32 {
    let a = &a.as_bytes()[..a.len().min(64)];
    let b = &b.as_bytes()[..b.len().min(64)];
    if a == b {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (la, lb) = (a.len(), b.len());
    let range = (la.max(lb) / 2).saturating_sub(1);
    let mut am = [false; 64];
    let mut bm = [false; 64];
    let mut m = 0usize;
    for i in 0..la {
        let lo = i.saturating_sub(range);
        let hi = (i + range + 1).min(lb);
        for j in lo..hi {
            if !bm[j] && a[i] == b[j] {
                am[i] = true;
                bm[j] = true;
                m += 1;
                break;
            }
        }
    }
    if m == 0 {
        return 0.0;
    }
    let mut t = 0usize;
    let mut k = 0usize;
    for i in 0..la {
        if am[i] {
            while k < lb && !bm[k] {
                k += 1;
            }
            if k < lb && a[i] != b[k] {
                t += 1;
            }
            k += 1;
        }
    }
    let mf = m as f32;
    let jaro = (mf / la as f32 + mf / lb as f32 + (mf - (t / 2) as f32) / mf) / 3.0;
    let l = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count();
    jaro + l as f32 * 0.1 * (1.0 - jaro)
}

/// Optimal-string-alignment distance (Damerau-Levenshtein with adjacent
/// transpositions) on the first 31 bytes.
pub fn osa_distance(a: &str, b: &str) -> usize {
    let a = &a.as_bytes()[..a.len().min(31)];
    let b = &b.as_bytes()[..b.len().min(31)];
    let lb = b.len();
    let mut prev2 = [0usize; 32];
    let mut prev = [0usize; 32];
    let mut cur = [0usize; 32];
    for (j, c) in prev.iter_mut().enumerate().take(lb + 1) {
        *c = j;
    }
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=lb {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
        }
        prev2 = prev;
        prev = cur;
    }
    prev[lb]
}

/// Similarity of two name tokens: Jaro-Winkler, capped by the edit
/// distance so a prefix (Ram / Ramesh) is not taken for the same name.
pub fn token_sim(a: &str, b: &str) -> f32 {
    if a == b {
        return 1.0;
    }
    let jw = jaro_winkler(a, b);
    let max = a.len().max(b.len()).max(1) as f32;
    jw.min(1.0 - 0.5 * osa_distance(a, b) as f32 / max)
}

/// Similarity of two token lists, order-free: each token of the shorter list
/// takes its best partner in the longer; the average is weighted by length,
/// each unpaired token costs 0.05. When the counts differ the joined forms
/// are compared too (Ramkumar ~ Ram Kumar).
pub fn set_sim(a: &[String], b: &[String]) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a.len() == 1 && b.len() == 1 {
        return token_sim(&a[0], &b[0]);
    }
    let (s, l) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let mut used = [false; 16];
    let mut total = 0.0f32;
    let mut weight = 0.0f32;
    for t in s {
        let mut best = 0.0f32;
        let mut bi = usize::MAX;
        for (j, u) in l.iter().enumerate().take(16) {
            if used[j] {
                continue;
            }
            let v = token_sim(t, u);
            if v > best {
                best = v;
                bi = j;
            }
        }
        if bi < 16 {
            used[bi] = true;
        }
        let w = t.len().max(3) as f32;
        total += best * w;
        weight += w;
    }
    let mut v = total / weight - 0.05 * (l.len() - s.len()) as f32;
    if a.len() != b.len() {
        let ja: String = a.concat();
        let jb: String = b.concat();
        v = v.max(token_sim(&ja, &jb) - 0.02);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> String {
        name_tokens(s).join(" ")
    }

    #[test]
    fn keys() {
        assert_eq!(k("Mohd Iqbal"), k("मोहम्मद इकबाल"));
        assert_eq!(k("Md. Iqbal"), k("Mohammed Iqbal"));
        assert_eq!(k("Laxmi Devi"), k("लक्ष्मी देवी"));
        assert_eq!(k("Sunita"), k("सुनीता"));
        assert_eq!(k("Suneeta"), k("Sunita"));
        assert_eq!(k("Choudhary"), k("Chaudhary"));
        assert_eq!(k("Chowdhury"), k("चौधरी"));
        assert_eq!(k("Singh"), k("सिंह"));
        assert_eq!(k("Salman Khan"), k("सलमान ख़ान"));
        assert_eq!(k("Rajinder"), k("Rajendra"));
        assert_eq!(k("Pooja"), k("Puja"));
        assert_eq!(k("Fatima"), k("फ़ातिमा"));
        assert_eq!(k("Vijay"), k("विजय"));
        assert_eq!(k("Pandey"), k("पांडेय"));
    }

    #[test]
    fn sims() {
        assert!(jaro_winkler("ramesh", "rmaesh") > 0.9);
        assert_eq!(osa_distance("ramesh", "rmaesh"), 1);
        assert_eq!(osa_distance("ramesh", "ramsh"), 1);
        assert!(jaro_winkler("ram", "sita") < 0.6);
    }
}
