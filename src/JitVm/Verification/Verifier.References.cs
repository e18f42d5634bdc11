using JitVm.Bytecode;

namespace JitVm.Verification;

/// <summary>The rules of typed function references (spec/values.md §1.5): a <c>ref s</c> is an i64 whose stack node
/// or local also records the canonical index of s, set only by <c>ref.func</c> and <c>ref.cast</c> and required by
/// <c>call_ref</c> and <c>return_call_ref</c>.</summary>
internal static partial class Verifier
{
    private sealed partial class FunctionVerifier
    {
        /// <summary>Pushes the typed reference <c>ref s</c> for signature index <paramref name="typeIndex"/>.</summary>
        private TypeStack PushReference(int typeIndex, TypeStack? below) => Push(VmType.I64, below, Canonical(typeIndex));

        /// <summary>The first signature index whose signature equals that of <paramref name="typeIndex"/>: two
        /// typed references have the same type exactly when their signatures are equal, whatever index names them.</summary>
        private int Canonical(int typeIndex)
        {
            if (_canonical is null)
            {
                _canonical = new int[module.Types.Count];
                var first = new Dictionary<FunctionType, int>();
                for (var i = 0; i < _canonical.Length; i++)
                {
                    first.TryAdd(module.Types[i], i);
                    _canonical[i] = first[module.Types[i]];
                }
            }
            return _canonical[typeIndex];
        }

        private int[]? _canonical;

        /// <summary>For each local, the canonical signature of its typed reference type, or <see cref="TypeStack.NoReference"/>.</summary>
        private int[] _localReference = null!;

        private string LocalKind(int local) => _localReference[local] == TypeStack.NoReference ? "ptr" : "ref";

        private string DescribeStack(TypeStack? stack, int count) => TypeStack.Describe(stack, count, module.Types);

        private string LocalTypeName(int local) =>
            _localReference[local] == TypeStack.NoReference ? _locals[local].Name() : TypeStack.ReferenceName(_localReference[local], module.Types);

        private int SignatureIndex(Instruction instruction)
        {
            if ((uint)instruction.Index < (uint)module.Types.Count && instruction.Operand == instruction.Index) return instruction.Index;
            throw Error(VerificationRule.InvalidIndex, _pc, $"signature #{instruction.Operand} does not exist (the module has {module.Types.Count})");
        }

        /// <summary>call_ref and return_call_ref: the typed reference on top must have the instruction's signature.</summary>
        private FunctionType ExpectReference(ref TypeStack? stack, Instruction instruction)
        {
            var typeIndex = SignatureIndex(instruction);
            var mnemonic = instruction.OpCode.Mnemonic();
            Pop(ref stack, 1);
            if (stack!.Reference != Canonical(typeIndex))
                throw Error(VerificationRule.TypeMismatch, _pc,
                    $"{mnemonic} needs a function reference of type {TypeStack.ReferenceName(typeIndex, module.Types)} on top, found {stack.Name(module.Types)}" +
                    (stack.Reference == TypeStack.NoReference && stack.Top == VmType.I64 ? $" (an untyped reference: give it the type with ref.cast, or call it with call_indirect)" : ""));
            stack = stack.Below;
            return module.Types[typeIndex];
        }
    }
}
