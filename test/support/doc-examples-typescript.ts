/**
 * Compiles the TypeScript blocks of the docs (test/e2e/docs-examples.e2e-spec.ts describes the
 * markers and wrappers). One program holds every block, each as its own virtual module beside the
 * repository's package.json (so it is ESM, as in a Nest 12 app), which keeps the whole check to a
 * few seconds whatever the number of blocks.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import type { CodeBlock, ExampleFailure } from './markdown-blocks.js';

/** How a fragment is completed into a module before it is compiled. */
export type FragmentKind = 'module' | 'options';

/** What the HTML comment before a TypeScript block asks for. */
export interface FragmentMarker {
  readonly kind: FragmentKind;
  /** TypeScript declarations placed before the fragment: the application's own names it uses. */
  readonly given?: string;
}

const MARKER = /^fragment:\s*([\w-]+)\s*(?:;\s*given:\s*([\s\S]*))?$/;
const KINDS: readonly FragmentKind[] = ['module', 'options'];

/** The marker of a TypeScript block: undefined for a complete module, an Error when malformed. */
export function parseFragmentMarker(
  marker: string | undefined,
): FragmentMarker | undefined | Error {
  if (marker === undefined) return undefined;
  const match = MARKER.exec(marker);
  if (!match || !(KINDS as readonly string[]).includes(match[1]!)) {
    return new Error(
      `unknown marker <!-- ${marker} -->; a TypeScript block takes <!-- fragment: KIND -->` +
        ` or <!-- fragment: KIND; given: DECLARATIONS -->, KIND one of ${KINDS.join(', ')}`,
    );
  }
  const kind = match[1] as FragmentKind;
  return match[2] === undefined ? { kind } : { kind, given: match[2].trim() };
}

/** Nest's (and RxJS's) names that a fragment may use without importing them. */
const COMMON_NAMES: Readonly<Record<string, readonly string[]>> = {
  '@nestjs/common': [
    'Module',
    'Injectable',
    'Inject',
    'Global',
    'Controller',
    'Get',
    'Post',
    'Body',
    'Param',
    'Header',
    'Logger',
    'Scope',
    'UseGuards',
    'UsePipes',
    'UseInterceptors',
    'UseFilters',
    'ValidationPipe',
    'NotFoundException',
    'HttpException',
    'Catch',
    'type CanActivate',
    'type ExecutionContext',
    'type NestInterceptor',
    'type CallHandler',
    'type ExceptionFilter',
    'type ArgumentsHost',
    'type DynamicModule',
    'type OnModuleInit',
    'type OnModuleDestroy',
    'type OnApplicationBootstrap',
    'type BeforeApplicationShutdown',
    'type OnApplicationShutdown',
  ],
  '@nestjs/core': ['NestFactory', 'REQUEST'],
  '@nestjs/schedule': ['Cron', 'CronExpression', 'Interval', 'ScheduleModule'],
  '@nestjs/testing': ['Test', 'type TestingModule'],
  '@nestjs/microservices': [
    'ClientsModule',
    'ClientProxy',
    'MessagePattern',
    'EventPattern',
    'Ctx',
    'RpcException',
  ],
  '@nestjs/config': ['ConfigModule', 'ConfigService'],
  '@nestjs/terminus': ['HealthCheckService', 'HealthCheck', 'TerminusModule'],
  'prom-client': ['register', 'Registry'],
  '@opentelemetry/sdk-trace-node': [
    'NodeTracerProvider',
    'BatchSpanProcessor',
    'SimpleSpanProcessor',
    'ConsoleSpanExporter',
    'InMemorySpanExporter',
  ],
  'class-validator': ['IsString', 'IsInt', 'Min', 'MaxLength'],
  rxjs: ['Observable', 'filter', 'firstValueFrom', 'map'],
};

/** The compiler options of a strict Nest 12 application (see docs/development.md). */
function compilerOptions(paths: Record<string, string[]>): ts.CompilerOptions {
  return {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    moduleDetection: ts.ModuleDetectionKind.Force,
    lib: ['lib.es2023.d.ts'],
    types: ['node'],
    strict: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    isolatedModules: true,
    esModuleInterop: true,
    skipLibCheck: true,
    noEmit: true,
    paths,
  };
}

/**
 * The package's entry points as a user's compiler sees them: each subpath of package.json's
 * `exports` mapped to its built declarations (`dist/src/...d.ts`). Throws when they are missing or
 * older than a source file, since the check would then test an API that no longer exists.
 */
