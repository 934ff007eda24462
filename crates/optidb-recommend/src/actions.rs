//! From findings to actions: one action per thing to do, however many
//! findings ask for it. Index candidates are merged (an index whose keys
//! start with another candidate's keys serves both) and dropped when an
//! existing index already covers them.

use optidb_model::{ActionKind, Finding, Fix, Index, IndexSpec, Recommendation, Snapshot};

use crate::{confidence, ddl, rationale, risk};

/// What to do.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Target {
    /// Build this index.
    CreateIndex(IndexSpec),
    /// Drop this index.
    DropIndex {
        schema: String,
        name: String,
        definition: String,
    },
    /// ANALYZE (and maybe VACUUM) a table.
    Maintain {
        schema: String,
        table: String,
        vacuum: bool,
        analyze: bool,
    },
    /// Raise work_mem for some statements.
    WorkMem { kilobytes: u64 },
    /// Change the statement or the application.
    Rewrite { advice: String },
    /// Look into something.
    Investigate { advice: String },
}

/// One action and the findings it answers.
#[derive(Debug, Clone)]
pub(crate) struct Action {
    pub target: Target,
    pub findings: Vec<Finding>,
}

/// Every action `findings` call for, merged.
pub(crate) fn plan(snapshot: &Snapshot, findings: &[Finding]) -> Vec<Action> {
    let mut actions: Vec<Action> = Vec::new();
    let mut index_candidates: Vec<(&IndexSpec, &Finding)> = Vec::new();
    for finding in findings {
        let target = match &finding.fix {
            Fix::CreateIndex(spec) => {
                index_candidates.push((spec, finding));
                continue;
            }
            Fix::DropIndex {
                schema,
                name,
                definition,
            } => Target::DropIndex {
                schema: schema.clone(),
                name: name.clone(),
                definition: definition.clone(),
            },
            Fix::Analyze { schema, table } => Target::Maintain {
                schema: schema.clone(),
                table: table.clone(),
                vacuum: false,
                analyze: true,
            },
            Fix::Vacuum { schema, table } => Target::Maintain {
                schema: schema.clone(),
                table: table.clone(),
                vacuum: true,
                analyze: false,
            },
            Fix::WorkMem { kilobytes } => Target::WorkMem {
                kilobytes: *kilobytes,
            },
            Fix::Rewrite { advice } => Target::Rewrite {
                advice: advice.clone(),
            },
            Fix::Investigate { advice } => Target::Investigate {
                advice: advice.clone(),
            },
        };
        add(&mut actions, target, finding);
    }
    actions.extend(merge_indexes(snapshot, index_candidates));
    actions
}

/// Adds `finding` to the action with the same target, or a new one. Table
/// maintenance merges ANALYZE and VACUUM of one table into `VACUUM (ANALYZE)`.
fn add(actions: &mut Vec<Action>, target: Target, finding: &Finding) {
    for action in actions.iter_mut() {
        let same = match (&mut action.target, &target) {
            (
                Target::Maintain {
                    schema,
                    table,
                    vacuum,
                    analyze,
                },
                Target::Maintain {
                    schema: other_schema,
                    table: other_table,
                    vacuum: other_vacuum,
                    analyze: other_analyze,
                },
            ) if schema == other_schema && table == other_table => {
                *vacuum |= *other_vacuum;
                *analyze |= *other_analyze;
                true
            }
            (
                Target::DropIndex { schema, name, .. },
                Target::DropIndex {
                    schema: s, name: n, ..
                },
            ) => schema == s && name == n,
            (existing, new) => {
                existing == new
                    && !matches!(new, Target::Rewrite { .. } | Target::Investigate { .. })
            }
        };
        if same {
            action.findings.push(finding.clone());
            return;
        }
    }
    actions.push(Action {
        target,
        findings: vec![finding.clone()],
    });
}

/// Longest candidates first; a candidate whose keys start another's is
/// served by it. Candidates an existing index covers are dropped.
fn merge_indexes(snapshot: &Snapshot, mut candidates: Vec<(&IndexSpec, &Finding)>) -> Vec<Action> {
    candidates.sort_by(|(a, _), (b, _)| b.keys.len().cmp(&a.keys.len()).then_with(|| a.cmp(b)));
    let mut actions: Vec<Action> = Vec::new();
    for (spec, finding) in candidates {
        if covered_by_existing(snapshot, spec) {
            continue;
        }
        let serving = actions.iter_mut().find(|action| match &action.target {
            Target::CreateIndex(existing) => serves(existing, spec),
            _ => false,
        });
        match serving {
            Some(action) => action.findings.push(finding.clone()),
            None => actions.push(Action {
                target: Target::CreateIndex(spec.clone()),
                findings: vec![finding.clone()],
            }),
        }
    }
    actions
}

/// Whether index `big` serves every lookup `small` was proposed for: same
/// table and method, and `small`'s keys are `big`'s first keys.
fn serves(big: &IndexSpec, small: &IndexSpec) -> bool {
    big.schema == small.schema
        && big.table == small.table
        && big.method == small.method
        && big.predicate == small.predicate
        && big.keys.len() >= small.keys.len()
        && big.keys.iter().zip(&small.keys).all(|(a, b)| {
            a.column == b.column && a.expression == b.expression && a.opclass == b.opclass
        })
}

/// Whether a valid existing index already starts with `spec`'s keys.
fn covered_by_existing(snapshot: &Snapshot, spec: &IndexSpec) -> bool {
    snapshot
        .catalog
        .indexes
        .iter()
        .filter(|index| index.schema == spec.schema && index.table == spec.table && index.valid)
        .any(|index| existing_serves(index, spec))
}

