//! OPT008 n-plus-one (being written).

use optidb_model::{Finding, Severity};

use crate::{Context, Rule};

pub(crate) const RULE: Rule = Rule {
    code: "OPT008",
    name: "n-plus-one",
    default_severity: Severity::Warning,
    summary: "Not written yet.",
    doc: "## What\n\n## Why it matters\n\n## How it is detected\n\n## Example\n\n## How to silence\n",
    check,
};

fn check(_context: &Context) -> Vec<Finding> {
    Vec::new()
}
