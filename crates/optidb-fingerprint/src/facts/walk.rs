//! The walk over a statement's parse tree: statements, query blocks,
//! `FROM` items and the clauses of each block. Predicates are classified
//! in `predicates.rs`, subqueries and CTEs recorded in `subqueries.rs`.

use optidb_model::facts::{
    ColumnExpr, ColumnFacts, NullsOrder, OrderKey, QueryFacts, RelationFacts, RelationKind,
    SetOperation as SetOp, SortDirection, StatementKind, SubqueryClause,
};
use pg_query::NodeEnum;
use pg_query::protobuf::{self as pb, Node, SetOperation, SortByDir, SortByNulls, a_const};

use super::scope::{RelationInfo, Scope};

/// Walks one statement and accumulates its facts.
pub(crate) struct Walker<'a> {
    pub(super) facts: QueryFacts,
    pub(super) scopes: Vec<Scope<'a>>,
    /// Parallel to `facts.relations`: what resolution needs, borrowed from
    /// the parse tree.
    pub(super) relation_info: Vec<RelationInfo<'a>>,
}

impl<'a> Walker<'a> {
    pub(crate) fn new(kind: StatementKind) -> Self {
        Walker {
            facts: QueryFacts::new(kind),
            scopes: Vec::with_capacity(4),
            relation_info: Vec::with_capacity(4),
        }
    }

    /// Walks a statement as a new block and returns the block's number.
    pub(super) fn statement(
        &mut self,
        node: &'a NodeEnum,
        parent: Option<u32>,
        barrier: bool,
        subquery: Option<usize>,
    ) -> u32 {
        match node {
            NodeEnum::SelectStmt(select) => self.select(select, parent, barrier, subquery),
            NodeEnum::InsertStmt(insert) => self.insert(insert, parent, barrier, subquery),
            NodeEnum::UpdateStmt(update) => self.update(update, parent, barrier, subquery),
            NodeEnum::DeleteStmt(delete) => self.delete(delete, parent, barrier, subquery),
            NodeEnum::MergeStmt(merge) => self.merge(merge, parent, barrier, subquery),
            _ => self.open_block(parent, barrier, subquery),
        }
    }

    pub(super) fn statement_node(
        &mut self,
        node: Option<&'a Node>,
        parent: Option<u32>,
        barrier: bool,
        subquery: Option<usize>,
    ) -> u32 {
        match node.and_then(|n| n.node.as_ref()) {
            Some(node) => self.statement(node, parent, barrier, subquery),
            None => self.open_block(parent, barrier, subquery),
        }
    }

    fn select(
        &mut self,
        select: &'a pb::SelectStmt,
        parent: Option<u32>,
        barrier: bool,
        subquery: Option<usize>,
    ) -> u32 {
        let block = self.open_block(parent, barrier, subquery);
        if let Some(with) = &select.with_clause {
            self.with_clause(with, block);
        }
        let operation = SetOperation::try_from(select.op).unwrap_or(SetOperation::SetopNone);
        let set_operation = match operation {
            SetOperation::SetopUnion => Some(if select.all {
                SetOp::UnionAll
            } else {
                SetOp::Union
            }),
            SetOperation::SetopIntersect => Some(if select.all {
                SetOp::IntersectAll
            } else {
                SetOp::Intersect
            }),
            SetOperation::SetopExcept => Some(if select.all {
                SetOp::ExceptAll
            } else {
                SetOp::Except
            }),
            SetOperation::Undefined | SetOperation::SetopNone => None,
        };
        if let Some(op) = set_operation {
            self.facts.set_operations.push(op);
            for branch in [&select.larg, &select.rarg].into_iter().flatten() {
                self.select(branch, Some(block), false, None);
            }
            self.set_operation_order_by(&select.sort_clause, block);
        } else {
            for values in &select.values_lists {
                self.expr(values, block, SubqueryClause::Assignment);
            }
            for item in &select.from_clause {
                self.register_from_item(item, block);
            }
            if let Some(condition) = select.where_clause.as_deref() {
                self.condition(condition, block, SubqueryClause::Where, false);
            }
            for target in &select.target_list {
                self.expr(target, block, SubqueryClause::SelectList);
            }
            for item in &select.group_clause {
                self.group_by_item(item, &select.target_list, block);
            }
            if let Some(having) = select.having_clause.as_deref() {
                // HAVING compares aggregates: no index serves it, so only its
                // functions and subqueries are of interest.
                self.expr(having, block, SubqueryClause::Having);
            }
            for window in &select.window_clause {
                self.expr(window, block, SubqueryClause::Other);
            }
            for item in &select.distinct_clause {
                self.expr(item, block, SubqueryClause::Other);
            }
            self.order_by(&select.sort_clause, &select.target_list, block);
        }
        for limit in [&select.limit_count, &select.limit_offset]
            .into_iter()
            .flatten()
        {
            self.expr(limit, block, SubqueryClause::Other);
        }
        if block == 0 {
            self.facts.distinct = !select.distinct_clause.is_empty();
            self.facts.limit = select.limit_count.is_some();
            self.facts.offset = select.limit_offset.is_some();
        }
        block
    }

