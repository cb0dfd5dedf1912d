//! `[sanitize]` checked alone: the preset is one replicate knows; each rule
//! names a table, sets columns to non-empty expressions or keeps rows by a
//! non-empty condition; no two rules name the same table; each login's
//! password comes from the environment.

use std::collections::BTreeMap;

use toml::Spanned;

use super::checker::Checker;
use crate::manifest::choices::Preset;
use crate::manifest::diagnostic::ManifestDiagnostic;
use crate::manifest::interpolate::references;
use crate::manifest::model::{Login, Rule, RuleSpans, Sanitize};
use crate::manifest::raw::{RawRule, RawSanitize};
use crate::postgres::Secret;

pub(super) fn read(cx: &mut Checker<'_>, raw: Option<&Spanned<RawSanitize>>) -> Option<Sanitize> {
    let raw = raw?;
    let preset = raw
        .get_ref()
        .preset
        .as_ref()
        .and_then(|p| cx.choice::<Preset>(p, "sanitize.preset"));
    let mut rules: Vec<Rule> = Vec::new();
    let mut seen: BTreeMap<String, std::ops::Range<usize>> = BTreeMap::new();
    for (index, raw_rule) in raw
        .get_ref()
        .rules
        .iter()
        .flat_map(|r| r.get_ref().iter())
        .enumerate()
    {
        let Some(rule) = rule(cx, raw_rule, index + 1) else {
            continue;
        };
        let key = rule.table.trim_matches('"').to_lowercase();
        if let Some(first) = seen.get(&key) {
            cx.push(
                ManifestDiagnostic::error(
                    "manifest::sanitize-duplicate",
                    &cx.file,
                    format!("two sanitize rules name the table `{}`", rule.table),
                )
                .with_label(first.clone(), "first rule")
                .with_label(rule.spans.table.clone(), "second rule")
                .with_help("merge them into one rule: its `set` may name several columns"),
            );
            continue;
        }
        seen.insert(key, rule.spans.table.clone());
        rules.push(rule);
    }
    let logins = raw
        .get_ref()
        .logins
        .iter()
        .flat_map(|l| l.get_ref())
        .filter_map(|(user, password)| login(cx, user, password))
        .collect();
    Some(Sanitize {
        preset,
        preset_span: raw.get_ref().preset.as_ref().map(Spanned::span),
        rules,
        logins,
        span: raw.span(),
    })
}

fn rule(cx: &mut Checker<'_>, raw: &Spanned<RawRule>, number: usize) -> Option<Rule> {
    let RawRule {
        table,
        set,
        keep,
        written,
    } = raw.get_ref();
    // `table` missing was reported while reading.
    let table_value = table.as_ref()?;
    let name = cx.non_empty(table_value, "the rule's table")?;
    let mut columns = Vec::new();
    let mut column_spans = BTreeMap::new();
    if let Some(set) = set {
        for (column, expr) in set.get_ref() {
            if column.trim().is_empty() {
                cx.push(
                    ManifestDiagnostic::error(
                        "manifest::empty",
                        &cx.file,
                        "a column name is empty",
                    )
                    .with_label(expr.span(), "set for an empty column name"),
                );
                continue;
            }
            if let Some(sql) = cx.non_empty(expr, &format!("the expression for `{column}`")) {
                columns.push((column.clone(), sql));
                column_spans.insert(column.clone(), expr.span());
            }
        }
    }
    let keep_sql = keep
        .as_ref()
        .and_then(|k| cx.non_empty(k, "the rule's `keep` condition"));
    // Only a rule written with nothing but its table does nothing; a `set`
    // or `keep` of the wrong type, or a misspelt key, was reported already.
    if written.iter().all(|k| k == "table") {
        let message = format!("the sanitize rule for `{name}` does nothing");
        cx.push(
            ManifestDiagnostic::error("manifest::sanitize-empty", &cx.file, message)
                .with_label(raw.span(), "no `set`, no `keep`")
                .with_help("add `set = { column = \"SQL expression\" }` to replace values, or `keep = \"SQL condition\"` to leave rows out (`\"false\"`: all)"),
        );
        return None;
    }
    if set.is_none() && keep.is_none() {
        return None;
    }
    Some(Rule {
        number,
        table: name,
        set: columns,
        keep: keep_sql,
        spans: RuleSpans {
            rule: raw.span(),
            table: table_value.span(),
            set: column_spans,
            keep: keep.as_ref().map(Spanned::span),
        },
    })
}

/// `user = "${VARIABLE}"`: a password written into the manifest itself
/// would sit in version control, so it must come from the environment.
fn login(cx: &mut Checker<'_>, user: &str, password: &Spanned<String>) -> Option<Login> {
    if user.trim().is_empty() {
        cx.push(
            ManifestDiagnostic::error("manifest::empty", &cx.file, "a login's username is empty")
                .with_label(password.span(), "the password of an empty username"),
        );
        return None;
    }
    let variables = references(password.get_ref());
    if variables.is_empty() {
        cx.push(
            ManifestDiagnostic::error(
                "manifest::login-password",
                &cx.file,
                format!("the password of `{user}` is written into the manifest"),
            )
            .with_label(password.span(), "not from the environment")
            .with_help(format!(
                "write `{user} = \"${{VARIABLE}}\"` and export VARIABLE when running replicate"
            )),
        );
        return None;
    }
    let value = cx.non_empty(password, "a login's password")?;
    Some(Login {
        user: user.to_owned(),
        password: Secret::new(value),
        variables,
        span: password.span(),
    })
}
