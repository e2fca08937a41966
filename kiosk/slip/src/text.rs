//! Text as the slip fonts can print it: ASCII only.
//!
//! The thermal slip uses a hand-drawn 5x7 font and the PDF uses the PDF
//! standard Courier fonts; neither has Chinese, Tamil or Arabic glyphs, and
//! drawing Tamil or Arabic correctly would need a shaping engine on top of a
//! font file. Instead every non-ASCII character is romanised: Latin letters
//! lose their accents (`Zürich` → `Zurich`), Chinese becomes pinyin one
//! syllable per character (`陈美玲` → `Chen Mei Ling`), Tamil and Arabic
//! script become a letter-by-letter romanisation. [`romanise_name`] also says
//! whether the name was in a non-Latin script, so the slip can mark it.

/// Tamil, letter by letter (a simplified ISO 15919 in plain ASCII, with the
/// spellings Malaysian names use: ச = s, த = th, ழ = zh). Consonants carry
/// an inherent `a`, added by the caller unless a vowel sign or the pulli
/// (virama) follows. `None` for anything outside the Tamil block.
fn tamil(c: char) -> Option<&'static str> {
    Some(match c {
        'அ' => "a",
        'ஆ' => "aa",
        'இ' => "i",
        'ஈ' => "ii",
        'உ' => "u",
        'ஊ' => "uu",
        'எ' => "e",
        'ஏ' => "ee",
        'ஐ' => "ai",
        'ஒ' => "o",
        'ஓ' => "oo",
        'ஔ' => "au",
        'ஃ' => "h",
        'க' => "k",
        'ங' => "ng",
        'ச' => "s",
        'ஞ' => "nj",
        'ட' => "t",
        'ண' => "n",
        'த' => "th",
        'ந' => "n",
        'ப' => "p",
        'ம' => "m",
        'ய' => "y",
        'ர' => "r",
        'ல' => "l",
        'வ' => "v",
        'ழ' => "zh",
        'ள' => "l",
        'ற' => "r",
        'ன' => "n",
        'ஜ' => "j",
        'ஶ' | 'ஷ' => "sh",
        'ஸ' => "s",
        'ஹ' => "h",
        'ா' => "aa",
        'ி' => "i",
        'ீ' => "ii",
        'ு' => "u",
        'ூ' => "uu",
        'ெ' => "e",
        'ே' => "ee",
        'ை' => "ai",
        'ொ' => "o",
        'ோ' => "oo",
        'ௌ' => "au",
        '்' | 'ௗ' => "",
        _ => return None,
    })
}

fn is_tamil_consonant(c: char) -> bool {
    ('\u{0B95}'..='\u{0BB9}').contains(&c)
}

fn is_tamil_vowel_sign_or_pulli(c: char) -> bool {
    ('\u{0BBE}'..='\u{0BCD}').contains(&c) || c == '\u{0BD7}'
}

/// Arabic script (Arabic, Malay Jawi), letter by letter. Names are written
/// without short vowels, so `محمد` can only become `mhmd`; long vowels are
/// read as vowels (`و` = u, `ي` = i) except at the start of a word (w, y).
/// Written short vowels (harakat) are read when present; the shadda
/// (doubling) is handled by the caller.
fn arabic(c: char, word_start: bool) -> Option<&'static str> {
    Some(match c {
        'ا' | 'أ' | 'آ' | 'ى' | 'ة' | 'ع' => "a",
        'إ' => "i",
        'ب' => "b",
        'ت' | 'ط' => "t",
        'ث' => "th",
        'ج' => "j",
        'ح' | 'ه' => "h",
        'خ' => "kh",
        'د' | 'ض' => "d",
        'ذ' => "dh",
        'ر' => "r",
        'ز' | 'ظ' => "z",
        'س' | 'ص' => "s",
        'ش' => "sh",
        'غ' => "gh",
        'ف' => "f",
        'ق' => "q",
        'ك' | 'ک' => "k",
        'ل' => "l",
        'م' => "m",
        'ن' => "n",
        'و' if word_start => "w",
        'و' => "u",
        'ي' | 'ی' if word_start => "y",
        'ي' | 'ی' => "i",
        'ء' | 'ئ' | 'ؤ' => "",
        // Jawi and Persian letters.
        'چ' => "c",
        'ڠ' => "ng",
        'ڤ' | 'پ' => "p",
        'ݢ' | 'گ' => "g",
        'ۏ' => "v",
        'ڽ' => "ny",
        // Harakat: fatha, damma, kasra; sukun, shadda, tanwin and tatweel are silent.
        '\u{064E}' => "a",
        '\u{064F}' => "u",
        '\u{0650}' => "i",
        '\u{064B}'..='\u{064D}' | '\u{0652}' | '\u{0640}' => "",
        _ => return None,
    })
}

/// Scripts the slip prints as they are (after dropping accents).
fn is_latin(c: char) -> bool {
    c.is_ascii()
        || ('\u{00C0}'..='\u{024F}').contains(&c)
        || ('\u{1E00}'..='\u{1EFF}').contains(&c)
        || c.is_whitespace()
        || !c.is_alphabetic()
}