    fn insert(
        &mut self,
        insert: &'a pb::InsertStmt,
        parent: Option<u32>,
        barrier: bool,
        subquery: Option<usize>,
    ) -> u32 {
        let block = self.open_block(parent, barrier, subquery);
        if let Some(with) = &insert.with_clause {
            self.with_clause(with, block);
        }
        if let Some(relation) = &insert.relation {
            self.range_var(relation, block, true);
        }
        // The SELECT (or VALUES) cannot see the target table.
        if insert.select_stmt.is_some() {
            self.statement_node(insert.select_stmt.as_deref(), Some(block), true, None);
        }
        if let Some(on_conflict) = insert.on_conflict_clause.as_deref() {
            for target in &on_conflict.target_list {
                self.expr(target, block, SubqueryClause::Other);
            }
            if let Some(condition) = on_conflict.where_clause.as_deref() {
                self.expr(condition, block, SubqueryClause::Other);
            }
        }
        self.returning(insert.returning_clause.as_ref(), block);
        block
    }

    fn update(
        &mut self,
        update: &'a pb::UpdateStmt,
        parent: Option<u32>,
        barrier: bool,
        subquery: Option<usize>,
    ) -> u32 {
        let block = self.open_block(parent, barrier, subquery);
        if let Some(with) = &update.with_clause {
            self.with_clause(with, block);
        }
        let target = update
            .relation
            .as_ref()
            .map(|relation| self.range_var(relation, block, true));
        for item in &update.from_clause {
            self.register_from_item(item, block);
        }
        if let Some(condition) = update.where_clause.as_deref() {
            self.condition(condition, block, SubqueryClause::Where, false);
        }
        self.assignments(&update.target_list, target, block);
        self.returning(update.returning_clause.as_ref(), block);
        block
    }

    fn delete(
        &mut self,
        delete: &'a pb::DeleteStmt,
        parent: Option<u32>,
        barrier: bool,
        subquery: Option<usize>,
    ) -> u32 {
        let block = self.open_block(parent, barrier, subquery);
        if let Some(with) = &delete.with_clause {
            self.with_clause(with, block);
        }
        if let Some(relation) = &delete.relation {
            self.range_var(relation, block, true);
        }
        for item in &delete.using_clause {
            self.register_from_item(item, block);
        }
        if let Some(condition) = delete.where_clause.as_deref() {
            self.condition(condition, block, SubqueryClause::Where, false);
        }
        self.returning(delete.returning_clause.as_ref(), block);
        block
    }

    fn merge(
        &mut self,
        merge: &'a pb::MergeStmt,
        parent: Option<u32>,
        barrier: bool,
        subquery: Option<usize>,
    ) -> u32 {
        let block = self.open_block(parent, barrier, subquery);
        if let Some(with) = &merge.with_clause {
            self.with_clause(with, block);
        }
        let target = merge
            .relation
            .as_ref()
            .map(|relation| self.range_var(relation, block, true));
        if let Some(source) = merge.source_relation.as_deref() {
            self.register_from_item(source, block);
        }
        if let Some(condition) = merge.join_condition.as_deref() {
            self.condition(condition, block, SubqueryClause::Join, false);
        }
        for clause in &merge.merge_when_clauses {
            let Some(NodeEnum::MergeWhenClause(when)) = clause.node.as_ref() else {
                continue;
            };
            if let Some(condition) = when.condition.as_deref() {
                self.condition(condition, block, SubqueryClause::Where, false);
            }
            if when.command_type == pb::CmdType::CmdUpdate as i32 {
                self.assignments(&when.target_list, target, block);
            } else {
                for target in &when.target_list {
                    self.expr(target, block, SubqueryClause::Assignment);
                }
            }
            for value in &when.values {
                self.expr(value, block, SubqueryClause::Assignment);
            }
        }
        self.returning(merge.returning_clause.as_ref(), block);
        block
    }

