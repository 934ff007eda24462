//! Numbered facts: the only things the model is told.
//!
//! A fact holds normalized SQL (constants replaced by `$n`), evidence
//! numbers, table, column and index names, or plan node types. Statement
//! texts always go through [`optidb_fingerprint::normalize`]; one that does
//! not parse becomes [`UNPARSABLE_STATEMENT`], never its raw text. Free text
//! that rules write (titles, advice, index predicates and definitions) is
//! left out, because it may quote a constant.

use std::fmt::Write as _;

use optidb_model::plan::Plan;
use optidb_model::{Finding, Fix, Recommendation, Snapshot, Statement, Table};

/// What a statement that does not parse becomes.
pub const UNPARSABLE_STATEMENT: &str = "(statement text withheld: it does not parse)";

/// One numbered fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// Its id, `F1`, `F2`, …
    pub id: String,
    /// What it says.
    pub text: String,
}

/// The numbered facts behind one explanation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactSheet {
    facts: Vec<Fact>,
}

impl FactSheet {
    /// No facts yet.
    pub fn new() -> Self {
        FactSheet::default()
    }

    /// Adds a fact and returns its id. Callers are responsible for `text`
    /// holding no literal (the [`crate::Redactor`] checks again before sending).
    pub fn push(&mut self, text: impl Into<String>) -> String {
        let id = format!("F{}", self.facts.len() + 1);
        self.facts.push(Fact {
            id: id.clone(),
            text: text.into(),
        });
        id
    }

    /// The facts, in order.
    pub fn facts(&self) -> &[Fact] {
        &self.facts
    }

    /// The fact called `id`.
    pub fn get(&self, id: &str) -> Option<&Fact> {
        self.facts.iter().find(|fact| fact.id == id)
    }

    /// Whether there are no facts.
    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
    }

    /// One line per fact: `F1: …`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for fact in &self.facts {
            let _ = writeln!(out, "{}: {}", fact.id, fact.text);
        }
        out
    }
}

/// `sql` normalized (constants replaced by `$n`), or
/// [`UNPARSABLE_STATEMENT`] when it does not parse.
/// Whitespace is collapsed: a fact is one line. (Normalized text holds no
/// string constant whose spaces would matter.)
pub fn normalized_statement(sql: &str) -> String {
    match optidb_fingerprint::normalize(sql) {
        Ok(normalized) => normalized.split_whitespace().collect::<Vec<_>>().join(" "),
        Err(_) => UNPARSABLE_STATEMENT.to_string(),
    }
}

/// The facts behind one finding: its rule, evidence, tables, indexes, the
/// suggested fix, and for each statement it names its normalized text and
/// its plan's node types.
pub fn finding_facts(finding: &Finding, snapshot: &Snapshot) -> FactSheet {
    let mut sheet = FactSheet::new();
    sheet.push(format!(
        "rule {} ({}), severity {}",
        finding.rule,
        finding.code,
        finding.severity.as_str()
    ));
    for evidence in &finding.evidence {
        sheet.push(format!(
            "{} = {} {}",
            evidence.name,
            number(evidence.value),
            evidence.unit
        ));
    }
    push_names(&mut sheet, &finding.tables, &finding.indexes);
    sheet.push(fix_fact(&finding.fix));
    push_statements(&mut sheet, &finding.statements, snapshot);
    sheet
}