export function packageTypes(root: string): Record<string, string> {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    name: string;
    exports: Record<string, string | { types?: string }>;
  };
  const entries: Record<string, string> = {};
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    if (typeof target === 'string' || target.types === undefined) continue;
    entries[manifest.name + subpath.slice(1)] = join(root, target.types);
  }
  const newest = newestSource(join(root, 'src'));
  for (const file of Object.values(entries)) {
    let built: number;
    try {
      built = statSync(file).mtimeMs;
    } catch {
      throw new Error(`${file} is missing: run \`npm run build\` before this suite`);
    }
    if (built < newest.mtimeMs) {
      throw new Error(
        `${file} is older than ${newest.file}: run \`npm run build\` so the examples compile ` +
          'against the current API',
      );
    }
  }
  return entries;
}

function newestSource(dir: string): { file: string; mtimeMs: number } {
  let newest = { file: dir, mtimeMs: 0 };
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.spec.ts')) continue;
    const file = join(entry.parentPath, entry.name);
    const { mtimeMs } = statSync(file);
    if (mtimeMs > newest.mtimeMs) newest = { file, mtimeMs };
  }
  return newest;
}

/** A module being written: its lines, and for each the Markdown line it comes from. */
class VirtualModule {
  readonly lines: string[] = [];
  readonly origin: (number | undefined)[] = [];
  constructor(
    readonly path: string,
    readonly block: CodeBlock,
    readonly wrapper: string,
  ) {}
  /** Wrapper text: errors in it are reported at the fence. */
  add(text: string): void {
    for (const line of text.split('\n')) {
      this.lines.push(line);
      this.origin.push(undefined);
    }
  }
  /** Lines of the block, `from` included, `to` excluded. */
  addBlock(from = 0, to = this.block.lines.length): void {
    for (let i = from; i < to; i++) {
      this.lines.push(this.block.lines[i]!);
      this.origin.push(this.block.fenceLine + 1 + i);
    }
  }
  get text(): string {
    return this.lines.join('\n') + '\n';
  }
}

/**
 * Compiles every TypeScript block against the package's declarations (`types`, from
 * {@link packageTypes}) and returns what failed: the file, the Markdown line and the compiler's
 * message. An empty list means every example compiles.
 */
export function checkTypeScriptBlocks(
  blocks: readonly CodeBlock[],
  root: string,
  types: Record<string, string>,
): ExampleFailure[] {
  const options = compilerOptions(
    Object.fromEntries(Object.entries(types).map(([name, file]) => [name, [file]])),
  );
  const host = cachingHost(options, root);
  const failures: ExampleFailure[] = [];

  // The public names, read from the declarations themselves: nothing to keep in sync by hand.
  const entries = ts.createProgram({ rootNames: Object.values(types), options, host });
  const imports = publicImports(entries, types);

  const modules: VirtualModule[] = [];
  for (const block of blocks) {
    const marker = parseFragmentMarker(block.marker);
    if (marker instanceof Error) {
      failures.push({ file: block.file, line: block.fenceLine, message: marker.message });
      continue;
    }
    const path = join(
      root,
      '.docs-examples',
      `${block.file.replace(/\W/g, '_')}_${block.fenceLine}.ts`,
    );
    modules.push(
      wrap(new VirtualModule(path, block, marker?.kind ?? 'complete-module'), marker, imports),
    );
  }
  const virtual = new Map(modules.map(m => [m.path, m]));
  const getSourceFile = host.getSourceFile;
  host.getSourceFile = (file, language, ...rest) => {
    const module = virtual.get(file);
    return module
      ? ts.createSourceFile(file, module.text, language, true)
      : getSourceFile.call(host, file, language, ...rest);
  };
  const fileExists = host.fileExists;
  host.fileExists = file => virtual.has(file) || fileExists.call(host, file);
  const program = ts.createProgram({
    rootNames: [...virtual.keys()],
    options,
    host,
    oldProgram: entries,
  });

  for (const diagnostic of [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
  ]) {
    failures.push({ file: '(compiler)', line: 0, message: describe(diagnostic) });
  }
  for (const module of modules) {
    const source = program.getSourceFile(module.path)!;
    const diagnostics = [
      ...program.getSyntacticDiagnostics(source),
      ...program.getSemanticDiagnostics(source),
    ];
    for (const diagnostic of diagnostics) {
      const at = source.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line;
      const line = module.origin[at];
      failures.push({
        file: module.block.file,
        line: line ?? module.block.fenceLine,
        message:
          line === undefined
            ? `${describe(diagnostic)} (in the ${module.wrapper} wrapper)`
            : `${describe(diagnostic)}\n    ${module.lines[at]!.trim()}`,
      });
    }
  }
  return failures;
}

