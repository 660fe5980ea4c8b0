//! Edits from a whole edited record, as an edit form sends it: every field
//! that differs from the stored record becomes a set or a clear.

use chrono::NaiveDate;
use ehcard_core::doc::Edit;
use ehcard_core::model::{self, FieldValue, Record};
use ehcard_core::validate::FieldError;
use serde_json::Value;

/// Fields a form never changes: the store and the registry keep them.
const NOT_FROM_FORMS: &[&str] = &["status", "merged_into", "roll_part", "roll_serial", "household_id"];

/// The edits that turn `record` into the record `json` describes. Meta keys
/// in `json` (id, health_id, …) are ignored. Errors name each bad field.
pub fn edits_from_json(record: &Record, json: &Value, today: NaiveDate) -> Result<Vec<Edit>, Vec<FieldError>> {
    let mut json = json.clone();
    if let Value::Object(map) = &mut json {
        map.retain(|k, _| !model::META_KEYS.contains(&k.as_str()) || k == "id");
        map.remove("id");
    }
    let input = model::parse_input(record.meta.kind, &json, today)?;
    let mut edits = Vec::new();
    for spec in record.meta.kind.fields() {
        if NOT_FROM_FORMS.contains(&spec.path) {
            continue;
        }
        // An empty list is the same as no list.
        let old = present(record.fields.get(spec.path));
        let new = present(input.fields.get(spec.path));
        if old == new {
            continue;
        }
        match new {
            Some(v) => edits.push(Edit::Set(spec.path, v.clone())),
            None => edits.push(Edit::Clear(spec.path)),
        }
    }
    Ok(edits)
}

/// A value, or `None` for an empty list (the same as no list).
fn present(v: Option<&FieldValue>) -> Option<&FieldValue> {
    v.filter(|v| !matches!(v, FieldValue::Set(items) if items.is_empty()))
}
