using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Runtime;

namespace JitVm.Hosting;

/// <summary>
/// Links modules to each other by name (spec/execution.md §2.1). Each module is defined under a module name; an
/// import written <c>NAME.FUNCTION</c> whose <c>NAME</c> is a defined module calls that module's exported function
/// <c>FUNCTION</c>, and every other import is a host function; an imported global <c>NAME.GLOBAL</c> is that
/// module's exported global <c>GLOBAL</c>, the same cell. <see cref="Instantiate"/> makes one isolate holding
/// an instance of the main module and of every module it reaches through such imports, each instance once, with its
/// own globals, all sharing the isolate's heap, fuel and limits.
/// </summary>
/// <remarks>A linker only records modules; it can be used from several threads once its definitions are made, and
/// the isolates it creates are independent. Imports that form a cycle between modules are a <see cref="LinkException"/>:
/// instances are created dependencies first, so a cycle has no order to create them in.</remarks>
public sealed class Linker
{
    private readonly Dictionary<string, Module> _modules = new(StringComparer.Ordinal);
    private readonly Engine? _engine;

    /// <summary>Creates a linker with no modules; isolates it makes take their default options and logging from
    /// <paramref name="engine"/> when one is given (as <see cref="Engine.CreateIsolate"/> does).</summary>
    public Linker(Engine? engine = null) => _engine = engine;

    /// <summary>The modules defined so far, by module name.</summary>
    public IReadOnlyDictionary<string, Module> Modules => _modules;

