//! Human output: aligned columns, and JSON when asked.

use serde_json::Value;

/// Prints rows under headers, each column as wide as its widest cell.
pub fn print(headers: &[&str], rows: &[Vec<String>]) {
    print!("{}", render(headers, rows));
}

pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let last = i + 1 == cells.len();
            if last {
                out.push_str(cell);
            } else {
                let pad = widths[i].saturating_sub(cell.chars().count());
                out.push_str(cell);
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// A list as JSON, or as a table of the named fields under `headers`.
pub fn emit(list: &[Value], json: bool, headers: &[&str], fields: &[&str]) {
    if json {
        print_json(&list);
        return;
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|item| fields.iter().map(|f| text(item, f)).collect())
        .collect();
    print(headers, &rows);
}

pub fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("roster: error: cannot print JSON: {e}"),
    }
}

/// A field as text: strings bare, null as "–", anything else as JSON.
pub fn text(value: &Value, key: &str) -> String {
    match value.pointer(key).or_else(|| value.get(key)) {
        None | Some(Value::Null) => "–".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_to_the_widest_cell() {
        let out = render(
            &["ID", "NAME"],
            &[vec!["1".into(), "Ada".into()], vec!["1234".into(), "Bo".into()]],
        );
        assert_eq!(out, "ID    NAME\n1     Ada\n1234  Bo\n");
    }
}
