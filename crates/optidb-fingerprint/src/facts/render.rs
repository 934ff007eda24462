//! Renders a predicate's column expression as SQL text without qualifiers
//! (`lower(u.email)` → `lower(email)`), ready for an expression index.
//!
//! Only the expression forms that appear around columns in practice are
//! rendered; anything else shows as `…` (and is then no usable DDL).

use std::fmt::Write as _;

use pg_query::NodeEnum;
use pg_query::protobuf::{self as pb, AExprKind, MinMaxOp, Node, SqlValueFunctionOp, a_const};

/// What stands for a part that cannot be rendered.
pub(crate) const UNRENDERED: &str = "…";

/// `node` as SQL text.
pub(crate) fn render(node: &Node) -> String {
    let mut out = String::new();
    write_node(&mut out, node);
    out
}

fn write_node(out: &mut String, node: &Node) {
    match node.node.as_ref() {
        Some(node) => write_enum(out, node),
        None => out.push_str(UNRENDERED),
    }
}

fn write_enum(out: &mut String, node: &NodeEnum) {
    match node {
        NodeEnum::ColumnRef(column) => match column.fields.last().and_then(|f| f.node.as_ref()) {
            Some(NodeEnum::String(name)) => write_ident(out, &name.sval),
            Some(NodeEnum::AStar(_)) => out.push('*'),
            _ => out.push_str(UNRENDERED),
        },
        NodeEnum::ParamRef(param) => {
            let _ = write!(out, "${}", param.number);
        }
        NodeEnum::AConst(constant) => write_const(out, constant),
        NodeEnum::TypeCast(cast) => {
            match cast.arg.as_deref() {
                Some(arg) if is_simple(arg) => write_node(out, arg),
                Some(arg) => {
                    out.push('(');
                    write_node(out, arg);
                    out.push(')');
                }
                None => out.push_str(UNRENDERED),
            }
            out.push_str("::");
            match &cast.type_name {
                Some(type_name) => write_type(out, type_name),
                None => out.push_str(UNRENDERED),
            }
        }
        NodeEnum::FuncCall(call) => {
            write_function_name(out, &call.funcname);
            out.push('(');
            if call.agg_star {
                out.push('*');
            }
            if call.agg_distinct {
                out.push_str("DISTINCT ");
            }
            write_list(out, &call.args);
            out.push(')');
            if call.over.is_some() {
                out.push_str(" OVER (");
                out.push_str(UNRENDERED);
                out.push(')');
            }
        }
        NodeEnum::NamedArgExpr(arg) => {
            write_ident(out, &arg.name);
            out.push_str(" => ");
            write_boxed(out, arg.arg.as_deref());
        }
        NodeEnum::AExpr(expr) if expr.kind == AExprKind::AexprOp as i32 => {
            if let Some(left) = expr.lexpr.as_deref() {
                write_operand(out, left);
                out.push(' ');
            }
            write_operator(out, &expr.name);
            out.push(' ');
            write_boxed_operand(out, expr.rexpr.as_deref());
        }
        NodeEnum::CoalesceExpr(expr) => {
            out.push_str("COALESCE(");
            write_list(out, &expr.args);
            out.push(')');
        }
        NodeEnum::MinMaxExpr(expr) => {
            out.push_str(if expr.op == MinMaxOp::IsLeast as i32 {
                "LEAST("
            } else {
                "GREATEST("
            });
            write_list(out, &expr.args);
            out.push(')');
        }
        NodeEnum::CollateClause(collate) => {
            write_boxed_operand(out, collate.arg.as_deref());
            out.push_str(" COLLATE ");
            let mut first = true;
            for part in &collate.collname {
                if !first {
                    out.push('.');
                }
                first = false;
                match part.node.as_ref() {
                    Some(NodeEnum::String(name)) => {
                        let _ = write!(out, "\"{}\"", name.sval.replace('"', "\"\""));
                    }
                    _ => out.push_str(UNRENDERED),
                }
            }
        }
        NodeEnum::AIndirection(indirection) => {
            out.push('(');
            write_boxed(out, indirection.arg.as_deref());
            out.push(')');
            for step in &indirection.indirection {
                match step.node.as_ref() {
                    Some(NodeEnum::AIndices(indices)) => {
                        out.push('[');
                        if let Some(lower) = indices.lidx.as_deref() {
                            write_node(out, lower);
                        }
                        if indices.is_slice {
                            out.push(':');
                        }
                        if let Some(upper) = indices.uidx.as_deref() {
                            write_node(out, upper);
                        }
                        out.push(']');
                    }
                    Some(NodeEnum::String(field)) => {
                        out.push('.');
                        write_ident(out, &field.sval);
                    }
                    _ => out.push_str(UNRENDERED),
                }
            }
        }
        NodeEnum::SqlvalueFunction(function) => out.push_str(sql_value_function(function.op)),
        _ => out.push_str(UNRENDERED),
    }
}

