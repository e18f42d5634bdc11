using System.Numerics;
using System.Runtime.CompilerServices;
using JitVm.Bytecode;
using JitVm.Concurrency;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Runtime;
using JitVm.Semantics;

namespace JitVm.Interpreter;

/// <summary>
/// Runs decoded functions on a fiber's frame stack. Calls between VM functions do not recurse in .NET: each VM
/// call pushes a frame record and continues in the same loop, so the VM call-depth limit, not the .NET stack,
/// bounds recursion.
/// </summary>
/// <remarks>
/// Frame layout (shared with the other tiers): slots [fp, fp + params) hold the arguments, then the declared
/// locals, then the operand stack. A call's arguments are the top of the caller's operand stack, and the callee's
/// frame starts there, so arguments are never copied; results are copied to the callee's first slots, which are
/// exactly where the caller expects them. The tag array parallels the slots and is kept exact for word-typed
/// slots only; the verifier's types say which slots hold pointers.
/// </remarks>
internal static class Interpreter
{
    /// <summary>Runs <paramref name="entry"/> with the arguments already in slots [fp, fp + params); results end in slots [fp, ...).</summary>
    public static void Run(Fiber fiber, DecodedFunction entry, int entryFp) => Loop(fiber, entry, entryFp, fiber.FrameCount);

    /// <summary>Continues the interpreter frames above the first <paramref name="baseFrames"/> records (frames a
    /// deoptimisation left, see Fiber.Deopt.cs) until they have all returned.</summary>
    public static void Resume(Fiber fiber, int baseFrames) => Loop(fiber, null, 0, baseFrames);

