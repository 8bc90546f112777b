import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import ts from 'typescript';
import { ImportRule, normalizeViolations, type ImportViolation } from './import-violation.js';

/** A source file by its repo-relative POSIX path, with its text. */
export interface SourceFile {
  readonly path: string;
  readonly text: string;
}

/** The pure zone of the kernel: it may import only itself. */
export const coreRoot = 'kernel/src/core';

const sourceExtension = /\.[cm]?[jt]sx?$/;

const isInside = (path: string, root: string): boolean => path === root || path.startsWith(`${root}/`);

/** Every comment in a file, found through the syntax tree so strings and regexes are never mistaken for one. */
function commentsOf(source: ts.SourceFile): string[] {
  const { text } = source;
  const seen = new Set<number>();
  const comments: string[] = [];
  const collect = (ranges: readonly ts.CommentRange[] | undefined): void => {
    for (const range of ranges ?? []) {
      if (seen.has(range.pos)) continue;
      seen.add(range.pos);
      comments.push(text.slice(range.pos, range.end));
    }
  };
  const visit = (node: ts.Node): void => {
    collect(ts.getLeadingCommentRanges(text, node.getFullStart()));
    collect(ts.getTrailingCommentRanges(text, node.getEnd()));
    for (const child of node.getChildren(source)) visit(child);
  };
  visit(source);
  return comments;
}

const restrictedRule = /(^|\/)no-restricted-/;

/**
 * Whether a comment switches a restricted rule off: an `eslint-disable*` directive that names one,
 * or names no rule at all (which disables every rule), or an inline `eslint` config that touches one.
 */
function disablesRestrictedRule(comment: string): boolean {
  const body = comment.startsWith('//') ? comment.slice(2) : comment.slice(2, -2);
  // ESLint reads a directive's rule list up to ` -- `, which starts the free-text reason.
  const directive = (body.split(/\s--\s|\s--$/)[0] ?? '').trim();
  const disable = /^eslint-disable(?:-line|-next-line)?(?:\s+([\s\S]*))?$/.exec(directive);
  if (disable !== null) {
    const rules = (disable[1] ?? '')
      .split(',')
      .map((rule) => rule.trim())
      .filter((rule) => rule !== '');
    return rules.length === 0 || rules.some((rule) => restrictedRule.test(rule));
  }
  return /^eslint\s/.test(directive) && /no-restricted-/.test(directive);
}

/** Every dynamic `import()` or `require()` whose specifier is not a literal, as written. */
function computedSpecifiers(source: ts.SourceFile): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isLoader =
        callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require');
      const argument = node.arguments[0];
      const literal =
        argument !== undefined && (ts.isStringLiteral(argument) || ts.isNoSubstitutionTemplateLiteral(argument));
      if (isLoader && !literal) found.push(node.getText(source).replace(/\s+/g, ' '));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/**
 * Checks kernel-core sources: every import, re-export, `import()`, `require()` and triple-slash
 * reference must stay inside `kernel/src/core`; no ambient types or libs; no computed specifiers;
 * no inline switch-off of a restricted lint rule. Lint catches most of this too, but lint can be
 * disabled by a comment and does not see dynamic imports; this check cannot be.
 */
export function checkCoreSources(files: readonly SourceFile[], root: string = coreRoot): ImportViolation[] {
  const violations: ImportViolation[] = [];
  for (const { path, text } of files) {
    const info = ts.preProcessFile(text, true, true);
    for (const { fileName: specifier } of info.importedFiles) {
      const escapes =
        !specifier.startsWith('.') || !isInside(posix.normalize(posix.join(posix.dirname(path), specifier)), root);
      if (escapes) violations.push({ rule: ImportRule.coreImportEscapes, where: path, module: specifier });
    }
    for (const { fileName } of info.referencedFiles) {
      if (!isInside(posix.normalize(posix.join(posix.dirname(path), fileName)), root)) {
        violations.push({ rule: ImportRule.coreReferenceDirective, where: path, module: `path=${fileName}` });
      }
    }
    for (const { fileName } of info.typeReferenceDirectives) {
      violations.push({ rule: ImportRule.coreReferenceDirective, where: path, module: `types=${fileName}` });
    }
    for (const { fileName } of info.libReferenceDirectives) {
      violations.push({ rule: ImportRule.coreReferenceDirective, where: path, module: `lib=${fileName}` });
    }

    const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
    for (const call of computedSpecifiers(source)) {
      violations.push({ rule: ImportRule.coreComputedSpecifier, where: path, module: call });
    }
    for (const comment of commentsOf(source)) {
      if (disablesRestrictedRule(comment)) {
        violations.push({ rule: ImportRule.coreLintDirective, where: path, module: comment.split('\n')[0] ?? '' });
      }
    }
  }
  return normalizeViolations(violations);
}

function listSources(absoluteDir: string): string[] {
  if (!existsSync(absoluteDir)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(absoluteDir, { withFileTypes: true })) {
    const path = join(absoluteDir, entry.name);
    if (entry.isDirectory()) found.push(...listSources(path));
    else if (sourceExtension.test(entry.name)) found.push(path);
  }
  return found;
}

/** Reads every source file under a repo folder (declaration files included), sorted by path. */
export function readSources(repo: string, folder: string = coreRoot): SourceFile[] {
  return listSources(join(repo, folder))
    .map((absolute) => ({
      path: relative(repo, absolute).split(sep).join(posix.sep),
      text: readFileSync(absolute, 'utf8'),
    }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