/// The facts behind one recommendation: its action, the normalized DDL,
/// the expected savings and confidence, the risk, the simulation's result,
/// and its statements (normalized) with their plans' node types.
pub fn recommendation_facts(recommendation: &Recommendation, snapshot: &Snapshot) -> FactSheet {
    let mut sheet = FactSheet::new();
    sheet.push(format!(
        "action {:?} answering {}",
        recommendation.action,
        recommendation.codes.join(", ")
    ));
    if let Some(ddl) = &recommendation.ddl {
        sheet.push(format!("sql to run: {}", normalized_statement(ddl)));
    }
    sheet.push(format!(
        "estimated savings = {} ms over the statistics window",
        number(recommendation.estimated_savings_ms)
    ));
    sheet.push(format!(
        "confidence = {} ({})",
        number(recommendation.confidence),
        recommendation.confidence_basis
    ));
    let risk = &recommendation.risk;
    sheet.push(format!("risk {:?}, lock {}", risk.level, risk.lock));
    if let Some(seconds) = risk.build_seconds {
        sheet.push(format!(
            "estimated build time = {} seconds",
            number(seconds)
        ));
    }
    if let Some(bytes) = risk.index_bytes {
        sheet.push(format!("estimated index size = {bytes} bytes"));
    }
    push_names(&mut sheet, &recommendation.tables, &[]);
    if let Some(improvement) = recommendation
        .simulation
        .as_ref()
        .and_then(|simulation| simulation.best_improvement())
    {
        sheet.push(format!(
            "simulated best plan cost improvement = {} (ratio)",
            number(improvement)
        ));
    }
    push_statements(&mut sheet, &recommendation.statements, snapshot);
    sheet
}

/// The facts behind one statement: its normalized text and counters, its
/// plan, the schema of the tables it reads (columns, types, row counts,
/// indexes), and the findings that name it.
pub fn statement_facts(
    statement: &Statement,
    snapshot: &Snapshot,
    findings: &[Finding],
) -> FactSheet {
    let mut sheet = FactSheet::new();
    sheet.push(format!(
        "statement: {}",
        normalized_statement(&statement.query)
    ));
    push_counters(&mut sheet, statement, snapshot);
    if let Some(plan) = snapshot
        .plan_of(statement.queryid)
        .and_then(|plan| plan.plan())
    {
        sheet.push(plan_fact(plan));
        sheet.push(format!(
            "generic plan: estimated total cost = {}, estimated rows = {}",
            number(plan.root.total_cost),
            number(plan.root.plan_rows)
        ));
    }
    for table in statement_tables(statement, snapshot) {
        push_table(&mut sheet, table, snapshot, true);
    }
    for finding in findings
        .iter()
        .filter(|finding| finding.statements.contains(&statement.queryid))
    {
        sheet.push(finding_line(finding));
    }
    sheet
}

/// The facts a question about the whole workload is answered from: the
/// top `top` statements by total time with their counters, every
/// finding and recommendation in one line each, and the tables those
/// statements read.
pub fn workload_facts(
    snapshot: &Snapshot,
    findings: &[Finding],
    recommendations: &[Recommendation],
    top: usize,
) -> FactSheet {
    let mut sheet = FactSheet::new();
    let total: f64 = snapshot
        .statements
        .iter()
        .map(|statement| statement.total_exec_time_ms)
        .sum();
    sheet.push(format!(
        "database {}: {} statements recorded, total execution time = {} ms",
        snapshot.server.database,
        snapshot.statements.len(),
        number(total)
    ));
    let mut statements: Vec<&Statement> = snapshot.statements.iter().collect();
    statements.sort_by(|a, b| b.total_exec_time_ms.total_cmp(&a.total_exec_time_ms));
    let mut tables: Vec<&Table> = Vec::new();
    for statement in statements.iter().take(top) {
        sheet.push(format!(
            "statement {}: {}",
            statement.queryid,
            normalized_statement(&statement.query)
        ));
        push_counters(&mut sheet, statement, snapshot);
        for table in statement_tables(statement, snapshot) {
            if !tables.iter().any(|known| std::ptr::eq(*known, table)) {
                tables.push(table);
            }
        }
    }
    for finding in findings {
        sheet.push(finding_line(finding));
    }
    for recommendation in recommendations {
        sheet.push(format!(
            "recommendation #{}: {:?} on {} answering {}, estimated savings = {} ms, statements {}",
            recommendation.rank,
            recommendation.action,
            recommendation.tables.join(", "),
            recommendation.codes.join(", "),
            number(recommendation.estimated_savings_ms),
            ids(&recommendation.statements)
        ));
    }
    for table in tables {
        push_table(&mut sheet, table, snapshot, false);
    }
    sheet
}

