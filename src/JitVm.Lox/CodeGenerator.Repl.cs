using JitVm.Bytecode;

namespace JitVm.Lox;

/// <summary>
/// What a REPL session needs from the code generator (see <see cref="LoxReplCompiler"/>): every Lox function of the
/// session declared first, in the order the inputs define them, and the earlier inputs' top-level code compiled into
/// functions that never run, so that their functions are compiled again against the new version's globals.
/// </summary>
internal sealed partial class CodeGenerator
{
    /// <summary>
    /// Declares the VM function of every Lox function in <paramref name="scripts"/> (each an input's script), in
    /// source order, input after input. Called before anything else is declared in <paramref name="module"/>, so the
    /// function index of every function of an earlier input is the one it had in the version before: closures made
    /// by earlier inputs hold those indices (<c>func.ref</c>) and must call the same function in the new version.
    /// </summary>
    public static Dictionary<FunctionNode, FunctionBuilder> DeclareSessionFunctions(ModuleBuilder module, IEnumerable<FunctionNode> scripts)
    {
        var declared = new Dictionary<FunctionNode, FunctionBuilder>();
        foreach (var script in scripts) DeclareNested(module, script.Body, declared);
        return declared;
    }

    private static void DeclareNested(ModuleBuilder module, IEnumerable<Stmt> statements, Dictionary<FunctionNode, FunctionBuilder> declared)
    {
        foreach (var statement in statements)
        {
            switch (statement)
            {
                case FunctionStmt function:
                    DeclareOne(module, function.Function, declared);
                    break;
                case ClassStmt type:
                    foreach (var (_, method) in type.Methods) DeclareOne(module, method, declared);
                    break;
                case BlockStmt block:
                    DeclareNested(module, block.Statements, declared);
                    break;
                case IfStmt conditional:
                    DeclareNested(module, [conditional.Then], declared);
                    if (conditional.Else is not null) DeclareNested(module, [conditional.Else], declared);
                    break;
                case WhileStmt loop:
                    DeclareNested(module, [loop.Body], declared);
                    break;
            }
        }
    }

    private static void DeclareOne(ModuleBuilder module, FunctionNode node, Dictionary<FunctionNode, FunctionBuilder> declared)
    {
        // NAME.K, as Declare names them: the trap reporter shows the part before the last dot.
        declared.Add(node, module.Function($"{node.Name}.{declared.Count + 1}", LoxRuntime.FunctionSignature(node.Parameters.Count)));
        DeclareNested(module, node.Body, declared);
    }

    /// <summary>Makes the functions <see cref="DeclareSessionFunctions"/> declared the ones this generator emits.</summary>
    public void Adopt(Dictionary<FunctionNode, FunctionBuilder> declared)
    {
        foreach (var (node, function) in declared) _functions.Add(node, function);
        _functionCount = declared.Count;
    }

    /// <summary>Compiles an earlier input's top-level code into a function <paramref name="name"/> that nothing calls:
    /// it ran when it was the input, and compiling it again compiles the functions it declares.</summary>
    public void EmitEarlierInput(FunctionNode script, string name)
    {
        var f = _module.Function(name, [], []);
        var context = new Context(f, script);
        f.Line(1);
        foreach (var statement in script.Body) EmitStatement(context, statement);
        f.Return();
    }
}
