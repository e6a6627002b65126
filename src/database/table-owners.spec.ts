import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import * as ts from 'typescript';
import { TABLE_OWNERS, tableOwner } from './table-owners';

/**
 * "A table has one owner": no SQL string, query-builder call or repository of a module names a table
 * (or an entity) that another module owns. Raw SQL shows no import, so this test is what makes the
 * rule visible.
 */

const SRC = join(__dirname, '..');
const ROOT = join(SRC, '..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** The owner folder of a source file: modules/<m> or common/<c>; undefined outside them. */
function folderOf(file: string): string | undefined {
  const parts = relative(SRC, file).split(sep);
  return (parts[0] === 'modules' || parts[0] === 'common') && parts.length > 2 ? `${parts[0]}/${parts[1]}` : undefined;
}

const SQL_STATEMENT = /\b(SELECT|INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE|LOCK\s+TABLE|CREATE|ALTER|DROP|COPY)\b/i;
const TABLE_REF = /\b(?:FROM|JOIN|INTO|UPDATE|TABLE|USING|TRUNCATE|OF)\s+(?:ONLY\s+)?(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(?:public\.)?"?([a-z_][a-z0-9_]*)"?/gi;
/** Query-builder and manager calls whose first argument is a table name. */
const BUILDER_CALLS = new Set(['from', 'into', 'update', 'delete', 'innerJoin', 'leftJoin', 'innerJoinAndSelect', 'leftJoinAndSelect', 'createQueryBuilder']);

export interface TableUse {
  line: number;
  table: string;
  how: string;
}

/** Tables named in one source file's SQL strings (the literal parts of template strings too) and query-builder calls. */
export function tablesNamedIn(source: string, fileName = 'file.ts'): TableUse[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  const uses: TableUse[] = [];
  const lineOf = (n: ts.Node) => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  const scanSql = (node: ts.Node, text: string) => {
    if (!SQL_STATEMENT.test(text)) return;
    // Quoted literals inside the SQL ('champion', pg_notify channels) are values, not tables.
    const sql = text.replace(/'(?:[^']|'')*'/g, "''");
    for (const m of sql.matchAll(TABLE_REF)) uses.push({ line: lineOf(node), table: m[1].toLowerCase(), how: `SQL …${m[0]}…` });
  };
  const visit = (node: ts.Node) => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) scanSql(node, node.text);
    else if (ts.isTemplateExpression(node)) scanSql(node, [node.head.text, ...node.templateSpans.map((s) => s.literal.text)].join(' ? '));
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && BUILDER_CALLS.has(node.expression.name.text)) {
      const [first] = node.arguments;
      if (first && (ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first)) && /^[a-z_][a-z0-9_]*$/.test(first.text)) {
        uses.push({ line: lineOf(node), table: first.text, how: `.${node.expression.name.text}('${first.text}')` });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return uses;
}

/** Classes decorated with @Entity, by class name: the file that declares them. */
function entityClasses(files: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of files) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    sf.forEachChild((n) => {
      if (ts.isClassDeclaration(n) && n.name && ts.getDecorators(n)?.some((d) => /^Entity\b/.test(d.expression.getText(sf)))) out.set(n.name.text, file);
    });
  }
  return out;
}

/** Entity classes passed as a value to any call (getRepository(X), InjectRepository(X), forFeature([X]), manager.find(X), createQueryBuilder(X, 'x')). */
export function entitiesUsedIn(source: string, entities: ReadonlySet<string>): { line: number; entity: string }[] {
  const sf = ts.createSourceFile('file.ts', source, ts.ScriptTarget.Latest, true);
  const uses: { line: number; entity: string }[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node)) {
      const args = node.arguments.flatMap((a) => (ts.isArrayLiteralExpression(a) ? [...a.elements] : [a]));
      for (const a of args) {
        if (ts.isIdentifier(a) && entities.has(a.text)) uses.push({ line: sf.getLineAndCharacterOfPosition(a.getStart(sf)).line + 1, entity: a.text });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return uses;
}

describe('table ownership', () => {
  const files = [...tsFiles(join(SRC, 'modules')), ...tsFiles(join(SRC, 'common'))];
  const known = new Set(Object.values(TABLE_OWNERS).flat());

  it('no module names a table another module owns in SQL or a query builder', () => {
    const violations: string[] = [];
    for (const file of files) {
      const folder = folderOf(file);
      for (const use of tablesNamedIn(readFileSync(file, 'utf8'), file)) {
        const owner = tableOwner(use.table);
        if (owner && owner !== folder) violations.push(`${relative(ROOT, file)}:${use.line} names ${use.table} (${use.how}), owned by src/${owner}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it("no module uses another module's entity for a repository or query", () => {
    const entities = entityClasses(files);
    const names = new Set(entities.keys());
    const violations: string[] = [];
    for (const file of files) {
      for (const use of entitiesUsedIn(readFileSync(file, 'utf8'), names)) {
        const owner = folderOf(entities.get(use.entity)!);
        if (owner !== folderOf(file)) violations.push(`${relative(ROOT, file)}:${use.line} uses ${use.entity}, owned by src/${owner}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('every entity lives in the folder that owns its table', () => {
    const wrong: string[] = [];
    for (const file of files) {
      for (const m of readFileSync(file, 'utf8').matchAll(/@Entity\(\{\s*name:\s*'([a-z_0-9]+)'/g)) {
        if (tableOwner(m[1]) !== folderOf(file))
          wrong.push(`${relative(ROOT, file)}: ${m[1]} is owned by ${tableOwner(m[1]) ?? 'nobody (add it to TABLE_OWNERS)'}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('every table the migrations create has exactly one owner', () => {
    const created = new Set<string>();
    for (const file of readdirSync(join(ROOT, 'migrations'))) {
      for (const m of readFileSync(join(ROOT, 'migrations', file), 'utf8').matchAll(/CREATE TABLE (?:IF NOT EXISTS )?"?([a-z_0-9]+)"?/g)) created.add(m[1]);
    }
    expect([...created].filter((t) => !known.has(t)).sort()).toEqual([]);
    const all = Object.values(TABLE_OWNERS).flat();
    expect(all.filter((t, i) => all.indexOf(t) !== i)).toEqual([]);
  });

  it('the scanner sees raw SQL, template SQL and query builders, and not prose or quoted values', () => {
    const tables = (src: string) => tablesNamedIn(src).map((u) => u.table);
    expect(tables("db.query('SELECT version FROM stage_transitions WHERE x = 1')")).toEqual(['stage_transitions']);
    expect(tables('db.query(`SELECT key FROM (SELECT 1 FROM predictions p JOIN outcomes o ON true WHERE a = ${x}) t`)')).toEqual(['predictions', 'outcomes']);
    expect(tables("qb.from('predictions', 'p')")).toEqual(['predictions']);
    expect(tables("m.query(`INSERT INTO audit_log (a) VALUES ($1)`); m.query('UPDATE canaries SET x = 1')")).toEqual(['audit_log', 'canaries']);
    expect(
      entitiesUsedIn(
        'tx.getRepository(StageTransitionEntity); @InjectRepository(CanaryEntity) x; TypeOrmModule.forFeature([A, CanaryEntity])',
        new Set(['StageTransitionEntity', 'CanaryEntity']),
      ).map((u) => u.entity),
    ).toEqual(['StageTransitionEntity', 'CanaryEntity', 'CanaryEntity']);
    expect(tables("throw new Error('could not read the predictions'); db.query(\"SELECT pg_notify('from outcomes', $1)\")")).toEqual([]);
  });
});
