using JitVm.Bytecode;

namespace JitVm.Tests;

/// <summary>
/// For any instruction, a small module whose exported <c>main (p: ptr) -> (i64)</c> executes it once at
/// <see cref="Probe.Pc"/>: a pointer is pushed first (so a root lies below the instruction's operands), then its
/// operands, then the instruction; afterwards its results are dropped. Nothing else in <c>main</c> touches the heap
/// or is a safepoint, so whatever compiled code or the interpreter does differently around that pc is the
/// instruction's doing. With <c>check</c>, <c>main</c> then returns len(pointer below) + len(p), which is 4 when both
/// pointers survived (and were updated by) any collection during the instruction.
/// </summary>
internal static class OpCodeProbe
{
    public const int Host = 0;
    public const int Main = 1;
    public const int Callee = 2;
    public const int Make = 3;
    /// <summary>The target of the tail calls: <c>(p: ptr) -> (i64)</c> like main, it allocates (so it collects under GC
    /// stress) and returns len(p) + len(p), which is 4, the result a checked main gives.</summary>
    public const int Tailee = 4;
    public const int MainType = 0;
    public const int CalleeType = 1;

    private const int P = 0;
    private const int X = 1;

    /// <summary>One way of using an opcode (call has two: a defined callee and a host import).</summary>
    internal sealed record Probe(OpCode OpCode, string Name, ModuleDefinition Module, int Pc)
    {
        public override string ToString() => Name;
    }

    /// <summary>Every opcode, and both kinds of callee for call.</summary>
    public static IEnumerable<Probe> All(bool check) =>
        OpCodeTable.All.SelectMany(row => row.OpCode == OpCode.Call
            ? [Build(row, check, callee: Callee, "call (defined)"), Build(row, check, callee: Host, "call (host)")]
            : new[] { Build(row, check, callee: Callee, row.Mnemonic) });

    /// <summary>The operand-stack values the row pops and pushes, counted from its stack-effect text, where
    /// "params" and "results" stand for <paramref name="signature"/>'s (the callee's, or the function's own for return).</summary>
    public static (int Pops, int Pushes) Effect(OpCodeInfo row, FunctionType signature)
    {
        var sides = row.StackEffect.Split("->", StringSplitOptions.TrimEntries);
        int Count(string side) => side.Trim('[', ']').Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Sum(token => token switch { "params" => signature.Parameters.Length, "results" => signature.Results.Length, _ => 1 });
        return (Count(sides[0]), Count(sides[1]));
    }

    /// <summary>The signature an instruction's "params"/"results" refer to, in a probe module.</summary>
    public static FunctionType SignatureFor(Instruction instruction, ModuleDefinition module) => instruction.OpCode switch
    {
        OpCode.Call => module.SignatureOf(instruction.Index),
        OpCode.CallIndirect or OpCode.ReturnCallIndirect or OpCode.CallRef or OpCode.ReturnCallRef => module.Types[instruction.Index],
        OpCode.ReturnCall => module.SignatureOf(instruction.Index),
        _ => module.Types[MainType],
    };

