//! Predicates of `WHERE`, `JOIN … ON` and `MERGE … WHEN`: which column is
//! compared how, with what; join column pairs.

use std::ops::Range as Span;

use optidb_model::facts::{
    ColumnExpr, Equality, InList, InValues, JoinPair, JsonbOp, JsonbPredicate, Like, NullTest,
    Operand, OtherPredicate, Range, RangeOp, RelationColumn, SubqueryClause,
};
use pg_query::NodeEnum;
use pg_query::protobuf::{
    self as pb, AExprKind, BoolExprType, BoolTestType, Node, NullTestType, a_const,
};

use super::render::render;
use super::walk::{Walker, last_name};

/// The column side of a comparison: a column, bare or inside an expression
/// over columns of a single relation.
pub(super) struct Side<'a> {
    pub(super) relation: Option<u32>,
    pub(super) column: &'a str,
    pub(super) expression: Option<String>,
    /// The expression is a JSON field access (`data ->> 'kind'`).
    json_field: bool,
}

impl Side<'_> {
    pub(super) fn expr(&self) -> ColumnExpr {
        ColumnExpr {
            column: self.column.to_owned(),
            expression: self.expression.clone(),
        }
    }

    fn relation_column(&self) -> RelationColumn {
        RelationColumn {
            relation: self.relation,
            column: self.expr(),
        }
    }
}

/// What an expression holds: its column references, and whether it has a
/// subquery.
#[derive(Default)]
struct Contents<'a> {
    columns: Vec<&'a pb::ColumnRef>,
    sublink: bool,
}

fn scan<'a>(node: &'a Node, found: &mut Contents<'a>) {
    let Some(inner) = node.node.as_ref() else {
        return;
    };
    let all = |nodes: &'a [Node], found: &mut Contents<'a>| {
        for node in nodes {
            scan(node, found);
        }
    };
    match inner {
        NodeEnum::ColumnRef(column) => found.columns.push(column),
        NodeEnum::SubLink(_) => found.sublink = true,
        NodeEnum::TypeCast(cast) => scan_boxed(cast.arg.as_deref(), found),
        NodeEnum::FuncCall(call) => all(&call.args, found),
        NodeEnum::AExpr(expr) => {
            scan_boxed(expr.lexpr.as_deref(), found);
            scan_boxed(expr.rexpr.as_deref(), found);
        }
        NodeEnum::CoalesceExpr(expr) => all(&expr.args, found),
        NodeEnum::MinMaxExpr(expr) => all(&expr.args, found),
        NodeEnum::RowExpr(expr) => all(&expr.args, found),
        NodeEnum::AArrayExpr(array) => all(&array.elements, found),
        NodeEnum::List(list) => all(&list.items, found),
        NodeEnum::CollateClause(collate) => scan_boxed(collate.arg.as_deref(), found),
        NodeEnum::NamedArgExpr(arg) => scan_boxed(arg.arg.as_deref(), found),
        NodeEnum::AIndirection(indirection) => {
            scan_boxed(indirection.arg.as_deref(), found);
            for step in &indirection.indirection {
                if let Some(NodeEnum::AIndices(indices)) = step.node.as_ref() {
                    scan_boxed(indices.lidx.as_deref(), found);
                    scan_boxed(indices.uidx.as_deref(), found);
                }
            }
        }
        NodeEnum::CaseExpr(case) => {
            scan_boxed(case.arg.as_deref(), found);
            all(&case.args, found);
            scan_boxed(case.defresult.as_deref(), found);
        }
        NodeEnum::CaseWhen(when) => {
            scan_boxed(when.expr.as_deref(), found);
            scan_boxed(when.result.as_deref(), found);
        }
        NodeEnum::NullTest(test) => scan_boxed(test.arg.as_deref(), found),
        NodeEnum::BooleanTest(test) => scan_boxed(test.arg.as_deref(), found),
        NodeEnum::BoolExpr(expr) => all(&expr.args, found),
        _ => {}
    }
}

fn scan_boxed<'a>(node: Option<&'a Node>, found: &mut Contents<'a>) {
    if let Some(node) = node {
        scan(node, found);
    }
}

/// What a column is compared with.
fn operand(node: &Node) -> Operand {
    match node.node.as_ref() {
        Some(NodeEnum::ParamRef(_)) => Operand::Param,
        Some(NodeEnum::AConst(_)) => Operand::Constant,
        Some(NodeEnum::TypeCast(cast)) => cast.arg.as_deref().map_or(Operand::Expression, operand),
        Some(NodeEnum::SubLink(_)) => Operand::Subquery,
        Some(NodeEnum::ColumnRef(_)) => Operand::Column,
        _ => {
            let mut found = Contents::default();
            scan(node, &mut found);
            if found.sublink {
                Operand::Subquery
            } else if !found.columns.is_empty() {
                Operand::Column
            } else {
                Operand::Expression
            }
        }
    }
}

