using System.Reflection;
using System.Reflection.Emit;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Interpreter;
using JitVm.Jit;
using JitVm.Memory;
using Xunit;
using Module = JitVm.Hosting.Module;
using OpCode = JitVm.Bytecode.OpCode;

namespace JitVm.Tests;

/// <summary>
/// The instruction table's columns against what each tier does with every opcode: the verifier applies the stack
/// effect, the interpreter publishes its frame and compiled code spills exactly at the safepoints, compiled code
/// loads the heap's state exactly when an instruction uses the heap, and a collection during any safepoint keeps
/// the roots below what it hands over, in both tiers.
/// </summary>
public sealed class InstructionColumnTests
{
    public static TheoryData<string> Probes()
    {
        var data = new TheoryData<string>();
        foreach (var probe in OpCodeProbe.All(check: false)) data.Add(probe.Name);
        return data;
    }

    private static OpCodeProbe.Probe Find(string name, bool check) => OpCodeProbe.All(check).Single(p => p.Name == name);

    [Theory]
    [MemberData(nameof(Probes))]
    public void TheVerifierAppliesTheRowsStackEffect(string name)
    {
        var probe = Find(name, check: false);
        var row = probe.OpCode.Info();
        var analysis = Module.FromDefinition(probe.Module).Verified.Functions[0];
        var instruction = analysis.Definition.Code[probe.Pc];
        var (pops, pushes) = OpCodeProbe.Effect(row, OpCodeProbe.SignatureFor(instruction, probe.Module));
        var before = Verification.TypeStack.ToArray(analysis.StackBefore[probe.Pc]);
        if (row.Pops is { } popTypes) Assert.Equal(popTypes, before[^popTypes.Length..]);
        Assert.True(before.Length >= pops, $"{name} pops {pops} values but only {before.Length} are on the stack");
        if (row.Flow is FlowKind.Return or FlowKind.Trap) return;
        var after = Verification.TypeStack.ToArray(analysis.StackBefore[probe.Pc + 1]);
        Assert.Equal(before.Length - pops + pushes, after.Length);
        Assert.Equal(before[..(before.Length - pops)], after[..(before.Length - pops)]);
        if (row.Pushes is { } pushTypes) Assert.Equal(pushTypes, after[^pushTypes.Length..]);
    }

    /// <summary>The operations at which the interpreter's loop records the frame's resume point before handing
    /// control to something that may collect or suspend (the cases of Interpreter.Run that set Frames[..].Ip).</summary>
    private static readonly OpKind[] FramePublishing = [OpKind.Call, OpKind.CallHost, OpKind.CallIndirect, OpKind.TailCall, OpKind.TailCallIndirect, OpKind.Alloc, OpKind.DataAlloc, OpKind.AllocBytes,
        OpKind.TaskSpawn, OpKind.TaskJoin, OpKind.TaskSelf, OpKind.TaskCancel, OpKind.ChanNew, OpKind.ChanSend, OpKind.ChanRecv, OpKind.ChanRecvFor, OpKind.ChanClose, OpKind.Throw];

    [Theory]
    [MemberData(nameof(Probes))]
    public void TheInterpreterPublishesItsFrameExactlyAtTheTablesSafepoints(string name)
    {
        var probe = Find(name, check: false);
        var row = probe.OpCode.Info();
        var module = Module.FromDefinition(probe.Module);
        var decoded = Decoder.Decode(module.Verified, 0);
        var kinds = decoded.Code.Where((_, i) => decoded.SourcePc[i] == probe.Pc).Select(op => op.Kind).ToList();
        Assert.Equal(row.IsSafepoint, kinds.Any(FramePublishing.Contains));
        // Every other pc is no safepoint, so the whole function publishes frames only there.
        Assert.Equal(row.IsSafepoint ? 1 : 0, decoded.Code.Count(op => FramePublishing.Contains(op.Kind)));
    }

    [Theory]
    [MemberData(nameof(Probes))]
    public void ASafepointHandsOverExactlyTheOperandsItPassesToItsCallee(string name)
    {
        var probe = Find(name, check: false);
        var row = probe.OpCode.Info();
        var instruction = probe.Module.Functions[0].Code[probe.Pc];
        var handed = OpCodeTable.SafepointOperands(instruction, probe.Module);
        Assert.Equal(handed, Interpreter.Interpreter.ArgumentsConsumed(probe.Module, instruction));
        if (!row.IsSafepoint)
        {
            Assert.Equal(-1, handed);
            Assert.Equal(SafepointHandOver.None, row.HandOver);
            return;
        }
        // A call hands over every value it pops (the callee's arguments, and call_indirect's reference), and so do
        // task.spawn and the task and channel instructions (they read their operands before they can collect); the
        // allocating safepoints hand over nothing: alloc's length is only read.
        var (pops, _) = OpCodeProbe.Effect(row, OpCodeProbe.SignatureFor(instruction, probe.Module));
        // throw hands its payload to the handler.
        Assert.Equal(row.Flow == FlowKind.Call || row.HandOver is SafepointHandOver.Operands or SafepointHandOver.CalleeParameters or SafepointHandOver.SignatureParametersAndReference or SafepointHandOver.TagPayload ? pops : 0, handed);
    }