fn push_counters(sheet: &mut FactSheet, statement: &Statement, snapshot: &Snapshot) {
    let total: f64 = snapshot
        .statements
        .iter()
        .map(|statement| statement.total_exec_time_ms)
        .sum();
    let share = if total > 0.0 {
        statement.total_exec_time_ms / total * 100.0
    } else {
        0.0
    };
    sheet.push(format!(
        "statement {} runs: calls = {}, mean time = {} ms, total time = {} ms ({}% of all statements' time), rows per call = {}",
        statement.queryid,
        statement.calls,
        number(statement.mean_exec_time_ms),
        number(statement.total_exec_time_ms),
        number(share),
        number(statement.rows as f64 / statement.calls.max(1) as f64)
    ));
    let blocks = statement.shared_blks_hit + statement.shared_blks_read;
    if blocks > 0 {
        sheet.push(format!(
            "statement {} buffers: shared blocks hit = {}, read from disk = {}, temp blocks written = {}",
            statement.queryid,
            statement.shared_blks_hit,
            statement.shared_blks_read,
            statement.temp_blks_written
        ));
    }
}

/// A table's size and, when `columns`, its columns and types; then its
/// indexes by key columns (definitions are left out: a partial index's
/// predicate may quote a constant).
fn push_table(sheet: &mut FactSheet, table: &Table, snapshot: &Snapshot, columns: bool) {
    let mut text = format!(
        "table {}: about {} rows, {} bytes",
        table.qualified_name(),
        number(table.rows()),
        table.table_bytes
    );
    if columns && !table.columns.is_empty() {
        let list: Vec<String> = table
            .columns
            .iter()
            .map(|column| format!("{} {}", column.name, column.data_type))
            .collect();
        let _ = write!(text, "; columns {}", list.join(", "));
    }
    sheet.push(text);
    for index in snapshot
        .catalog
        .indexes
        .iter()
        .filter(|index| index.schema == table.schema && index.table == table.name)
    {
        let keys: Vec<&str> = index
            .keys
            .iter()
            .map(|key| key.column.as_deref().unwrap_or("(expression)"))
            .collect();
        let mut text = format!(
            "index {} on {} ({}), {}",
            index.name,
            table.qualified_name(),
            keys.join(", "),
            index.method
        );
        if index.unique {
            text.push_str(", unique");
        }
        if index.predicate.is_some() {
            text.push_str(", partial");
        }
        let _ = write!(text, ", {} scans", index.idx_scan);
        sheet.push(text);
    }
}

/// One finding in one line: rule, tables, statements, evidence.
fn finding_line(finding: &Finding) -> String {
    let evidence: Vec<String> = finding
        .evidence
        .iter()
        .map(|evidence| {
            format!(
                "{} = {} {}",
                evidence.name,
                number(evidence.value),
                evidence.unit
            )
        })
        .collect();
    format!(
        "finding {} {} ({}) on {}, statements {}: {}",
        finding.code,
        finding.rule,
        finding.severity.as_str(),
        if finding.tables.is_empty() {
            "-".to_string()
        } else {
            finding.tables.join(", ")
        },
        ids(&finding.statements),
        evidence.join("; ")
    )
}

fn ids(queryids: &[i64]) -> String {
    if queryids.is_empty() {
        return "-".into();
    }
    queryids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The catalog tables `statement` reads (an unqualified name resolves to
/// the only table of that name, else `public`'s).
fn statement_tables<'s>(statement: &Statement, snapshot: &'s Snapshot) -> Vec<&'s Table> {
    let Ok(facts) = optidb_fingerprint::facts(&statement.query) else {
        return Vec::new();
    };
    let mut found: Vec<&Table> = Vec::new();
    for relation in facts.tables() {
        let table = snapshot
            .catalog
            .resolve(relation.schema.as_deref(), &relation.name);
        if let Some(table) = table
            && !found.iter().any(|known| std::ptr::eq(*known, table))
        {
            found.push(table);
        }
    }
    found
}

