//! The two languages of the product. Messages meant for people are
//! produced in either; machine-readable codes never change with language.

use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Hi,
}

impl FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        // Accept locale forms such as `hi_IN.UTF-8`.
        if s == "hi" || s.starts_with("hi_") || s.starts_with("hi-") || s == "hindi" {
            Ok(Lang::Hi)
        } else if s == "en" || s.starts_with("en_") || s.starts_with("en-") || s == "english" {
            Ok(Lang::En)
        } else {
            Err(format!("unknown language {s:?}: use en or hi"))
        }
    }
}