    /// `SET a = …, (b, c) = (…)`: records the assigned columns on the target.
    fn assignments(&mut self, targets: &'a [Node], relation: Option<u32>, block: u32) {
        for target in targets {
            if let (Some(NodeEnum::ResTarget(assignment)), Some(relation)) =
                (target.node.as_ref(), relation)
                && let Some(facts) = self.facts.relations.get_mut(relation as usize)
            {
                facts.updated_columns.push(assignment.name.clone());
            }
            self.expr(target, block, SubqueryClause::Assignment);
        }
    }

    fn returning(&mut self, returning: Option<&'a pb::ReturningClause>, block: u32) {
        let Some(returning) = returning else {
            return;
        };
        if returning.exprs.is_empty() {
            return;
        }
        self.facts.returning = true;
        for target in &returning.exprs {
            self.expr(target, block, SubqueryClause::Returning);
        }
    }

    /// Registers one `FROM` item (and, for joins, its conditions).
    pub(super) fn register_from_item(&mut self, item: &'a Node, block: u32) {
        match item.node.as_ref() {
            Some(NodeEnum::RangeVar(relation)) => {
                self.range_var(relation, block, false);
            }
            Some(NodeEnum::JoinExpr(join)) => {
                let start = self.facts.relations.len() as u32;
                if let Some(left) = join.larg.as_deref() {
                    self.register_from_item(left, block);
                }
                let middle = self.facts.relations.len() as u32;
                if let Some(right) = join.rarg.as_deref() {
                    self.register_from_item(right, block);
                }
                let end = self.facts.relations.len() as u32;
                for column in &join.using_clause {
                    if let Some(NodeEnum::String(name)) = column.node.as_ref() {
                        self.using_column(&name.sval, block, start..middle, middle..end);
                    }
                }
                if let Some(quals) = join.quals.as_deref() {
                    self.condition(quals, block, SubqueryClause::Join, false);
                }
            }
            Some(NodeEnum::RangeSubselect(derived)) => self.derived_table(derived, block),
            Some(NodeEnum::RangeFunction(function)) => {
                // Function arguments may reference earlier FROM items.
                let mut name = "";
                for entry in &function.functions {
                    if let Some(NodeEnum::List(list)) = entry.node.as_ref() {
                        if let Some(Some(NodeEnum::FuncCall(call))) =
                            list.items.first().map(|n| n.node.as_ref())
                            && name.is_empty()
                        {
                            name = last_name(&call.funcname);
                        }
                        for item in &list.items {
                            self.expr(item, block, SubqueryClause::From);
                        }
                    }
                }
                let mut columns = alias_columns(function.alias.as_ref());
                if columns.is_none() && !function.coldeflist.is_empty() {
                    columns = Some(
                        function
                            .coldeflist
                            .iter()
                            .filter_map(|c| match c.node.as_ref() {
                                Some(NodeEnum::ColumnDef(def)) => Some(def.colname.as_str()),
                                _ => None,
                            })
                            .collect(),
                    );
                }
                let alias = function.alias.as_ref().map(|a| a.aliasname.as_str());
                self.add_relation(
                    RelationKind::Function,
                    None,
                    name,
                    alias,
                    columns,
                    block,
                    false,
                );
            }
            Some(NodeEnum::RangeTableSample(sample)) => {
                if let Some(relation) = sample.relation.as_deref() {
                    self.register_from_item(relation, block);
                }
            }
            Some(NodeEnum::RangeTableFunc(function)) => {
                for expr in [&function.docexpr, &function.rowexpr].into_iter().flatten() {
                    self.expr(expr, block, SubqueryClause::From);
                }
                let alias = function.alias.as_ref().map(|a| a.aliasname.as_str());
                self.add_relation(
                    RelationKind::Function,
                    None,
                    "xmltable",
                    alias,
                    None,
                    block,
                    false,
                );
            }
            Some(NodeEnum::JsonTable(table)) => {
                let alias = table.alias.as_ref().map(|a| a.aliasname.as_str());
                self.add_relation(
                    RelationKind::Function,
                    None,
                    "json_table",
                    alias,
                    None,
                    block,
                    false,
                );
            }
            _ => {}
        }
    }