fn push_names(sheet: &mut FactSheet, tables: &[String], indexes: &[String]) {
    for table in tables {
        sheet.push(format!("table {table}"));
    }
    for index in indexes {
        sheet.push(format!("index {index}"));
    }
}

fn push_statements(sheet: &mut FactSheet, queryids: &[i64], snapshot: &Snapshot) {
    for queryid in queryids {
        let Some(statement) = snapshot.statements.iter().find(|s| s.queryid == *queryid) else {
            continue;
        };
        sheet.push(format!(
            "statement: {}",
            normalized_statement(&statement.query)
        ));
        if let Some(plan) = snapshot.plan_of(*queryid).and_then(|plan| plan.plan()) {
            sheet.push(plan_fact(plan));
        }
    }
}

/// The node types of a plan, with the relations they read, in tree order.
pub fn plan_fact(plan: &Plan) -> String {
    let nodes: Vec<String> = plan
        .nodes()
        .map(|node| match &node.relation_name {
            Some(relation) => format!("{} on {relation}", node.node_type),
            None => node.node_type.clone(),
        })
        .collect();
    format!("plan nodes: {}", nodes.join(" > "))
}

fn fix_fact(fix: &Fix) -> String {
    match fix {
        Fix::CreateIndex(spec) => {
            let columns: Vec<&str> = spec.keys.iter().map(|key| key.column.as_str()).collect();
            let mut text = format!(
                "suggested fix: create a {} index on {}.{} ({})",
                spec.method,
                spec.schema,
                spec.table,
                columns.join(", ")
            );
            if !spec.include.is_empty() {
                let _ = write!(text, " including {}", spec.include.join(", "));
            }
            if spec.predicate.is_some() {
                text.push_str(", partial");
            }
            text
        }
        Fix::DropIndex { schema, name, .. } => {
            format!("suggested fix: drop index {schema}.{name}")
        }
        Fix::Analyze { schema, table } => format!("suggested fix: analyze {schema}.{table}"),
        Fix::Vacuum { schema, table } => format!("suggested fix: vacuum {schema}.{table}"),
        Fix::WorkMem { kilobytes } => format!("suggested fix: work_mem = {kilobytes} kB"),
        Fix::Rewrite { .. } => "suggested fix: rewrite the statement".to_string(),
        Fix::Investigate { .. } => "suggested fix: investigate".to_string(),
    }
}

/// A number as facts show it: integers without a fractional part, at most
/// two decimals from 1 up, four significant digits below (a model copies
/// what it is shown, and `0.00010176045588684237` helps nobody).
fn number(value: f64) -> String {
    let value = if value.abs() >= 1.0 || value == 0.0 {
        (value * 100.0).round() / 100.0
    } else {
        let scale = 10f64.powi(3 - value.abs().log10().floor() as i32);
        (value * scale).round() / scale
    };
    plain(value)
}

