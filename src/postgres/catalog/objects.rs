//! The catalog query's objects: one `SELECT` a kind, all of the same
//! shape (`kind, schema, table, name, arguments, definition, comment,
//! owner, grants`), joined into one statement. Each kind's definition is
//! what a copy must keep of it, printed by the server.

/// A schema of the application's: not PostgreSQL's own.
pub(super) const USER: &str = "n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'";

/// No extension made the object `oid` of catalog `class` (the catalog
/// holds the extension, which makes them again).
pub(super) fn own(class: &str, oid: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_depend xd WHERE xd.classid = '{class}'::regclass \
         AND xd.objid = {oid} AND xd.deptype = 'e')"
    )
}

/// The qualified name of the collation `oid` when it is not `default_oid`.
fn collation(oid: &str, default_oid: &str) -> String {
    format!(
        "CASE WHEN {oid} <> 0 AND {oid} <> {default_oid} THEN (SELECT ' collate ' || \
         quote_ident(cn.nspname) || '.' || quote_ident(co.collname) FROM pg_collation co \
         JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = {oid}) ELSE '' END"
    )
}

/// Every object but large objects, as rows of `kind, schema, table, name,
/// arguments, definition, comment, owner, grants`.
pub(super) fn objects_sql() -> String {
    let rel = own("pg_class", "c.oid");
    let column_collation = collation("a.attcollation", "ty.typcollation");
    let attribute_collation = &column_collation;
    let domain_collation = collation("t.typcollation", "bt.typcollation");
    let parts = [
        // Schemas.
        format!(
            "SELECT 'schema', '', NULL, n.nspname, NULL, '', obj_description(n.oid, 'pg_namespace'), \
             pg_get_userbyid(n.nspowner), coalesce(n.nspacl, acldefault('n', n.nspowner))::text FROM pg_namespace n WHERE {USER} AND {}",
            own("pg_namespace", "n.oid")
        ),
        // Extensions, with their schema; not their version: pg_dump's
        // `CREATE EXTENSION` names none, so the target's default is made.
        "SELECT 'extension', '', NULL, x.extname, NULL, \
         'in ' || quote_ident(n.nspname), \
         obj_description(x.oid, 'pg_extension'), NULL, NULL \
         FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace"
            .to_owned(),
        // Collations: every property but the library version and the
        // encoding (a collation made from a C locale takes the database's
        // when restored, as with pg_restore).
        format!(
            "SELECT 'collation', n.nspname, NULL, c.collname, NULL, \
             (to_jsonb(c) - 'oid' - 'collname' - 'collnamespace' - 'collowner' - 'collversion' - 'collencoding')::text, \
             obj_description(c.oid, 'pg_collation'), pg_get_userbyid(c.collowner), NULL \
             FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace WHERE {USER} AND {}",
            own("pg_collation", "c.oid")
        ),
        // Types: enums with their labels in order, composites with their
        // attributes, ranges with their subtype. Array and multirange
        // types, which PostgreSQL makes with their type, and tables' row
        // types are not listed apart.
        format!(
            "SELECT 'type', n.nspname, NULL, t.typname, NULL, CASE t.typtype \
             WHEN 'e' THEN 'enum (' || coalesce((SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '') || ')' \
             WHEN 'c' THEN 'composite (' || coalesce((SELECT string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) || {attribute_collation}, ', ' ORDER BY a.attnum) \
               FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '') || ')' \
             WHEN 'r' THEN (SELECT 'range of ' || format_type(r.rngsubtype, NULL) \
               || ' opclass ' || (SELECT quote_ident(oc.opcname) FROM pg_opclass oc WHERE oc.oid = r.rngsubopc) \
               || coalesce(' canonical ' || nullif(r.rngcanonical, 0)::regproc::text, '') \
               || coalesce(' subdiff ' || nullif(r.rngsubdiff, 0)::regproc::text, '') \
               FROM pg_range r WHERE r.rngtypid = t.oid) \
             ELSE 'base type input ' || t.typinput::regproc::text || ' output ' || t.typoutput::regproc::text END, \
             obj_description(t.oid, 'pg_type'), pg_get_userbyid(t.typowner), coalesce(t.typacl, acldefault('T', t.typowner))::text \
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE t.typtype IN ('b', 'c', 'e', 'r') AND {USER} AND {} \
             AND NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.classid = 'pg_type'::regclass AND i.objid = t.oid AND i.deptype = 'i') \
             AND (t.typrelid = 0 OR (SELECT k.relkind FROM pg_class k WHERE k.oid = t.typrelid) = 'c')",
            own("pg_type", "t.oid")
        ),
        // Domains, and their constraints apart.
        format!(
            "SELECT 'domain', n.nspname, NULL, t.typname, NULL, \
             format_type(t.typbasetype, t.typtypmod) || CASE WHEN t.typnotnull THEN ' not null' ELSE '' END \
             || coalesce(' default ' || t.typdefault, '') || {domain_collation}, \
             obj_description(t.oid, 'pg_type'), pg_get_userbyid(t.typowner), coalesce(t.typacl, acldefault('T', t.typowner))::text \
             FROM pg_type t JOIN pg_type bt ON bt.oid = t.typbasetype JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE t.typtype = 'd' AND {USER} AND {}",
            own("pg_type", "t.oid")
        ),
        format!(
            "SELECT 'domain-constraint', n.nspname, t.typname, k.conname, NULL, \
             pg_get_constraintdef(k.oid) || CASE WHEN k.convalidated THEN '' ELSE ' (not validated)' END, \
             obj_description(k.oid, 'pg_constraint'), NULL, NULL \
             FROM pg_constraint k JOIN pg_type t ON t.oid = k.contypid JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE k.contypid <> 0 AND {USER} AND {}",
            own("pg_type", "t.oid")
        ),
        // Functions, procedures, aggregates and window functions, by
        // their argument types.
        format!(
            "SELECT 'function', n.nspname, NULL, p.proname, pg_get_function_identity_arguments(p.oid), \
             CASE WHEN p.prokind = 'a' THEN 'aggregate returns ' || pg_get_function_result(p.oid) \
               || ' state ' || (SELECT format_type(g.aggtranstype, NULL) || ' ' \
               || (to_jsonb(g) - 'aggfnoid' - 'aggtranstype' - 'aggmtranstype' - 'aggsortop')::text \
               FROM pg_aggregate g WHERE g.aggfnoid = p.oid) \
             ELSE pg_get_functiondef(p.oid) END, \
             obj_description(p.oid, 'pg_proc'), pg_get_userbyid(p.proowner), coalesce(p.proacl, acldefault('f', p.proowner))::text \
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {USER} AND {}",
            own("pg_proc", "p.oid")
        ),
        // Tables (ordinary, partitioned, foreign): their columns (by name:
        // a restored child table has its inherited columns first, as with
        // pg_restore), their place among partitions and parents, what is
        // set on them.
        format!(
            "SELECT CASE c.relkind WHEN 'f' THEN 'foreign-table' ELSE 'table' END, n.nspname, NULL, c.relname, NULL, \
             concat_ws(E'\\n', \
               CASE WHEN c.relkind = 'p' THEN 'partitioned by ' || pg_get_partkeydef(c.oid) END, \
               CASE WHEN c.relispartition THEN 'partition of ' || (SELECT h.inhparent::regclass::text FROM pg_inherits h WHERE h.inhrelid = c.oid) || ' ' || pg_get_expr(c.relpartbound, c.oid) END, \
               CASE WHEN NOT c.relispartition THEN (SELECT 'inherits ' || string_agg(h.inhparent::regclass::text, ', ' ORDER BY h.inhseqno) FROM pg_inherits h WHERE h.inhrelid = c.oid) END, \
               CASE WHEN c.relpersistence = 'u' THEN 'unlogged' END, \
               CASE WHEN c.relrowsecurity THEN 'row level security' END, \
               CASE WHEN c.relforcerowsecurity THEN 'row level security forced' END, \
               'options ' || array_to_string(c.reloptions, ', '), \
               CASE WHEN c.relreplident <> 'd' THEN 'replica identity ' || c.relreplident::text END, \
               (SELECT string_agg('column ' || quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) \
                 || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END \
                 || CASE a.attidentity WHEN 'a' THEN ' generated always as identity' WHEN 'd' THEN ' generated by default as identity' ELSE '' END \
                 || CASE WHEN a.attgenerated <> '' THEN ' generated always as ' || pg_get_expr(d.adbin, d.adrelid) \
                         WHEN d.adbin IS NOT NULL THEN ' default ' || pg_get_expr(d.adbin, d.adrelid) ELSE '' END \
                 || {column_collation} \
                 || CASE WHEN a.attislocal THEN '' ELSE ' inherited' END \
                 || CASE WHEN a.attstorage <> ty.typstorage THEN ' storage ' || a.attstorage::text ELSE '' END \
                 || coalesce(' statistics ' || nullif(a.attstattarget, -1), '') \
                 || coalesce(' options ' || array_to_string(a.attoptions, ', '), '') \
                 || coalesce(' comment ' || quote_literal(col_description(c.oid, a.attnum)), ''), \
                 E'\\n' ORDER BY a.attname) \
                FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid \
                LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
                WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)), \
             obj_description(c.oid, 'pg_class'), pg_get_userbyid(c.relowner), {grants} \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p', 'f') AND {USER} AND {rel}",
            grants = relation_grants()
        ),
        // Views and materialized views: their query, and whether a
        // materialized view holds its rows.
        format!(
            "SELECT CASE c.relkind WHEN 'm' THEN 'materialized-view' ELSE 'view' END, n.nspname, NULL, c.relname, NULL, \
             CASE WHEN c.relkind = 'm' THEN CASE WHEN c.relispopulated THEN 'populated' ELSE 'not populated' END || E'\\n' ELSE '' END \
             || coalesce('options ' || array_to_string(c.reloptions, ', ') || E'\\n', '') || pg_get_viewdef(c.oid), \
             obj_description(c.oid, 'pg_class'), pg_get_userbyid(c.relowner), {grants} \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('v', 'm') AND {USER} AND {rel}",
            grants = relation_grants()
        ),
        // Sequences: their settings and the column that owns them.
        format!(
            "SELECT 'sequence', n.nspname, NULL, c.relname, NULL, \
             format_type(s.seqtypid, NULL) || ' start ' || s.seqstart || ' increment ' || s.seqincrement \
             || ' min ' || s.seqmin || ' max ' || s.seqmax || ' cache ' || s.seqcache \
             || CASE WHEN s.seqcycle THEN ' cycle' ELSE '' END \
             || CASE WHEN c.relpersistence = 'u' THEN ' unlogged' ELSE '' END \
             || coalesce((SELECT ' owned by ' || d.refobjid::regclass::text || '.' || quote_ident(a.attname) \
                  || CASE WHEN d.deptype = 'i' THEN ' (identity)' ELSE '' END \
                FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
                WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass \
                AND d.deptype IN ('a', 'i') LIMIT 1), ''), \
             obj_description(c.oid, 'pg_class'), pg_get_userbyid(c.relowner), coalesce(c.relacl, acldefault('s', c.relowner))::text \
             FROM pg_class c JOIN pg_sequence s ON s.seqrelid = c.oid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE {USER} AND {rel}"
        ),
        // Indexes, those behind constraints included.
        format!(
            "SELECT 'index', n.nspname, t.relname, c.relname, NULL, pg_get_indexdef(i.indexrelid) \
             || CASE WHEN i.indisclustered THEN ' (clustered)' ELSE '' END \
             || CASE WHEN NOT i.indisvalid THEN ' (invalid)' ELSE '' END \
             || CASE WHEN i.indisreplident THEN ' (replica identity)' ELSE '' END, \
             obj_description(c.oid, 'pg_class'), NULL, NULL \
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER} AND {}",
            own("pg_class", "t.oid")
        ),
        // Table constraints, valid or not; not the foreign keys PostgreSQL
        // clones for partitions (it makes them again with their parent).
        format!(
            "SELECT 'constraint', n.nspname, c.relname, k.conname, NULL, \
             k.contype::text || ' ' || pg_get_constraintdef(k.oid) || CASE WHEN k.convalidated THEN '' ELSE ' (not validated)' END, \
             obj_description(k.oid, 'pg_constraint'), NULL, NULL \
             FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE k.conrelid <> 0 AND NOT (k.contype = 'f' AND k.conparentid <> 0) AND {USER} AND {rel}"
        ),
        // Triggers, not those PostgreSQL makes for keys or clones for
        // partitions.
        format!(
            "SELECT 'trigger', n.nspname, c.relname, t.tgname, NULL, \
             pg_get_triggerdef(t.oid) || ' (enabled ' || t.tgenabled::text || ')', \
             obj_description(t.oid, 'pg_trigger'), NULL, NULL \
             FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE NOT t.tgisinternal AND {USER} AND {rel} \
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_trigger'::regclass AND d.objid = t.oid AND d.deptype = 'P')"
        ),
        // Rules, not the ones that make views.
        format!(
            "SELECT 'rule', n.nspname, c.relname, r.rulename, NULL, \
             pg_get_ruledef(r.oid) || ' (enabled ' || r.ev_enabled::text || ')', \
             obj_description(r.oid, 'pg_rewrite'), NULL, NULL \
             FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE r.rulename <> '_RETURN' AND {USER} AND {rel}"
        ),
        // Row level security policies.
        format!(
            "SELECT 'policy', n.nspname, c.relname, p.polname, NULL, \
             p.polcmd::text || CASE WHEN p.polpermissive THEN ' permissive' ELSE ' restrictive' END \
             || ' to ' || (SELECT string_agg(CASE WHEN r.role = 0 THEN 'public' ELSE quote_ident(pg_get_userbyid(r.role)) END, ', ' \
                ORDER BY CASE WHEN r.role = 0 THEN 'public' ELSE quote_ident(pg_get_userbyid(r.role)) END) FROM unnest(p.polroles) AS r(role)) \
             || coalesce(' using ' || pg_get_expr(p.polqual, p.polrelid), '') \
             || coalesce(' check ' || pg_get_expr(p.polwithcheck, p.polrelid), ''), \
             obj_description(p.oid, 'pg_policy'), NULL, NULL \
             FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE {USER} AND {rel}"
        ),
        // Extended statistics.
        format!(
            "SELECT 'statistics', n.nspname, NULL, s.stxname, NULL, pg_get_statisticsobjdef(s.oid), \
             obj_description(s.oid, 'pg_statistic_ext'), pg_get_userbyid(s.stxowner), NULL \
             FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace WHERE {USER} AND {}",
            own("pg_statistic_ext", "s.oid")
        ),
        // Event triggers and publications, outside schemas.
        format!(
            "SELECT 'event-trigger', '', NULL, e.evtname, NULL, \
             e.evtevent || ' ' || e.evtfoid::regproc::text || ' (enabled ' || e.evtenabled::text || ')' \
             || coalesce(' tags ' || array_to_string(e.evttags, ', '), ''), \
             obj_description(e.oid, 'pg_event_trigger'), pg_get_userbyid(e.evtowner), NULL \
             FROM pg_event_trigger e WHERE {}",
            own("pg_event_trigger", "e.oid")
        ),
        "SELECT 'publication', '', NULL, p.pubname, NULL, \
         (to_jsonb(p) - 'oid' - 'pubname' - 'pubowner')::text || ' tables ' \
         || coalesce((SELECT string_agg(r.prrelid::regclass::text, ', ' ORDER BY r.prrelid::regclass::text) \
            FROM pg_publication_rel r WHERE r.prpubid = p.oid), ''), \
         obj_description(p.oid, 'pg_publication'), pg_get_userbyid(p.pubowner), NULL \
         FROM pg_publication p"
            .to_owned(),
        // Casts and operators the application made.
        format!(
            "SELECT 'cast', '', NULL, format_type(c.castsource, NULL) || ' as ' || format_type(c.casttarget, NULL), NULL, \
             coalesce(nullif(c.castfunc, 0)::regprocedure::text, 'no function') || ' context ' || c.castcontext::text \
             || ' method ' || c.castmethod::text, obj_description(c.oid, 'pg_cast'), NULL, NULL \
             FROM pg_cast c WHERE c.oid >= 16384 AND {}",
            own("pg_cast", "c.oid")
        ),
        format!(
            "SELECT 'operator', n.nspname, NULL, o.oprname, \
             coalesce(format_type(nullif(o.oprleft, 0), NULL), 'none') || ', ' || coalesce(format_type(nullif(o.oprright, 0), NULL), 'none'), \
             o.oprcode::regproc::text || ' returns ' || format_type(o.oprresult, NULL) \
             || coalesce(' commutator ' || nullif(o.oprcom, 0)::regoperator::text, '') \
             || coalesce(' negator ' || nullif(o.oprnegate, 0)::regoperator::text, '') \
             || coalesce(' restrict ' || nullif(o.oprrest, 0)::regproc::text, '') \
             || coalesce(' join ' || nullif(o.oprjoin, 0)::regproc::text, '') \
             || CASE WHEN o.oprcanhash THEN ' hashes' ELSE '' END || CASE WHEN o.oprcanmerge THEN ' merges' ELSE '' END, \
             obj_description(o.oid, 'pg_operator'), pg_get_userbyid(o.oprowner), NULL \
             FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace WHERE {USER} AND {}",
            own("pg_operator", "o.oid")
        ),
        // Text search configurations and dictionaries.
        text_search(
            "configuration",
            "pg_ts_config",
            "cfg",
            "'parser ' || (SELECT quote_ident(pn.nspname) || '.' || quote_ident(p.prsname) FROM pg_ts_parser p JOIN pg_namespace pn ON pn.oid = p.prsnamespace WHERE p.oid = t.cfgparser) \
             || coalesce(' ' || (SELECT string_agg(m.maptokentype || ':' || m.mapdict::regdictionary::text, ' ' ORDER BY m.maptokentype, m.mapseqno) \
                FROM pg_ts_config_map m WHERE m.mapcfg = t.oid), '')",
        ),
        text_search(
            "dictionary",
            "pg_ts_dict",
            "dict",
            "'template ' || (SELECT quote_ident(tn.nspname) || '.' || quote_ident(tm.tmplname) FROM pg_ts_template tm JOIN pg_namespace tn ON tn.oid = tm.tmplnamespace WHERE tm.oid = t.dicttemplate) \
             || coalesce(' options ' || t.dictinitoption, '')",
        ),
        // Default privileges: grants, compared only when a copy keeps them.
        "SELECT 'default-privileges', coalesce(n.nspname, ''), NULL, pg_get_userbyid(d.defaclrole), \
         d.defaclobjtype::text, '', NULL, NULL, d.defaclacl::text \
         FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace"
            .to_owned(),
    ];
    parts.join("\nUNION ALL\n")
}