    [Theory]
    [MemberData(nameof(Probes))]
    public void CompiledCodeSpillsExactlyAtTheTablesSafepointsAndLoadsHeapStateExactlyForHeapInstructions(string name)
    {
        var probe = Find(name, check: false);
        var row = probe.OpCode.Info();
        var module = Module.FromDefinition(probe.Module);
        var decoded = module.Decoded(0);
        var parameters = FunctionCompiler.ParameterTypes(decoded.Signature);
        var method = new DynamicMethod("main", FunctionCompiler.ReturnType(decoded.Signature), parameters, typeof(JitRuntime).Module, skipVisibility: true);
        var calls = new List<(int Pc, MethodInfo Method)>();
        var il = new CheckedIL(method.GetILGenerator(), "main", check: true) { OnCall = (pc, called) => calls.Add((pc, called)) };
        new BodyEmitter(module.Verified, decoded, false, il, _ => null).Emit(parameters);

        bool Calls(MethodInfo helper, int? pc = null) => calls.Any(c => c.Method == helper && (pc is null || c.Pc == pc));
        if (probe.OpCode == OpCode.ReturnCall)
        {
            // A tail call to a defined function ends the frame before the callee runs: nothing of it is live to
            // spill, and its spill area closes there.
            Assert.False(Calls(FunctionCompiler.Helpers.SlotReference, probe.Pc));
            Assert.True(Calls(FunctionCompiler.Helpers.ExitSpillArea, probe.Pc));
            return;
        }
        // p, the pointer local and the pointer below the operands are saved (through a reference to the spill area)
        // before, and reloaded after, a safepoint when a collection ran; after a throw they are reloaded by the
        // handler's entry in the catch clause, emitted where its range ends.
        Assert.Equal(row.IsSafepoint, Calls(FunctionCompiler.Helpers.SlotReference, probe.Pc));
        Assert.Equal(row.IsSafepoint, Calls(FunctionCompiler.Helpers.GetSlot, probe.OpCode == OpCode.Throw ? probe.Pc + 1 : probe.Pc));
        Assert.Equal(row.UsesHeap, Calls(FunctionCompiler.Helpers.HeapWords));
        Assert.Equal(row.StoresPointer, Calls(FunctionCompiler.Helpers.NurseryEnd));
    }

    [Theory]
    [MemberData(nameof(Probes))]
    public void EveryInstructionBehavesAlikeInBothTiersWhenEveryAllocationCollects(string name)
    {
        var probe = Find(name, check: true);
        var row = probe.OpCode.Info();
        string Run(OpCodeProbe.Probe subject, ExecutionTier tier, out long collections)
        {
            var module = Module.FromDefinition(subject.Module);
            var host = new HostFunction("host", new FunctionType([VmType.I64], []), (_, _) => { });
            var isolate = new Isolate(module, [host], new IsolateOptions { Tier = tier, Diagnostics = new DiagnosticOptions { GcStress = GcStressMode.EveryAllocation, VerifyHeap = true } });
            var pointer = isolate.CreateHandle(isolate.Invoke("make")[0]).Value;
            var before = isolate.GcStatistics.Collections;
            try
            {
                var result = isolate.Invoke("main", pointer)[0].AsI64;
                return $"returned {result}";
            }
            catch (TrapException trap)
            {
                return $"trapped {trap.Code}: {trap.Detail}";
            }
            finally
            {
                collections = isolate.GcStatistics.Collections - before;
            }
        }
        var interpreted = Run(probe, ExecutionTier.Interpreter, out var interpreterCollections);
        var compiled = Run(probe, ExecutionTier.Jit, out var jitCollections);
        Assert.Equal(interpreted, compiled);
        Assert.Equal(interpreterCollections, jitCollections);
        // Alone in its function (no len after it), a heap instruction still finds the heap in compiled code.
        var alone = Find(name, check: false);
        Assert.Equal(Run(alone, ExecutionTier.Interpreter, out _), Run(alone, ExecutionTier.Jit, out _));
        // The pointers below the instruction and in p survive, and are updated by, any collection it makes. The
        // probe's operands make only these instructions trap: load.p and word.as_ptr find a number.
        var expected = probe.OpCode switch
        {
            OpCode.Unreachable => $"trapped Unreachable: {Semantics.Traps.Unreachable.Message}",
            OpCode.WordAsPtr => $"trapped TagMismatch: {Semantics.Traps.PointerRequired.Message}",
            OpCode.LoadP => "trapped TagMismatch",
            OpCode.Return => "returned 1",
            // The probe's pointers name plain objects, not channels or tasks.
            OpCode.TaskJoin or OpCode.TaskCancel => "trapped WrongObjectKind: expected a task reference",
            OpCode.ChanSend or OpCode.ChanRecv or OpCode.ChanRecvFor or OpCode.ChanClose => "trapped WrongObjectKind: expected a channel reference",
            _ => "returned 4",
        };
        Assert.StartsWith(expected, interpreted, StringComparison.Ordinal);
        // Each safepoint that can allocate, directly or in its callee, did collect here.
        // (The task and channel instructions that trapped before allocating made none.)
        // throw is a safepoint for compiled handlers' sake and never allocates.
        if (row.IsSafepoint && name is not ("call (host)" or "throw") && !expected.StartsWith("trapped WrongObjectKind", StringComparison.Ordinal)) Assert.True(interpreterCollections > 0, $"{name} made no collection");
        else if (!row.IsSafepoint) Assert.Equal(0, interpreterCollections);
    }
}
