using System.Reflection;
using JitVm.Hosting;
using Xunit;
using Pointer = JitVm.Hosting.Pointer;

namespace JitVm.Tests.PublicApi.Hostile;

/// <summary>
/// The library's public surface is deliberate (spec/embedding.md §9): nothing public lets a caller reach raw heap
/// words, set globals or frame slots, or construct the runtime's internal structures. A new public type fails
/// <see cref="EveryPublicTypeIsOnTheList"/> until it is added here after review.
/// </summary>
public sealed class PublicSurfaceTests
{
    private static readonly Assembly Library = typeof(Isolate).Assembly;

    private static readonly string[] PublicTypes =
    [
        "JitVm.Bytecode.CodeLabel", "JitVm.Bytecode.DataReference", "JitVm.Bytecode.DataSegment", "JitVm.Bytecode.FlowKind",
        "JitVm.Bytecode.FunctionBuilder", "JitVm.Bytecode.FunctionDefinition", "JitVm.Bytecode.FunctionReference",
        "JitVm.Bytecode.FunctionType", "JitVm.Bytecode.GlobalDefinition", "JitVm.Bytecode.GlobalImportDefinition", "JitVm.Bytecode.GlobalReference",
        "JitVm.Bytecode.HandlerDefinition", "JitVm.Bytecode.TagDefinition", "JitVm.Bytecode.TagReference",
        "JitVm.Bytecode.ImportDefinition", "JitVm.Bytecode.Instruction", "JitVm.Bytecode.LocalReference",
        "JitVm.Bytecode.ModuleBuilder", "JitVm.Bytecode.ModuleDefinition", "JitVm.Bytecode.ModuleLimits",
        "JitVm.Bytecode.ModuleReader", "JitVm.Bytecode.ModuleWriter", "JitVm.Bytecode.OpCode", "JitVm.Bytecode.OpCodeInfo",
        "JitVm.Bytecode.OpCodeTable", "JitVm.Bytecode.OperandKind", "JitVm.Bytecode.SafepointHandOver", "JitVm.Bytecode.VmType",
        "JitVm.Bytecode.VmTypeNames",
        "JitVm.Diagnostics.JitVmException", "JitVm.Diagnostics.ModuleFormatException", "JitVm.Diagnostics.TrapCode",
        "JitVm.Diagnostics.TrapException", "JitVm.Diagnostics.VmStackFrame",
        "JitVm.Hosting.DeoptStressMode", "JitVm.Hosting.DiagnosticOptions", "JitVm.Hosting.Engine", "JitVm.Hosting.EngineOptions", "JitVm.Hosting.ExecutionTier", "JitVm.Hosting.Handle",
        "JitVm.Hosting.HandleScope", "JitVm.Hosting.HostCallback", "JitVm.Hosting.HostFunction", "JitVm.Hosting.Isolate",
        "JitVm.Hosting.IsolateOptions", "JitVm.Hosting.IsolatePool", "JitVm.Hosting.LinkException", "JitVm.Hosting.Linker", "JitVm.Hosting.Module", "JitVm.Hosting.Pointer",
        "JitVm.Hosting.StandardImports", "JitVm.Hosting.SystemInterface", "JitVm.Hosting.SystemInterfaceOptions", "JitVm.Hosting.ProgramExitException", "JitVm.Hosting.Value",
        "JitVm.Hosting.ChannelMessage", "JitVm.Hosting.HostChannel", "JitVm.Hosting.TaskStatistics", "JitVm.Hosting.VmTaskHandle",
        "JitVm.Hosting.VmTaskState",
        "JitVm.Memory.GcStatistics", "JitVm.Memory.GcStressMode",
        "JitVm.Text.Assembler", "JitVm.Text.Disassembler",
        "JitVm.Verification.VerificationException", "JitVm.Verification.VerificationRule",
    ];