    /// Registers a table or CTE reference.
    pub(super) fn range_var(
        &mut self,
        relation: &'a pb::RangeVar,
        block: u32,
        target: bool,
    ) -> u32 {
        let schema = (!relation.schemaname.is_empty()).then_some(relation.schemaname.as_str());
        let alias = relation.alias.as_ref().map(|a| a.aliasname.as_str());
        let cte_columns = match schema {
            None => self
                .visible_cte(block, &relation.relname)
                .map(|cte| cte.columns.clone()),
            Some(_) => None,
        };
        let (kind, mut columns) = match cte_columns {
            Some(columns) => (RelationKind::Cte, columns),
            None => (RelationKind::Table, None),
        };
        if let Some(renamed) = alias_columns(relation.alias.as_ref()) {
            columns = Some(renamed);
        }
        self.add_relation(
            kind,
            schema,
            &relation.relname,
            alias,
            columns,
            block,
            target,
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn add_relation(
        &mut self,
        kind: RelationKind,
        schema: Option<&'a str>,
        name: &'a str,
        alias: Option<&'a str>,
        columns: Option<Vec<&'a str>>,
        block: u32,
        target: bool,
    ) -> u32 {
        let id = self.facts.relations.len() as u32;
        self.facts.relations.push(RelationFacts {
            id,
            block,
            kind,
            schema: schema.map(str::to_owned),
            name: name.to_owned(),
            alias: alias.map(str::to_owned),
            target,
            updated_columns: Vec::new(),
            columns: ColumnFacts::default(),
        });
        self.relation_info.push(RelationInfo {
            schema,
            name,
            alias,
            columns,
        });
        self.scopes[block as usize].relations.push(id);
        id
    }

    /// `ORDER BY` of a select core: keys attributed to their relations.
    fn order_by(&mut self, sort_clause: &'a [Node], target_list: &'a [Node], block: u32) {
        for (position, item) in sort_clause.iter().enumerate() {
            let Some(NodeEnum::SortBy(sort)) = item.node.as_ref() else {
                continue;
            };
            let Some(key) = sort.node.as_deref() else {
                continue;
            };
            let expr = output_expression(key, target_list);
            if let Some(side) = self.column_side(expr, block) {
                let key = OrderKey {
                    position: position as u32,
                    column: side.expr(),
                    direction: direction(sort.sortby_dir),
                    nulls: nulls(sort.sortby_nulls),
                };
                self.column_facts(side.relation).order_by.push(key);
            }
            // An output name was walked with the select list, and must not
            // be resolved against relations.
            if std::ptr::eq(expr, key) {
                self.expr(key, block, SubqueryClause::OrderBy);
            }
        }
    }

    /// `ORDER BY` of a set operation sorts output columns: recorded as
    /// unresolved, by name.
    fn set_operation_order_by(&mut self, sort_clause: &'a [Node], block: u32) {
        for (position, item) in sort_clause.iter().enumerate() {
            let Some(NodeEnum::SortBy(sort)) = item.node.as_ref() else {
                continue;
            };
            if let Some(NodeEnum::ColumnRef(column)) =
                sort.node.as_deref().and_then(|n| n.node.as_ref())
                && let Some(Some(NodeEnum::String(name))) =
                    column.fields.last().map(|f| f.node.as_ref())
            {
                self.facts.unresolved.order_by.push(OrderKey {
                    position: position as u32,
                    column: ColumnExpr::bare(name.sval.as_str()),
                    direction: direction(sort.sortby_dir),
                    nulls: nulls(sort.sortby_nulls),
                });
                continue;
            }
            if let Some(key) = sort.node.as_deref() {
                // Output columns only: nothing to resolve, but subqueries
                // and functions count.
                self.expr_without_columns(key, block);
            }
        }
    }

    fn group_by_item(&mut self, item: &'a Node, target_list: &'a [Node], block: u32) {
        if let Some(NodeEnum::GroupingSet(set)) = item.node.as_ref() {
            for item in &set.content {
                self.group_by_item(item, target_list, block);
            }
            return;
        }
        let expr = output_expression(item, target_list);
        if let Some(side) = self.column_side(expr, block) {
            let column = side.expr();
            self.column_facts(side.relation).group_by.push(column);
        }
        if std::ptr::eq(expr, item) {
            self.expr(item, block, SubqueryClause::GroupBy);
        }
    }

    /// The facts of `relation`, or the unresolved bucket.
    pub(super) fn column_facts(&mut self, relation: Option<u32>) -> &mut ColumnFacts {
        match relation.and_then(|r| self.facts.relations.get_mut(r as usize)) {
            Some(relation) => &mut relation.columns,
            None => &mut self.facts.unresolved,
        }
    }

    /// Walks an expression for what it holds besides predicates: column
    /// references (for correlation), function calls and subqueries.
    pub(super) fn expr(&mut self, node: &'a Node, block: u32, clause: SubqueryClause) {
        let Some(inner) = node.node.as_ref() else {
            return;
        };
        match inner {
            NodeEnum::ColumnRef(column) => {
                self.resolve(block, &column.fields);
            }
            NodeEnum::SubLink(sublink) => self.sublink(sublink, block, clause, false, false),
            NodeEnum::FuncCall(call) => {
                self.function_call(call);
                for arg in &call.args {
                    self.expr(arg, block, clause);
                }
                for order in &call.agg_order {
                    self.expr(order, block, clause);
                }
                if let Some(filter) = call.agg_filter.as_deref() {
                    self.expr(filter, block, clause);
                }
                if let Some(over) = call.over.as_deref() {
                    self.window_def(over, block, clause);
                }
            }
            NodeEnum::AExpr(expr) => {
                for side in [&expr.lexpr, &expr.rexpr].into_iter().flatten() {
                    self.expr(side, block, clause);
                }
            }
            NodeEnum::BoolExpr(expr) => self.exprs(&expr.args, block, clause),
            NodeEnum::List(list) => self.exprs(&list.items, block, clause),
            NodeEnum::ResTarget(target) => self.boxed(target.val.as_deref(), block, clause),
            NodeEnum::TypeCast(cast) => self.boxed(cast.arg.as_deref(), block, clause),
            NodeEnum::CollateClause(collate) => self.boxed(collate.arg.as_deref(), block, clause),
            NodeEnum::NullTest(test) => self.boxed(test.arg.as_deref(), block, clause),
            NodeEnum::BooleanTest(test) => self.boxed(test.arg.as_deref(), block, clause),
            NodeEnum::NamedArgExpr(arg) => self.boxed(arg.arg.as_deref(), block, clause),
            NodeEnum::SortBy(sort) => self.boxed(sort.node.as_deref(), block, clause),
            NodeEnum::MultiAssignRef(assign) => self.boxed(assign.source.as_deref(), block, clause),
            NodeEnum::CaseExpr(case) => {
                self.boxed(case.arg.as_deref(), block, clause);
                self.exprs(&case.args, block, clause);
                self.boxed(case.defresult.as_deref(), block, clause);
            }
            NodeEnum::CaseWhen(when) => {
                self.boxed(when.expr.as_deref(), block, clause);
                self.boxed(when.result.as_deref(), block, clause);
            }
            NodeEnum::CoalesceExpr(expr) => self.exprs(&expr.args, block, clause),
            NodeEnum::MinMaxExpr(expr) => self.exprs(&expr.args, block, clause),
            NodeEnum::RowExpr(expr) => self.exprs(&expr.args, block, clause),
            NodeEnum::AArrayExpr(array) => self.exprs(&array.elements, block, clause),
            NodeEnum::AIndirection(indirection) => {
                self.boxed(indirection.arg.as_deref(), block, clause);
                for step in &indirection.indirection {
                    if let Some(NodeEnum::AIndices(indices)) = step.node.as_ref() {
                        self.boxed(indices.lidx.as_deref(), block, clause);
                        self.boxed(indices.uidx.as_deref(), block, clause);
                    }
                }
            }
            NodeEnum::WindowDef(window) => self.window_def(window, block, clause),
            NodeEnum::GroupingSet(set) => self.exprs(&set.content, block, clause),
            NodeEnum::XmlExpr(xml) => {
                self.exprs(&xml.named_args, block, clause);
                self.exprs(&xml.args, block, clause);
            }
            _ => {}
        }
    }

    fn exprs(&mut self, nodes: &'a [Node], block: u32, clause: SubqueryClause) {
        for node in nodes {
            self.expr(node, block, clause);
        }
    }

    pub(super) fn boxed(&mut self, node: Option<&'a Node>, block: u32, clause: SubqueryClause) {
        if let Some(node) = node {
            self.expr(node, block, clause);
        }
    }

    fn window_def(&mut self, window: &'a pb::WindowDef, block: u32, clause: SubqueryClause) {
        self.exprs(&window.partition_clause, block, clause);
        self.exprs(&window.order_clause, block, clause);
        self.boxed(window.start_offset.as_deref(), block, clause);
        self.boxed(window.end_offset.as_deref(), block, clause);
    }

    /// Like [`Walker::expr`], for expressions over output columns, whose
    /// names must not be resolved against relations.
    fn expr_without_columns(&mut self, node: &'a Node, block: u32) {
        match node.node.as_ref() {
            Some(NodeEnum::ColumnRef(_)) | None => {}
            Some(NodeEnum::FuncCall(call)) => {
                self.function_call(call);
                for arg in &call.args {
                    self.expr_without_columns(arg, block);
                }
            }
            Some(NodeEnum::AExpr(expr)) => {
                for side in [&expr.lexpr, &expr.rexpr].into_iter().flatten() {
                    self.expr_without_columns(side, block);
                }
            }
            Some(NodeEnum::TypeCast(cast)) => {
                if let Some(arg) = cast.arg.as_deref() {
                    self.expr_without_columns(arg, block);
                }
            }
            Some(_) => self.expr(node, block, SubqueryClause::OrderBy),
        }
    }

    /// Records a function call: every call by name, aggregates and window
    /// functions apart.
    fn function_call(&mut self, call: &'a pb::FuncCall) {
        let name = function_name(&call.funcname);
        if call.over.is_some() {
            self.facts.window_functions.push(name.clone());
        } else if call.agg_star
            || call.agg_distinct
            || call.agg_filter.is_some()
            || call.agg_within_group
            || !call.agg_order.is_empty()
            || is_aggregate(last_name(&call.funcname))
        {
            self.facts.aggregates.push(name.clone());
        }
        self.facts.functions.push(name);
    }

    /// Sorts and deduplicates every list, and sets derived flags.
    pub(crate) fn finish(mut self) -> QueryFacts {
        fn tidy<T: Ord>(list: &mut Vec<T>) {
            list.sort();
            list.dedup();
        }
        // Parameter numbers sort last and do not make a predicate distinct:
        // `a = $1 OR a = $2` stays one equality on `a` (with `$1`), as it
        // was before the numbers were recorded.
        fn tidy_by<T: Ord>(list: &mut Vec<T>, same: impl Fn(&T, &T) -> bool) {
            list.sort();
            list.dedup_by(|later, kept| same(later, kept));
        }
        fn tidy_columns(facts: &mut ColumnFacts) {
            tidy_by(&mut facts.equality, |a, b| {
                (&a.column, a.value) == (&b.column, b.value)
            });
            tidy_by(&mut facts.range, |a, b| {
                (&a.column, a.op, a.value) == (&b.column, b.op, b.value)
            });
            tidy_by(&mut facts.in_list, |a, b| {
                (&a.column, a.negated, a.values) == (&b.column, b.negated, b.values)
            });
            tidy_by(&mut facts.like, |a, b| {
                (&a.column, a.case_insensitive, a.negated, a.leading_wildcard)
                    == (&b.column, b.case_insensitive, b.negated, b.leading_wildcard)
            });
            tidy(&mut facts.jsonb);
            tidy(&mut facts.null_tests);
            tidy(&mut facts.other);
            tidy(&mut facts.order_by);
            tidy(&mut facts.group_by);
        }
        let facts = &mut self.facts;
        for relation in &mut facts.relations {
            tidy_columns(&mut relation.columns);
            tidy(&mut relation.updated_columns);
        }
        tidy_columns(&mut facts.unresolved);
        tidy(&mut facts.joins);
        for subquery in &mut facts.subqueries {
            tidy(&mut subquery.correlated_columns);
            subquery.correlated = !subquery.correlated_columns.is_empty();
        }
        tidy(&mut facts.set_operations);
        tidy(&mut facts.functions);
        tidy(&mut facts.aggregates);
        tidy(&mut facts.window_functions);
        self.facts
    }
}

/// `ORDER BY 2` and `ORDER BY alias` (also in `GROUP BY`) name a select-list
/// entry: its expression stands for the key.
fn output_expression<'a>(key: &'a Node, target_list: &'a [Node]) -> &'a Node {
    let target_value = |target: &'a Node| match target.node.as_ref() {
        Some(NodeEnum::ResTarget(target)) => target.val.as_deref(),
        _ => None,
    };
    match key.node.as_ref() {
        Some(NodeEnum::AConst(constant)) => {
            if let Some(a_const::Val::Ival(position)) = &constant.val {
                let index = usize::try_from(position.ival - 1).ok();
                if let Some(value) = index
                    .and_then(|i| target_list.get(i))
                    .and_then(target_value)
                {
                    return value;
                }
            }
            key
        }
        Some(NodeEnum::ColumnRef(column)) if column.fields.len() == 1 => {
            let Some(NodeEnum::String(name)) = column.fields[0].node.as_ref() else {
                return key;
            };
            target_list
                .iter()
                .find_map(|target| match target.node.as_ref() {
                    Some(NodeEnum::ResTarget(target)) if target.name == name.sval => {
                        target.val.as_deref()
                    }
                    _ => None,
                })
                .unwrap_or(key)
        }
        _ => key,
    }
}

fn direction(value: i32) -> SortDirection {
    match SortByDir::try_from(value) {
        Ok(SortByDir::SortbyAsc) => SortDirection::Asc,
        Ok(SortByDir::SortbyDesc) => SortDirection::Desc,
        Ok(SortByDir::SortbyUsing) => SortDirection::Using,
        _ => SortDirection::Default,
    }
}

fn nulls(value: i32) -> NullsOrder {
    match SortByNulls::try_from(value) {
        Ok(SortByNulls::SortbyNullsFirst) => NullsOrder::First,
        Ok(SortByNulls::SortbyNullsLast) => NullsOrder::Last,
        _ => NullsOrder::Default,
    }
}

/// The columns `AS x(a, b)` gives a relation.
pub(super) fn alias_columns(alias: Option<&pb::Alias>) -> Option<Vec<&str>> {
    let alias = alias?;
    if alias.colnames.is_empty() {
        return None;
    }
    Some(
        alias
            .colnames
            .iter()
            .filter_map(|c| match c.node.as_ref() {
                Some(NodeEnum::String(s)) => Some(s.sval.as_str()),
                _ => None,
            })
            .collect(),
    )
}

/// The last part of a dotted name.
pub(super) fn last_name(name: &[Node]) -> &str {
    match name.last().and_then(|n| n.node.as_ref()) {
        Some(NodeEnum::String(s)) => &s.sval,
        _ => "",
    }
}

/// A function's name as written, without `pg_catalog.`.
fn function_name(name: &[Node]) -> String {
    let mut parts = name.iter().filter_map(|n| match n.node.as_ref() {
        Some(NodeEnum::String(s)) => Some(s.sval.as_str()),
        _ => None,
    });
    let Some(first) = parts.next() else {
        return String::new();
    };
    let mut out = String::new();
    match parts.next() {
        None => out.push_str(first),
        Some(second) => {
            if first != "pg_catalog" {
                out.push_str(first);
                out.push('.');
            }
            out.push_str(second);
            for part in parts {
                out.push('.');
                out.push_str(part);
            }
        }
    }
    out
}

/// Built-in aggregates, recognised by name (an aggregate call can also be
/// told by `*`, `DISTINCT`, `FILTER`, `WITHIN GROUP` or an inner `ORDER BY`).
fn is_aggregate(name: &str) -> bool {
    matches!(
        name,
        "count"
            | "sum"
            | "avg"
            | "min"
            | "max"
            | "array_agg"
            | "string_agg"
            | "json_agg"
            | "jsonb_agg"
            | "json_object_agg"
            | "jsonb_object_agg"
            | "json_agg_strict"
            | "jsonb_agg_strict"
            | "bool_and"
            | "bool_or"
            | "every"
            | "bit_and"
            | "bit_or"
            | "bit_xor"
            | "stddev"
            | "stddev_pop"
            | "stddev_samp"
            | "variance"
            | "var_pop"
            | "var_samp"
            | "corr"
            | "covar_pop"
            | "covar_samp"
            | "regr_avgx"
            | "regr_avgy"
            | "regr_count"
            | "regr_intercept"
            | "regr_r2"
            | "regr_slope"
            | "regr_sxx"
            | "regr_sxy"
            | "regr_syy"
            | "percentile_cont"
            | "percentile_disc"
            | "mode"
            | "xmlagg"
            | "range_agg"
            | "range_intersect_agg"
            | "any_value"
    )
}