fn existing_serves(index: &Index, spec: &IndexSpec) -> bool {
    index.method == spec.method
        && index.predicate.is_none()
        && index.keys.len() >= spec.keys.len()
        && index.keys.iter().zip(&spec.keys).all(|(have, want)| {
            let same_key = match &want.expression {
                None => have.column.as_deref() == Some(want.column.as_str()),
                Some(expression) => have.expression.as_deref().is_some_and(|e| {
                    e.replace([' ', '(', ')'], "") == expression.replace([' ', '(', ')'], "")
                }),
            };
            same_key && (want.opclass.is_none() || have.opclass == want.opclass)
        })
}

impl Action {
    pub(crate) fn into_recommendation(self, snapshot: &Snapshot) -> Recommendation {
        let severity = self
            .findings
            .iter()
            .map(|finding| finding.severity)
            .max()
            .unwrap_or(optidb_model::Severity::Info);
        let mut codes: Vec<String> = self.findings.iter().map(|f| f.code.clone()).collect();
        codes.sort();
        codes.dedup();
        let mut statements: Vec<i64> = self
            .findings
            .iter()
            .flat_map(|f| f.statements.clone())
            .collect();
        statements.sort_unstable();
        statements.dedup();
        // The table the action touches; findings may name others as
        // context (a foreign key's referenced table).
        let mut tables: Vec<String> = match &self.target {
            Target::CreateIndex(spec) => vec![format!("{}.{}", spec.schema, spec.table)],
            Target::Maintain { schema, table, .. } => vec![format!("{schema}.{table}")],
            Target::DropIndex { .. } => self
                .findings
                .iter()
                .flat_map(|f| f.tables.first().cloned())
                .collect(),
            _ => self
                .findings
                .iter()
                .flat_map(|f| f.tables.clone())
                .collect(),
        };
        tables.sort();
        tables.dedup();
        let (action, title, ddl, rollback) = self.sql(snapshot);
        let (confidence, basis) = confidence::of(&self);
        let id = format!(
            "R{:08x}",
            ddl::fnv1a(&format!("{title}|{}", ddl.as_deref().unwrap_or(""))) as u32
        );
        Recommendation {
            id,
            rank: 0,
            severity,
            action,
            rationale: rationale::of(&self, snapshot),
            risk: risk::of(&self, snapshot),
            estimated_savings_ms: confidence::savings_ms(&self, snapshot),
            title,
            ddl,
            rollback,
            confidence,
            confidence_basis: basis,
            codes,
            statements,
            tables,
            simulation: None,
        }
    }

    /// The action's kind, title, SQL and rollback SQL.
    fn sql(&self, snapshot: &Snapshot) -> (ActionKind, String, Option<String>, Option<String>) {
        match &self.target {
            Target::CreateIndex(spec) => {
                let name = ddl::index_name(spec);
                let mut sql = ddl::create_index(spec, &name);
                let needs_trgm = spec
                    .keys
                    .iter()
                    .any(|key| key.opclass.as_deref().is_some_and(|o| o.contains("trgm")));
                if needs_trgm
                    && !snapshot
                        .catalog
                        .extensions
                        .iter()
                        .any(|e| e.name == "pg_trgm")
                {
                    sql = format!("CREATE EXTENSION IF NOT EXISTS pg_trgm;\n{sql}");
                }
                (
                    ActionKind::CreateIndex,
                    format!(
                        "Create index on {}({})",
                        spec.table,
                        spec.key_list().join(", ")
                    ),
                    Some(format!("{sql};")),
                    Some(format!("{};", ddl::drop_index(&spec.schema, &name))),
                )
            }
            Target::DropIndex {
                schema,
                name,
                definition,
            } => (
                ActionKind::DropIndex,
                format!("Drop index {name}"),
                Some(format!("{};", ddl::drop_index(schema, name))),
                Some(format!("{};", ddl::recreate_index(definition))),
            ),
            Target::Maintain {
                schema,
                table,
                vacuum,
                analyze,
            } => {
                let qualified = ddl::qualified(schema, table);
                let (kind, verb, sql) = match (vacuum, analyze) {
                    (true, true) => (
                        ActionKind::Vacuum,
                        "Vacuum and analyze",
                        format!("VACUUM (ANALYZE) {qualified};"),
                    ),
                    (true, false) => (ActionKind::Vacuum, "Vacuum", format!("VACUUM {qualified};")),
                    _ => (
                        ActionKind::Analyze,
                        "Analyze",
                        format!("ANALYZE {qualified};"),
                    ),
                };
                // Neither has anything to undo: they refresh statistics and
                // reclaim space, changing no data or schema.
                (kind, format!("{verb} {table}"), Some(sql), None)
            }
            Target::WorkMem { kilobytes } => (
                ActionKind::Configure,
                format!(
                    "Give the spilling statement work_mem = {}",
                    megabytes(*kilobytes)
                ),
                None,
                None,
            ),
            Target::Rewrite { .. } => (
                ActionKind::Rewrite,
                self.findings
                    .first()
                    .map(|f| format!("Rewrite: {}", f.title))
                    .unwrap_or_default(),
                None,
                None,
            ),
            Target::Investigate { .. } => (
                ActionKind::Investigate,
                self.findings
                    .first()
                    .map(|f| format!("Investigate: {}", f.title))
                    .unwrap_or_default(),
                None,
                None,
            ),
        }
    }
}

/// `64MB`, `1GB`.
pub(crate) fn megabytes(kilobytes: u64) -> String {
    if kilobytes >= 1024 * 1024 && kilobytes.is_multiple_of(1024 * 1024) {
        format!("{}GB", kilobytes / (1024 * 1024))
    } else if kilobytes >= 1024 {
        format!("{}MB", kilobytes.div_ceil(1024))
    } else {
        format!("{kilobytes}kB")
    }
}
