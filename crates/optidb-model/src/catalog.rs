//! What the catalogs say: tables, their columns and statistics, indexes,
//! foreign keys, settings, locks and extensions.

use serde::{Deserialize, Serialize};

/// The schema objects and server state a snapshot holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Catalog {
    /// User tables, partitioned tables and materialized views.
    pub tables: Vec<Table>,
    /// Indexes on those tables.
    pub indexes: Vec<Index>,
    /// Foreign keys between those tables.
    pub foreign_keys: Vec<ForeignKey>,
    /// The settings that matter to performance advice.
    pub settings: Vec<Setting>,
    /// Sessions waiting on locks when the snapshot was taken.
    pub locks: LockSummary,
    /// Installed extensions.
    pub extensions: Vec<Extension>,
    /// When this database's statistics counters (seq_scan, idx_scan…) were
    /// last reset (RFC 3339, UTC); `None` if never since the cluster started
    /// keeping them.
    pub stats_reset: Option<String>,
    /// When the server started (RFC 3339, UTC): counters are kept since then
    /// at most.
    pub postmaster_start: Option<String>,
}

impl Catalog {
    /// The table `schema.name`.
    pub fn table(&self, schema: &str, name: &str) -> Option<&Table> {
        self.tables
            .iter()
            .find(|table| table.schema == schema && table.name == name)
    }

    /// The table a statement's (possibly unqualified) name reads: by
    /// schema when qualified; else the only table of that name, or
    /// `public`'s when several schemas have one (as a default
    /// `search_path` would find it); `None` when it is no table of the
    /// catalog or the name is ambiguous.
    pub fn resolve(&self, schema: Option<&str>, name: &str) -> Option<&Table> {
        if let Some(schema) = schema {
            return self.table(schema, name);
        }
        let mut named = self.tables.iter().filter(|table| table.name == name);
        match (named.next(), named.next()) {
            (Some(only), None) => Some(only),
            _ => self.table("public", name),
        }
    }

    /// The indexes of `schema.table`.
    pub fn indexes_of<'a>(
        &'a self,
        schema: &'a str,
        table: &'a str,
    ) -> impl Iterator<Item = &'a Index> {
        self.indexes
            .iter()
            .filter(move |index| index.schema == schema && index.table == table)
    }

    /// A setting's value, as the server shows it.
    pub fn setting(&self, name: &str) -> Option<&Setting> {
        self.settings.iter().find(|setting| setting.name == name)
    }
}

/// What kind of relation a table is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    /// An ordinary table (or a partition).
    #[default]
    Table,
    /// A partitioned table (holds no rows itself).
    Partitioned,
    /// A materialized view.
    MaterializedView,
}

/// A table and its statistics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Table {
    /// Schema name.
    pub schema: String,
    /// Table name.
    pub name: String,
    /// What it is.
    pub kind: TableKind,
    /// The partitioned table this is a partition of, as `schema.name`.
    pub partition_of: Option<String>,
    /// The planner's row estimate (`pg_class.reltuples`; -1 if never analyzed or vacuumed).
    pub reltuples: f64,
    /// Pages (`pg_class.relpages`) as of the last VACUUM or ANALYZE.
    pub relpages: i64,
    /// Size of the table's data, TOAST included, in bytes (`pg_table_size`).
    pub table_bytes: i64,
    /// Size of its indexes, in bytes.
    pub index_bytes: i64,
    /// Storage options, e.g. `autovacuum_enabled=false`.
    pub options: Vec<String>,
    /// Its columns, in order.
    pub columns: Vec<Column>,
    /// Usage and maintenance counters (`pg_stat_user_tables`).
    pub activity: TableActivity,
}

impl Table {
    /// `schema.name`.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|column| column.name == name)
    }

    /// The best row count known: live tuples when counted, else the estimate.
    pub fn rows(&self) -> f64 {
        if self.activity.live_tuples > 0 {
            self.activity.live_tuples as f64
        } else {
            self.reltuples.max(0.0)
        }
    }
}