/// A relation's grants, its columns' included. Grants equal to the
/// defaults read as the defaults, written or not (a grant taken back
/// leaves them written on the source; a dump writes nothing for them).
/// A text search configuration's or dictionary's row: `kind`, read from
/// `catalog` (as `t`, whose columns start with `prefix`), described by
/// `detail`.
fn text_search(kind: &str, catalog: &str, prefix: &str, detail: &str) -> String {
    format!(
        "SELECT 'text-search', n.nspname, NULL, t.{prefix}name, '{kind}', {detail}, \
         obj_description(t.oid, '{catalog}'), pg_get_userbyid(t.{prefix}owner), NULL \
         FROM {catalog} t JOIN pg_namespace n ON n.oid = t.{prefix}namespace WHERE {USER} AND {}",
        own(catalog, "t.oid")
    )
}

fn relation_grants() -> &'static str {
    "concat_ws(' ', coalesce(c.relacl, acldefault('r', c.relowner))::text, \
     (SELECT string_agg(quote_ident(a.attname) || ' ' || a.attacl::text, ' ' ORDER BY a.attnum) \
     FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attacl IS NOT NULL AND a.attacl <> '{}' AND NOT a.attisdropped))"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postgres::catalog::Kind;

    #[test]
    fn every_kind_the_query_names_is_known() {
        let sql = objects_sql();
        for word in [
            "schema",
            "extension",
            "collation",
            "type",
            "domain",
            "domain-constraint",
            "function",
            "table",
            "foreign-table",
            "view",
            "materialized-view",
            "sequence",
            "index",
            "constraint",
            "trigger",
            "rule",
            "policy",
            "statistics",
            "event-trigger",
            "publication",
            "cast",
            "operator",
            "text-search",
            "default-privileges",
        ] {
            assert!(sql.contains(&format!("'{word}'")), "{word}");
            assert!(Kind::from_query(word).is_some(), "{word}");
        }
    }
}
