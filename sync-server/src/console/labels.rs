//! How the console names record fields and values, in English and Hindi:
//! one table for every page (the record view, the duplicate pair, notices).

use super::layout::Lang;

/// Where a resident stands, in words: `None` is a resident enrolled in the
/// field (not from the roll).
pub fn status_label(lang: Lang, status: Option<&str>) -> &'static str {
    match status {
        None => lang.t("Enrolled in the field", "फ़ील्ड में पंजीकृत"),
        Some("verified") => lang.t("Verified", "सत्यापित"),
        Some("unverified") => lang.t("Unverified (from the roll)", "असत्यापित (मतदाता सूची से)"),
        Some("moved") => lang.t("Moved away", "कहीं और चले गए"),
        Some("deceased") => lang.t("Deceased", "मृत"),
        Some("not_found") => lang.t("Not found", "नहीं मिले"),
        Some(_) => lang.t("Other", "अन्य"),
    }
}

pub fn sex_label(lang: Lang, sex: &str) -> String {
    match sex {
        "female" => lang.t("Female", "महिला").into(),
        "male" => lang.t("Male", "पुरुष").into(),
        "other" => lang.t("Other", "अन्य").into(),
        other => other.to_string(),
    }
}

/// A field's label, in the words the tablet's form uses.
pub fn field_label(lang: Lang, path: &str) -> String {
    let (en, hi) = match path {
        "health_id" => ("eHealth ID", "ई-हेल्थ आईडी"),
        "household_id" => ("Household", "परिवार"),
        "given_name" => ("Given name", "पहला नाम"),
        "family_name" => ("Family name", "उपनाम"),
        "name_hi" => ("Name in Hindi", "हिंदी में नाम"),
        "sex" => ("Sex", "लिंग"),
        "date_of_birth" => ("Date of birth", "जन्म तिथि"),
        "birth_year" => ("Year of birth", "जन्म वर्ष"),
        "phone" => ("Mobile number", "मोबाइल नंबर"),
        "voter_id" => ("Voter id (EPIC)", "मतदाता आईडी (EPIC)"),
        "address.house" => ("House", "मकान"),
        "address.street" => ("Street", "गली"),
        "address.locality" => ("Locality", "मोहल्ला"),
        "address.ward" => ("Ward", "वार्ड"),
        "address.pincode" => ("PIN code", "पिन कोड"),
        "blood_group" => ("Blood group", "रक्त समूह"),
        "allergies" => ("Allergies", "एलर्जी"),
        "chronic_conditions" => ("Long-term conditions", "लंबी बीमारियाँ"),
        "disabilities" => ("Disabilities", "विकलांगता"),
        "pregnant" => ("Pregnant", "गर्भवती"),
        "relation_to_head" => ("Relation to head of household", "परिवार के मुखिया से संबंध"),
        "relation_type" => ("Relative named is the", "नामित संबंधी"),
        "relative_name" => ("Father’s / husband’s name", "पिता / पति का नाम"),
        "marital_status" => ("Marital status", "वैवाहिक स्थिति"),
        "occupation" => ("Occupation", "व्यवसाय"),
        "emergency_contact.name" => ("Emergency contact name", "आपातकालीन संपर्क का नाम"),
        "emergency_contact.phone" => ("Emergency contact phone", "आपातकालीन संपर्क का फ़ोन"),
        "consent.share_clinical_on_card" => ("Health details on the card (consent)", "कार्ड पर स्वास्थ्य जानकारी (सहमति)"),
        "notes" => ("Notes", "टिप्पणी"),
        "status" => ("Status", "स्थिति"),
        "roll_part" => ("Roll part", "मतदाता सूची भाग"),
        "roll_serial" => ("Roll serial number", "मतदाता सूची क्रमांक"),
        "merged_into" => ("Merged into", "इसमें विलय"),
        "head_id" => ("Head of household", "परिवार का मुखिया"),
        "members" => ("Members", "सदस्य"),
        other => return other.to_string(),
    };
    lang.t(en, hi).to_string()
}

/// A value as people read it.
pub fn value_text(lang: Lang, path: &str, v: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match v {
        J::String(s) => match (path, s.as_str()) {
            ("sex", s) => sex_label(lang, s),
            ("status", s) => status_label(lang, Some(s)).into(),
            ("relation_to_head" | "relation_type" | "marital_status" | "blood_group", v) => enum_label(lang, v),
            _ => s.clone(),
        },
        J::Bool(true) => lang.t("Yes", "हाँ").into(),
        J::Bool(false) => lang.t("No", "नहीं").into(),
        J::Number(n) => n.to_string(),
        J::Array(items) => items.iter().map(|i| value_text(lang, path, i)).collect::<Vec<_>>().join(", "),
        J::Null => "—".into(),
        J::Object(_) => v.to_string(),
    }
}

/// A relation, relation type, marital status or blood group in words.
fn enum_label(lang: Lang, v: &str) -> String {
    let hi = match v {
        "self" => "स्वयं (मुखिया)",
        "spouse" => "पति/पत्नी",
        "son" => "बेटा",
        "daughter" => "बेटी",
        "father" => "पिता",
        "mother" => "माता",
        "brother" => "भाई",
        "sister" => "बहन",
        "grandchild" => "पोता/पोती",
        "grandparent" => "दादा/दादी",
        "son_in_law" => "दामाद",
        "daughter_in_law" => "बहू",
        "other_relative" => "अन्य रिश्तेदार",
        "unrelated" => "रिश्तेदार नहीं",
        "husband" => "पति",
        "wife" => "पत्नी",
        "other" => "अन्य",
        "never_married" => "अविवाहित",
        "married" => "विवाहित",
        "widowed" => "विधवा/विधुर",
        "separated" => "अलग रहते हैं",
        "divorced" => "तलाकशुदा",
        "unknown" => "पता नहीं",
        other => other,
    };
    match lang {
        Lang::Hi => hi.to_string(),
        Lang::En if v == "self" => "Self (head)".into(),
        Lang::En => {
            let words = v.replace('_', " ");
            let mut c = words.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
        }
    }
}