    /// <summary>Public members that take or give 64-bit words in bulk, each reviewed: none of them touches a heap.</summary>
    private static readonly string[] ReviewedWordMembers =
    [
        // A host function's own arguments and results, pointers as tokens.
        "JitVm.Hosting.HostCallback.BeginInvoke(values)", "JitVm.Hosting.HostCallback.Invoke(values)",
    ];

    /// <summary>Public members whose names mention heap words, globals, slots or bits, each reviewed: statistics and
    /// limits of the heap, module-building of globals, and the bits of numbers (a pointer value's Bits is a token).</summary>
    private static readonly string[] ReviewedNamedMembers =
    [
        "JitVm.Bytecode.FunctionBuilder.GlobalGet", "JitVm.Bytecode.FunctionBuilder.GlobalSet",
        "JitVm.Bytecode.GlobalDefinition.InitialBits", "JitVm.Bytecode.GlobalDefinition.get_InitialBits", "JitVm.Bytecode.GlobalDefinition.set_InitialBits",
        "JitVm.Bytecode.GlobalReference.InitialBits", "JitVm.Bytecode.GlobalReference.get_InitialBits",
        "JitVm.Bytecode.ModuleBuilder.Global", "JitVm.Bytecode.ModuleBuilder.Globals", "JitVm.Bytecode.ModuleBuilder.get_Globals",
        "JitVm.Bytecode.ModuleDefinition.Globals", "JitVm.Bytecode.ModuleDefinition.get_Globals",
        // Imported globals: declarations and the global index space, no cell (spec/execution.md §2.1).
        "JitVm.Bytecode.ModuleBuilder.GlobalImports", "JitVm.Bytecode.ModuleBuilder.get_GlobalImports", "JitVm.Bytecode.ModuleBuilder.ImportGlobal",
        "JitVm.Bytecode.ModuleDefinition.GlobalImports", "JitVm.Bytecode.ModuleDefinition.get_GlobalImports", "JitVm.Bytecode.ModuleDefinition.set_GlobalImports",
        "JitVm.Bytecode.ModuleDefinition.GlobalCount", "JitVm.Bytecode.ModuleDefinition.get_GlobalCount",
        "JitVm.Bytecode.ModuleDefinition.IsGlobalImport", "JitVm.Bytecode.ModuleDefinition.GlobalTypeOf", "JitVm.Bytecode.ModuleDefinition.GlobalNameOf",
        // Exception tags (spec/exceptions.md), not the tags of words.
        "JitVm.Bytecode.ModuleDefinition.Tags", "JitVm.Bytecode.ModuleDefinition.get_Tags", "JitVm.Bytecode.ModuleDefinition.set_Tags",
        "JitVm.Bytecode.OpCode.GlobalGet", "JitVm.Bytecode.OpCode.GlobalSet",
        "JitVm.Bytecode.OpCodeInfo.WordsPerFuel", "JitVm.Bytecode.OpCodeInfo.get_WordsPerFuel", "JitVm.Bytecode.OpCodeInfo.set_WordsPerFuel",
        "JitVm.Bytecode.OperandKind.Global",
        "JitVm.Hosting.Isolate.HeapAllocatedBytes", "JitVm.Hosting.Isolate.HeapUsedBytes",
        // Globals by name, under the rules VM code obeys (a pointer only through a live handle).
        "JitVm.Hosting.Isolate.GetGlobal", "JitVm.Hosting.Isolate.SetGlobal",
        "JitVm.Hosting.Isolate.get_HeapAllocatedBytes", "JitVm.Hosting.Isolate.get_HeapUsedBytes",
        "JitVm.Hosting.DiagnosticOptions.VerifyHeap", "JitVm.Hosting.DiagnosticOptions.get_VerifyHeap", "JitVm.Hosting.DiagnosticOptions.set_VerifyHeap",
        "JitVm.Hosting.IsolateOptions.DefaultMaxHeapBytes", "JitVm.Hosting.IsolateOptions.MaxHeapBytes",
        "JitVm.Hosting.IsolateOptions.get_MaxHeapBytes", "JitVm.Hosting.IsolateOptions.set_MaxHeapBytes",
        "JitVm.Hosting.Value.Bits", "JitVm.Hosting.Value.get_Bits", "JitVm.Hosting.Value.set_Bits",
        "JitVm.Verification.VerificationRule.InvalidGlobal",
    ];