/// Romanises `text` for printing: ASCII comes out unchanged (control
/// characters become spaces), anything else is transliterated; a character
/// with no known transliteration becomes `?`. Runs of spaces collapse to one
/// and the ends are trimmed.
pub fn romanise(text: &str) -> String {
    romanise_name(text).0
}

/// [`romanise`], plus whether any letter was in a non-Latin script (the
/// printed name is then a transliteration, not the name as written).
pub fn romanise_name(text: &str) -> (String, bool) {
    let mut raw = String::with_capacity(text.len());
    let mut transliterated = false;
    let mut chars = text.chars().peekable();
    let mut word_start = true;
    // The last Arabic consonant and where it ended, for a shadda to double
    // (the shadda may be typed after the consonant's short vowel).
    let mut last_consonant = ("", 0usize);
    while let Some(c) = chars.next() {
        if c.is_ascii() {
            raw.push(if c.is_ascii_control() { ' ' } else { c });
            word_start = !c.is_ascii_alphanumeric();
            continue;
        }
        if !is_latin(c) {
            transliterated = true;
        }
        if let Some(t) = tamil(c) {
            raw.push_str(t);
            if is_tamil_consonant(c)
                && !chars
                    .peek()
                    .is_some_and(|n| is_tamil_vowel_sign_or_pulli(*n))
            {
                raw.push('a');
            }
        } else if c == '\u{0651}' {
            let (consonant, at) = last_consonant;
            if raw.is_char_boundary(at) {
                raw.insert_str(at, consonant);
            }
        } else if let Some(a) = arabic(c, word_start) {
            raw.push_str(a);
            if !matches!(a, "" | "a" | "i" | "u") {
                last_consonant = (a, raw.len());
            }
        } else {
            match deunicode::deunicode_char(c) {
                Some(ascii) => {
                    raw.extend(ascii.chars().filter(|a| {
                        a.is_ascii_alphanumeric() || matches!(a, ' ' | '-' | '.' | '\'')
                    }));
                }
                None => raw.push('?'),
            }
        }
        // Chinese syllables come with a trailing space, a word break.
        word_start = raw.ends_with(' ') || c.is_whitespace();
    }
    let mut out = String::with_capacity(raw.len());
    for word in raw.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    (out, transliterated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_is_unchanged_apart_from_spacing() {
        assert_eq!(romanise("AHMAD B*** A***"), "AHMAD B*** A***");
        assert_eq!(romanise("  Tan\tMei  Ling \n"), "Tan Mei Ling");
        assert_eq!(romanise_name("Doe^Peter"), ("Doe^Peter".to_string(), false));
        assert_eq!(romanise(""), "");
    }

    #[test]
    fn latin_accents_are_dropped_and_not_marked() {
        assert_eq!(
            romanise_name("Hôpital Zürich"),
            ("Hopital Zurich".to_string(), false)
        );
        assert_eq!(
            romanise_name("Nguyễn Thị Ánh"),
            ("Nguyen Thi Anh".to_string(), false)
        );
    }

    #[test]
    fn chinese_becomes_pinyin_one_word_per_character() {
        assert_eq!(romanise_name("陈美玲"), ("Chen Mei Ling".to_string(), true));
        assert_eq!(romanise("林 志明"), "Lin Zhi Ming");
    }

    #[test]
    fn tamil_keeps_the_inherent_vowel() {
        // முருகன் = mu-ru-ka-n(pulli): "Murugan" in everyday spelling.
        assert_eq!(romanise_name("முருகன்"), ("murukan".to_string(), true));
        // கமலா = ka-ma-laa; செல்வம் = se-l(pulli)-va-m(pulli).
        assert_eq!(romanise("கமலா"), "kamalaa");
        assert_eq!(romanise("செல்வம்"), "selvam");
        assert_eq!(romanise("முத்து"), "muththu");
    }

    #[test]
    fn arabic_script_is_romanised_letter_by_letter() {
        // Unvowelled script: consonants and long vowels only.
        assert_eq!(romanise_name("محمد"), ("mhmd".to_string(), true));
        assert_eq!(romanise("فاطمة"), "fatma");
        assert_eq!(romanise("علي"), "ali");
        assert_eq!(romanise("وليد يوسف"), "wlid yusf");
        // With harakat written, the short vowels are read too, and the
        // shadda doubles, whichever order it was typed in.
        assert_eq!(romanise("مُحَمَّد"), "muhammad");
        assert_eq!(romanise("م\u{064F}ح\u{064E}م\u{0651}\u{064E}د"), "muhammad");
        // Jawi: ڤ is p.
        assert_eq!(romanise("ڤوتري"), "putri");
    }

    #[test]
    fn characters_without_a_transliteration_become_question_marks() {
        // A private-use character has no transliteration.
        assert_eq!(romanise("A\u{E000}B"), "A?B");
    }
}