    private static Probe Build(OpCodeInfo row, bool check, int callee, string name)
    {
        var types = new[]
        {
            new FunctionType([VmType.Ptr], [VmType.I64]),
            new FunctionType([VmType.I64], []),
            new FunctionType([], [VmType.Ptr]),
        };
        var code = new List<Instruction> { new(OpCode.LocalGet, P) };
        void Push(VmType type)
        {
            code.Add(type switch
            {
                VmType.F64 => new(OpCode.F64Const, BitConverter.DoubleToInt64Bits(1.0)),
                VmType.Ptr => new(OpCode.LocalGet, P),
                _ => new(OpCode.I64Const, 1),
            });
            if (type == VmType.Word) code.Add(new(OpCode.WordOfI64));
        }
        var instruction = row.OpCode switch
        {
            OpCode.I64Const => new Instruction(OpCode.I64Const, 7),
            OpCode.F64Const => new Instruction(OpCode.F64Const, BitConverter.DoubleToInt64Bits(2.5)),
            OpCode.LocalGet or OpCode.LocalSet or OpCode.LocalTee => new Instruction(row.OpCode, X),
            OpCode.GlobalGet or OpCode.GlobalSet => new Instruction(row.OpCode, 0),
            OpCode.Call => new Instruction(OpCode.Call, callee),
            OpCode.CallIndirect => new Instruction(OpCode.CallIndirect, CalleeType),
            OpCode.ReturnCall => new Instruction(OpCode.ReturnCall, Tailee),
            OpCode.ReturnCallIndirect => new Instruction(OpCode.ReturnCallIndirect, MainType),
            OpCode.FuncRef => new Instruction(OpCode.FuncRef, Callee),
            OpCode.RefFunc => new Instruction(OpCode.RefFunc, Callee),
            OpCode.RefCast => new Instruction(OpCode.RefCast, CalleeType),
            OpCode.CallRef => new Instruction(OpCode.CallRef, CalleeType),
            OpCode.ReturnCallRef => new Instruction(OpCode.ReturnCallRef, MainType),
            OpCode.DataAlloc or OpCode.DataSize => new Instruction(row.OpCode, 0),
            _ => new Instruction(row.OpCode),
        };
        // Operands: the row's types where it declares them, else i64s (every polymorphic slot accepts one).
        var signature = types[instruction.OpCode is OpCode.Call or OpCode.CallIndirect or OpCode.CallRef ? CalleeType : MainType];
        var (pops, pushes) = Effect(row, signature);
        if (row.Pops is { } declared)
        {
            foreach (var type in declared) Push(type);
            // ref.cast's i64 names the callee, whose signature it casts to.
            if (row.OpCode == OpCode.RefCast) code[^1] = new(OpCode.FuncRef, Callee);
        }
        else
        {
            // The tail calls pass main's own ptr parameter on, then (indirectly) the reference.
            var isTailCall = row.OpCode is OpCode.ReturnCall or OpCode.ReturnCallIndirect or OpCode.ReturnCallRef;
            for (var i = 0; i < pops; i++) Push(isTailCall && i == 0 ? VmType.Ptr : VmType.I64);
            if (row.OpCode == OpCode.CallIndirect) code[^1] = new(OpCode.FuncRef, Callee);
            if (row.OpCode == OpCode.ReturnCallIndirect) code[^1] = new(OpCode.FuncRef, Tailee);
            if (row.OpCode == OpCode.CallRef) code[^1] = new(OpCode.RefFunc, Callee);
            if (row.OpCode == OpCode.ReturnCallRef) code[^1] = new(OpCode.RefFunc, Tailee);
        }
        var pc = code.Count;
        code.Add(row.Flow is FlowKind.Branch or FlowKind.ConditionalBranch or FlowKind.Table
            ? instruction with { Operand = pc + 1, Targets = row.Flow == FlowKind.Table ? [pc + 1] : null }
            : instruction);
        if (row.Flow is FlowKind.Return or FlowKind.Trap) pushes = 0;
        // After return or unreachable the rest is reached by no path; the verifier then assumes an empty stack.
        var below = row.Flow is FlowKind.Return or FlowKind.Trap ? 0 : 1;
        for (var i = 0; i < pushes; i++) code.Add(new(OpCode.Drop));
        if (check)
        {
            if (below == 0) code.Add(new(OpCode.LocalGet, P));
            code.Add(new(OpCode.Len));
            code.Add(new(OpCode.LocalGet, P));
            code.Add(new(OpCode.Len));
            code.Add(new(OpCode.I64Add));
        }
        else
        {
            if (below == 1) code.Add(new(OpCode.Drop));
            code.Add(new(OpCode.I64Const, 0));
        }
        code.Add(new(OpCode.Return));

        // throw's exception (of tag 0, carrying the i64 pushed) is caught by a handler at the next instruction.
        var main = new FunctionDefinition("main", MainType, exported: true, [VmType.I64, VmType.Ptr, VmType.Word], code)
        {
            Handlers = row.OpCode == OpCode.Throw ? [new HandlerDefinition(pc, pc + 1, 0, pc + 1)] : [],
        };
        // The callee collects (under GC stress, every allocation does), so a call is a safepoint in fact.
        var calleeBody = new FunctionDefinition("callee", CalleeType, exported: false, [],
            [new(OpCode.I64Const, 1), new(OpCode.Alloc), new(OpCode.Drop), new(OpCode.Return)]);
        var make = new FunctionDefinition("make", 2, exported: true, [], [new(OpCode.I64Const, 2), new(OpCode.Alloc), new(OpCode.Return)]);
        var tailee = new FunctionDefinition("tailee", MainType, exported: false, [],
        [
            new(OpCode.I64Const, 1), new(OpCode.Alloc), new(OpCode.Drop),
            new(OpCode.LocalGet, 0), new(OpCode.Len), new(OpCode.LocalGet, 0), new(OpCode.Len), new(OpCode.I64Add), new(OpCode.Return),
        ]);
        var module = new ModuleDefinition(types, [new ImportDefinition("host", CalleeType)], [main, calleeBody, make, tailee],
            [new GlobalDefinition("g", VmType.I64, 0)], [new DataSegment("d", [1, 2, 3])], $"{name}.probe")
        {
            Tags = row.OpCode == OpCode.Throw ? [new TagDefinition("t", [VmType.I64])] : [],
        };
        return new Probe(row.OpCode, name, module, pc);
    }
}