/** The block completed into a module, as its marker says. */
function wrap(
  module: VirtualModule,
  marker: FragmentMarker | undefined,
  imports: ReadonlyMap<string, { from: string; type: boolean }>,
): VirtualModule {
  if (marker === undefined) {
    module.addBlock();
    return module;
  }
  const own = topLevelNames([...module.block.lines, marker.given ?? ''].join('\n'));
  // A fragment that imports anything must import everything it uses: no preamble hides a gap.
  if (!own.hasImports) module.add(preamble(imports, own.names));
  if (marker.given) module.add(marker.given);
  if (marker.kind === 'module') {
    module.addBlock();
    return module;
  }
  // options: each entry that starts at column 0 (`discovery: ...`) is one alternative.
  const starts = module.block.lines
    .map((line, i) => (/^[A-Za-z_$][\w$]*\s*:/.test(line) ? i : -1))
    .filter(i => i >= 0);
  if (starts.length === 0) starts.push(0);
  starts.forEach((start, n) => {
    module.add('GenClusterModule.forRoot({');
    module.addBlock(n === 0 ? 0 : start, starts[n + 1] ?? module.block.lines.length);
    module.add('});');
  });
  return module;
}

function preamble(
  imports: ReadonlyMap<string, { from: string; type: boolean }>,
  taken: ReadonlySet<string>,
): string {
  const bySource = new Map<string, string[]>();
  for (const [name, { from, type }] of imports) {
    if (taken.has(name)) continue;
    bySource.set(from, [...(bySource.get(from) ?? []), type ? `type ${name}` : name]);
  }
  return [...bySource]
    .map(([from, names]) => `import { ${names.join(', ')} } from '${from}';`)
    .join('\n');
}

/** Every public name of the package's entries, then Nest's common ones; the first source wins. */
function publicImports(
  program: ts.Program,
  types: Record<string, string>,
): Map<string, { from: string; type: boolean }> {
  const checker = program.getTypeChecker();
  const imports = new Map<string, { from: string; type: boolean }>();
  for (const [from, file] of Object.entries(types)) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
    for (const symbol of checker.getExportsOfModule(module)) {
      if (imports.has(symbol.name)) continue;
      const target =
        symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      imports.set(symbol.name, { from, type: (target.flags & ts.SymbolFlags.Value) === 0 });
    }
  }
  for (const [from, names] of Object.entries(COMMON_NAMES)) {
    for (const entry of names) {
      const name = entry.replace(/^type /, '');
      if (!imports.has(name)) imports.set(name, { from, type: entry !== name });
    }
  }
  return imports;
}

/** The names a fragment declares at its top level (they shadow the preamble), and its imports. */
function topLevelNames(text: string): { names: Set<string>; hasImports: boolean } {
  const source = ts.createSourceFile('fragment.ts', text, ts.ScriptTarget.ES2022, true);
  const names = new Set<string>();
  let hasImports = false;
  const bind = (name: ts.BindingName | undefined) => {
    if (!name) return;
    if (ts.isIdentifier(name)) names.add(name.text);
    else
      for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name);
  };
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      hasImports = true;
      const clause = statement.importClause;
      if (clause?.name) names.add(clause.name.text);
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
      if (bindings && ts.isNamedImports(bindings))
        for (const e of bindings.elements) names.add(e.name.text);
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) bind(declaration.name);
    } else if (
      (ts.isClassDeclaration(statement) ||
        ts.isFunctionDeclaration(statement) ||
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        ts.isEnumDeclaration(statement)) &&
      statement.name
    ) {
      names.add(statement.name.text);
    }
  }
  return { names, hasImports };
}

function describe(diagnostic: ts.Diagnostic): string {
  return `TS${diagnostic.code}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
}

/** A compiler host that parses each library file once, for both programs. */
function cachingHost(options: ts.CompilerOptions, root: string): ts.CompilerHost {
  const host = ts.createCompilerHost(options, true);
  const cache = new Map<string, ts.SourceFile | undefined>();
  const getSourceFile = host.getSourceFile;
  host.getSourceFile = (file, language, ...rest) => {
    if (!cache.has(file)) cache.set(file, getSourceFile.call(host, file, language, ...rest));
    return cache.get(file);
  };
  // `types: ['node']` resolves from here, as from an application's tsconfig.json.
  host.getCurrentDirectory = () => root;
  return host;
}
