//! Plain-text tables for listings.

/// The rows (the first is the header) in left-aligned columns two spaces
/// apart, without trailing spaces.
pub(crate) fn render(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(&widths) {
            line.push_str(&format!("{cell:<width$}  "));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub(crate) fn print(rows: &[Vec<String>]) {
    print!("{}", render(rows));
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_line_up() {
        let rows = [["NAME", "LATEST"], ["tcp", "1.2.0"], ["traceroute", "-"]]
            .map(|r| r.map(String::from).to_vec());
        assert_eq!(
            super::render(&rows),
            "NAME        LATEST\ntcp         1.2.0\ntraceroute  -\n"
        );
    }
}
