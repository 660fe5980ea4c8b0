//! Devanagari → Latin, a simplified scheme meant for matching, not display.
//!
//! Consonants carry an inherent schwa unless followed by a matra or a virama;
//! a nukta turns क ज फ ड ढ into q z f r rh; anusvara and chandrabindu become
//! `n`, visarga `h`. Hindi schwa syncope is approximated: the word-final
//! schwa is dropped (unless it follows a conjunct, as in धर्मेंद्र), then a
//! medial schwa in the context V C _ C V (single consonants) is dropped, left
//! to right, so सलमान gives `salmaan` and कमल `kamal`.

#[derive(Clone, Copy, PartialEq, Debug)]
enum Tok {
    /// A consonant; `true` when it is joined to the previous one by a virama.
    C(&'static str, bool),
    V(&'static str),
    Schwa,
    Nasal,
    Visarga,
}

fn consonant(c: char) -> Option<&'static str> {
    Some(match c {
        'क' => "k",
        'ख' => "kh",
        'ग' => "g",
        'घ' => "gh",
        'ङ' => "n",
        'च' => "ch",
        'छ' => "chh",
        'ज' => "j",
        'झ' => "jh",
        'ञ' => "n",
        'ट' => "t",
        'ठ' => "th",
        'ड' => "d",
        'ढ' => "dh",
        'ण' => "n",
        'त' => "t",
        'थ' => "th",
        'द' => "d",
        'ध' => "dh",
        'न' | 'ऩ' => "n",
        'प' => "p",
        'फ' => "ph",
        'ब' => "b",
        'भ' => "bh",
        'म' => "m",
        'य' => "y",
        'र' | 'ऱ' => "r",
        'ल' | 'ळ' | 'ऴ' => "l",
        'व' => "v",
        'श' | 'ष' => "sh",
        'स' => "s",
        'ह' => "h",
        '\u{0958}' => "q",
        '\u{0959}' => "kh",
        '\u{095A}' => "g",
        '\u{095B}' => "z",
        '\u{095C}' => "r",
        '\u{095D}' => "rh",
        '\u{095E}' => "f",
        '\u{095F}' => "y",
        _ => return None,
    })
}

fn with_nukta(base: char) -> Option<&'static str> {
    Some(match base {
        'क' => "q",
        'ख' => "kh",
        'ग' => "g",
        'ज' => "z",
        'ड' => "r",
        'ढ' => "rh",
        'फ' => "f",
        _ => return None,
    })
}

fn independent_vowel(c: char) -> Option<&'static str> {
    Some(match c {
        'अ' => "a",
        'आ' => "aa",
        'इ' => "i",
        'ई' => "ii",
        'उ' => "u",
        'ऊ' => "uu",
        'ऋ' | 'ॠ' => "ri",
        'ए' | 'ऍ' | 'ऎ' => "e",
        'ऐ' => "ai",
        'ओ' | 'ऑ' | 'ऒ' => "o",
        'औ' => "au",
        _ => return None,
    })
}

fn matra(c: char) -> Option<&'static str> {
    Some(match c {
        'ा' => "aa",
        'ि' => "i",
        'ी' => "ii",
        'ु' => "u",
        'ू' => "uu",
        'ृ' | 'ॄ' => "ri",
        'े' | 'ॅ' | 'ॆ' => "e",
        'ै' => "ai",
        'ो' | 'ॉ' | 'ॊ' => "o",
        'ौ' => "au",
        _ => return None,
    })
}

const VIRAMA: char = '\u{094D}';
const NUKTA: char = '\u{093C}';

/// True for characters of the Devanagari block.
pub fn is_devanagari(c: char) -> bool {
    ('\u{0900}'..='\u{097F}').contains(&c)
}

/// True when the text holds any Devanagari.
pub fn has_devanagari(s: &str) -> bool {
    s.chars().any(is_devanagari)
}

