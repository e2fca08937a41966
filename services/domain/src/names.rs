//! Patient names as shown on slips, boards and receipts: masked.

/// Whether two spellings name the same person: the same words in any order,
/// ignoring case and DICOM's `^` (`Doe^Peter` is `PETER DOE`).
pub fn same_person(recorded: &str, presented: &str) -> bool {
    let words = |s: &str| {
        let mut w: Vec<String> = s
            .split(|c: char| c == '^' || c == ',' || c == '.' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .map(str::to_uppercase)
            .collect();
        w.sort();
        w
    };
    let r = words(recorded);
    !r.is_empty() && r == words(presented)
}

/// `AHMAD BIN ALI` → `AHMAD B*** A***`: the first word in full so the desk can
/// find the right envelope, the rest reduced to their initials. DICOM's `^`
/// separators count as spaces.
pub fn mask_name(name: &str) -> String {
    let mut words = name
        .split(|c: char| c.is_whitespace() || c == '^')
        .filter(|w| !w.is_empty());
    let Some(first) = words.next() else {
        return String::new();
    };
    let mut out = first.to_uppercase();
    for w in words {
        let mut chars = w.chars();
        // Always three stars: the length of a name is a clue too.
        if let Some(c) = chars.next() {
            out.push(' ');
            out.extend(c.to_uppercase());
            out.push_str("***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::mask_name;

    #[test]
    fn masks_all_but_the_first_word() {
        assert_eq!(mask_name("Ahmad bin Ali"), "AHMAD B*** A***");
        assert_eq!(mask_name("Doe^Peter"), "DOE P***");
        assert_eq!(mask_name("Tan Mei Ling"), "TAN M*** L***");
        assert_eq!(mask_name("  "), "");
        assert_eq!(mask_name("Lim"), "LIM");
    }
}

#[cfg(test)]
mod same_person_tests {
    use super::same_person;

    #[test]
    fn same_words_in_any_order_and_case() {
        assert!(same_person("Doe^Peter", "PETER DOE"));
        assert!(same_person("AHMAD BIN ALI", "Ahmad  bin Ali"));
        assert!(!same_person("AHMAD BIN ALI", "Ahmad Ali"));
        assert!(!same_person("Doe^Peter", "Peter Doe Junior"));
        assert!(!same_person("", ""));
    }
}
