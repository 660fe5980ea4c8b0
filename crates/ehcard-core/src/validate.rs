//! Validation errors: one per field, with a stable code for programs and a
//! precise message in English or Hindi for people.

use std::fmt;

use crate::lang::Lang;

/// What rule a value broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rule {
    Required,
    UnknownField,
    NotObject,
    ExpectedText,
    ExpectedObject,
    ExpectedBool,
    ExpectedList,
    Empty,
    ControlChars,
    TooLong(usize),
    TooManyItems(usize),
    Devanagari,
    OneOf(Vec<String>),
    DateFormat,
    DateFuture,
    DateTooOld,
    YearRange(i32),
    DobOrYear,
    YearDisagrees,
    Phone,
    VoterId,
    Ward,
    Pincode,
    RecordId(String),
    HealthId(String),
    Timestamp,
    PregnantSex,
    NotSettable,
    NotJson(String),
    Taken,
    NotASet,
    WardNotAssigned(String),
}

impl Rule {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Rule::Required => "required",
            Rule::UnknownField => "unknown_field",
            Rule::NotObject => "not_object",
            Rule::ExpectedText => "expected_text",
            Rule::ExpectedObject => "expected_object",
            Rule::ExpectedBool => "expected_bool",
            Rule::ExpectedList => "expected_list",
            Rule::Empty => "empty",
            Rule::ControlChars => "control_chars",
            Rule::TooLong(_) => "too_long",
            Rule::TooManyItems(_) => "too_many_items",
            Rule::Devanagari => "devanagari",
            Rule::OneOf(_) => "one_of",
            Rule::DateFormat => "date_format",
            Rule::DateFuture => "date_future",
            Rule::DateTooOld => "date_too_old",
            Rule::YearRange(_) => "year_range",
            Rule::DobOrYear => "dob_or_year",
            Rule::YearDisagrees => "year_disagrees",
            Rule::Phone => "phone",
            Rule::VoterId => "voter_id",
            Rule::Ward => "ward",
            Rule::Pincode => "pincode",
            Rule::RecordId(_) => "record_id",
            Rule::HealthId(_) => "health_id",
            Rule::Timestamp => "timestamp",
            Rule::PregnantSex => "pregnant_sex",
            Rule::NotSettable => "not_settable",
            Rule::NotJson(_) => "not_json",
            Rule::Taken => "taken",
            Rule::NotASet => "not_a_set",
            Rule::WardNotAssigned(_) => "ward_not_assigned",
        }
    }

    /// The message for a person, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        match lang {
            Lang::En => self.message_en(),
            Lang::Hi => self.message_hi(),
        }
    }

    fn message_en(&self) -> String {
        match self {
            Rule::Required => "is required".into(),
            Rule::UnknownField => "is not a field of record format v1 (check the spelling)".into(),
            Rule::NotObject => "must be a JSON object".into(),
            Rule::ExpectedText => "must be text".into(),
            Rule::ExpectedObject => "must be an object".into(),
            Rule::ExpectedBool => "must be true or false".into(),
            Rule::ExpectedList => "must be a list of texts".into(),
            Rule::Empty => "must not be empty (leave it out instead)".into(),
            Rule::ControlChars => "must not contain control characters".into(),
            Rule::TooLong(n) => format!("must be at most {n} characters"),
            Rule::TooManyItems(n) => format!("must have at most {n} entries"),
            Rule::Devanagari => "must be written in Devanagari (Hindi) script".into(),
            Rule::OneOf(list) => format!("must be one of: {}", list.join(", ")),
            Rule::DateFormat => "must be a real date written YYYY-MM-DD".into(),
            Rule::DateFuture => "must not be in the future".into(),
            Rule::DateTooOld => "must be in 1900 or later".into(),
            Rule::YearRange(y) => format!("must be a year from 1900 to {y}"),
            Rule::DobOrYear => "give date_of_birth, or birth_year when only the age is known".into(),
            Rule::YearDisagrees => "does not match the year of date_of_birth".into(),
            Rule::Phone => "must be 10 digits starting with 6-9".into(),
            Rule::VoterId => "must be 3 letters followed by 7 digits (EPIC number, e.g. ABC1234567)".into(),
            Rule::Ward => "must be a ward number from 1 to 250".into(),
            Rule::Pincode => "must be a Delhi PIN code from 110001 to 110099".into(),
            Rule::RecordId(why) => format!("must be a record id (UUIDv7): {why}"),
            Rule::HealthId(why) => format!("is not a valid eHealth ID: {why}"),
            Rule::Timestamp => "must be a timestamp such as 2026-01-31T10:00:00Z".into(),
            Rule::PregnantSex => "can be set only for a female or other resident".into(),
            Rule::NotSettable => "is kept by the system and cannot be set".into(),
            Rule::NotJson(why) => format!("is not valid JSON: {why}"),
            Rule::Taken => "is already used by another record (on this device or earlier in the file)".into(),
            Rule::NotASet => "is not a list: use path=value (+= and -= are for lists)".into(),
            Rule::WardNotAssigned(w) => format!("is not one of this tablet's wards ({w})"),
        }
    }

    fn message_hi(&self) -> String {
        match self {
            Rule::Required => "आवश्यक है".into(),
            Rule::UnknownField => "रिकॉर्ड प्रारूप v1 का फ़ील्ड नहीं है (वर्तनी जाँचें)".into(),
            Rule::NotObject => "JSON ऑब्जेक्ट होना चाहिए".into(),
            Rule::ExpectedText => "पाठ होना चाहिए".into(),
            Rule::ExpectedObject => "ऑब्जेक्ट होना चाहिए".into(),
            Rule::ExpectedBool => "true या false होना चाहिए".into(),
            Rule::ExpectedList => "पाठों की सूची होनी चाहिए".into(),
            Rule::Empty => "खाली नहीं हो सकता (इसे छोड़ दें)".into(),
            Rule::ControlChars => "इसमें नियंत्रण वर्ण नहीं हो सकते".into(),
            Rule::TooLong(n) => format!("अधिकतम {n} अक्षर होने चाहिए"),
            Rule::TooManyItems(n) => format!("अधिकतम {n} प्रविष्टियाँ हो सकती हैं"),
            Rule::Devanagari => "देवनागरी (हिंदी) लिपि में लिखा होना चाहिए".into(),
            Rule::OneOf(list) => format!("इनमें से एक होना चाहिए: {}", list.join(", ")),
            Rule::DateFormat => "सही तारीख YYYY-MM-DD रूप में होनी चाहिए".into(),
            Rule::DateFuture => "भविष्य की तारीख नहीं हो सकती".into(),
            Rule::DateTooOld => "1900 या उसके बाद की होनी चाहिए".into(),
            Rule::YearRange(y) => format!("1900 से {y} तक का वर्ष होना चाहिए"),
            Rule::DobOrYear => "date_of_birth दें, या केवल उम्र पता हो तो birth_year दें".into(),
            Rule::YearDisagrees => "date_of_birth के वर्ष से मेल नहीं खाता".into(),
            Rule::Phone => "6-9 से शुरू होने वाले 10 अंक होने चाहिए".into(),
            Rule::VoterId => "3 अक्षर और उसके बाद 7 अंक होने चाहिए (EPIC संख्या, जैसे ABC1234567)".into(),
            Rule::Ward => "1 से 250 तक का वार्ड नंबर होना चाहिए".into(),
            Rule::Pincode => "110001 से 110099 तक का दिल्ली पिन कोड होना चाहिए".into(),
            Rule::RecordId(why) => format!("रिकॉर्ड आईडी (UUIDv7) होनी चाहिए: {why}"),
            Rule::HealthId(why) => format!("मान्य ई-हेल्थ आईडी नहीं है: {why}"),
            Rule::Timestamp => "2026-01-31T10:00:00Z जैसा समय होना चाहिए".into(),
            Rule::PregnantSex => "केवल महिला या अन्य निवासी के लिए भरा जा सकता है".into(),
            Rule::NotSettable => "सिस्टम द्वारा रखा जाता है, बदला नहीं जा सकता".into(),
            Rule::NotJson(why) => format!("मान्य JSON नहीं है: {why}"),
            Rule::Taken => "पहले से किसी दूसरे रिकॉर्ड में उपयोग हो चुका है (इस डिवाइस पर या फ़ाइल में पहले)".into(),
            Rule::NotASet => "सूची नहीं है: path=value लिखें (+= और -= सूचियों के लिए हैं)".into(),
            Rule::WardNotAssigned(w) => format!("इस टैबलेट के वार्डों ({w}) में से नहीं है"),
        }
    }
}

/// A problem with one field of a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path of the field, e.g. `address.ward`.
    pub field: String,
    pub rule: Rule,
}

impl FieldError {
    pub fn new(field: impl Into<String>, rule: Rule) -> Self {
        FieldError { field: field.into(), rule }
    }

    /// `phone: must be 10 digits starting with 6-9`
    pub fn message(&self, lang: Lang) -> String {
        format!("{}: {}", self.field, self.rule.message(lang))
    }

    pub fn to_json(&self, lang: Lang) -> serde_json::Value {
        serde_json::json!({
            "field": self.field,
            "code": self.rule.code(),
            "message": self.rule.message(lang),
        })
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

/// Several field errors, shown one per line.
pub fn messages(errors: &[FieldError], lang: Lang) -> String {
    errors.iter().map(|e| e.message(lang)).collect::<Vec<_>>().join("\n")
}