/// A number without a fractional part when it has none.
fn plain(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use optidb_model::{Evidence, IndexKeySpec, IndexSpec, Severity, Statement};

    use super::*;

    fn snapshot(query: &str) -> Snapshot {
        let mut snapshot = Snapshot::default();
        snapshot.statements.push(Statement {
            queryid: 7,
            query: query.to_string(),
            ..Statement::default()
        });
        snapshot
    }

    fn finding() -> Finding {
        Finding {
            code: "OPT001".into(),
            rule: "missing-index".into(),
            severity: Severity::Warning,
            title: "orders scanned for 'alice@example.com'".into(),
            statements: vec![7],
            tables: vec!["public.orders".into()],
            indexes: vec![],
            evidence: vec![Evidence::new("rows_scanned_per_call", 120000.0, "rows")],
            fix: Fix::CreateIndex(IndexSpec {
                schema: "public".into(),
                table: "orders".into(),
                method: "btree".into(),
                keys: vec![IndexKeySpec::column("email")],
                include: vec![],
                predicate: Some("status = 'secret-status'".into()),
            }),
        }
    }

    #[test]
    fn statements_are_normalized() {
        let sheet = finding_facts(
            &finding(),
            &snapshot("SELECT * FROM orders WHERE email = 'alice@example.com' AND id = 987654321"),
        );
        let text = sheet.render();
        assert!(text.contains("email = $1"), "{text}");
        assert!(!text.contains("alice@example.com"), "{text}");
        assert!(!text.contains("987654321"), "{text}");
        assert!(!text.contains("secret-status"), "{text}");
        assert!(
            text.contains("F2: rows_scanned_per_call = 120000 rows"),
            "{text}"
        );
        assert!(text.contains("create a btree index on public.orders (email), partial"));
    }

    #[test]
    fn unparsable_statements_are_withheld() {
        let sheet = finding_facts(
            &finding(),
            &snapshot("SELECT * FROM orders WHERE email = 'x@y.z"),
        );
        let text = sheet.render();
        assert!(text.contains(UNPARSABLE_STATEMENT), "{text}");
        assert!(!text.contains("x@y.z"), "{text}");
    }

    #[test]
    fn ids_are_numbered_from_one() {
        let mut sheet = FactSheet::new();
        assert_eq!(sheet.push("a"), "F1");
        assert_eq!(sheet.push("b"), "F2");
        assert_eq!(sheet.get("F2").map(|fact| fact.text.as_str()), Some("b"));
        assert_eq!(sheet.render(), "F1: a\nF2: b\n");
    }

    #[test]
    fn numbers_are_shown_at_a_readable_precision() {
        assert_eq!(number(120000.0), "120000");
        assert_eq!(number(37.714999), "37.71");
        assert_eq!(number(0.00010176045588684237), "0.0001018");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(-3.0), "-3");
        assert_eq!(number(0.0), "0");
    }

    #[test]
    fn statement_facts_describe_the_schema_without_literals() {
        use optidb_model::{Catalog, Column, Index, IndexKey, Table};
        let mut snapshot = snapshot(
            "SELECT * FROM orders WHERE email = 'alice@example.com'\n  AND id = 987654321",
        );
        snapshot.catalog = Catalog {
            tables: vec![Table {
                schema: "public".into(),
                name: "orders".into(),
                reltuples: 1000.0,
                columns: vec![Column {
                    name: "email".into(),
                    data_type: "text".into(),
                    ..Column::default()
                }],
                ..Table::default()
            }],
            indexes: vec![Index {
                schema: "public".into(),
                name: "orders_open_idx".into(),
                table: "orders".into(),
                method: "btree".into(),
                keys: vec![IndexKey {
                    column: Some("email".into()),
                    ..IndexKey::default()
                }],
                predicate: Some("status = 'secret-status'".into()),
                definition:
                    "CREATE INDEX orders_open_idx ON orders (email) WHERE status = 'secret-status'"
                        .into(),
                ..Index::default()
            }],
            ..Catalog::default()
        };
        let statement = snapshot.statements[0].clone();
        let text = statement_facts(&statement, &snapshot, &[finding()]).render();
        assert!(
            text.contains("F1: statement: SELECT * FROM orders WHERE email = $1 AND id = $2\n"),
            "{text}"
        );
        assert!(
            text.contains("table public.orders: about 1000 rows"),
            "{text}"
        );
        assert!(text.contains("columns email text"), "{text}");
        assert!(
            text.contains("index orders_open_idx on public.orders (email), btree, partial"),
            "{text}"
        );
        assert!(
            text.contains("finding OPT001 missing-index (warning) on public.orders, statements 7"),
            "{text}"
        );
        for secret in ["alice@example.com", "987654321", "secret-status"] {
            assert!(!text.contains(secret), "{secret}: {text}");
        }
    }
}
