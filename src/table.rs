//! kubectl's plain table: upper-case headers, columns separated by at least three spaces, no
//! borders, no trailing spaces, a final newline. Shared by `diff`, `status` and `leases`.

use comfy_table::{Table, presets::NOTHING};

/// Formats `rows` under `header`.
pub fn kubectl_table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut table = Table::new();
    table.load_style(NOTHING).set_header(header.to_vec());
    table.add_rows(rows);
    for column in table.column_iter_mut() {
        column.set_padding((0, 3));
    }
    let mut out = table.trim_fmt();
    out.push('\n');
    out
}