    /// <summary>The dispatch loop: enters <paramref name="entry"/> at <paramref name="entryFp"/>, or with no entry
    /// continues the innermost frame record, and returns when the frame stack is back to <paramref name="baseFrames"/> records.</summary>
    /// <remarks>Deliberately not <c>AggressiveOptimization</c>: that made the CLR compile this whole switch fully
    /// optimised at the first call (about 170 ms of CPU, most of <c>jitvm run</c>'s start-up) and kept ReadyToRun
    /// from precompiling it. Without it the packed tool runs precompiled code from the first instruction, and a JIT
    /// build starts in quick code that on-stack replacement and tiering optimise while it runs (perf/RESULTS.md,
    /// "Start-up").</remarks>
    private static void Loop(Fiber fiber, DecodedFunction? entry, int entryFp, int baseFrames)
    {
        var function = entry ?? fiber.Frames[fiber.FrameCount - 1].Function!;
        var fp = entry is null ? fiber.Frames[fiber.FrameCount - 1].Fp : entryFp;
        var ip = entry is null ? fiber.Frames[fiber.FrameCount - 1].Ip : 0;
        var fuel = fiber.FuelSlice;
        var baseDepth = entry is null ? fiber.CallDepth - (fiber.FrameCount - baseFrames) : fiber.CallDepth;
        var slotTop = fiber.SlotTop;
        // The loop keeps as few locals as the old one-owner loop did: the store and instance are reached through the
        // fiber on the paths that need them, so the hot cases keep their registers.
        var tiering = fiber.Store.Tier == ExecutionTier.Tiered;
        var jitting = fiber.Store.Tier != ExecutionTier.Interpreter;
        try
        {
            if (entry is not null) fiber.EnterFrame(entry, fp);
            var code = function.Code;
            var s = fiber.Slots;
            var tags = fiber.SlotTags;
            var heap = fiber.Heap;
            var functions = fiber.Instance.Functions;
            while (true)
            {
                ref var op = ref code[ip++];
#if JITVM_COUNT_PAIRS
                PairCounts.Record(op.Kind);
#endif
                switch (op.Kind)
                {
                    case OpKind.Charge:
                        if (fuel < op.K)
                        {
                            if (op.A == 0) fuel = fiber.Task is null ? fiber.Store.Refuel(fuel, op.K) : fiber.Store.RefuelBlock(fiber, fuel, op.K, canYield: false);
                            else
                            {
                                fuel = fiber.Store.RefuelBlock(fiber, fuel, op.K);
                                if (fiber.IsSuspending) { SuspendAt(fiber, ip - 1); return; }
                            }
                        }
                        fuel -= op.K;
                        break;
                    case OpKind.Unreachable:
                        throw Traps.Unreachable.Create();
                    case OpKind.Move: s[fp + op.A] = s[fp + op.B]; break;
                    case OpKind.MoveW:
                        s[fp + op.A] = s[fp + op.B];
                        tags[fp + op.A] = tags[fp + op.B];
                        break;
                    case OpKind.Swap:
                        (s[fp + op.A], s[fp + op.B]) = (s[fp + op.B], s[fp + op.A]);
                        break;
                    case OpKind.SwapW:
                        (s[fp + op.A], s[fp + op.B]) = (s[fp + op.B], s[fp + op.A]);
                        (tags[fp + op.A], tags[fp + op.B]) = (tags[fp + op.B], tags[fp + op.A]);
                        break;
                    case OpKind.Select:
                        if (s[fp + op.C] == 0) s[fp + op.A] = s[fp + op.B];
                        break;
                    case OpKind.SelectW:
                        if (s[fp + op.C] == 0)
                        {
                            s[fp + op.A] = s[fp + op.B];
                            tags[fp + op.A] = tags[fp + op.B];
                        }
                        break;
                    case OpKind.Const: s[fp + op.A] = op.K; break;
                    case OpKind.GlobalGet: s[fp + op.A] = fiber.Instance.Globals[op.B]; break;
                    case OpKind.GlobalGetW:
                        s[fp + op.A] = fiber.Instance.Globals[op.B];
                        tags[fp + op.A] = fiber.Instance.GlobalTags[op.B];
                        break;
                    case OpKind.GlobalSet: fiber.Instance.Globals[op.A] = s[fp + op.B]; break;
                    case OpKind.GlobalSetW:
                        fiber.Instance.Globals[op.A] = s[fp + op.B];
                        fiber.Instance.GlobalTags[op.A] = tags[fp + op.B];
                        break;
                    case OpKind.ImportedGlobalGet:
                    case OpKind.ImportedGlobalSet:
                        ImportedGlobal(fiber, op, fp);
                        break;

                    case OpKind.Jump: ip = Enter(code, op.A, ref fuel); break;
                    case OpKind.JumpIf: ip = Enter(code, s[fp + op.B] != 0 ? op.A : ip, ref fuel); break;
                    case OpKind.JumpIfZ: ip = Enter(code, s[fp + op.B] == 0 ? op.A : ip, ref fuel); break;
                    case OpKind.JumpIfLtS: ip = Enter(code, s[fp + op.B] < s[fp + op.C] ? op.A : ip, ref fuel); break;
                    case OpKind.JumpIfLeS: ip = Enter(code, s[fp + op.B] <= s[fp + op.C] ? op.A : ip, ref fuel); break;
                    case OpKind.JumpIfGtS: ip = Enter(code, s[fp + op.B] > s[fp + op.C] ? op.A : ip, ref fuel); break;
                    case OpKind.JumpIfGeS: ip = Enter(code, s[fp + op.B] >= s[fp + op.C] ? op.A : ip, ref fuel); break;
                    case OpKind.JumpIfEq: ip = Enter(code, s[fp + op.B] == s[fp + op.C] ? op.A : ip, ref fuel); break;
                    case OpKind.JumpIfNe: ip = Enter(code, s[fp + op.B] != s[fp + op.C] ? op.A : ip, ref fuel); break;
                    case OpKind.JumpIfLtSK: ip = Enter(code, s[fp + op.B] < op.K ? op.A : ip, ref fuel); break;
                    case OpKind.JumpIfLeSK: ip = Enter(code, s[fp + op.B] <= op.K ? op.A : ip, ref fuel); break;
                    case OpKind.JumpIfGtSK: ip = Enter(code, s[fp + op.B] > op.K ? op.A : ip, ref fuel); break;
                    case OpKind.JumpIfGeSK: ip = Enter(code, s[fp + op.B] >= op.K ? op.A : ip, ref fuel); break;
                    case OpKind.JumpIfEqK: ip = Enter(code, s[fp + op.B] == op.K ? op.A : ip, ref fuel); break;
                    case OpKind.JumpIfNeK: ip = Enter(code, s[fp + op.B] != op.K ? op.A : ip, ref fuel); break;
                    case OpKind.StepJumpIfLtS: ip = Enter(code, (s[fp + op.B] += op.K) < s[fp + op.C] ? op.A : ip, ref fuel); break;
                    case OpKind.StepJumpIfLeS: ip = Enter(code, (s[fp + op.B] += op.K) <= s[fp + op.C] ? op.A : ip, ref fuel); break;
                    case OpKind.StepJumpIfGtS: ip = Enter(code, (s[fp + op.B] += op.K) > s[fp + op.C] ? op.A : ip, ref fuel); break;
                    case OpKind.StepJumpIfGeS: ip = Enter(code, (s[fp + op.B] += op.K) >= s[fp + op.C] ? op.A : ip, ref fuel); break;
                    case OpKind.StepJumpIfEq: ip = Enter(code, (s[fp + op.B] += op.K) == s[fp + op.C] ? op.A : ip, ref fuel); break;
                    case OpKind.StepJumpIfNe: ip = Enter(code, (s[fp + op.B] += op.K) != s[fp + op.C] ? op.A : ip, ref fuel); break;
                    case OpKind.StepJumpIfLtSK: ip = Enter(code, (s[fp + op.B] += op.C) < op.K ? op.A : ip, ref fuel); break;
                    case OpKind.StepJumpIfLeSK: ip = Enter(code, (s[fp + op.B] += op.C) <= op.K ? op.A : ip, ref fuel); break;
                    case OpKind.StepJumpIfGtSK: ip = Enter(code, (s[fp + op.B] += op.C) > op.K ? op.A : ip, ref fuel); break;
                    case OpKind.StepJumpIfGeSK: ip = Enter(code, (s[fp + op.B] += op.C) >= op.K ? op.A : ip, ref fuel); break;
                    case OpKind.StepJumpIfEqK: ip = Enter(code, (s[fp + op.B] += op.C) == op.K ? op.A : ip, ref fuel); break;
                    case OpKind.StepJumpIfNeK: ip = Enter(code, (s[fp + op.B] += op.C) != op.K ? op.A : ip, ref fuel); break;
                    case OpKind.JumpIfPtr: ip = Enter(code, tags[fp + op.B] != 0 ? op.A : ip, ref fuel); break;
                    case OpKind.JumpIfNotPtr: ip = Enter(code, tags[fp + op.B] == 0 ? op.A : ip, ref fuel); break;
                    case OpKind.Table:
                    {
                        var targets = function.Tables[op.C];
                        var index = (ulong)s[fp + op.B];
                        ip = index < (ulong)targets.Length ? targets[(int)index] : op.A;
                        break;
                    }

                    case OpKind.Call:
                    case OpKind.CallIndirect:
                    {
                        var calleeFp = fp + op.A;
                        fiber.Publish(fuel, ip);
                        DecodedFunction callee;
                        fiber.Sites[fiber.CallDepth] = op.K;
                        if (op.Kind == OpKind.Call)
                        {
                            callee = functions[op.B];
                        }
                        else
                        {
                            var reference = s[fp + op.C];
                            var target = fiber.Instance.ResolveIndirect(reference, op.B);
                            if (target is null)
                            {
                                fiber.Instance.CallImport(fiber, (int)reference, calleeFp, op.K, fiber.CallDepth);
                                if (fiber.IsSuspending) return;
                                fuel = fiber.FuelSlice;
                                s = fiber.Slots;
                                tags = fiber.SlotTags;
                                break;
                            }
                            callee = target;
                        }
                        var compiled = jitting ? callee.Compiled : null;
                        // Past the stack limit nothing is compiled either: compiling, and the CLR compiling the result at
                        // its first call, would use the stack kept for the interpreter.
                        if (compiled is null && tiering && Jit.DynamicCode.Supported && Jit.JitRuntime.StackHasRoom(fiber, 0)) compiled = fiber.Instance.Code.Jit.TierUpOnCall(fiber.Store, callee);
                        if (compiled is not null && Jit.JitRuntime.StackHasRoom(fiber, compiled.StackBytes))
                        {
                            fiber.CheckDepth(callee);
                            fiber.SlotTop = fp + function.FrameSize;
                            var framesBefore = fiber.FrameCount;
                            if (CallCompiled(compiled, fiber, calleeFp, framesBefore, slotTop) is { } thrown)
                            {
                                if (!Catch(fiber, thrown, baseFrames)) throw thrown;
                                ref var handler = ref fiber.Frames[fiber.FrameCount - 1];
                                function = handler.Function!;
                                code = function.Code;
                                fp = handler.Fp;
                                ip = handler.Ip;
                                s = fiber.Slots;
                                tags = fiber.SlotTags;
                                fuel = fiber.FuelSlice;
                                break;
                            }
                            s = fiber.Slots;
                            tags = fiber.SlotTags;
                            if (fiber.IsDeoptimising)
                            {
                                // The callee (and any compiled frames it called) left interpreter frames: go on with the
                                // innermost, unless the task is suspending, which unwinds on to its entry.
                                fiber.MaterialiseBelow(calleeFp, framesBefore);
                                if (fiber.IsSuspending) return;
                                ref var top = ref fiber.Frames[fiber.FrameCount - 1];
                                function = top.Function!;
                                code = function.Code;
                                fp = top.Fp;
                                ip = top.Ip;
                                s = fiber.Slots;
                                tags = fiber.SlotTags;
                            }
                            fuel = fiber.FuelSlice;
                            break;
                        }
                        fiber.EnterFrame(callee, calleeFp);
                        function = callee;
                        code = callee.Code;
                        fp = calleeFp;
                        // Operation 0 is the entry block's charge: paid here when the fuel covers it, as a branch does.
                        ip = Enter(code, 0, ref fuel);
                        s = fiber.Slots;
                        tags = fiber.SlotTags;
                        break;
                    }
                    case OpKind.TailCall:
                    case OpKind.TailCallIndirect:
                        fiber.Publish(fuel, ip);
                        if (TailCall(fiber, op, fp, jitting, tiering, slotTop) is { } thrownInTail && !Catch(fiber, thrownInTail, baseFrames)) throw thrownInTail;
                        if (fiber.IsSuspending) return;
                        // Go on with the innermost frame: the callee, or (after an import, or a compiled callee that
                        // returned) this frame's caller, unless that is outside this activation.
                        fuel = fiber.FuelSlice;
                        if (fiber.FrameCount == baseFrames)
                        {
                            fiber.SlotTop = slotTop;
                            return;
                        }
                        function = fiber.Frames[fiber.FrameCount - 1].Function!;
                        code = function.Code;
                        fp = fiber.Frames[fiber.FrameCount - 1].Fp;
                        ip = fiber.Frames[fiber.FrameCount - 1].Ip;
                        s = fiber.Slots;
                        tags = fiber.SlotTags;
                        break;
                    case OpKind.CallHost:
                        fiber.Publish(fuel, ip);
                        fiber.Instance.CallImport(fiber, op.B, fp + op.A, op.K, fiber.CallDepth);
                        // An asynchronous host function suspended the task at this call (Fiber.Async.cs).
                        if (fiber.IsSuspending) return;
                        fuel = fiber.FuelSlice;
                        s = fiber.Slots;
                        tags = fiber.SlotTags;
                        break;
                    case OpKind.Return:
                    {
                        var from = fp + op.A;
                        if (from != fp)
                        {
                            // Results move down to the frame base; from > fp, so a forward copy is safe.
                            for (var i = 0; i < op.B; i++) s[fp + i] = s[from + i];
                            if (op.K != 0)
                                for (var i = 0; i < op.B; i++) tags[fp + i] = tags[from + i];
                        }
                        fiber.LeaveFrame();
                        if (fiber.FrameCount == baseFrames)
                        {
                            fiber.FuelSlice = fuel;
                            fiber.SlotTop = slotTop;
                            return;
                        }
                        ref var caller = ref fiber.Frames[fiber.FrameCount - 1];
                        function = caller.Function!;
                        code = function.Code;
                        fp = caller.Fp;
                        ip = caller.Ip;
                        break;
                    }

                    case OpKind.Add: s[fp + op.A] = s[fp + op.B] + s[fp + op.C]; break;
                    case OpKind.Sub: s[fp + op.A] = s[fp + op.B] - s[fp + op.C]; break;
                    case OpKind.Mul: s[fp + op.A] = s[fp + op.B] * s[fp + op.C]; break;
                    case OpKind.DivS: s[fp + op.A] = Arithmetic.DivS(s[fp + op.B], s[fp + op.C]); break;
                    case OpKind.DivU: s[fp + op.A] = Arithmetic.DivU(s[fp + op.B], s[fp + op.C]); break;
                    case OpKind.RemS: s[fp + op.A] = Arithmetic.RemS(s[fp + op.B], s[fp + op.C]); break;
                    case OpKind.RemU: s[fp + op.A] = Arithmetic.RemU(s[fp + op.B], s[fp + op.C]); break;
                    case OpKind.And: s[fp + op.A] = s[fp + op.B] & s[fp + op.C]; break;
                    case OpKind.Or: s[fp + op.A] = s[fp + op.B] | s[fp + op.C]; break;
                    case OpKind.Xor: s[fp + op.A] = s[fp + op.B] ^ s[fp + op.C]; break;
                    case OpKind.Shl: s[fp + op.A] = s[fp + op.B] << (int)(s[fp + op.C] & 63); break;
                    case OpKind.ShrS: s[fp + op.A] = s[fp + op.B] >> (int)(s[fp + op.C] & 63); break;
                    case OpKind.ShrU: s[fp + op.A] = (long)((ulong)s[fp + op.B] >> (int)(s[fp + op.C] & 63)); break;
                    case OpKind.Rotl: s[fp + op.A] = (long)BitOperations.RotateLeft((ulong)s[fp + op.B], (int)(s[fp + op.C] & 63)); break;
                    case OpKind.Rotr: s[fp + op.A] = (long)BitOperations.RotateRight((ulong)s[fp + op.B], (int)(s[fp + op.C] & 63)); break;
                    case OpKind.Eq: s[fp + op.A] = s[fp + op.B] == s[fp + op.C] ? 1 : 0; break;
                    case OpKind.Ne: s[fp + op.A] = s[fp + op.B] != s[fp + op.C] ? 1 : 0; break;
                    case OpKind.LtS: s[fp + op.A] = s[fp + op.B] < s[fp + op.C] ? 1 : 0; break;
                    case OpKind.LtU: s[fp + op.A] = (ulong)s[fp + op.B] < (ulong)s[fp + op.C] ? 1 : 0; break;
                    case OpKind.GtS: s[fp + op.A] = s[fp + op.B] > s[fp + op.C] ? 1 : 0; break;
                    case OpKind.GtU: s[fp + op.A] = (ulong)s[fp + op.B] > (ulong)s[fp + op.C] ? 1 : 0; break;
                    case OpKind.LeS: s[fp + op.A] = s[fp + op.B] <= s[fp + op.C] ? 1 : 0; break;
                    case OpKind.LeU: s[fp + op.A] = (ulong)s[fp + op.B] <= (ulong)s[fp + op.C] ? 1 : 0; break;
                    case OpKind.GeS: s[fp + op.A] = s[fp + op.B] >= s[fp + op.C] ? 1 : 0; break;
                    case OpKind.GeU: s[fp + op.A] = (ulong)s[fp + op.B] >= (ulong)s[fp + op.C] ? 1 : 0; break;
                    case OpKind.AddK: s[fp + op.A] = s[fp + op.B] + op.K; break;
                    case OpKind.SubK: s[fp + op.A] = s[fp + op.B] - op.K; break;
                    case OpKind.MulK: s[fp + op.A] = s[fp + op.B] * op.K; break;
                    case OpKind.AndK: s[fp + op.A] = s[fp + op.B] & op.K; break;
                    case OpKind.RemSK: s[fp + op.A] = Arithmetic.RemS(s[fp + op.B], op.K); break;
                    case OpKind.RemUK: s[fp + op.A] = Arithmetic.RemU(s[fp + op.B], op.K); break;
                    case OpKind.ShlK: s[fp + op.A] = s[fp + op.B] << (int)(op.K & 63); break;
                    case OpKind.ShrSK: s[fp + op.A] = s[fp + op.B] >> (int)(op.K & 63); break;
                    case OpKind.ShrUK: s[fp + op.A] = (long)((ulong)s[fp + op.B] >> (int)(op.K & 63)); break;
                    case OpKind.EqK: s[fp + op.A] = s[fp + op.B] == op.K ? 1 : 0; break;
                    case OpKind.NeK: s[fp + op.A] = s[fp + op.B] != op.K ? 1 : 0; break;
                    case OpKind.LtSK: s[fp + op.A] = s[fp + op.B] < op.K ? 1 : 0; break;
                    case OpKind.LeSK: s[fp + op.A] = s[fp + op.B] <= op.K ? 1 : 0; break;
                    case OpKind.GtSK: s[fp + op.A] = s[fp + op.B] > op.K ? 1 : 0; break;
                    case OpKind.GeSK: s[fp + op.A] = s[fp + op.B] >= op.K ? 1 : 0; break;
                    case OpKind.Clz: s[fp + op.A] = BitOperations.LeadingZeroCount((ulong)s[fp + op.B]); break;
                    case OpKind.Ctz: s[fp + op.A] = BitOperations.TrailingZeroCount((ulong)s[fp + op.B]); break;
                    case OpKind.Popcnt: s[fp + op.A] = BitOperations.PopCount((ulong)s[fp + op.B]); break;
                    case OpKind.Eqz: s[fp + op.A] = s[fp + op.B] == 0 ? 1 : 0; break;
                    case OpKind.Extend8S: s[fp + op.A] = (sbyte)s[fp + op.B]; break;
                    case OpKind.Extend16S: s[fp + op.A] = (short)s[fp + op.B]; break;
                    case OpKind.Extend32S: s[fp + op.A] = (int)s[fp + op.B]; break;
                    case OpKind.Extend32U: s[fp + op.A] = (uint)s[fp + op.B]; break;

                    case OpKind.FAdd: s[fp + op.A] = FloatBits(F(s[fp + op.B]) + F(s[fp + op.C])); break;
                    case OpKind.FSub: s[fp + op.A] = FloatBits(F(s[fp + op.B]) - F(s[fp + op.C])); break;
                    case OpKind.FMul: s[fp + op.A] = FloatBits(F(s[fp + op.B]) * F(s[fp + op.C])); break;
                    case OpKind.FDiv: s[fp + op.A] = FloatBits(F(s[fp + op.B]) / F(s[fp + op.C])); break;
                    case OpKind.FMin: s[fp + op.A] = Bits(Arithmetic.Min(F(s[fp + op.B]), F(s[fp + op.C]))); break;
                    case OpKind.FMax: s[fp + op.A] = Bits(Arithmetic.Max(F(s[fp + op.B]), F(s[fp + op.C]))); break;
                    case OpKind.FEq: s[fp + op.A] = F(s[fp + op.B]) == F(s[fp + op.C]) ? 1 : 0; break;
                    case OpKind.FNe: s[fp + op.A] = F(s[fp + op.B]) != F(s[fp + op.C]) ? 1 : 0; break;
                    case OpKind.FLt: s[fp + op.A] = F(s[fp + op.B]) < F(s[fp + op.C]) ? 1 : 0; break;
                    case OpKind.FGt: s[fp + op.A] = F(s[fp + op.B]) > F(s[fp + op.C]) ? 1 : 0; break;
                    case OpKind.FLe: s[fp + op.A] = F(s[fp + op.B]) <= F(s[fp + op.C]) ? 1 : 0; break;
                    case OpKind.FGe: s[fp + op.A] = F(s[fp + op.B]) >= F(s[fp + op.C]) ? 1 : 0; break;
                    case OpKind.FNeg: s[fp + op.A] = s[fp + op.B] ^ long.MinValue; break;
                    case OpKind.FAbs: s[fp + op.A] = s[fp + op.B] & long.MaxValue; break;
                    case OpKind.FSqrt: s[fp + op.A] = FloatBits(Math.Sqrt(F(s[fp + op.B]))); break;
                    case OpKind.FFloor: s[fp + op.A] = FloatBits(Math.Floor(F(s[fp + op.B]))); break;
                    case OpKind.FCeil: s[fp + op.A] = FloatBits(Math.Ceiling(F(s[fp + op.B]))); break;
                    case OpKind.FTrunc: s[fp + op.A] = FloatBits(Math.Truncate(F(s[fp + op.B]))); break;
                    case OpKind.FNearest: s[fp + op.A] = FloatBits(Arithmetic.Nearest(F(s[fp + op.B]))); break;
                    case OpKind.TruncS: s[fp + op.A] = Arithmetic.TruncS(F(s[fp + op.B])); break;
                    case OpKind.TruncSatS: s[fp + op.A] = Arithmetic.TruncSatS(F(s[fp + op.B])); break;
                    case OpKind.TruncU: s[fp + op.A] = Arithmetic.TruncU(F(s[fp + op.B])); break;
                    case OpKind.TruncSatU: s[fp + op.A] = Arithmetic.TruncSatU(F(s[fp + op.B])); break;
                    case OpKind.FCopySign: s[fp + op.A] = Arithmetic.CopySignBits(s[fp + op.B], s[fp + op.C]); break;
                    case OpKind.ConvertS: s[fp + op.A] = Bits(s[fp + op.B]); break;
                    case OpKind.ConvertU: s[fp + op.A] = Bits(Arithmetic.ConvertU(s[fp + op.B])); break;

                    case OpKind.Alloc:
                    {
                        // The size part of the cost is paid before any word is zeroed (spec/execution.md §5.2).
                        var length = s[fp + op.B];
                        var sizeFuel = fiber.Store.AllocationFuel(length);
                        if (fuel < sizeFuel) fuel = fiber.Store.Refuel(fuel, sizeFuel, "alloc", length);
                        fuel -= sizeFuel;
                        fiber.Publish(fuel, ip);
                        s[fp + op.A] = heap.Allocate(length);
                        break;
                    }
                    case OpKind.DataAlloc:
                    {
                        var sizeFuel = fiber.Instance.DataAllocationFuel(op.B);
                        if (fuel < sizeFuel) fuel = fiber.Store.Refuel(fuel, sizeFuel, "data.alloc", fiber.Instance.DataWords(op.B));
                        fuel -= sizeFuel;
                        fiber.Publish(fuel, ip);
                        s[fp + op.A] = fiber.Instance.AllocateData(op.B);
                        break;
                    }
                    case OpKind.Len: s[fp + op.A] = heap.Length(s[fp + op.B]); break;
                    case OpKind.LoadI: s[fp + op.A] = heap.LoadInt(s[fp + op.B], s[fp + op.C], OpCode.LoadI); break;
                    case OpKind.LoadF: s[fp + op.A] = heap.LoadInt(s[fp + op.B], s[fp + op.C], OpCode.LoadF); break;
                    case OpKind.LoadP: s[fp + op.A] = heap.LoadPointer(s[fp + op.B], s[fp + op.C]); break;
                    case OpKind.LoadW:
                    {
                        var at = heap.Field(s[fp + op.B], s[fp + op.C]);
                        s[fp + op.A] = heap.Words[at];
                        tags[fp + op.A] = heap.IsPointer(at) ? (byte)1 : (byte)0;
                        break;
                    }
                    case OpKind.StoreI: heap.Store(s[fp + op.A], s[fp + op.B], s[fp + op.C], false); break;
                    case OpKind.StoreP: heap.Store(s[fp + op.A], s[fp + op.B], s[fp + op.C], true); break;
                    case OpKind.StoreW: heap.Store(s[fp + op.A], s[fp + op.B], s[fp + op.C], tags[fp + op.C] != 0); break;
                    case OpKind.LoadU8: s[fp + op.A] = heap.LoadByte(s[fp + op.B], s[fp + op.C]); break;
                    case OpKind.StoreU8: heap.StoreByte(s[fp + op.A], s[fp + op.B], s[fp + op.C]); break;
                    case OpKind.LoadBytes or OpKind.StoreBytes or OpKind.MemCopy or OpKind.MemFill or OpKind.MemCompare or OpKind.LenBytes:
                        fuel = BytesOperation(fiber, op, fp, fuel);
                        break;
                    case OpKind.AllocBytes:
                        fuel = AllocateBytes(fiber, op, fp, fuel, ip);
                        break;
                    case OpKind.IsPtr: s[fp + op.A] = tags[fp + op.B]; break;
                    case OpKind.PtrEq: s[fp + op.A] = s[fp + op.B] == s[fp + op.C] ? 1 : 0; break;
                    case OpKind.SetTag0: tags[fp + op.A] = 0; break;
                    case OpKind.SetTag1: tags[fp + op.A] = 1; break;
                    case OpKind.CheckNotPtr:
                        if (tags[fp + op.A] != 0) throw Traps.NumberRequired.Create();
                        break;
                    case OpKind.MoveNotPtr:
                        if (tags[fp + op.B] != 0) throw Traps.NumberRequired.Create();
                        s[fp + op.A] = s[fp + op.B];
                        break;
                    case OpKind.CheckPtr:
                        if (tags[fp + op.A] == 0) throw Traps.PointerRequired.Create();
                        break;
                    case OpKind.RefCast:
                        CastReference(fiber, s[fp + op.A], op.B);
                        break;
                    case OpKind.TaskSpawn:
                    case OpKind.TaskJoin:
                    case OpKind.TaskSelf:
                    case OpKind.TaskCancel:
                    case OpKind.ChanNew:
                    case OpKind.ChanSend:
                    case OpKind.ChanRecv:
                    case OpKind.ChanRecvFor:
                    case OpKind.ChanClose:
                        fiber.Publish(fuel, ip);
                        if (!TaskOperation(fiber, op, fp)) { SuspendAt(fiber, ip - 1); return; }
                        s = fiber.Slots;
                        tags = fiber.SlotTags;
                        fuel = fiber.FuelSlice;
                        break;
                    case OpKind.Throw:
                    {
                        fiber.Publish(fuel, ip);
                        var exception = InFlightException.Create(fiber, op.B, s, tags, fp + op.A, op.C, op.K, fiber.CallDepth, fuel);
                        if (!Catch(fiber, exception, baseFrames)) throw exception;
                        ref var handler = ref fiber.Frames[fiber.FrameCount - 1];
                        function = handler.Function!;
                        code = function.Code;
                        fp = handler.Fp;
                        ip = handler.Ip;
                        fuel = fiber.FuelSlice;
                        break;
                    }
                    default:
                        throw new InvalidOperationException($"the interpreter has no case for {op.Kind}");
                }
            }
        }
        // A filter, not a catch: it records where the trap happened while the stack is still intact and lets the
        // trap pass. Catching and rethrowing in every activation would start a new exception dispatch on top of
        // the previous one's, so the .NET stack a trap needs would grow with the number of nested activations.
        catch (TrapException trap) when (Locate(fiber, trap, function, ip, fuel))
        {
            throw; // Not reached: the filter lets every trap pass.
        }
        finally
        {
            // On a normal return these already hold; after a trap they drop this activation's frames. A suspended
            // task keeps them (its depth and slot top are set again when it resumes).
            fiber.CallDepth = baseDepth;
            fiber.SlotTop = slotTop;
            if (!fiber.IsSuspending) fiber.FrameCount = baseFrames;
        }
    }