    /// <summary>Defines <paramref name="module"/> under <paramref name="name"/>, so imports <c>name.FUNCTION</c>
    /// resolve to its exported functions. Returns this linker.</summary>
    /// <exception cref="ArgumentException">The name is empty, holds a <c>.</c>, or is already defined.</exception>
    public Linker Define(string name, Module module)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(module);
        if (name.Length == 0 || name.Contains(Separator, StringComparison.Ordinal))
            throw new ArgumentException($"a module name must be non-empty and hold no '{Separator}': {Printable.Quote(name)}", nameof(name));
        if (!_modules.TryAdd(name, module)) throw new ArgumentException($"module {Printable.Quote(name)} is already defined", nameof(name));
        return this;
    }

    /// <summary>
    /// Creates an isolate running <paramref name="main"/>: the defined modules it imports from (directly or through
    /// other modules) are instantiated first, each once; every import that names no defined module is linked to
    /// <paramref name="hostFunctions"/> by name, in every module.
    /// </summary>
    /// <exception cref="LinkException">The imports between modules form a cycle; a module lacks an exported function an
    /// import names or provides it with another signature; a module lacks an exported global an import names, or it
    /// has another type, or no module of the global import's name is defined; an import is both a host function and a module's; or a
    /// host function is missing.</exception>
    public Isolate Instantiate(Module main, IEnumerable<HostFunction>? hostFunctions = null, IsolateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(main);
        var chosen = options ?? _engine?.Options.IsolateDefaults ?? new IsolateOptions();
        if (_engine is not null && chosen.Logger is Microsoft.Extensions.Logging.Abstractions.NullLogger && chosen.LoggerFactory is null)
            chosen = chosen with { LoggerFactory = _engine.Options.LoggerFactory };
        return new Isolate(main, Order(main), hostFunctions is null ? [] : [.. hostFunctions], chosen);
    }

    /// <summary>The separator between the module name and the function name in an import's name.</summary>
    public const string Separator = ".";

    /// <summary>The module and function an import name <c>MODULE.FUNCTION</c> names (split at the first
    /// <see cref="Separator"/>), or null when it has none or either part is empty.</summary>
    internal static (string Module, string Function)? SplitImport(string importName)
    {
        var at = importName.IndexOf(Separator, StringComparison.Ordinal);
        return at <= 0 || at == importName.Length - 1 ? null : (importName[..at], importName[(at + 1)..]);
    }

    /// <summary>The link for import <paramref name="importName"/> of <paramref name="importer"/>: exported function
    /// <paramref name="exportName"/> of <paramref name="provider"/>, whose signature must be <paramref name="wanted"/>.</summary>
    internal static Instance.Link ResolveExport(ModuleDefinition importer, string importName, FunctionType wanted, string moduleName,
        string exportName, Instance provider)
    {
        var where = $"{importer.SourceName ?? "module"}: import {Printable.Quote(importName)}";
        var target = provider.Module.Definition;
        var defined = -1;
        for (var i = 0; i < target.Functions.Count && defined < 0; i++)
            if (target.Functions[i].Name == exportName) defined = i;
        if (defined < 0)
            throw new LinkException($"{where}: module {Printable.Quote(moduleName)} ({target.SourceName ?? "module"}) has no function {Printable.Quote(exportName)}" +
                                    (target.Imports.Any(m => m.Name == exportName) ? " (it imports one of that name, which it cannot pass on)" : ""));
        if (!target.Functions[defined].Exported)
            throw new LinkException($"{where}: function {Printable.Quote(exportName)} of module {Printable.Quote(moduleName)} is not exported (declare it with 'export')");
        var index = target.Imports.Count + defined;
        var provided = target.SignatureOf(index);
        if (!provided.Equals(wanted))
            throw new LinkException($"{where} is declared as {wanted} but module {Printable.Quote(moduleName)} provides {provided}");
        return new Instance.Link(provider, index);
    }

    /// <summary>The exporter's instance and cell for imported global <paramref name="import"/> of
    /// <paramref name="importer"/>: exported global <c>GLOBAL</c> of the linked module <c>MODULE</c> its name
    /// <c>MODULE.GLOBAL</c> names, of exactly the import's type. Globals come only from modules, never from the host.</summary>
    internal static (Instance Owner, int Cell) ResolveGlobalExport(ModuleDefinition importer, GlobalImportDefinition import,
        IReadOnlyDictionary<string, Instance>? modules)
    {
        var where = $"{importer.SourceName ?? "module"}: import global {Printable.Quote(import.Name)} {import.Type.Name()}";
        // The verifier accepted the name, so it has the form MODULE.GLOBAL.
        var (moduleName, exportName) = SplitImport(import.Name)!.Value;
        if (modules is null || !modules.TryGetValue(moduleName, out var provider))
            throw new LinkException($"{where}: no module {Printable.Quote(moduleName)} is linked (globals are imported only from modules given to a Linker, or with jitvm run --module)");
        var target = provider.Module.Definition;
        var defined = -1;
        for (var i = 0; i < target.Globals.Count && defined < 0; i++)
            if (target.Globals[i].Name == exportName) defined = i;
        if (defined < 0)
            throw new LinkException($"{where}: module {Printable.Quote(moduleName)} ({target.SourceName ?? "module"}) has no global {Printable.Quote(exportName)}" +
                                    (target.GlobalImports.Any(g => g.Name == exportName) ? " (it imports one of that name, which it cannot pass on)" : ""));
        var global = target.Globals[defined];
        if (!global.Exported)
            throw new LinkException($"{where}: global {Printable.Quote(exportName)} of module {Printable.Quote(moduleName)} is not exported (declare it with 'export')");
        if (global.Type != import.Type)
            throw new LinkException($"{where}: the import expects {import.Type.Name()} but module {Printable.Quote(moduleName)} exports {Printable.Quote(exportName)} as {global.Type.Name()}");
        return (provider, defined);
    }

    /// <summary>The defined modules <paramref name="main"/> reaches, dependencies before the modules importing
    /// them (a depth-first post-order), each once; a cycle is a <see cref="LinkException"/> naming its path.</summary>
    private List<(string Name, Module Module)> Order(Module main)
    {
        var order = new List<(string, Module)>();
        var done = new HashSet<string>(StringComparer.Ordinal);
        var path = new List<string>();
        // An explicit stack of (module name or null for main, next import to look at): module graphs come from
        // files a user names, and a long chain must not overflow the .NET stack.
        var stack = new Stack<(string? Name, Module Module, int Next)>();
        stack.Push((null, main, 0));
        while (stack.Count > 0)
        {
            var (name, module, next) = stack.Pop();
            // The function imports, then the global imports: both make the exporting module a dependency.
            var imports = module.Definition.Imports;
            var globalImports = module.Definition.GlobalImports;
            string? dependency = null;
            while (next < imports.Count + globalImports.Count && dependency is null)
            {
                var importName = next < imports.Count ? imports[next].Name : globalImports[next - imports.Count].Name;
                if (SplitImport(importName) is var (wanted, _) && _modules.ContainsKey(wanted) && !done.Contains(wanted)) dependency = wanted;
                next++;
            }
            if (dependency is null)
            {
                if (name is not null)
                {
                    done.Add(name);
                    order.Add((name, module));
                    path.RemoveAt(path.Count - 1);
                }
                continue;
            }
            stack.Push((name, module, next));
            if (path.Contains(dependency) || _modules[dependency] == main)
            {
                // Either the dependency is on the path already, or it is the main module, where the path starts.
                var start = path.IndexOf(dependency);
                IEnumerable<string> cycle = start >= 0 ? path.Skip(start).Append(dependency) : [dependency, .. path, dependency];
                throw new LinkException($"the imports between modules form a cycle: {string.Join(" -> ", cycle.Select(Printable.Quote))}; " +
                                        "a module cannot import, directly or through others, from a module that imports from it");
            }
            path.Add(dependency);
            stack.Push((dependency, _modules[dependency], 0));
        }
        return order;
    }
}