/// Transliterate Devanagari words in `s` to lowercase Latin; other characters
/// pass through unchanged.
pub fn to_latin(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut word: Vec<char> = Vec::new();
    for c in s.chars() {
        if is_devanagari(c) && !matches!(c, '।' | '॥') && !('०'..='९').contains(&c) {
            word.push(c);
        } else {
            if !word.is_empty() {
                word_to_latin(&word, &mut out);
                word.clear();
            }
            out.push(c);
        }
    }
    if !word.is_empty() {
        word_to_latin(&word, &mut out);
    }
    out
}

fn word_to_latin(w: &[char], out: &mut String) {
    let mut toks: Vec<Tok> = Vec::with_capacity(w.len() * 2);
    let mut i = 0;
    let mut joined = false;
    while i < w.len() {
        let c = w[i];
        if let Some(mut cons) = consonant(c) {
            if w.get(i + 1) == Some(&NUKTA) {
                if let Some(n) = with_nukta(c) {
                    cons = n;
                }
                i += 1;
            }
            toks.push(Tok::C(cons, joined));
            joined = false;
            match w.get(i + 1).copied() {
                Some(VIRAMA) => {
                    joined = true;
                    i += 1;
                }
                Some(m) if matra(m).is_some() => {
                    toks.push(Tok::V(matra(m).unwrap_or("a")));
                    i += 1;
                }
                _ => toks.push(Tok::Schwa),
            }
        } else if let Some(v) = independent_vowel(c) {
            toks.push(Tok::V(v));
            joined = false;
        } else if let Some(m) = matra(c) {
            // A stray matra (after a vowel): keep its sound.
            toks.push(Tok::V(m));
        } else {
            match c {
                'ं' | 'ँ' => toks.push(Tok::Nasal),
                'ः' => toks.push(Tok::Visarga),
                _ => {} // nukta alone, ZWJ, avagraha and the like
            }
        }
        i += 1;
    }
    let vowel_at = |t: &[Tok], k: usize| matches!(t.get(k), Some(Tok::V(_)) | Some(Tok::Schwa));
    // Word-final schwa (ignoring a trailing nasal) unless after a conjunct or
    // in a one-consonant word.
    if let Some(last) = toks.iter().rposition(|t| !matches!(t, Tok::Nasal))
        && last >= 2
        && toks[last] == Tok::Schwa
        && matches!(toks[last - 1], Tok::C(_, false))
    {
        toks.remove(last);
    }
    // Medial schwa: V C [a] C V with single consonants on both sides.
    let mut k = 2;
    while k + 2 < toks.len() {
        if toks[k] == Tok::Schwa
            && matches!(toks[k - 1], Tok::C(_, false))
            && vowel_at(&toks, k - 2)
            && matches!(toks[k + 1], Tok::C(_, false))
            && vowel_at(&toks, k + 2)
        {
            toks.remove(k);
        }
        k += 1;
    }
    for (j, t) in toks.iter().enumerate() {
        match *t {
            Tok::C(c, _) => out.push_str(c),
            Tok::V(v) => out.push_str(v),
            Tok::Schwa => out.push('a'),
            Tok::Nasal => {
                let labial = matches!(toks.get(j + 1), Some(Tok::C("p" | "ph" | "b" | "bh" | "m", _)));
                out.push(if labial { 'm' } else { 'n' });
            }
            Tok::Visarga => out.push('h'),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::to_latin;

    #[test]
    fn words() {
        assert_eq!(to_latin("राम"), "raam");
        assert_eq!(to_latin("सलमान"), "salmaan");
        assert_eq!(to_latin("कमल"), "kamal");
        assert_eq!(to_latin("मोहम्मद इक़बाल"), "mohammad iqbaal");
        assert_eq!(to_latin("लक्ष्मी देवी"), "lakshmii devii");
        assert_eq!(to_latin("सुनीता"), "suniitaa");
        assert_eq!(to_latin("धर्मेंद्र"), "dharmendra");
        assert_eq!(to_latin("सिंह"), "sinh");
        assert_eq!(to_latin("चौधरी"), "chaudhrii");
        assert_eq!(to_latin("फ़ातिमा"), "faatimaa");
        assert_eq!(to_latin("चंपा"), "champaa");
    }
}