    /// <summary>
    /// A task or channel operation (their semantics are <see cref="TaskOps"/>'s, shared with compiled code), out of
    /// the dispatch loop so its frame stays small: the loop's frame is paid once per interpreter activation, and nested
    /// host entries stack many. The frame's state is published; false when the task must suspend at the operation.
    /// </summary>
    /// <summary>
    /// The byte-addressed loads and stores and the bulk memory operations, out of <see cref="Loop"/> like
    /// <see cref="TaskOperation"/>: their calls take many arguments, and every case of the loop's switch adds to the
    /// one frame each interpreter entry keeps on the .NET stack, which nested entries multiply. Returns the fuel slice
    /// (the bulk operations charge their size part from it).
    /// </summary>
    /// <summary>global.get (into slot A of imported global B) or global.set (of imported global A from slot B): the cell
    /// is the exporter's, found through the current instance; C = 1 for a word global, whose tag travels with it.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ImportedGlobal(Fiber fiber, in Op op, int fp)
    {
        var s = fiber.Slots;
        var tags = fiber.SlotTags;
        if (op.Kind == OpKind.ImportedGlobalGet)
        {
            s[fp + op.A] = fiber.Instance.GetImportedGlobal(op.B, out var tag);
            if (op.C != 0) tags[fp + op.A] = tag;
        }
        else fiber.Instance.SetImportedGlobal(op.A, s[fp + op.B], op.C != 0 ? tags[fp + op.B] : (byte)0);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long BytesOperation(Fiber fiber, in Op op, int fp, long fuel)
    {
        var s = fiber.Slots;
        var heap = fiber.Heap;
        switch (op.Kind)
        {
            case OpKind.LoadBytes: s[fp + op.A] = heap.LoadBytes(s[fp + op.B], s[fp + op.C], (OpCode)op.K); return fuel;
            case OpKind.StoreBytes: heap.StoreBytes(s[fp + op.A], s[fp + op.B], s[fp + op.C], (OpCode)op.K); return fuel;
            case OpKind.LenBytes: s[fp + op.A] = heap.ByteLength(s[fp + op.B]); return fuel;
            case OpKind.MemCopy:
                return BulkMemory.Copy(fiber, fuel, s[fp + op.A], s[fp + op.A + 1], s[fp + op.A + 2], s[fp + op.A + 3], s[fp + op.A + 4]);
            case OpKind.MemFill:
                return BulkMemory.Fill(fiber, fuel, s[fp + op.A], s[fp + op.A + 1], s[fp + op.A + 2], fiber.SlotTags[fp + op.A + 2] != 0, s[fp + op.A + 3]);
            default:
                fuel = BulkMemory.ChargeCompare(fiber, fuel, s[fp + op.A], s[fp + op.A + 1], s[fp + op.A + 2], s[fp + op.A + 3], s[fp + op.A + 4]);
                s[fp + op.A] = heap.CompareBytes(s[fp + op.A], s[fp + op.A + 1], s[fp + op.A + 2], s[fp + op.A + 3], s[fp + op.A + 4]);
                return fuel;
        }
    }

    /// <summary>alloc.bytes, out of <see cref="Loop"/> like <see cref="BytesOperation"/>: pays the size part for its
    /// words before any is zeroed, as alloc does (spec/execution.md §5.2), publishes the frame (the allocation is a
    /// safepoint) and allocates. Returns the fuel slice.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long AllocateBytes(Fiber fiber, in Op op, int fp, long fuel, int ip)
    {
        var s = fiber.Slots;
        var byteCount = s[fp + op.B];
        var words = byteCount < 0 ? byteCount : Memory.Heap.WordsForBytes(byteCount);
        var sizeFuel = fiber.Store.AllocationFuel(words);
        if (fuel < sizeFuel) fuel = fiber.Store.Refuel(fuel, sizeFuel, "alloc.bytes", words);
        fuel -= sizeFuel;
        fiber.Publish(fuel, ip);
        s[fp + op.A] = fiber.Heap.AllocateBytes(byteCount);
        return fuel;
    }

    /// <summary>
    /// return_call and return_call_indirect (spec/execution.md §4.1), out of <see cref="Loop"/> for its frame's sake:
    /// the callee's frame replaces this one at <paramref name="fp"/> — the arguments move down to the frame base, this
    /// frame's record goes and the callee runs at this frame's depth — so any number of tail calls in a row use
    /// constant VM stack. Afterwards the innermost frame record is the one to continue: the callee's new interpreter
    /// frame (at operation 0), the frames a deoptimising compiled callee left, or, when the callee was compiled and
    /// returned or was an import, this frame's caller (its results at fp). The fuel slice is the fiber's.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static InFlightException? TailCall(Fiber fiber, in Op op, int fp, bool jitting, bool tiering, int slotTop)
    {
        var s = fiber.Slots;
        var callee = op.Kind == OpKind.TailCall ? fiber.Instance.Functions[op.B] : TailTarget(fiber, op, fp);
        if (callee is null)
        {
            // An import ran from this frame and left its results where its arguments were: return them.
            MoveDown(fiber.Slots, fiber.SlotTags, fp + op.A, fp, fiber.Instance.Module.Definition.Types[Runtime.Instance.IndirectSignature(op.B)].Results.Length);
            fiber.LeaveFrame();
            return null;
        }
        MoveDown(s, fiber.SlotTags, fp + op.A, fp, callee.ParameterCount);
        fiber.LeaveFrame();
        var compiled = jitting ? callee.Compiled : null;
        if (compiled is null && tiering && Jit.DynamicCode.Supported && Jit.JitRuntime.StackHasRoom(fiber, 0)) compiled = fiber.Instance.Code.Jit.TierUpOnCall(fiber.Store, callee);
        if (compiled is null || !Jit.JitRuntime.StackHasRoom(fiber, compiled.StackBytes))
        {
            fiber.EnterFrame(callee, fp);
            return null;
        }
        fiber.SlotTop = fp + Math.Max(callee.ParameterCount, callee.Signature.Results.Length);
        var framesBefore = fiber.FrameCount;
        if (CallCompiled(compiled, fiber, fp, framesBefore, slotTop) is { } thrown) return thrown;
        if (fiber.IsDeoptimising) fiber.MaterialiseBelow(fp, framesBefore);
        return null;
    }

    /// <summary>
    /// Calls compiled code from the interpreter at <paramref name="calleeFp"/>, one frame deeper; an exception VM code
    /// threw and nothing in the compiled frames caught is returned, with the frame records and slot top of this
    /// activation as they were before the call (the compiled frames' spill areas are gone), for
    /// <see cref="Catch"/> to look for a handler in the interpreter frames. Out of <see cref="Loop"/>, so the loop
    /// itself has no handler of its own.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static InFlightException? CallCompiled(Jit.CompiledFunction compiled, Fiber fiber, int calleeFp, int framesBefore, int slotTop)
    {
        try
        {
            compiled.Adapter(fiber, fiber.CallDepth + 1, calleeFp);
            return null;
        }
        catch (InFlightException thrown)
        {
            fiber.FrameCount = framesBefore;
            fiber.SlotTop = slotTop;
            return thrown;
        }
    }

    /// <summary>
    /// Looks for a handler of <paramref name="thrown"/> in this activation's interpreter frames, innermost first (each
    /// at the instruction it is suspended at: the throw, or the call it made), popping every frame that has none.
    /// When one is found its frame is the innermost, resuming at the handler with the payload on an otherwise empty
    /// operand stack (spec/exceptions.md §4); false when none of the frames above <paramref name="baseFrames"/> has
    /// one, and the exception goes on to whoever called this activation.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool Catch(Fiber fiber, InFlightException thrown, int baseFrames)
    {
        while (fiber.FrameCount > baseFrames)
        {
            ref var frame = ref fiber.Frames[fiber.FrameCount - 1];
            var function = frame.Function!;
            var handler = function.FindHandler(function.SourcePc[frame.Ip - 1], thrown.Tag);
            if (handler >= 0)
            {
                thrown.WritePayload(fiber, frame.Fp + function.LocalCount);
                frame.Ip = handler;
                return true;
            }
            fiber.LeaveFrame();
        }
        return false;
    }

    /// <summary>
    /// The target of return_call_indirect, checked as call_indirect checks it (a trap here is located at the tail
    /// call, whose frame is still there). Null when it is an import: then it has been called from this frame, with
    /// its results left where its arguments were.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static DecodedFunction? TailTarget(Fiber fiber, in Op op, int fp)
    {
        var reference = fiber.Slots[fp + op.C];
        var target = fiber.Instance.ResolveIndirect(reference, op.B, tail: true);
        // The tail call's frame ends once the import returns, so it cannot resume after the call: no suspension.
        if (target is null) fiber.Instance.CallImport(fiber, (int)reference, fp + op.A, op.K, fiber.CallDepth, resumable: false);
        return target;
    }

    /// <summary>ref.cast: traps unless the i64 names a function of signature <paramref name="typeIndex"/>; the value itself is unchanged.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CastReference(Fiber fiber, long reference, int typeIndex) =>
        fiber.Instance.CheckReference(reference, typeIndex, "ref.cast");

    /// <summary>Moves <paramref name="count"/> values and their tags from <paramref name="from"/> down to <paramref name="to"/> (from >= to, so a forward copy is safe).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void MoveDown(long[] slots, byte[] tags, int from, int to, int count)
    {
        if (from == to) return;
        Array.Copy(slots, from, slots, to, count);
        Array.Copy(tags, from, tags, to, count);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool TaskOperation(Fiber fiber, in Op op, int fp)
    {
        var s = fiber.Slots;
        var tags = fiber.SlotTags;
        switch (op.Kind)
        {
            case OpKind.TaskSpawn:
                s[fp + op.A] = TaskOps.Spawn(fiber, op.B, fp + op.A);
                return true;
            case OpKind.TaskJoin:
                if (!TaskOps.Join(fiber, s[fp + op.A], op.B)) return false;
                for (var i = 0; i < op.C; i++)
                {
                    s[fp + op.A + i] = fiber.Results[i];
                    tags[fp + op.A + i] = fiber.ResultTags[i];
                }
                return true;
            case OpKind.TaskSelf:
                s[fp + op.A] = TaskOps.Self(fiber);
                return true;
            case OpKind.TaskCancel:
                TaskOps.Cancel(fiber, s[fp + op.A]);
                return true;
            case OpKind.ChanNew:
                s[fp + op.A] = TaskOps.NewChannel(fiber, s[fp + op.A]);
                return true;
            case OpKind.ChanSend:
                return TaskOps.Send(fiber, s[fp + op.A], s[fp + op.B], tags[fp + op.B] != 0);
            case OpKind.ChanRecv:
            case OpKind.ChanRecvFor:
                if (!TaskOps.Receive(fiber, s[fp + op.A], op.Kind == OpKind.ChanRecv ? -1 : Math.Max(0, s[fp + op.B]))) return false;
                s[fp + op.A] = fiber.Results[0];
                tags[fp + op.A] = fiber.ResultTags[0];
                s[fp + op.A + 1] = fiber.Results[1];
                return true;
            default:
                TaskOps.Close(fiber, s[fp + op.A]);
                return true;
        }
    }

    /// <summary>Leaves the loop for a suspension at operation <paramref name="ip"/> of the innermost frame, which runs
    /// it again when the task resumes (the fuel it holds is already kept, see <see cref="Fiber.BeginSuspend"/>).</summary>
    private static void SuspendAt(Fiber fiber, int ip) => fiber.Frames[fiber.FrameCount - 1].Ip = ip;

    /// <summary>Records a trap's location in the frame that was running (unless a deeper one did); never catches.</summary>
    private static bool Locate(Fiber fiber, TrapException trap, DecodedFunction function, int ip, long fuel)
    {
        fiber.Locate(trap, CallSites.Encode(function.FunctionIndex, function.SourcePc[Math.Max(0, ip - 1)]), fiber.CallDepth, fuel);
        return false;
    }

    /// <summary>
    /// How many operand-stack values the suspended operation has handed to its callee (they belong to the callee's
    /// frame, or were read by the host, so the caller's frame no longer holds them as roots).
    /// </summary>
    public static int ArgumentsConsumed(ModuleDefinition module, Instruction instruction) => OpCodeTable.SafepointOperands(instruction, module);

    /// <summary>
    /// Takes a branch to a block: charges the block's fuel (its first operation is always its Charge) and returns
    /// the index after it, saving a dispatch on every loop iteration. On exhaustion it stops at the Charge, which
    /// then traps (or refuels, or yields) with the block's location. A conditional branch not taken enters the
    /// block after it the same way (the instruction after a branch always starts a block), and so does a call its
    /// callee's entry block (operation 0).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Enter(Op[] code, int target, ref long fuel)
    {
        var cost = code[target].K;
        if (fuel < cost) return target;
        fuel -= cost;
        return target + 1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double F(long bits) => BitConverter.Int64BitsToDouble(bits);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Bits(double value) => BitConverter.DoubleToInt64Bits(value);

    /// <summary>The bits of an arithmetic result, with any NaN made canonical (see <see cref="Arithmetic.CanonicalNaN"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long FloatBits(double value) => Arithmetic.CanonicalBits(value);
}