/// Nodes that need no parentheses before `::type`.
fn is_simple(node: &Node) -> bool {
    matches!(
        node.node,
        Some(
            NodeEnum::ColumnRef(_)
                | NodeEnum::ParamRef(_)
                | NodeEnum::AConst(_)
                | NodeEnum::FuncCall(_)
                | NodeEnum::TypeCast(_)
                | NodeEnum::CoalesceExpr(_)
        )
    )
}

fn write_operand(out: &mut String, node: &Node) {
    if let Some(NodeEnum::AExpr(_)) = node.node {
        out.push('(');
        write_node(out, node);
        out.push(')');
    } else {
        write_node(out, node);
    }
}

fn write_boxed_operand(out: &mut String, node: Option<&Node>) {
    match node {
        Some(node) => write_operand(out, node),
        None => out.push_str(UNRENDERED),
    }
}

fn write_boxed(out: &mut String, node: Option<&Node>) {
    match node {
        Some(node) => write_node(out, node),
        None => out.push_str(UNRENDERED),
    }
}

fn write_list(out: &mut String, nodes: &[Node]) {
    for (i, node) in nodes.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_node(out, node);
    }
}

fn write_operator(out: &mut String, name: &[Node]) {
    match name.last().and_then(|n| n.node.as_ref()) {
        Some(NodeEnum::String(op)) => out.push_str(&op.sval),
        _ => out.push_str(UNRENDERED),
    }
}

fn write_function_name(out: &mut String, name: &[Node]) {
    let mut first = true;
    for part in name {
        match part.node.as_ref() {
            Some(NodeEnum::String(s)) if first && s.sval == "pg_catalog" && name.len() > 1 => {
                continue;
            }
            Some(NodeEnum::String(s)) => {
                if !first {
                    out.push('.');
                }
                write_ident(out, &s.sval);
            }
            _ => out.push_str(UNRENDERED),
        }
        first = false;
    }
}

fn write_type(out: &mut String, type_name: &pb::TypeName) {
    let mut first = true;
    for part in &type_name.names {
        match part.node.as_ref() {
            Some(NodeEnum::String(s))
                if first && s.sval == "pg_catalog" && type_name.names.len() > 1 =>
            {
                continue;
            }
            Some(NodeEnum::String(s)) => {
                if !first {
                    out.push('.');
                }
                write_ident(out, &s.sval);
            }
            _ => out.push_str(UNRENDERED),
        }
        first = false;
    }
    for _ in &type_name.array_bounds {
        out.push_str("[]");
    }
}

fn write_const(out: &mut String, constant: &pb::AConst) {
    match &constant.val {
        _ if constant.isnull => out.push_str("NULL"),
        Some(a_const::Val::Ival(i)) => {
            let _ = write!(out, "{}", i.ival);
        }
        Some(a_const::Val::Fval(f)) => out.push_str(&f.fval),
        Some(a_const::Val::Boolval(b)) => out.push_str(if b.boolval { "true" } else { "false" }),
        Some(a_const::Val::Sval(s)) => {
            out.push('\'');
            out.push_str(&s.sval.replace('\'', "''"));
            out.push('\'');
        }
        Some(a_const::Val::Bsval(b)) => {
            // Stored as "b0101" or "x1F".
            let (prefix, digits) = b.bsval.split_at(b.bsval.len().min(1));
            let _ = write!(out, "{}'{digits}'", prefix.to_uppercase());
        }
        None => out.push_str("NULL"),
    }
}

/// Writes an identifier, double-quoted when PostgreSQL would need it.
fn write_ident(out: &mut String, name: &str) {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain {
        out.push_str(name);
    } else {
        let _ = write!(out, "\"{}\"", name.replace('"', "\"\""));
    }
}

fn sql_value_function(op: i32) -> &'static str {
    match SqlValueFunctionOp::try_from(op) {
        Ok(SqlValueFunctionOp::SvfopCurrentDate) => "CURRENT_DATE",
        Ok(SqlValueFunctionOp::SvfopCurrentTime | SqlValueFunctionOp::SvfopCurrentTimeN) => {
            "CURRENT_TIME"
        }
        Ok(
            SqlValueFunctionOp::SvfopCurrentTimestamp | SqlValueFunctionOp::SvfopCurrentTimestampN,
        ) => "CURRENT_TIMESTAMP",
        Ok(SqlValueFunctionOp::SvfopLocaltime | SqlValueFunctionOp::SvfopLocaltimeN) => "LOCALTIME",
        Ok(SqlValueFunctionOp::SvfopLocaltimestamp | SqlValueFunctionOp::SvfopLocaltimestampN) => {
            "LOCALTIMESTAMP"
        }
        Ok(SqlValueFunctionOp::SvfopCurrentRole) => "CURRENT_ROLE",
        Ok(SqlValueFunctionOp::SvfopCurrentUser) => "CURRENT_USER",
        Ok(SqlValueFunctionOp::SvfopUser) => "USER",
        Ok(SqlValueFunctionOp::SvfopSessionUser) => "SESSION_USER",
        Ok(SqlValueFunctionOp::SvfopCurrentCatalog) => "CURRENT_CATALOG",
        Ok(SqlValueFunctionOp::SvfopCurrentSchema) => "CURRENT_SCHEMA",
        _ => UNRENDERED,
    }
}