/// A table's counters from `pg_stat_user_tables`, since the last reset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TableActivity {
    /// Sequential scans started.
    pub seq_scan: u64,
    /// Rows read by sequential scans.
    pub seq_tup_read: u64,
    /// Index scans started (on all its indexes).
    pub idx_scan: u64,
    /// Rows fetched by index scans.
    pub idx_tup_fetch: u64,
    /// Rows inserted.
    pub n_tup_ins: u64,
    /// Rows updated.
    pub n_tup_upd: u64,
    /// Rows deleted.
    pub n_tup_del: u64,
    /// Rows HOT-updated (no index maintenance needed).
    pub n_tup_hot_upd: u64,
    /// Estimated live rows.
    pub live_tuples: u64,
    /// Estimated dead rows.
    pub dead_tuples: u64,
    /// Rows changed since the last ANALYZE.
    pub n_mod_since_analyze: u64,
    /// Rows inserted since the last VACUUM.
    pub n_ins_since_vacuum: u64,
    /// Last manual VACUUM (RFC 3339, UTC).
    pub last_vacuum: Option<String>,
    /// Last autovacuum.
    pub last_autovacuum: Option<String>,
    /// Last manual ANALYZE.
    pub last_analyze: Option<String>,
    /// Last auto-analyze.
    pub last_autoanalyze: Option<String>,
    /// Manual VACUUMs.
    pub vacuum_count: u64,
    /// Autovacuums.
    pub autovacuum_count: u64,
    /// Manual ANALYZEs.
    pub analyze_count: u64,
    /// Auto-analyzes.
    pub autoanalyze_count: u64,
}

/// A column and what `pg_stats` knows about it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// Position (`attnum`).
    pub position: i16,
    /// Type, as `format_type` shows it, e.g. `timestamp with time zone`.
    pub data_type: String,
    /// Declared NOT NULL.
    pub not_null: bool,
    /// Planner statistics; `None` when never analyzed or not visible to
    /// optidb's role.
    pub stats: Option<ColumnStats>,
}

/// Planner statistics of one column (`pg_stats`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ColumnStats {
    /// Fraction of NULLs.
    pub null_frac: f64,
    /// Average width in bytes.
    pub avg_width: i32,
    /// Distinct values: > 0 a count, < 0 minus the fraction of rows.
    pub n_distinct: f64,
    /// Correlation between physical and logical order (-1 to 1).
    pub correlation: Option<f64>,
    /// Most common values, as text.
    pub most_common_values: Vec<String>,
    /// Their frequencies.
    pub most_common_freqs: Vec<f64>,
    /// Number of histogram buckets bounds.
    pub histogram_bounds: usize,
}

impl ColumnStats {
    /// Estimated distinct values in a table of `rows` rows.
    pub fn distinct_values(&self, rows: f64) -> f64 {
        if self.n_distinct >= 0.0 {
            self.n_distinct
        } else {
            -self.n_distinct * rows
        }
    }
}

/// One key of an index: a column or an expression.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IndexKey {
    /// The column, when the key is a plain column.
    pub column: Option<String>,
    /// The expression, when the key is one, e.g. `lower(email)`.
    pub expression: Option<String>,
    /// The key as `pg_get_indexdef` shows it (column or expression).
    pub definition: String,
    /// Sorted descending.
    pub descending: bool,
    /// NULLs sort first.
    pub nulls_first: bool,
    /// Operator class, when not the type's default, e.g. `gin_trgm_ops`.
    pub opclass: Option<String>,
}