/// The number of a `$n` parameter, possibly cast (`$1::uuid`, `timestamptz
/// $1`): what real-mode simulation needs to give it a realistic value.
pub(super) fn param_number(node: &Node) -> Option<u32> {
    match node.node.as_ref()? {
        NodeEnum::ParamRef(param) => u32::try_from(param.number).ok(),
        NodeEnum::TypeCast(cast) => param_number(cast.arg.as_deref()?),
        _ => None,
    }
}

/// `data ->> 'kind'`, `(data -> 'a' ->> 'b')::int`: a JSON field access on
/// a column.
fn is_json_field(node: &Node) -> bool {
    match node.node.as_ref() {
        Some(NodeEnum::TypeCast(cast)) => cast.arg.as_deref().is_some_and(is_json_field),
        Some(NodeEnum::AExpr(expr)) if expr.kind == AExprKind::AexprOp as i32 => {
            matches!(last_name(&expr.name), "->>" | "->" | "#>>" | "#>")
                && expr.lexpr.as_deref().is_some_and(|left| {
                    matches!(left.node, Some(NodeEnum::ColumnRef(_))) || is_json_field(left)
                })
        }
        _ => false,
    }
}

/// Whether a `LIKE` pattern starts with a wildcard, when the text says.
fn leading_wildcard(pattern: &Node) -> Option<bool> {
    match pattern.node.as_ref()? {
        NodeEnum::AConst(constant) => match &constant.val {
            Some(a_const::Val::Sval(s)) => Some(s.sval.starts_with(['%', '_'])),
            _ => None,
        },
        NodeEnum::TypeCast(cast) => leading_wildcard(cast.arg.as_deref()?),
        // '%' || $1: the leftmost part decides.
        NodeEnum::AExpr(expr) if last_name(&expr.name) == "||" => {
            leading_wildcard(expr.lexpr.as_deref()?)
        }
        // concat('%', $1); LIKE … ESCAPE … wraps the pattern in like_escape().
        NodeEnum::FuncCall(call)
            if matches!(last_name(&call.funcname), "concat" | "like_escape") =>
        {
            leading_wildcard(call.args.first()?)
        }
        _ => None,
    }
}

/// The operator with its operands swapped.
fn flip(op: &str) -> &str {
    match op {
        "<" => ">",
        ">" => "<",
        "<=" => ">=",
        ">=" => "<=",
        other => other,
    }
}

/// The operator under `NOT`.
fn negate(op: &str) -> &str {
    match op {
        "=" => "<>",
        "<>" | "!=" => "=",
        "<" => ">=",
        "<=" => ">",
        ">" => "<=",
        ">=" => "<",
        other => other,
    }
}

fn jsonb_op(op: &str) -> Option<JsonbOp> {
    Some(match op {
        "@>" => JsonbOp::Contains,
        "<@" => JsonbOp::ContainedBy,
        "?" => JsonbOp::KeyExists,
        "?|" => JsonbOp::AnyKeyExists,
        "?&" => JsonbOp::AllKeysExist,
        "@?" => JsonbOp::PathExists,
        "@@" => JsonbOp::PathMatch,
        _ => return None,
    })
}