    private static IEnumerable<MemberInfo> PublicMembers() =>
        Library.GetExportedTypes().SelectMany(type => type.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly));

    [Fact]
    public void EveryPublicTypeIsOnTheList()
    {
        var exported = Library.GetExportedTypes().Select(type => type.FullName!).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(PublicTypes.Order(StringComparer.Ordinal), exported);
    }

    [Fact]
    public void NoRuntimeInternalsArePublic()
    {
        Assert.Empty(Library.GetExportedTypes().Where(type => type.Namespace is "JitVm.Jit" or "JitVm.Interpreter")
            .Select(type => type.FullName));
        // The helpers compiled code uses exist, but only internally.
        var runtime = Library.GetType("JitVm.Jit.JitRuntime");
        Assert.NotNull(runtime);
        Assert.False(runtime.IsVisible);
        Assert.False(Library.GetType("JitVm.Jit.Word")!.IsVisible);
        Assert.False(Library.GetType("JitVm.Jit.SlotAdapter")!.IsVisible);
    }

    [Fact]
    public void NoPublicMemberReachesHeapWordsGlobalsOrSlots()
    {
        string[] forbidden = ["Heap", "Words", "Tags", "Slot", "Global", "Spill", "Forward", "Bits"];
        var found = PublicMembers()
            .Where(member => forbidden.Any(word => member.Name.Contains(word, StringComparison.Ordinal)))
            .Select(member => $"{member.DeclaringType!.FullName}.{member.Name}")
            .Distinct().Order(StringComparer.Ordinal);
        Assert.Equal(ReviewedNamedMembers.Order(StringComparer.Ordinal), found);
    }

    [Fact]
    public void NoPublicMemberTakesOrGivesWordArraysExceptTheReviewedOnes()
    {
        Type[] wordTypes = [typeof(long[]), typeof(ulong[]), typeof(Span<long>), typeof(Span<ulong>), typeof(Memory<long>), typeof(ReadOnlySpan<long>)];
        var found = new List<string>();
        foreach (var member in PublicMembers())
        {
            var name = $"{member.DeclaringType!.FullName}.{member.Name}";
            switch (member)
            {
                case MethodBase method:
                    foreach (var parameter in method.GetParameters().Where(p => wordTypes.Contains(p.ParameterType) || wordTypes.Contains(p.ParameterType.GetElementType())))
                        found.Add($"{name}({parameter.Name})");
                    if (method is MethodInfo { ReturnType: var returned } && wordTypes.Contains(returned)) found.Add($"{name}: returns");
                    break;
                case PropertyInfo property when wordTypes.Contains(property.PropertyType):
                case FieldInfo field when wordTypes.Contains(field.FieldType):
                    found.Add(name);
                    break;
            }
        }
        Assert.Equal(ReviewedWordMembers.Order(StringComparer.Ordinal), found.Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void PointersAndHandlesCannotBeBuiltByTheHost()
    {
        Assert.Empty(typeof(Pointer).GetConstructors(BindingFlags.Public | BindingFlags.Instance));
        Assert.Empty(typeof(Handle).GetConstructors(BindingFlags.Public | BindingFlags.Instance));
        Assert.Empty(typeof(HandleScope).GetConstructors(BindingFlags.Public | BindingFlags.Instance));
        // A pointer's bits are never public: Pointer exposes no raw value.
        Assert.Null(typeof(Pointer).GetProperty("Bits"));
    }
}
