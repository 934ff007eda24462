//! A statement's kind, and PostgreSQL's command tag for utility statements.

use optidb_model::facts::StatementKind;
use pg_query::NodeEnum;
use pg_query::protobuf::{ObjectType, TransactionStmtKind, VariableSetKind};

/// The kind of the statement `node` is.
pub(super) fn statement_kind(node: &NodeEnum) -> StatementKind {
    match node {
        NodeEnum::SelectStmt(select) if select.into_clause.is_none() => StatementKind::Select,
        NodeEnum::InsertStmt(_) => StatementKind::Insert,
        NodeEnum::UpdateStmt(_) => StatementKind::Update,
        NodeEnum::DeleteStmt(_) => StatementKind::Delete,
        NodeEnum::MergeStmt(_) => StatementKind::Merge,
        other => StatementKind::Utility(utility_tag(other)),
    }
}

/// PostgreSQL's command tag for the common utility statements (what
/// `pg_stat_statements` users see), the parse node's name otherwise.
fn utility_tag(node: &NodeEnum) -> String {
    let tag = match node {
        NodeEnum::SelectStmt(_) => "SELECT INTO",
        NodeEnum::VariableSetStmt(set) => match VariableSetKind::try_from(set.kind) {
            Ok(VariableSetKind::VarReset | VariableSetKind::VarResetAll) => "RESET",
            _ => "SET",
        },
        NodeEnum::VariableShowStmt(_) => "SHOW",
        NodeEnum::TransactionStmt(transaction) => {
            match TransactionStmtKind::try_from(transaction.kind) {
                Ok(TransactionStmtKind::TransStmtBegin) => "BEGIN",
                Ok(TransactionStmtKind::TransStmtStart) => "START TRANSACTION",
                Ok(TransactionStmtKind::TransStmtCommit) => "COMMIT",
                Ok(
                    TransactionStmtKind::TransStmtRollback
                    | TransactionStmtKind::TransStmtRollbackTo,
                ) => "ROLLBACK",
                Ok(TransactionStmtKind::TransStmtSavepoint) => "SAVEPOINT",
                Ok(TransactionStmtKind::TransStmtRelease) => "RELEASE",
                Ok(TransactionStmtKind::TransStmtPrepare) => "PREPARE TRANSACTION",
                Ok(TransactionStmtKind::TransStmtCommitPrepared) => "COMMIT PREPARED",
                Ok(TransactionStmtKind::TransStmtRollbackPrepared) => "ROLLBACK PREPARED",
                _ => "TRANSACTION",
            }
        }
        NodeEnum::VacuumStmt(vacuum) if vacuum.is_vacuumcmd => "VACUUM",
        NodeEnum::VacuumStmt(_) => "ANALYZE",
        NodeEnum::ExplainStmt(_) => "EXPLAIN",
        NodeEnum::CopyStmt(_) => "COPY",
        NodeEnum::TruncateStmt(_) => "TRUNCATE TABLE",
        NodeEnum::LockStmt(_) => "LOCK TABLE",
        NodeEnum::CreateStmt(_) => "CREATE TABLE",
        NodeEnum::CreateTableAsStmt(create)
            if create.objtype == ObjectType::ObjectMatview as i32 =>
        {
            "CREATE MATERIALIZED VIEW"
        }
        NodeEnum::CreateTableAsStmt(_) => "CREATE TABLE AS",
        NodeEnum::IndexStmt(_) => "CREATE INDEX",
        NodeEnum::AlterTableStmt(_) => "ALTER TABLE",
        NodeEnum::DropStmt(drop) => match ObjectType::try_from(drop.remove_type) {
            Ok(ObjectType::ObjectTable) => "DROP TABLE",
            Ok(ObjectType::ObjectIndex) => "DROP INDEX",
            Ok(ObjectType::ObjectView) => "DROP VIEW",
            Ok(ObjectType::ObjectMatview) => "DROP MATERIALIZED VIEW",
            Ok(ObjectType::ObjectSequence) => "DROP SEQUENCE",
            Ok(ObjectType::ObjectSchema) => "DROP SCHEMA",
            Ok(ObjectType::ObjectFunction) => "DROP FUNCTION",
            _ => "DROP",
        },
        NodeEnum::ViewStmt(_) => "CREATE VIEW",
        NodeEnum::RefreshMatViewStmt(_) => "REFRESH MATERIALIZED VIEW",
        NodeEnum::CreateFunctionStmt(create) if create.is_procedure => "CREATE PROCEDURE",
        NodeEnum::CreateFunctionStmt(_) => "CREATE FUNCTION",
        NodeEnum::CreateSeqStmt(_) => "CREATE SEQUENCE",
        NodeEnum::CreateSchemaStmt(_) => "CREATE SCHEMA",
        NodeEnum::CreateExtensionStmt(_) => "CREATE EXTENSION",
        NodeEnum::CreateTrigStmt(_) => "CREATE TRIGGER",
        NodeEnum::CallStmt(_) => "CALL",
        NodeEnum::DoStmt(_) => "DO",
        NodeEnum::PrepareStmt(_) => "PREPARE",
        NodeEnum::ExecuteStmt(_) => "EXECUTE",
        NodeEnum::DeallocateStmt(_) => "DEALLOCATE",
        NodeEnum::DeclareCursorStmt(_) => "DECLARE CURSOR",
        NodeEnum::FetchStmt(fetch) if fetch.ismove => "MOVE",
        NodeEnum::FetchStmt(_) => "FETCH",
        NodeEnum::ClosePortalStmt(_) => "CLOSE CURSOR",
        NodeEnum::ListenStmt(_) => "LISTEN",
        NodeEnum::UnlistenStmt(_) => "UNLISTEN",
        NodeEnum::NotifyStmt(_) => "NOTIFY",
        NodeEnum::DiscardStmt(_) => "DISCARD",
        NodeEnum::CheckPointStmt(_) => "CHECKPOINT",
        NodeEnum::ReindexStmt(_) => "REINDEX",
        NodeEnum::ClusterStmt(_) => "CLUSTER",
        NodeEnum::GrantStmt(grant) if grant.is_grant => "GRANT",
        NodeEnum::GrantStmt(_) => "REVOKE",
        NodeEnum::CommentStmt(_) => "COMMENT",
        NodeEnum::AlterSystemStmt(_) => "ALTER SYSTEM",
        NodeEnum::ConstraintsSetStmt(_) => "SET CONSTRAINTS",
        other => return node_name(other),
    };
    tag.to_owned()
}

/// The parse node's name (`CreateRoleStmt`), from its `Debug` text: the
/// generated node enum has no name accessor. Only rare utility statements
/// get here.
fn node_name(node: &NodeEnum) -> String {
    let debug = format!("{node:?}");
    match debug.split_once('(') {
        Some((name, _)) => name.to_owned(),
        None => debug,
    }
}