/// An index and its usage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Index {
    /// Schema name.
    pub schema: String,
    /// Index name.
    pub name: String,
    /// The table it indexes.
    pub table: String,
    /// `CREATE INDEX …` as `pg_get_indexdef` shows it.
    pub definition: String,
    /// Access method: `btree`, `gin`, `gist`, `hash`, `brin`…
    pub method: String,
    /// Key columns and expressions, in order.
    pub keys: Vec<IndexKey>,
    /// `INCLUDE` columns.
    pub include: Vec<String>,
    /// The predicate of a partial index.
    pub predicate: Option<String>,
    /// Unique.
    pub unique: bool,
    /// The primary key.
    pub primary: bool,
    /// The constraint it backs (primary key, unique or exclusion), if any.
    pub constraint: Option<String>,
    /// Usable by queries (false after a failed `CREATE INDEX CONCURRENTLY`).
    pub valid: bool,
    /// Size in bytes.
    pub bytes: i64,
    /// Index scans since the last reset.
    pub idx_scan: u64,
    /// Index entries read.
    pub idx_tup_read: u64,
    /// Table rows fetched through it.
    pub idx_tup_fetch: u64,
}

/// A foreign key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ForeignKey {
    /// Constraint name.
    pub name: String,
    /// Schema of the referencing table.
    pub schema: String,
    /// The referencing table.
    pub table: String,
    /// Its columns, in key order.
    pub columns: Vec<String>,
    /// Schema of the referenced table.
    pub referenced_schema: String,
    /// The referenced table.
    pub referenced_table: String,
    /// The referenced columns, in key order.
    pub referenced_columns: Vec<String>,
    /// `ON DELETE` action: `a` no action, `r` restrict, `c` cascade, `n` set null, `d` set default.
    pub on_delete: String,
    /// `ON UPDATE` action, same codes.
    pub on_update: String,
}

/// A server setting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Setting {
    /// Name, e.g. `work_mem`.
    pub name: String,
    /// Value in its unit, as `pg_settings.setting` shows it.
    pub value: String,
    /// Unit, e.g. `kB` or `8kB`.
    pub unit: Option<String>,
    /// Where the value comes from: `default`, `configuration file`…
    pub source: String,
}

/// Lock waits when the snapshot was taken (`pg_locks` with `pg_stat_activity`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LockSummary {
    /// Sessions waiting for a lock.
    pub waiting_sessions: u64,
    /// Sessions blocking at least one other.
    pub blocking_sessions: u64,
    /// The longest current wait, in milliseconds.
    pub longest_wait_ms: f64,
    /// Waits per relation and lock mode, most waiters first.
    pub waits: Vec<LockWait>,
}

/// Sessions waiting on one relation in one lock mode.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LockWait {
    /// The relation as `schema.name`, or the lock type when not a relation lock.
    pub target: String,
    /// The requested mode, e.g. `RowExclusiveLock`.
    pub mode: String,
    /// Waiting sessions.
    pub sessions: u64,
    /// Longest wait among them, in milliseconds.
    pub longest_wait_ms: f64,
}

/// An installed extension.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Extension {
    /// Name.
    pub name: String,
    /// Installed version.
    pub version: String,
    /// Schema it lives in.
    pub schema: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unqualified_names_resolve_to_the_only_table_or_public() {
        let table = |schema: &str, name: &str| Table {
            schema: schema.into(),
            name: name.into(),
            ..Table::default()
        };
        let catalog = Catalog {
            tables: vec![
                table("public", "users"),
                table("app", "users"),
                table("app", "events"),
                table("a", "logs"),
                table("b", "logs"),
            ],
            ..Catalog::default()
        };
        let found = |schema: Option<&str>, name: &str| {
            catalog.resolve(schema, name).map(Table::qualified_name)
        };
        assert_eq!(found(None, "users").as_deref(), Some("public.users"));
        assert_eq!(found(Some("app"), "users").as_deref(), Some("app.users"));
        assert_eq!(found(None, "events").as_deref(), Some("app.events"));
        assert_eq!(found(None, "logs"), None, "ambiguous");
        assert_eq!(found(Some("public"), "events"), None);
        assert_eq!(found(None, "nowhere"), None);
    }
}
