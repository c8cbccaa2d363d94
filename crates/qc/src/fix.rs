//! Applying fixes to a release document. A fix sets one field, named by a path such as
//! `tracks[1].title` or `artists`, in the document's JSON form; the caller turns the result
//! back into a release through intake, so a fixed release is validated like any other.

use serde_json::Value;

use crate::Fix;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("cannot apply the fix to `{field}`: {why}")]
pub struct FixError {
    pub field: String,
    pub why: String,
}

/// Applies `fixes` in order to the release document `doc`. Returns how many changed a value.
pub fn apply_fixes(doc: &mut Value, fixes: &[Fix]) -> Result<usize, FixError> {
    let mut changed = 0;
    for fix in fixes {
        let slot = locate(doc, &fix.field)?;
        if *slot != fix.value {
            *slot = fix.value.clone();
            changed += 1;
        }
    }
    // Null means "remove the optional field": the document format omits absent values.
    strip_nulls(doc);
    Ok(changed)
}

fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

fn locate<'v>(doc: &'v mut Value, field: &str) -> Result<&'v mut Value, FixError> {
    let err = |why: String| FixError {
        field: field.to_owned(),
        why,
    };
    let mut cur = doc;
    for part in field.split('.') {
        let (key, index) = match part.split_once('[') {
            Some((k, rest)) => {
                let n = rest
                    .strip_suffix(']')
                    .and_then(|n| n.parse::<usize>().ok())
                    .ok_or_else(|| err(format!("bad index in `{part}`")))?;
                (k, Some(n))
            }
            None => (part, None),
        };
        let obj = cur
            .as_object_mut()
            .ok_or_else(|| err(format!("`{key}` is not inside an object")))?;
        cur = obj.entry(key.to_owned()).or_insert(Value::Null);
        if let Some(n) = index {
            let len = cur.as_array().map_or(0, Vec::len);
            cur = cur
                .as_array_mut()
                .and_then(|a| a.get_mut(n))
                .ok_or_else(|| err(format!("`{key}` has {len} entries, no [{n}]")))?;
        }
    }
    Ok(cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sets_nested_fields_and_removes_nulls() {
        let mut doc = json!({"title": "A", "tracks": [{"title": "x", "version": "Original Mix"}]});
        let fixes = vec![
            Fix {
                field: "tracks[0].title".into(),
                value: json!("X"),
            },
            Fix {
                field: "tracks[0].version".into(),
                value: Value::Null,
            },
            Fix {
                field: "version".into(),
                value: json!("Deluxe Edition"),
            },
        ];
        assert_eq!(apply_fixes(&mut doc, &fixes), Ok(3));
        assert_eq!(
            doc,
            json!({"title": "A", "version": "Deluxe Edition", "tracks": [{"title": "X"}]})
        );
        let bad = vec![Fix {
            field: "tracks[3].title".into(),
            value: json!("Y"),
        }];
        assert!(apply_fixes(&mut doc, &bad).is_err());
    }
}