impl<'a> Walker<'a> {
    /// The column side of `node`, resolved in `block`.
    pub(super) fn column_side(&mut self, node: &'a Node, block: u32) -> Option<Side<'a>> {
        match node.node.as_ref()? {
            NodeEnum::ColumnRef(column) => {
                let resolved = self.resolve(block, &column.fields)?;
                Some(Side {
                    relation: resolved.relation,
                    column: resolved.column,
                    expression: None,
                    json_field: false,
                })
            }
            NodeEnum::TypeCast(_)
            | NodeEnum::FuncCall(_)
            | NodeEnum::AExpr(_)
            | NodeEnum::CoalesceExpr(_)
            | NodeEnum::MinMaxExpr(_)
            | NodeEnum::CollateClause(_)
            | NodeEnum::AIndirection(_) => {
                let mut found = Contents::default();
                scan(node, &mut found);
                if found.sublink {
                    return None;
                }
                let mut side: Option<(Option<u32>, &'a str)> = None;
                for column in found.columns {
                    let resolved = self.resolve(block, &column.fields)?;
                    match side {
                        None => side = Some((resolved.relation, resolved.column)),
                        Some((relation, name)) => {
                            let same = match relation {
                                Some(_) => relation == resolved.relation,
                                None => resolved.relation.is_none() && name == resolved.column,
                            };
                            if !same {
                                return None;
                            }
                        }
                    }
                }
                let (relation, column) = side?;
                Some(Side {
                    relation,
                    column,
                    expression: Some(render(node)),
                    json_field: is_json_field(node),
                })
            }
            _ => None,
        }
    }

    /// Walks a boolean condition, recording its predicates.
    pub(super) fn condition(
        &mut self,
        node: &'a Node,
        block: u32,
        clause: SubqueryClause,
        negated: bool,
    ) {
        let Some(inner) = node.node.as_ref() else {
            return;
        };
        match inner {
            NodeEnum::BoolExpr(expr) => {
                let negated = negated ^ (expr.boolop == BoolExprType::NotExpr as i32);
                for arg in &expr.args {
                    self.condition(arg, block, clause, negated);
                }
            }
            NodeEnum::AExpr(expr) => {
                self.predicate(expr, block, negated);
                self.expr(node, block, clause);
            }
            NodeEnum::NullTest(test) => {
                if let Some(side) = test
                    .arg
                    .as_deref()
                    .and_then(|arg| self.column_side(arg, block))
                {
                    let is_not_null = test.nulltesttype == NullTestType::IsNotNull as i32;
                    let entry = NullTest {
                        column: side.expr(),
                        negated: is_not_null ^ negated,
                    };
                    self.column_facts(side.relation).null_tests.push(entry);
                }
                self.expr(node, block, clause);
            }
            NodeEnum::SubLink(sublink) => self.sublink(sublink, block, clause, negated, true),
            NodeEnum::ColumnRef(_) => {
                // `WHERE active`, `WHERE NOT deleted`: a boolean column
                // compared with a constant.
                if let Some(side) = self.column_side(node, block) {
                    let entry = Equality {
                        column: side.expr(),
                        value: Operand::Constant,
                        param: None,
                    };
                    self.column_facts(side.relation).equality.push(entry);
                }
            }
            NodeEnum::BooleanTest(test) => {
                if let Some(side) = test
                    .arg
                    .as_deref()
                    .and_then(|arg| self.column_side(arg, block))
                {
                    let operator =
                        match (BoolTestType::try_from(test.booltesttype), negated) {
                            (Ok(BoolTestType::IsTrue), false)
                            | (Ok(BoolTestType::IsNotTrue), true) => "IS TRUE",
                            (Ok(BoolTestType::IsNotTrue), false)
                            | (Ok(BoolTestType::IsTrue), true) => "IS NOT TRUE",
                            (Ok(BoolTestType::IsFalse), false)
                            | (Ok(BoolTestType::IsNotFalse), true) => "IS FALSE",
                            (Ok(BoolTestType::IsNotFalse), false)
                            | (Ok(BoolTestType::IsFalse), true) => "IS NOT FALSE",
                            (Ok(BoolTestType::IsUnknown), false)
                            | (Ok(BoolTestType::IsNotUnknown), true) => "IS UNKNOWN",
                            _ => "IS NOT UNKNOWN",
                        };
                    self.push_other(&side, operator.to_owned());
                }
                self.expr(node, block, clause);
            }
            _ => self.expr(node, block, clause),
        }
    }

    fn predicate(&mut self, expr: &'a pb::AExpr, block: u32, negated: bool) {
        let Some(left) = expr.lexpr.as_deref() else {
            return; // a prefix operator
        };
        let Some(right) = expr.rexpr.as_deref() else {
            return;
        };
        let op = last_name(&expr.name);
        let Ok(kind) = AExprKind::try_from(expr.kind) else {
            return;
        };
        match kind {
            AExprKind::AexprOp => match op {
                "=" | "<>" | "!=" | "<" | "<=" | ">" | ">=" => {
                    self.comparison(left, right, op, negated, block)
                }
                "~~" | "~~*" | "!~~" | "!~~*" => self.like(left, right, op, negated, block),
                _ if jsonb_op(op).is_some() => self.jsonb(left, right, op, negated, block),
                _ => self.other_comparison(left, right, op, negated, block),
            },
            AExprKind::AexprOpAny | AExprKind::AexprOpAll => {
                let any = kind == AExprKind::AexprOpAny;
                let is_in = any && op == "=";
                let not_in = !any && (op == "<>" || op == "!=");
                if is_in || not_in {
                    if let Some(side) = self.column_side(left, block) {
                        let (values, params) = match right.node.as_ref() {
                            Some(NodeEnum::AArrayExpr(array)) => (
                                InValues::List(array.elements.len() as u32),
                                array.elements.iter().filter_map(param_number).collect(),
                            ),
                            _ => (InValues::Array, param_number(right).into_iter().collect()),
                        };
                        self.push_in(&side, not_in ^ negated, values, params);
                    }
                } else {
                    let operator = format!("{op} {}", if any { "ANY" } else { "ALL" });
                    self.other_comparison(left, right, &operator, negated, block);
                }
            }
            AExprKind::AexprIn => {
                if let Some(side) = self.column_side(left, block) {
                    let (len, params) = match right.node.as_ref() {
                        Some(NodeEnum::List(list)) => (
                            list.items.len() as u32,
                            list.items.iter().filter_map(param_number).collect(),
                        ),
                        _ => (1, param_number(right).into_iter().collect()),
                    };
                    let negated = (op == "<>") ^ negated;
                    self.push_in(&side, negated, InValues::List(len), params);
                }
            }
            AExprKind::AexprLike | AExprKind::AexprIlike => {
                self.like(left, right, op, negated, block)
            }
            AExprKind::AexprSimilar => {
                let operator = if op.starts_with('!') {
                    "NOT SIMILAR TO"
                } else {
                    "SIMILAR TO"
                };
                self.other_comparison(left, right, operator, negated, block);
            }
            AExprKind::AexprBetween
            | AExprKind::AexprBetweenSym
            | AExprKind::AexprNotBetween
            | AExprKind::AexprNotBetweenSym => {
                let not_between = matches!(
                    kind,
                    AExprKind::AexprNotBetween | AExprKind::AexprNotBetweenSym
                );
                let Some(side) = self.column_side(left, block) else {
                    return;
                };
                if not_between ^ negated {
                    self.push_other(&side, "NOT BETWEEN".to_owned());
                } else {
                    let (value, param, upper_param) = match right.node.as_ref() {
                        Some(NodeEnum::List(list)) => (
                            list.items.first().map_or(Operand::Expression, operand),
                            list.items.first().and_then(param_number),
                            list.items.get(1).and_then(param_number),
                        ),
                        _ => (Operand::Expression, None, None),
                    };
                    let params = (param, upper_param);
                    self.push_range(&side, RangeOp::Between, value, params);
                }
            }
            AExprKind::AexprDistinct | AExprKind::AexprNotDistinct => {
                let distinct = (kind == AExprKind::AexprDistinct) ^ negated;
                let operator = if distinct {
                    "IS DISTINCT FROM"
                } else {
                    "IS NOT DISTINCT FROM"
                };
                self.other_comparison(left, right, operator, false, block);
            }
            AExprKind::AexprNullif | AExprKind::Undefined => {}
        }
    }

    fn comparison(&mut self, left: &'a Node, right: &'a Node, op: &str, negated: bool, block: u32) {
        let op = if negated { negate(op) } else { op };
        let op = if op == "!=" { "<>" } else { op };
        let left_side = self.column_side(left, block);
        let right_side = self.column_side(right, block);
        match (left_side, right_side) {
            (Some(a), Some(b)) if a.relation.is_some() && a.relation == b.relation => {
                self.push_other(&a, op.to_owned());
            }
            (Some(a), Some(b)) => {
                self.push_join(a.relation_column(), b.relation_column(), op);
                self.push_comparison(&a, op, Operand::Column, None);
                self.push_comparison(&b, flip(op), Operand::Column, None);
            }
            (Some(a), None) => self.push_comparison(&a, op, operand(right), param_number(right)),
            (None, Some(b)) => {
                self.push_comparison(&b, flip(op), operand(left), param_number(left))
            }
            (None, None) => {}
        }
    }

    fn push_comparison(&mut self, side: &Side<'a>, op: &str, value: Operand, param: Option<u32>) {
        if side.json_field {
            let entry = JsonbPredicate {
                column: side.expr(),
                op: JsonbOp::Field,
            };
            self.column_facts(side.relation).jsonb.push(entry);
        }
        let range = match op {
            "=" => {
                let entry = Equality {
                    column: side.expr(),
                    value,
                    param,
                };
                self.column_facts(side.relation).equality.push(entry);
                return;
            }
            "<" => RangeOp::Lt,
            "<=" => RangeOp::Le,
            ">" => RangeOp::Gt,
            ">=" => RangeOp::Ge,
            _ => {
                self.push_other(side, op.to_owned());
                return;
            }
        };
        self.push_range(side, range, value, (param, None));
    }

    /// `params`: the value's parameter number, and for `BETWEEN` the upper
    /// bound's.
    fn push_range(
        &mut self,
        side: &Side<'a>,
        op: RangeOp,
        value: Operand,
        params: (Option<u32>, Option<u32>),
    ) {
        let (param, upper_param) = params;
        let entry = Range {
            column: side.expr(),
            op,
            value,
            param,
            upper_param,
        };
        self.column_facts(side.relation).range.push(entry);
    }

    fn push_in(&mut self, side: &Side<'a>, negated: bool, values: InValues, params: Vec<u32>) {
        let entry = InList {
            column: side.expr(),
            negated,
            values,
            params,
        };
        self.column_facts(side.relation).in_list.push(entry);
    }

    fn push_other(&mut self, side: &Side<'a>, operator: String) {
        let entry = OtherPredicate {
            column: side.expr(),
            operator,
        };
        self.column_facts(side.relation).other.push(entry);
    }

    /// Records a join pair, the lower relation id on the left.
    fn push_join(&mut self, a: RelationColumn, b: RelationColumn, op: &str) {
        let key =
            |side: &RelationColumn| (side.relation.is_none(), side.relation, side.column.clone());
        let (left, right, operator) = if key(&b) < key(&a) {
            (b, a, flip(op))
        } else {
            (a, b, op)
        };
        self.facts.joins.push(JoinPair {
            left,
            right,
            operator: operator.to_owned(),
        });
    }

    fn like(&mut self, left: &'a Node, right: &'a Node, op: &str, negated: bool, block: u32) {
        let Some(side) = self.column_side(left, block) else {
            return;
        };
        let entry = Like {
            column: side.expr(),
            case_insensitive: op.contains('*'),
            negated: op.starts_with('!') ^ negated,
            leading_wildcard: leading_wildcard(right),
            param: param_number(right),
        };
        self.column_facts(side.relation).like.push(entry);
    }

    fn jsonb(&mut self, left: &'a Node, right: &'a Node, op: &str, negated: bool, block: u32) {
        let Some(jsonb) = jsonb_op(op) else {
            return;
        };
        if negated {
            self.other_comparison(left, right, op, true, block);
            return;
        }
        if let Some(side) = self.column_side(left, block) {
            let entry = JsonbPredicate {
                column: side.expr(),
                op: jsonb,
            };
            self.column_facts(side.relation).jsonb.push(entry);
            return;
        }
        // `$1 <@ tags` is `tags @> $1`.
        let swapped = match jsonb {
            JsonbOp::Contains => JsonbOp::ContainedBy,
            JsonbOp::ContainedBy => JsonbOp::Contains,
            _ => return,
        };
        if let Some(side) = self.column_side(right, block) {
            let entry = JsonbPredicate {
                column: side.expr(),
                op: swapped,
            };
            self.column_facts(side.relation).jsonb.push(entry);
        }
    }

    /// A comparison that fits no class: recorded as written, on the left
    /// column if there is one, else on the right one.
    fn other_comparison(
        &mut self,
        left: &'a Node,
        right: &'a Node,
        op: &str,
        negated: bool,
        block: u32,
    ) {
        let side = match self.column_side(left, block) {
            Some(side) => side,
            None => match self.column_side(right, block) {
                Some(side) => side,
                None => return,
            },
        };
        let operator = if negated {
            format!("NOT {op}")
        } else {
            op.to_owned()
        };
        self.push_other(&side, operator);
    }

    /// `a JOIN b USING (column)`.
    pub(super) fn using_column(
        &mut self,
        column: &'a str,
        block: u32,
        left: Span<u32>,
        right: Span<u32>,
    ) {
        let pick = |walker: &Self, span: Span<u32>| {
            let mut candidates = span.filter(|&id| {
                walker.facts.relations[id as usize].block == block
                    && walker.relation_info[id as usize].may_have(column)
            });
            match (candidates.next(), candidates.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        };
        let sides = [pick(self, left), pick(self, right)].map(|relation| Side {
            relation,
            column,
            expression: None,
            json_field: false,
        });
        let [a, b] = sides;
        self.push_join(a.relation_column(), b.relation_column(), "=");
        self.push_comparison(&a, "=", Operand::Column, None);
        self.push_comparison(&b, "=", Operand::Column, None);
    }
}
